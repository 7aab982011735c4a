import type { Logger } from '@carshare/observability';
import type { GatewayConfig } from '../config.ts';
import type { IdempotencyStore } from '../ports.ts';
import { MemoryIdempotencyStore } from './memory-idempotency-store.ts';
import { RedisIdempotencyStore } from './redis-idempotency-store.ts';

/** Redis when the gateway has a Redis URL (keys shared by every instance), else this process's memory. */
export async function createIdempotencyStore(config: Pick<GatewayConfig, 'redis' | 'idempotency'>, logger: Logger): Promise<IdempotencyStore> {
  const { lockTtlMs, retentionMs, maxEntries, keyPrefix, timeoutMs } = config.idempotency;
  if (!config.redis.url) {
    logger.info('no REDIS_URL: idempotency keys are kept in this process');
    return new MemoryIdempotencyStore({ lockTtlMs, retentionMs, maxEntries });
  }
  // Its own connection, unlike the rate limiter's: a command may wait for a reconnect, but only
  // up to the timeout, after which the caller gets a 503 (a key cannot be honoured without Redis).
  // ioredis is loaded only when there is a Redis to talk to: `npm start` (no REDIS_URL) skips ~60 ms of loading.
  const { Redis } = await import('ioredis');
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1, commandTimeout: timeoutMs });
  // Connection errors surface as failed commands (503s); the event alone must not crash the process.
  redis.on('error', () => undefined);
  return new RedisIdempotencyStore({ redis, keyPrefix, lockTtlMs, retentionMs, ownsConnection: true });
}
