import { migrateSagaTables } from '@carshare/saga';
import { openTestDatabase, type ServiceDatabase } from '@carshare/storage';
import { tripMigrationsDir } from '../module.ts';
import { MemoryReservationStore } from '../testing/memory-reservation-store.ts';
import type { TripDatabase } from './trip-database.ts';
import { describeReservationStoreContract } from './reservation-store.contract.ts';
import { SqlReservationStore } from './sql-reservation-store.ts';

describeReservationStoreContract('memory', async () => ({ store: new MemoryReservationStore(), close: async () => {} }));

async function openSql(databaseUrl: string | undefined) {
  const test = await openTestDatabase({
    databaseUrl,
    schemaPrefix: 'trip_reservations',
    prepare: async (database) => {
      await database.migrate(tripMigrationsDir);
      await migrateSagaTables(database);
    },
  });
  const database = test.database as ServiceDatabase<TripDatabase>;
  return { store: new SqlReservationStore(database.db), close: () => test.close() };
}

describeReservationStoreContract('PGlite', () => openSql(undefined));
if (process.env.DATABASE_URL) describeReservationStoreContract('PostgreSQL', () => openSql(process.env.DATABASE_URL));
