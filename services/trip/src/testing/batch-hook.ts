import type { BatchStatement, ServiceDatabase } from '@carshare/storage';

/** What a batch hook is told: each statement of the batch about to be sent. */
export type BeforeBatch = (statements: readonly BatchStatement[]) => Promise<void>;

/**
 * `database`, whose every batch first runs `beforeBatch`: another writer getting in between a
 * planned saga step's read and its write. Without a hook, `database` itself.
 */
export function withBatchHook<DB>(database: ServiceDatabase<DB>, beforeBatch: BeforeBatch | undefined): ServiceDatabase<DB> {
  if (beforeBatch === undefined) return database;
  return {
    ...database,
    batch: async (statements) => {
      await beforeBatch(statements);
      return await database.batch(statements);
    },
  };
}

/** The SQL text of a batch's statement. */
export function sqlOf(statement: BatchStatement): string {
  return ('compile' in statement.query ? statement.query.compile() : statement.query).sql;
}
