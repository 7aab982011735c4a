export { openSqlEngine } from './sql-engine.ts';
export { sqlEngineDefaults } from './sql-engine-defaults.ts';
export type { SqlEngine, SqlEngineKind, SqlEngineOptions, SqlEngineProgress } from './sql-engine.ts';
// Exported for instrumentation (the trips benchmark's --trace counts statements on it).
export { PgliteThread } from './pglite-thread.ts';
export type { BatchStatement, ServiceDatabase } from './service-database.ts';
export type { MigrationResult } from './migrate-schema.ts';
export { isUniqueViolation, uniqueViolationConstraint } from './is-unique-violation.ts';
export { encodeCursor, decodeCursor } from './cursor.ts';
export type { CursorValue } from './cursor.ts';
export { paginate, decodeCursorKey, isUuidKey } from './paginate.ts';
export type { KeysetPage, KeyGuard } from './paginate.ts';
export { openTestDatabase, temporaryDirectory } from './test-database.ts';
export type { TestDatabase, TestDatabaseOptions } from './test-database.ts';
