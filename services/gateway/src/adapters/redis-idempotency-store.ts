import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { IdempotencyClaim, IdempotencyStore, StoredResponse } from '../ports.ts';

export interface RedisIdempotencyStoreOptions {
  redis: Redis;
  /** Keeps several platforms (or test runs) sharing one Redis apart. */
  keyPrefix: string;
  lockTtlMs: number;
  retentionMs: number;
  /** Whether close() ends the connection (true when the store made it). */
  ownsConnection?: boolean;
}

/**
 * Expiry is decided on the gateway's clock (`now`, stored as `expiresAt`), so every instance and
 * the tests' fake clocks agree; Redis's own TTL only collects the garbage, a minute later so
 * clock skew between hosts never drops a live lock.
 */
const garbageGraceMs = 60_000;

// One round trip each, and atomic: Redis runs a script without interleaving other commands, so
// of two concurrent claims on a free key exactly one writes its lock.
const claimScript = `
local entry = redis.call('HMGET', KEYS[1], 'state', 'fingerprint', 'expiresAt', 'status', 'contentType', 'body')
if entry[1] and tonumber(entry[3]) > tonumber(ARGV[3]) then
  return entry
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'state', 'in-flight', 'fingerprint', ARGV[1], 'token', ARGV[2],
  'expiresAt', string.format('%.0f', tonumber(ARGV[3]) + tonumber(ARGV[4])))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]) + tonumber(ARGV[5]))
return {'claimed'}
`;

const completeScript = `
local lock = redis.call('HMGET', KEYS[1], 'state', 'token')
if lock[1] ~= 'in-flight' or lock[2] ~= ARGV[1] then
  return 0
end
redis.call('HDEL', KEYS[1], 'token')
redis.call('HSET', KEYS[1], 'state', 'completed', 'expiresAt', string.format('%.0f', tonumber(ARGV[2]) + tonumber(ARGV[3])),
  'status', ARGV[5], 'contentType', ARGV[6], 'body', ARGV[7])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + tonumber(ARGV[4]))
return 1
`;

const releaseScript = `
local lock = redis.call('HMGET', KEYS[1], 'state', 'token')
if lock[1] ~= 'in-flight' or lock[2] ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
`;

interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const scripts = { claim: script(claimScript), complete: script(completeScript), release: script(releaseScript) };

/**
 * Keys shared by every gateway instance on one Redis: a retry that reaches another instance
 * still finds the first answer or the lock. One hash per key.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  readonly #redis: Redis;
  readonly #keyPrefix: string;
  readonly #lockTtlMs: number;
  readonly #retentionMs: number;
  readonly #ownsConnection: boolean;

  constructor(options: RedisIdempotencyStoreOptions) {
    this.#redis = options.redis;
    this.#keyPrefix = options.keyPrefix;
    this.#lockTtlMs = options.lockTtlMs;
    this.#retentionMs = options.retentionMs;
    this.#ownsConnection = options.ownsConnection ?? false;
  }

  async claim(key: string, fingerprint: string, now: number): Promise<IdempotencyClaim> {
    const token = randomUUID();
    const reply = (await this.#run(scripts.claim, key, [fingerprint, token, now, this.#lockTtlMs, garbageGraceMs])) as (string | null)[];
    const [state, storedFingerprint, , status, contentType, body] = reply;
    if (state === 'claimed') return { outcome: 'claimed', token };
    if (state === 'completed') {
      return {
        outcome: 'completed',
        fingerprint: storedFingerprint ?? '',
        response: { status: Number(status), contentType: contentType ?? '', body: body ?? '' },
      };
    }
    return { outcome: 'in-flight', fingerprint: storedFingerprint ?? '' };
  }

  async complete(key: string, token: string, response: StoredResponse, now: number): Promise<boolean> {
    const args = [token, now, this.#retentionMs, garbageGraceMs, response.status, response.contentType, response.body];
    return (await this.#run(scripts.complete, key, args)) === 1;
  }

  async release(key: string, token: string): Promise<boolean> {
    return (await this.#run(scripts.release, key, [token])) === 1;
  }

  async close(): Promise<void> {
    if (this.#ownsConnection) this.#redis.disconnect();
  }

  /** By SHA, so the body is not resent each call; loaded on first use or after a Redis restart. */
  async #run(called: Script, key: string, args: (string | number)[]): Promise<unknown> {
    const redisKey = `${this.#keyPrefix}${key}`;
    try {
      return await this.#redis.evalsha(called.sha, 1, redisKey, ...args);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return this.#redis.eval(called.source, 1, redisKey, ...args);
    }
  }
}
