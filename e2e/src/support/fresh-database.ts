import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export interface FreshDatabase {
  name: string;
  /** The server URL with the database swapped for the fresh one. */
  url: string;
  drop(): Promise<void>;
}

async function onServer(serverUrl: string, statement: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * A new, empty database on the server `serverUrl` points at. Each service uses a fixed schema name
 * (the user service: `user`), so two runs on one server are kept apart by database, not schema.
 */
export async function createFreshDatabase(serverUrl: string): Promise<FreshDatabase> {
  // Lower-case hex only, so the name needs no quoting.
  const name = `e2e_${randomBytes(6).toString('hex')}`;
  await onServer(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropping: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    // FORCE ends sessions a killed child may have left behind (PostgreSQL 13+).
    drop: () => (dropping ??= onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
  };
}
