import { Type, type Static, type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

/**
 * What every event looks like on the wire, whatever its type. `subject` is the id of the entity
 * the event is about: consumers see the events of one subject in order, so it is also the
 * ordering key. `traceparent` (W3C) lets a consumer's span join the producer's trace.
 */
export const EventEnvelope = Type.Object({
  id: Type.String({ format: 'uuid', description: 'UUIDv7; consumers deduplicate on it' }),
  type: Type.String({ pattern: '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$', description: '<family>.<name>, e.g. user.registered' }),
  version: Type.Integer({ minimum: 1 }),
  occurredAt: Type.String({ format: 'date-time' }),
  source: Type.String({ minLength: 1, description: 'the service that emitted it' }),
  subject: Type.String({ minLength: 1, maxLength: 200 }),
  traceparent: Type.Optional(Type.String({ pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' })),
  data: Type.Unknown(),
});

export type EventEnvelope<Data = unknown, Name extends string = string> = Omit<Static<typeof EventEnvelope>, 'type' | 'data'> & {
  type: Name;
  data: Data;
};

const envelopeCheck = Compile(EventEnvelope);

export function isEventEnvelope(value: unknown): value is EventEnvelope {
  return envelopeCheck.Check(value);
}

/** The family is the first word of the type: it names the exchange the event travels on. */
export function eventFamily(type: string): string {
  const dot = type.indexOf('.');
  return dot < 0 ? type : type.slice(0, dot);
}

export interface EventDefinition<Name extends string = string, Data extends TSchema = TSchema> {
  readonly type: Name;
  readonly version: number;
  readonly family: string;
  readonly data: Data;
  /** The whole envelope with this type, version and payload: for JSON Schema export. */
  readonly schema: TSchema;
  /** True when `event` is of this type and version and its data matches the payload schema. */
  is(event: EventEnvelope): event is EventEnvelope<Static<Data>, Name>;
  /** Narrows an envelope to this event or throws naming the first mismatch. */
  parse(event: EventEnvelope): EventEnvelope<Static<Data>, Name>;
  /** Checks a payload before it is put into an envelope. */
  checkData(data: unknown): data is Static<Data>;
}

export type EventOf<Definition> = Definition extends EventDefinition<infer Name, infer Data>
  ? EventEnvelope<Static<Data>, Name>
  : never;

export type EventDataOf<Definition> = Definition extends EventDefinition<string, infer Data> ? Static<Data> : never;

/**
 * One event type at one version. A breaking change to the payload is a new version defined
 * beside the old one, so consumers can handle both while producers move over.
 */
export function defineEvent<const Name extends string, Data extends TSchema>(
  type: Name,
  version: number,
  data: Data,
): EventDefinition<Name, Data> {
  if (!/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/.test(type)) {
    throw new TypeError(`event type "${type}" must be <family>.<name> in lower case`);
  }
  if (!Number.isInteger(version) || version < 1) throw new TypeError(`event version must be a positive integer, got ${version}`);
  const schema = Type.Object({
    id: EventEnvelope.properties.id,
    type: Type.Literal(type),
    version: Type.Literal(version),
    occurredAt: EventEnvelope.properties.occurredAt,
    source: EventEnvelope.properties.source,
    subject: EventEnvelope.properties.subject,
    traceparent: EventEnvelope.properties.traceparent,
    data,
  });
  const dataCheck = Compile(data);
  const describe = (event: EventEnvelope): string => {
    if (event.type !== type || event.version !== version) {
      return `expected ${type} v${version}, got ${event.type} v${event.version}`;
    }
    const first = dataCheck.Errors(event.data)[0];
    return first ? `${type} v${version} data${first.instancePath || ''} ${first.message}` : '';
  };
  return {
    type,
    version,
    family: type.slice(0, type.indexOf('.')),
    data,
    schema,
    is(event): event is EventEnvelope<Static<Data>, Name> {
      return event.type === type && event.version === version && dataCheck.Check(event.data);
    },
    parse(event) {
      if (event.type === type && event.version === version && dataCheck.Check(event.data)) {
        return event as EventEnvelope<Static<Data>, Name>;
      }
      throw new TypeError(`not a valid event: ${describe(event)}`);
    },
    checkData(value): value is Static<Data> {
      return dataCheck.Check(value);
    },
  };
}
