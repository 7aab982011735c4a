/**
 * What makes the gateway's OpenAPI document one worth generating clients from (issue 13 finding
 * 11), in two halves that must not be confused:
 *
 * - `hardenRequestSchema` changes what the gateway ACCEPTS: every request string gets a length
 *   bound, every integer a range, every array a size, every body object a closed set of fields.
 *   The same schema validates the request and is published, so the document never promises a
 *   limit the server does not keep.
 * - `finishOpenApiDocument` only DESCRIBES: operation ids, servers, the role each operation
 *   needs, every status the edge can answer, the rate-limit headers.
 *
 * Both work on every route, whoever adds it and whenever, so a new route is lint-clean without
 * an edit here (the lint test in the gateway regenerates the document on every run).
 */
import type { TSchema } from 'typebox';
import type { Access, HttpRouteContract } from './define-http-route.ts';
import { ErrorResponse } from './errors.ts';

/** A string with no bound of its own: long enough for any text field here, short enough to cost nothing. */
export const defaultRequestStringMaxLength = 1_000;
/** An array with no bound of its own (bodies are also capped in bytes; this caps the work per item). */
export const defaultRequestArrayMaxItems = 100;

/**
 * Free text with no format of its own: anything but control characters other than tab, line feed
 * and carriage return. Those have no business in names, reasons or passwords, and they are how
 * log lines and terminals get forged.
 */
export const requestTextPattern = '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$';

/** Formats whose longest valid spelling is known: their bound is that, not the generic one. */
const maxLengthByFormat: Readonly<Record<string, number>> = {
  uuid: 36,
  email: 254, // RFC 5321's limit on a forward path
  date: 10,
  'date-time': 64,
  time: 32,
  duration: 64,
  ipv4: 15,
  ipv6: 45,
  hostname: 253,
  uri: 2_048,
  url: 2_048,
};

const int32 = { min: -2_147_483_648, max: 2_147_483_647 };

type SchemaNode = Record<string, unknown>;

function isNode(value: unknown): value is SchemaNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A copy of one schema node that keeps TypeBox's non-enumerable markers (`~kind`, `~optional`):
 * contract schemas are shared with RPC contracts and other routes, so they are never changed in
 * place.
 */
function copyNode(node: SchemaNode): SchemaNode {
  const copy: SchemaNode = {};
  for (const key of Object.getOwnPropertyNames(node)) {
    Object.defineProperty(copy, key, Object.getOwnPropertyDescriptor(node, key) as PropertyDescriptor);
  }
  return copy;
}

function typesOf(node: SchemaNode): readonly unknown[] {
  return Array.isArray(node.type) ? node.type : [node.type];
}

interface HardenOptions {
  /** Bodies are JSON objects we define: an unknown field is a client bug or mass assignment. */
  closeObjects: boolean;
}

function hardenNode(value: unknown, options: HardenOptions, inAllOf: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => hardenNode(item, options, false));
  if (!isNode(value)) return value;
  const node = copyNode(value);
  const types = typesOf(node);
  const fixed = 'enum' in node || 'const' in node;

  if (types.includes('string') && !fixed) {
    node.maxLength ??= maxLengthByFormat[String(node.format)] ?? defaultRequestStringMaxLength;
    if (node.format === undefined && node.pattern === undefined) node.pattern = requestTextPattern;
  }
  if (types.includes('integer')) {
    if (node.minimum === undefined && node.exclusiveMinimum === undefined) node.minimum = Number.MIN_SAFE_INTEGER;
    if (node.maximum === undefined && node.exclusiveMaximum === undefined) node.maximum = Number.MAX_SAFE_INTEGER;
    // TypeBox checks no int32/int64 format (unknown formats pass): the bounds above do the work.
    node.format ??= integerFormat(node);
  }
  if (types.includes('array') && node.maxItems === undefined) node.maxItems = defaultRequestArrayMaxItems;

  if (isNode(node.properties)) {
    const properties = node.properties;
    // A member of an allOf sees only its own fields: closing it would refuse its siblings' fields.
    if (options.closeObjects && !inAllOf && node.additionalProperties === undefined && node.patternProperties === undefined) {
      node.additionalProperties = false;
    }
    // A field with a default is filled before the check, so a client may leave it out.
    if (Array.isArray(node.required)) {
      node.required = (node.required as string[]).filter((name) => !(isNode(properties[name]) && 'default' in properties[name]));
      if ((node.required as string[]).length === 0) delete node.required;
    }
    node.properties = Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, hardenNode(property, options, false)]));
  }
  // Not `not`: a bound added inside it would make it match less, and so let more through.
  for (const key of ['items', 'prefixItems', 'anyOf', 'oneOf', 'additionalProperties'] as const) {
    if (key in node) node[key] = hardenNode(node[key], options, false);
  }
  if ('allOf' in node) node.allOf = (node.allOf as unknown[]).map((member) => hardenNode(member, options, true));
  if (isNode(node.patternProperties)) {
    node.patternProperties = Object.fromEntries(Object.entries(node.patternProperties).map(([pattern, schema]) => [pattern, hardenNode(schema, options, false)]));
  }
  return node;
}

