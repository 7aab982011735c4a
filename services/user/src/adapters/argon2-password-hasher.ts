import { hash, verify } from '@node-rs/argon2';
import type { Logger } from '@carshare/observability';
import type { PasswordHasher } from '../ports.ts';

/** argon2id with the library's defaults (OWASP's 19 MiB, t=2): ~20 ms per hash on this machine. */
export class Argon2PasswordHasher implements PasswordHasher {
  readonly #logger: Logger;

  /** `logger` hears of stored hashes argon2 cannot read. */
  constructor(logger: Logger) {
    this.#logger = logger;
  }

  hash(password: string): Promise<string> {
    return hash(password);
  }

  async verify(passwordHash: string, password: string, userId: string | undefined): Promise<boolean> {
    try {
      return await verify(passwordHash, password);
    } catch (error) {
      // argon2 throws only when the stored hash cannot be parsed: a damaged row or a bad import,
      // never a wrong password. The login is still refused, but without this line the user would
      // just see "wrong password" forever. The hash itself stays out of the logs.
      this.#logger.error(
        { userId, reason: error instanceof Error ? error.message : String(error) },
        'stored password hash is unreadable: login refused until the password is reset',
      );
      return false;
    }
  }
}
