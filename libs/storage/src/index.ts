export { openSqlEngine } from './sql-engine.ts';
export { sqlEngineDefaults } from './sql-engine-defaults.ts';
export type { SqlEngine, SqlEngineKind, SqlEngineOptions, SqlEngineProgress } from './sql-engine.ts';
export type { ServiceDatabase } from './service-database.ts';
export type { MigrationResult } from './migrate-schema.ts';
export { isUniqueViolation, uniqueViolationConstraint } from './is-unique-violation.ts';
export { encodeCursor, decodeCursor } from './cursor.ts';
export type { CursorValue } from './cursor.ts';