function integerFormat(node: SchemaNode): 'int32' | 'int64' {
  const low = (node.minimum ?? node.exclusiveMinimum) as number;
  const high = (node.maximum ?? node.exclusiveMaximum) as number;
  return low >= int32.min && high <= int32.max ? 'int32' : 'int64';
}

export type RequestPart = 'body' | 'querystring' | 'params' | 'headers';

/**
 * The request schema as the gateway enforces it: bounds added where the contract gave none
 * (OWASP API4:2023, resource consumption), body objects closed to unknown fields (API3:2023, mass
 * assignment), fields with a default no longer required. Returns a copy; applying it twice
 * changes nothing more.
 */
export function hardenRequestSchema<Schema extends TSchema>(schema: Schema, part: RequestPart): Schema {
  return hardenNode(schema, { closeObjects: part === 'body' }, false) as Schema;
}

// ---------------------------------------------------------------------------------------------
// Operation identity and access
// ---------------------------------------------------------------------------------------------

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * A route's operationId, from its method and path alone, so it never changes while the route
 * does not and two routes never share one: `POST /v1/admin/users/:id/suspend` →
 * `postAdminUsersByIdSuspend`. The leading `/v1` is left out (every public route has it); any
 * other version stays in the name. Accepts fastify (`:id`) and OpenAPI (`{id}`) paths.
 */
export function operationIdOf(method: string, url: string): string {
  const segments = url.split('/').filter(Boolean);
  if (segments[0] === 'v1') segments.shift();
  const words = segments.flatMap((segment) => {
    const param = /^:(.+)$|^\{(.+)\}$/.exec(segment);
    if (param) return ['by', (param[1] ?? param[2]) as string];
    return segment.split(/[^A-Za-z0-9]+/);
  });
  return method.toLowerCase() + words.filter(Boolean).map(capitalise).join('');
}

/**
 * Every route contract by `METHOD url`, filled by defineHttpRoute. The document is built from
 * fastify's routes, which know nothing of the contract's access level: this is how the document
 * learns which role an operation needs, for routes mounted by any handler.
 */
const contractsByRoute = new Map<string, HttpRouteContract>();

export function rememberHttpRoute(route: HttpRouteContract): void {
  contractsByRoute.set(`${route.method} ${route.url}`, route);
}

export function httpRouteContractOf(method: string, url: string): HttpRouteContract | undefined {
  return contractsByRoute.get(`${method.toUpperCase()} ${url}`);
}

/** Who may call a route: the roles an access level admits, as the gateway checks them. */
export const rolesByAccess: Readonly<Record<Access, readonly string[]>> = {
  public: [],
  user: ['rider', 'operator', 'admin'],
  operator: ['operator', 'admin'],
  admin: ['admin'],
};

/** The credential of a route that is public to users but not anonymous (devices and their forwarders). */
export type RouteCredential = 'device' | 'traccar';

const tokenDescription =
  'An access token from POST /v1/auth/login or /v1/auth/refresh: a JWS (EdDSA) that follows RFC8725 ' +
  '(JWT best current practices): the algorithm is pinned (no `none`, no algorithm from the header), issuer, audience, ' +
  '`exp`, `iat` (never in the future) and a maximum age are checked, and one token per `Authorization: Bearer` header. ';

/**
 * One security scheme per role (OWASP API5:2023): the same bearer token, but a client generator
 * and a reader see at a glance that an admin operation needs an admin's token.
 */
