import { hash, verify } from '@node-rs/argon2';
import type { PasswordHasher } from '../ports.ts';

/** argon2id with the library's defaults (OWASP's 19 MiB, t=2): ~20 ms per hash on this machine. */
export class Argon2PasswordHasher implements PasswordHasher {
  hash(password: string): Promise<string> {
    return hash(password);
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return await verify(passwordHash, password);
    } catch {
      return false;
    }
  }
}
