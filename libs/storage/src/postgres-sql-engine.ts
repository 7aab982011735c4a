import { InvalidArgument } from '@carshare/platform';
import { PostgresDialect } from 'kysely';
import pg from 'pg';
import { postgresTypeParsers } from './postgres-type-parsers.ts';
import { schemaPerServiceEngine } from './schema-per-service-engine.ts';
import { sqlEngineDefaults } from './sql-engine-defaults.ts';
import type { SqlEngine, SqlEngineOptions } from './sql-engine.ts';

/** The URL without credentials or query, fit for logs. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * search_path goes in the startup packet (`options`), so every pooled connection is in the
 * service's schema from its first statement, at no extra round trip. pg lets an `options` in the
 * URL override the config, so one found there is merged instead.
 */
function connectionSettings(url: URL, schema: string): { connectionString: string; options: string } {
  const fromUrl = url.searchParams.get('options');
  if (fromUrl === null) return { connectionString: url.href, options: `-c search_path=${schema}` };
  const withoutOptions = new URL(url.href);
  withoutOptions.searchParams.delete('options');
  return { connectionString: withoutOptions.href, options: `${fromUrl} -c search_path=${schema}` };
}

export async function openPostgresSqlEngine(options: SqlEngineOptions & { databaseUrl: string }): Promise<SqlEngine> {
  let url: URL;
  try {
    url = new URL(options.databaseUrl);
  } catch (error) {
    throw InvalidArgument('INVALID_DATABASE_URL', 'DATABASE_URL is not a valid URL', {}, { cause: error });
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw InvalidArgument('INVALID_DATABASE_URL', `DATABASE_URL must start with postgres://, not ${url.protocol}//`);
  }
  const location = redact(url);
  options.onProgress?.({ phase: 'opening', kind: 'postgres', location, firstRun: false });
  // Pools connect lazily: migrate() or ping() is the first contact.
  options.onProgress?.({ phase: 'ready', kind: 'postgres', location, durationMs: 0 });

  return schemaPerServiceEngine({
    kind: 'postgres',
    dialectFor: (schema) => {
      const pool = new pg.Pool({
        ...connectionSettings(url, schema),
        max: options.poolSize ?? sqlEngineDefaults.poolSize,
        connectionTimeoutMillis: options.connectTimeoutMs ?? sqlEngineDefaults.connectTimeoutMs,
        application_name: `carshare-${schema}`,
        types: postgresTypeParsers,
      });
      // An idle connection dropped by the server emits this; the pool discards the client
      // and the next query opens a fresh one. Without a listener Node would crash the process.
      pool.on('error', () => {});
      return new PostgresDialect({ pool });
    },
    pingTimeoutMs: options.pingTimeoutMs ?? sqlEngineDefaults.pingTimeoutMs,
  });
}