export const securitySchemes = {
  bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: `${tokenDescription}Any signed-in user.` },
  operatorBearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: `${tokenDescription}The user must currently hold the operator or admin role (checked against the user service, not the claim alone).`,
  },
  adminBearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: `${tokenDescription}The user must currently hold the admin role (checked against the user service, not the claim alone).`,
  },
  deviceCredential: {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description: "A car's device credential: `Basic base64(carId:deviceSecret)`; the secret is rotated by an operator.",
  },
  traccarToken: { type: 'http', scheme: 'bearer', description: "The shared token a Traccar server's forwarder sends (forward.header)." },
} as const;

const schemeByAccess: Readonly<Record<Exclude<Access, 'public'>, keyof typeof securitySchemes>> = {
  user: 'bearerAuth',
  operator: 'operatorBearer',
  admin: 'adminBearer',
};

const schemeByCredential: Readonly<Record<RouteCredential, keyof typeof securitySchemes>> = {
  device: 'deviceCredential',
  traccar: 'traccarToken',
};

/** `security` of an operation: `[{}]` says "no credential" out loud rather than by omission. */
function securityOf(route: HttpRouteContract): Array<Record<string, string[]>> {
  if (route.credential) return [{ [schemeByCredential[route.credential]]: [] }];
  if (route.access === 'public') return [{}];
  return [{ [schemeByAccess[route.access]]: [] }];
}

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

const rateLimitNote = 'Sent when a rate limit was checked for the request (every path of the public port is limited per client IP).';

/** Response headers, referenced from every response so that each is written once. */
export const responseHeaders = {
  RateLimit: {
    description:
      `The tightest limit that applied, as the IETF draft's structured field: \`"<policy>";r=<remaining>;t=<seconds to reset>\`. ${rateLimitNote} ` +
      // Documenting them as well would make the OWASP rule (one header scheme per response) fail.
      'The legacy RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset are sent too, for older clients; prefer these two.',
    schema: { type: 'string', maxLength: 256 },
  },
  'RateLimit-Policy': {
    description: `The policy of that limit: \`"<policy>";q=<quota>;w=<window seconds>\`. ${rateLimitNote}`,
    schema: { type: 'string', maxLength: 256 },
  },
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer', format: 'int32', minimum: 1, maximum: int32.max } },
  'Access-Control-Allow-Origin': {
    description: "The request's Origin, when it is one of the configured browser origins (CORS); absent otherwise.",
    schema: { type: 'string', maxLength: 2_048 },
  },
} as const;

type HeaderName = keyof typeof responseHeaders;

const headerRef = (name: HeaderName) => ({ $ref: `#/components/headers/${name}` });

/** What each error status means here, for every operation that can answer it. */
const statusDescriptions: Readonly<Record<number, string>> = {
  400: 'The request is malformed or fails the schema (details name the field)',
  401: 'No valid credential',
  403: 'The credential is valid but does not allow this',
  404: 'No such resource (or not yours)',
  408: 'The request (headers or body) did not arrive within the server timeout; the connection is closed',
  409: 'Conflicts with the current state (details say which), or the same Idempotency-Key is still in flight',
  413: 'The body is larger than the limit',
  414: 'A path parameter is longer than the router accepts',
  415: 'The body is not JSON',
  422: 'The Idempotency-Key was used for a different request',
  429: 'Too many requests: wait Retry-After seconds',
  431: 'The request headers are too large',
  500: 'An unexpected failure; quote the traceId',
  503: 'A service this needs is unavailable or shedding load; retry after Retry-After seconds when given',
  504: 'The request ran out of its deadline',
};

interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  description?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ in: string }>;
  requestBody?: unknown;
  responses: Record<string, { description?: string; headers?: Record<string, unknown>; content?: Record<string, { schema?: unknown }> }>;
  [extension: `x-${string}`]: unknown;
}

/**
 * Statuses the edge itself can answer on this operation, whatever the handler does: 400 (schema,
 * malformed input), 408/431 (slow or oversized requests), 429 (rate limits on every path), 500,
 * 503 (a breaker open or shed load) and 504 (every request has a deadline); 413/415 where there is
 * a body, 414 where there are path parameters. Whatever the route declared itself is kept.
 */
function edgeStatuses(operation: Operation): number[] {
  const statuses = [400, 408, 429, 431, 500, 503, 504];
  if (operation.requestBody) statuses.push(413, 415);
  if (operation.parameters?.some((parameter) => parameter.in === 'path')) statuses.push(414);
  return statuses;
}

