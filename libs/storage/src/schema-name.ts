import { InvalidArgument } from '@carshare/platform';

// Lower-case identifiers need no quoting anywhere (search_path option, SQL, advisory lock keys),
// so validating once here keeps every later interpolation safe.
const schemaNamePattern = /^[a-z][a-z0-9_]{0,62}$/;

export function assertSchemaName(schema: string): string {
  if (!schemaNamePattern.test(schema) || schema.startsWith('pg_')) {
    throw InvalidArgument(
      'INVALID_SCHEMA_NAME',
      `schema name "${schema}" must match ${schemaNamePattern.source} and not start with pg_`,
    );
  }
  return schema;
}
