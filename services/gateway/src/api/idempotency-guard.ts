import { createHash } from 'node:crypto';
import { idempotencyHeaders, type IdempotencyKeyUse } from '@carshare/contracts';
import { Aborted, InvalidArgument, Unavailable, renderError, type AppError, type Clock } from '@carshare/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IdempotencyStore } from '../ports.ts';

export interface IdempotencyGuard {
  /** After authentication and rate limiting: is the key there where required, and well formed. */
  readKey(request: FastifyRequest, use: IdempotencyKeyUse | undefined): void;
  /** Once the body is validated: claims the key, or answers a replay or a conflict itself (true then). */
  claim(request: FastifyRequest, reply: FastifyReply): Promise<boolean>;
  /** As the answer goes out: keeps it for replays, or frees the key for a retry. */
  settle(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void>;
}

export interface IdempotencyGuardDeps {
  store: IdempotencyStore;
  clock: Clock;
}

/** How long a client should wait before asking again while the first request runs. */
const inFlightRetryAfterMs = 1_000;

// Visible ASCII without the double quote and the backslash: a UUID, a ULID or any token fits,
// and nothing needs unescaping. The draft's sf-string form ("…") is accepted with the quotes.
const keyPattern = /^(?:"([\x21\x23-\x5b\x5d-\x7e]{1,255})"|([\x21\x23-\x5b\x5d-\x7e]{1,255}))$/;

export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = typeof header === 'string' ? keyPattern.exec(header) : null;
  if (!match) {
    throw InvalidArgument('IDEMPOTENCY_KEY_MALFORMED', 'Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces, quotes or backslashes), sent once', {
      header: 'Idempotency-Key',
      maxLength: 255,
    });
  }
  return match[1] ?? match[2];
}

/** JSON with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * What makes two requests "the same" for a key: method, path, query and body as validated (so
 * schema defaults are filled in and key order or whitespace do not count).
 */
export function requestFingerprint(request: { method: string; url: string; query: unknown; body: unknown }): string {
  const path = request.url.split('?', 1)[0];
  const canonical = canonicalJson([request.method, path, request.query ?? null, request.body ?? null]);
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * Answers that ask the client to try again: a server failure (5xx), too many requests (429), or
 * credentials to renew (401, e.g. a token that expired between the gateway and the service).
 * Nothing was done for them, and replaying one for a day would turn "retry" into "never".
 */
function invitesRetry(status: number): boolean {
  return status >= 500 || status === 429 || status === 401;
}

interface PendingKey {
  key: string;
  token?: string;
}

function errorWithStatus(reply: FastifyReply, request: FastifyRequest, status: number, error: AppError): FastifyReply {
  const { body } = renderError(error, 'public', request.ctx.span.spanContext().traceId);
  return reply.code(status).send(body);
}

/**
 * The gateway's side of `Idempotency-Key` (IETF draft-ietf-httpapi-idempotency-key-header).
 * Keys are scoped to the caller (user id, or IP when anonymous), so two clients that happen to
 * pick the same key never see each other's answers. What is kept: every answer below 500 except
 * 429 and 401 (successes and client errors are the request's outcome, and replaying them is what
 * makes a retry safe); a 5xx, 429 or 401 frees the key, since the client is told to try again.
 */
export function createIdempotencyGuard(deps: IdempotencyGuardDeps): IdempotencyGuard {
  const { store, clock } = deps;
  const pending = new WeakMap<FastifyRequest, PendingKey>();

  return {
    readKey(request, use) {
      if (use === undefined) return;
      const key = parseIdempotencyKey(request.headers[idempotencyHeaders.key]);
      if (key === undefined) {
        if (use === 'optional') return;
        throw InvalidArgument('IDEMPOTENCY_KEY_REQUIRED', 'this call needs an Idempotency-Key header: a fresh unique value (e.g. a UUID) per operation, reused only to retry it', {
          header: 'Idempotency-Key',
        });
      }
      const caller = request.ctx.caller;
      const scope = caller ? `user:${caller.userId}` : `ip:${request.ip}`;
      // A space cannot occur in a key, so scope and key cannot run into each other.
      pending.set(request, { key: `${scope} ${key}` });
    },

    async claim(request, reply) {
      const held = pending.get(request);
      if (!held) return false;
      const fingerprint = requestFingerprint(request);
      let claim;
      try {
        claim = await store.claim(held.key, fingerprint, clock.now());
      } catch (error) {
        // Failing open here could run a payment twice: without the store the key cannot be honoured.
        throw Unavailable('IDEMPOTENCY_STORE_UNAVAILABLE', 'idempotency keys cannot be checked right now; retry shortly', { retryAfterMs: inFlightRetryAfterMs }, { cause: error });
      }
      if (claim.outcome === 'claimed') {
        held.token = claim.token;
        return false;
      }
      pending.delete(request);
      if (claim.fingerprint !== fingerprint) {
        errorWithStatus(reply, request, 422, InvalidArgument('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request; use a new key for a new operation', {
          header: 'Idempotency-Key',
        }));
        return true;
      }
      if (claim.outcome === 'in-flight') {
        void reply.header('retry-after', Math.ceil(inFlightRetryAfterMs / 1000));
        throw Aborted('IDEMPOTENCY_KEY_IN_USE', 'a request with this Idempotency-Key is still being handled; retry shortly to get its answer', {
          header: 'Idempotency-Key',
          retryAfterMs: inFlightRetryAfterMs,
        });
      }
      const { status, contentType, body } = claim.response;
      void reply.code(status).header(idempotencyHeaders.replayed, 'true');
      if (contentType) void reply.header('content-type', contentType);
      // A string with a JSON content type goes out as it is: the bytes of the first answer.
      void reply.send(body === '' ? undefined : body);
      return true;
    },

    async settle(request, reply, payload) {
      const held = pending.get(request);
      if (!held?.token) return;
      pending.delete(request);
      const status = reply.statusCode;
      const keepable = typeof payload === 'string' || payload === undefined || payload === null;
      try {
        if (invitesRetry(status) || !keepable) {
          await store.release(held.key, held.token);
          return;
        }
        const contentType = reply.getHeader('content-type');
        await store.complete(held.key, held.token, { status, contentType: typeof contentType === 'string' ? contentType : '', body: payload ?? '' }, clock.now());
      } catch (error) {
        // The answer itself is good and goes out; only its copy is lost. The lock then expires on
        // its own, and until it does a retry is told the key is in use, never run twice.
        request.ctx.log.error({ err: error, status }, 'the answer for an Idempotency-Key could not be kept');
      }
    },
  };
}
