import type { Kysely } from 'kysely';
import type { FailureCount } from '../domain/attempt-backoff.ts';
import type { AttemptCountStore } from '../ports.ts';
import type { UserDatabase } from './user-database.ts';

/**
 * Attempt counts in the service's own database, so every instance meets the same count. Each
 * write is a compare-and-set on the row as it was read (the failure count is its version).
 */
export class SqlAttemptCountStore implements AttemptCountStore {
  readonly #db: Kysely<UserDatabase>;

  constructor(db: Kysely<UserDatabase>) {
    this.#db = db;
  }

  async find(keys: readonly string[]): Promise<Map<string, FailureCount>> {
    const counts = new Map<string, FailureCount>();
    if (keys.length === 0) return counts;
    const rows = await this.#db.selectFrom('attempt_counts').selectAll().where('key', 'in', [...keys]).execute();
    for (const row of rows) counts.set(row.key, { failures: row.failures, lastFailureAt: new Date(row.last_failure_at).getTime() });
    return counts;
  }

  /**
   * Deletes counts with no failure since `before`: past every rule's forget time they judge
   * nothing, and a flood of made-up emails would otherwise leave a row each for good.
   */
  async prune(before: number): Promise<number> {
    const result = await this.#db.deleteFrom('attempt_counts').where('last_failure_at', '<', new Date(before)).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async compareAndSet(key: string, expected: FailureCount | undefined, next: FailureCount | undefined): Promise<boolean> {
    if (expected === undefined) {
      if (next === undefined) return true;
      const inserted = await this.#db
        .insertInto('attempt_counts')
        .values({ key, failures: next.failures, last_failure_at: new Date(next.lastFailureAt) })
        .onConflict((conflict) => conflict.column('key').doNothing())
        .returning('key')
        .executeTakeFirst();
      return inserted !== undefined;
    }
    if (next === undefined) {
      const deleted = await this.#db
        .deleteFrom('attempt_counts')
        .where('key', '=', key)
        .where('failures', '=', expected.failures)
        .where('last_failure_at', '=', new Date(expected.lastFailureAt))
        .executeTakeFirst();
      return deleted.numDeletedRows > 0n;
    }
    const updated = await this.#db
      .updateTable('attempt_counts')
      .set({ failures: next.failures, last_failure_at: new Date(next.lastFailureAt) })
      .where('key', '=', key)
      .where('failures', '=', expected.failures)
      .where('last_failure_at', '=', new Date(expected.lastFailureAt))
      .executeTakeFirst();
    return updated.numUpdatedRows > 0n;
  }
}
