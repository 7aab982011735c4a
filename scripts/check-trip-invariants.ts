// Checks a running platform's trips, cars, holds and ledger (issue 14, acceptance 3) through the
// operator API; exit 0 when every rule holds, 1 with the violations listed, 2 on bad usage.
//
//   node --import tsx scripts/check-trip-invariants.ts --api http://localhost:8080 \
//     --operator-email operator@carshare.local --operator-password operator-demo-pass [--confirm-after-ms 5000] [--json] \
//     [--processor-database postgres://…/carshare | ./data/<pglite folder>] [--processor-schema simulated_processor]
//
// With --processor-database the open holds and captures are checked at the card processor too
// (the simulated processor's own tables, ADR 0027): on PostgreSQL while the platform runs, on an
// embedded platform's PGlite folder only once it has stopped.
//
// On a platform at work a violation must show twice, `--confirm-after-ms` apart (default 5000),
// to count: a car is `in_use` for a moment before its trip is recorded `in_progress`.
import { parseArgs } from 'node:util';
import { checkTripInvariants, describeInvariantReport, openSimulatedProcessorReader, operatorApi } from '@carshare/e2e/src/support/trip-invariants.ts';

const usage =
  'usage: check-trip-invariants --api URL (--token T | --operator-email E --operator-password P) [--confirm-after-ms MS] [--json] [--processor-database URL|DIR [--processor-schema S]]';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        api: { type: 'string' },
        token: { type: 'string' },
        'operator-email': { type: 'string' },
        'operator-password': { type: 'string' },
        'confirm-after-ms': { type: 'string', default: '5000' },
        json: { type: 'boolean', default: false },
        'processor-database': { type: 'string' },
        'processor-schema': { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  const confirmAfterMs = Number(values['confirm-after-ms']);
  if (!values.api || (!values.token && (!values['operator-email'] || !values['operator-password'])) || !Number.isFinite(confirmAfterMs) || confirmAfterMs < 0) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const api = await operatorApi({ apiUrl: values.api, token: values.token, email: values['operator-email'], password: values['operator-password'] });
  const processorDatabase = values['processor-database'];
  const processor = processorDatabase ? await openSimulatedProcessorReader({ database: processorDatabase, schema: values['processor-schema'] }) : undefined;
  let report;
  try {
    report = await checkTripInvariants(api, { confirmAfterMs, processor });
  } finally {
    await processor?.close();
  }
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${describeInvariantReport(report)}\n`);
  return report.ok ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`check-trip-invariants: ${(error as Error).message}\n`);
  process.exitCode = 2;
}