function addResponseBounds(value: unknown): void {
  // Integers we write are JavaScript numbers: within the safe range by construction.
  if (Array.isArray(value)) {
    for (const item of value) addResponseBounds(item);
    return;
  }
  if (!isNode(value)) return;
  if (typesOf(value).includes('integer')) {
    if (value.minimum === undefined && value.exclusiveMinimum === undefined) value.minimum = Number.MIN_SAFE_INTEGER;
    if (value.maximum === undefined && value.exclusiveMaximum === undefined) value.maximum = Number.MAX_SAFE_INTEGER;
    value.format ??= integerFormat(value);
  }
  // OpenAPI 3.1 is JSON Schema 2020-12: a tuple is `prefixItems`, an array-valued `items` is invalid.
  // The items after them are described as any of the tuple's own (linters and older tools want an
  // `items` beside every array; the fixed length still comes from min/maxItems).
  delete value.additionalItems; // draft-07's tuple tail; 2020-12 (OpenAPI 3.1) has no such keyword
  if (Array.isArray(value.items)) {
    const members = value.items as unknown[];
    value.prefixItems = members;
    const distinct = [...new Map(members.map((member) => [JSON.stringify(member), member])).values()];
    value.items = distinct.length === 1 ? distinct[0] : { anyOf: distinct };
  }
  for (const child of Object.values(value)) addResponseBounds(child);
}

export interface FinishOptions {
  /** Where clients reach the API; a relative URL resolves against where the document was fetched. */
  serverUrl: string;
  serverDescription: string;
  /** True for a server only the operator's own network reaches. */
  serverInternal: boolean;
}

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const;

/**
 * The document as served and linted: applied to what @fastify/swagger built from the routes
 * (its `transformObject`). Mutates and returns it. Throws when two operations would share an id,
 * so a clash fails generation rather than a client build.
 */
export function finishOpenApiDocument<Document extends object>(document: Document, options: FinishOptions): Document {
  const doc = document as unknown as {
    servers?: unknown[];
    tags?: Array<{ name: string; description?: string }>;
    components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown>; headers?: Record<string, unknown> };
    paths?: Record<string, Partial<Record<(typeof methods)[number], Operation>>>;
  };
  doc.servers = [{ url: options.serverUrl, description: options.serverDescription, 'x-internal': options.serverInternal }];
  doc.components ??= {};
  doc.components.securitySchemes = { ...securitySchemes };
  doc.components.headers = { ...responseHeaders };
  doc.components.schemas = { ...doc.components.schemas, ErrorResponse: errorResponseDocument() };

  const seenIds = new Map<string, string>();
  const tags = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of methods) {
      const operation = item[method];
      if (!operation) continue;
      const where = `${method.toUpperCase()} ${path}`;
      operation.operationId ??= operationIdOf(method, path);
      const clash = seenIds.get(operation.operationId);
      if (clash) throw new Error(`operationId ${operation.operationId} of ${where} is also that of ${clash}`);
      seenIds.set(operation.operationId, where);
      for (const tag of operation.tags ?? []) tags.add(tag);
      operation.description ??= operation.summary;

      const contract = httpRouteContractOf(method, path.replace(/\{([^}]+)\}/g, ':$1'));
      if (contract) {
        operation.security = securityOf(contract);
        operation['x-roles'] = contract.credential ? [] : [...rolesByAccess[contract.access]];
      } else {
        operation.security ??= [{}];
      }

      for (const status of edgeStatuses(operation)) operation.responses[status] ??= {};
      for (const [status, response] of Object.entries(operation.responses)) {
        const code = Number(status);
        response.headers = {
          ...response.headers,
          RateLimit: headerRef('RateLimit'),
          'RateLimit-Policy': headerRef('RateLimit-Policy'),
          'Access-Control-Allow-Origin': headerRef('Access-Control-Allow-Origin'),
          ...((code === 429 || code === 503) && { 'Retry-After': headerRef('Retry-After') }),
        };
        if (code >= 400) {
          // Every error of the edge has the one shape, whatever the route declared.
          response.description = statusDescriptions[code] ?? response.description ?? 'Error';
          response.content = { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponse' } } };
        } else {
          addResponseBounds(response.content);
        }
      }
    }
  }
  doc.tags = [...tags].sort().map((name) => ({ name, description: `Operations on ${name}` }));
  return document;
}

/** The error body for the document: the contract's schema as JSON, its `$id` left to the components key. */
function errorResponseDocument(): unknown {
  const { $id: _id, ...schema } = JSON.parse(JSON.stringify(ErrorResponse)) as Record<string, unknown>;
  return schema;
}
