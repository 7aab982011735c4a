import type { EventDefinition, EventEnvelope } from '@carshare/contracts';
import { InvalidArgument, systemClock, uuidV7Ids, type Clock, type IdGenerator } from '@carshare/platform';
import type { Static, TSchema } from 'typebox';

export interface EventFactoryOptions {
  /** The emitting service, written into every envelope. */
  source: string;
  clock?: Clock;
  ids?: IdGenerator;
  /** The current span's traceparent, from the observability layer. */
  traceparent?: () => string | undefined;
}

export interface EventFactory {
  create<Name extends string, Data extends TSchema>(
    definition: EventDefinition<Name, Data>,
    subject: string,
    data: Static<Data>,
    options?: { traceparent?: string; occurredAt?: Date },
  ): EventEnvelope<Static<Data>, Name>;
}

/** Builds envelopes whose payload is checked against its definition before it can be stored. */
export function createEventFactory(options: EventFactoryOptions): EventFactory {
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? uuidV7Ids;
  return {
    create(definition, subject, data, overrides) {
      if (!definition.checkData(data)) {
        throw InvalidArgument('INVALID_EVENT_DATA', `data does not match ${definition.type} v${definition.version}`);
      }
      const traceparent = overrides?.traceparent ?? options.traceparent?.();
      return {
        id: ids.next(),
        type: definition.type,
        version: definition.version,
        occurredAt: (overrides?.occurredAt ?? new Date(clock.now())).toISOString(),
        source: options.source,
        subject,
        ...(traceparent ? { traceparent } : {}),
        data,
      };
    },
  };
}
