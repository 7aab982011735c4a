import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * A Lua script called by its SHA1 (EVALSHA: the body is not resent on every call). When Redis
 * does not know it (first use, restart, SCRIPT FLUSH, failover to a replica) it is loaded once
 * with SCRIPT LOAD and the call repeated.
 */
export class RedisLuaScript {
  readonly source: string;
  readonly sha: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      await redis.script('LOAD', this.source);
      return redis.evalsha(this.sha, keys.length, ...keys, ...args);
    }
  }
}
