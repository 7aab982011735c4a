/**
 * Nearby at 10,000 cars (ADR 0015): the SQL bounding box + haversine the service uses, against
 * the in-memory kd-tree index (kdbush + geokdbush) reloaded from the same rows. Run:
 *   node --import tsx services/car/src/nearby.bench.ts            (PGlite)
 *   DATABASE_URL=postgres://… node --import tsx services/car/src/nearby.bench.ts
 */
import { performance } from 'node:perf_hooks';
import { uuidV7Ids } from '@carshare/platform';
import { openTestDatabase } from '@carshare/storage';
import { sql, type Kysely } from 'kysely';
import type { CarDatabase } from './adapters/car-database.ts';
import { MemoryNearbyIndex } from './adapters/memory-nearby-index.ts';
import { SqlCarStore } from './adapters/sql-car-store.ts';
import { createCarService } from './car-service.ts';
import { carMigrationsDir } from './module.ts';

const cars = 10_000;
const queries = 2_000;
const radiusM = 2_000;
// A city of ~15 × 15 km.
const center = { lat: 52.52, lng: 13.405 };
const spread = { lat: 0.07, lng: 0.11 };
let seed = 42;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
const randomPoint = () => ({ lat: center.lat + (random() * 2 - 1) * spread.lat, lng: center.lng + (random() * 2 - 1) * spread.lng });

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const database = await openTestDatabase({ schemaPrefix: 'car_bench', databaseUrl: process.env['DATABASE_URL'], prepare: (db) => db.migrate(carMigrationsDir) });
try {
  const rows = Array.from({ length: cars }, (_, index) => ({ id: uuidV7Ids.next(), index, ...randomPoint() }));
  for (let start = 0; start < rows.length; start += 1000) {
    const values = rows.slice(start, start + 1000).map(
      (row) => sql`(${row.id}::uuid, ${`B-BN ${row.index}`}, ${`WVWZZZ1JZ3W${String(row.index).padStart(6, '0')}`}, 'bench', ${row.index % 5 === 0 ? 'van' : 'compact'}, 5, 'electric', ${row.index % 10 === 0 ? 'maintenance' : 'available'}, ${row.lat}, ${row.lng}, 'x', now(), now())`,
    );
    await sql`insert into cars (id, plate, vin, model, category, seats, fuel_type, state, lat, lng, secret_hash, created_at, updated_at) values ${sql.join(values)}`.execute(database.database.db);
  }
  const store = new SqlCarStore(database.database.db as Kysely<CarDatabase>);
  // Nearby needs only the car store; the other ports are never touched.
  const service = createCarService({ cars: store, devices: { onSettled: () => undefined } } as unknown as Parameters<typeof createCarService>[0]);

  const points = Array.from({ length: queries }, randomPoint);
  const sqlTimes: number[] = [];
  let found = 0;
  for (const point of points) {
    const started = performance.now();
    found += (await service.nearbyInSql({ ...point, radiusM, limit: 20 })).length;
    sqlTimes.push(performance.now() - started);
  }

  // What the service does (ADR 0015): reload every car's light columns, rebuild the tree, query it.
  const index = new MemoryNearbyIndex({ slackM: 1000 });
  const reloads: number[] = [];
  for (let round = 0; round < 5; round += 1) {
    const started = performance.now();
    index.replaceAll(await store.nearbyEntries());
    index.nearby(center, 1, undefined, 1);
    reloads.push(performance.now() - started);
  }
  for (const point of points.slice(0, 500)) index.nearby(point, radiusM, undefined, 20);
  const treeTimes: number[] = [];
  let treeFound = 0;
  for (const point of points) {
    const started = performance.now();
    treeFound += index.nearby(point, radiusM, undefined, 20).length;
    treeTimes.push(performance.now() - started);
  }
  const available = index.size;
  console.log(
    JSON.stringify(
      {
        engine: database.kind,
        cars,
        carsInIndex: available,
        radiusM,
        queries,
        resultsPerQuery: { sql: found / queries, memoryIndex: treeFound / queries },
        sqlBoundingBoxMs: { p50: percentile(sqlTimes, 50), p99: percentile(sqlTimes, 99) },
        memoryIndexMs: { p50: percentile(treeTimes, 50), p99: percentile(treeTimes, 99), reloadFromSqlMedianMs: percentile(reloads, 50) },
      },
      null,
      2,
    ),
  );
} finally {
  await database.close();
}
