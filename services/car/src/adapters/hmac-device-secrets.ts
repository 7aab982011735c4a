import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DeviceSecrets } from '../ports.ts';

/**
 * Device secrets are 256 random bits that we issue, never something a human chose: there is no
 * dictionary to try, so a slow password hash (argon2id, ~20 ms here) would buy nothing against
 * brute force and would cost 200 CPU-seconds every time 10,000 devices reconnect after a broker
 * restart. An HMAC-SHA256 (~1 µs) keyed with a server-side pepper that lives in config, not in
 * the database, means a leaked `cars` table alone does not let anyone check guesses either.
 * Comparison is constant-time.
 */
export class HmacDeviceSecrets implements DeviceSecrets {
  readonly #pepper: Buffer;

  constructor(pepper: string) {
    this.#pepper = Buffer.from(pepper, 'utf8');
  }

  issue(): { secret: string; hash: string } {
    const secret = randomBytes(32).toString('base64url');
    return { secret, hash: this.#hash(secret) };
  }

  matches(secret: string, hash: string): boolean {
    const expected = Buffer.from(hash, 'base64url');
    const actual = Buffer.from(this.#hash(secret), 'base64url');
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  #hash(secret: string): string {
    return createHmac('sha256', this.#pepper).update(secret, 'utf8').digest('base64url');
  }
}
