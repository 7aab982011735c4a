import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A new, empty database on the PostgreSQL server `serverUrl` points at (psql, Debian's client):
 * the platform's services use fixed schema names, so a run is kept apart from every other user of
 * the server by database. Dropped afterwards, sessions and all.
 */
export async function freshDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bench_trips_${randomBytes(5).toString('hex')}`;
  await run('psql', [serverUrl, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${name}`]);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await run('psql', [serverUrl, '-v', 'ON_ERROR_STOP=1', '-qc', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
    },
  };
}

/**
 * A virtual host of its own on the RabbitMQ broker `amqpUrl` points at (rabbitmqctl, on this
 * machine): the platform declares its `carshare.*` exchanges and queues under a fixed prefix, so
 * only a vhost keeps a run's objects apart from everyone else's on a shared broker, and deleting
 * it removes every one of them.
 */
export async function freshVirtualHost(amqpUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bench-trips-${randomBytes(5).toString('hex')}`;
  const url = new URL(amqpUrl);
  const user = decodeURIComponent(url.username || 'guest');
  await run('rabbitmqctl', ['add_vhost', name]);
  await run('rabbitmqctl', ['set_permissions', '-p', name, user, '.*', '.*', '.*']);
  url.pathname = `/${encodeURIComponent(name)}`;
  return {
    url: url.toString(),
    drop: async () => {
      await run('rabbitmqctl', ['delete_vhost', name]);
    },
  };
}
