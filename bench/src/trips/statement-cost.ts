/**
 * The floor under a trip's CPU on PGlite: CPU µs per statement of the kinds a trip is made of,
 * through the same engine and dialect as the platform (one PGlite session shared by schemas).
 * CPU time (process.cpuUsage), not wall time, so other processes on the machine matter less.
 *
 *   node --import tsx bench/src/trips/statement-cost.ts [iterations]
 */
import { openSqlEngine } from '@carshare/storage';
import { sql } from 'kysely';

const iterations = Number(process.argv[2] ?? 2000);
const engine = await openSqlEngine({ dataDir: 'memory://' });
const a = engine.forService('cost_a');
const b = engine.forService('cost_b');
for (const database of [a, b]) {
  await sql`create schema if not exists ${sql.id(database.schema)}`.execute(database.db);
  await sql`create table if not exists item (id uuid primary key, n integer not null, body jsonb not null)`.execute(database.db);
}
const ids = Array.from({ length: 1000 }, () => crypto.randomUUID());
for (const id of ids) await sql`insert into item (id, n, body) values (${id}::uuid, 0, ${JSON.stringify({ id, plate: 'B-CS 1' })}::jsonb)`.execute(a.db);

async function cpuMicros(label: string, work: (index: number) => Promise<unknown>): Promise<void> {
  for (let index = 0; index < 200; index += 1) await work(index);
  const before = process.cpuUsage();
  for (let index = 0; index < iterations; index += 1) await work(index);
  const used = process.cpuUsage(before);
  process.stdout.write(`${label.padEnd(52)} ${((used.user + used.system) / iterations).toFixed(0).padStart(5)} µs CPU\n`);
}

await cpuMicros('select by primary key', (index) => sql`select * from item where id = ${ids[index % ids.length]}::uuid`.execute(a.db));
await cpuMicros('update by primary key', (index) => sql`update item set n = n + 1 where id = ${ids[index % ids.length]}::uuid`.execute(a.db));
await cpuMicros('insert one row (jsonb)', () => sql`insert into item (id, n, body) values (${crypto.randomUUID()}::uuid, 0, ${'{"k":1}'}::jsonb)`.execute(a.db));
await cpuMicros('begin + update + commit', (index) => a.transaction((trx) => sql`update item set n = n + 1 where id = ${ids[index % ids.length]}::uuid`.execute(trx)));
// Two services taking turns: every statement pays a `set search_path` first.
await cpuMicros('select, schemas alternating (+ set search_path)', (index) => sql`select 1 from item limit 1`.execute((index % 2 === 0 ? a : b).db));
await cpuMicros('select, same schema', () => sql`select 1 from item limit 1`.execute(a.db));
await engine.close();
