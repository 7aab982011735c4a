import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const sqlEngineModule = new URL('./sql-engine.ts', import.meta.url).href;

/**
 * Opens three fresh clusters in a child whose home (where the template is kept) is `home`:
 * one in memory that gets a table after opening, then one in memory and one in a new folder,
 * which must come from initdb's state, not the first cluster's. Prints what each later one holds.
 */
const script = `
import { sql } from 'kysely';
import { openSqlEngine } from ${JSON.stringify(sqlEngineModule)};
const tables = async (engine) => (await sql\`select tablename from pg_tables where schemaname = 'public' order by 1\`.execute(engine.forService('public').db)).rows.map((row) => row.tablename);
const first = await openSqlEngine({ dataDir: 'memory://' });
await sql\`create table public.left_behind (x int)\`.execute(first.forService('public').db);
await first.close();
const inMemory = await openSqlEngine({ dataDir: 'memory://' });
const inFolder = await openSqlEngine({ dataDir: process.argv[1] });
console.log(JSON.stringify({ inMemory: await tables(inMemory), inFolder: await tables(inFolder) }));
await inMemory.close();
await inFolder.close();
`;

describe('the PGlite template (a fresh cluster without initdb)', () => {
  const home = mkdtempSync(join(tmpdir(), 'carshare-pglite-template-'));
  after(() => rmSync(home, { recursive: true, force: true }));

  it('starts a fresh cluster, in memory or in a new folder, from the kept template', () => {
    // A template of our own making, marked with a table: a cluster made from it shows the mark.
    const marked = `
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { openSqlEngine } from ${JSON.stringify(sqlEngineModule)};
await (await openSqlEngine({ dataDir: 'memory://' })).close();
const folder = join(process.env.HOME, '.cache', 'carshare');
const [kept] = readdirSync(folder).filter((name) => name.endsWith('.tar'));
const pglite = await PGlite.create('memory://');
await pglite.exec('create table public.from_template (x int)');
writeFileSync(join(folder, kept), new Uint8Array(await (await pglite.dumpDataDir('none')).arrayBuffer()));
await pglite.close();
const tables = async (engine) => (await sql\`select tablename from pg_tables where schemaname = 'public' order by 1\`.execute(engine.forService('public').db)).rows.map((row) => row.tablename);
const inMemory = await openSqlEngine({ dataDir: 'memory://' });
const inFolder = await openSqlEngine({ dataDir: process.argv[1] });
console.log(JSON.stringify({ inMemory: await tables(inMemory), inFolder: await tables(inFolder) }));
await inMemory.close();
await inFolder.close();
`;
    const ownHome = mkdtempSync(join(tmpdir(), 'carshare-pglite-template-'));
    try {
      const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', marked, join(ownHome, 'data')], {
        cwd: import.meta.dirname,
        encoding: 'utf8',
        env: { ...process.env, HOME: ownHome },
      });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout.trim().split('\n').at(-1) as string), { inMemory: ['from_template'], inFolder: ['from_template'] });
    } finally {
      rmSync(ownHome, { recursive: true, force: true });
    }
  });

  it('is kept from the first fresh cluster, before anything was done to it, and later fresh clusters start from it', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, join(home, 'data')], {
      cwd: import.meta.dirname,
      encoding: 'utf8',
      env: { ...process.env, HOME: home },
    });
    assert.equal(run.status, 0, run.stderr);
    const kept = readdirSync(join(home, '.cache', 'carshare')).filter((name) => /^pglite-template-.+\.tar$/.test(name));
    assert.equal(kept.length, 1, `kept: ${kept.join(', ')}`);
    assert.deepEqual(JSON.parse(run.stdout.trim().split('\n').at(-1) as string), { inMemory: [], inFolder: [] });
  });
  it('leaves a folder made from a template locked by the process that opened it, not by the one the template came from', () => {
    const ownHome = mkdtempSync(join(tmpdir(), 'carshare-pglite-template-'));
    const open = (folder: string) => `
import { readFileSync } from 'node:fs';
import { openSqlEngine } from ${JSON.stringify(sqlEngineModule)};
const engine = await openSqlEngine({ dataDir: ${JSON.stringify(folder)} });
console.log(JSON.stringify({ pid: process.pid, lock: readFileSync(${JSON.stringify(join(folder, 'carshare-sql.lock'))}, 'utf8') }));
await engine.close();
`;
    const run = (folder: string) => {
      const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', open(folder)], { cwd: import.meta.dirname, encoding: 'utf8', env: { ...process.env, HOME: ownHome } });
      assert.equal(child.status, 0, child.stderr);
      return JSON.parse(child.stdout.trim().split('\n').at(-1) as string) as { pid: number; lock: string };
    };
    try {
      // The first folder cluster is the template, its lock file in it.
      run(join(ownHome, 'first'));
      const second = run(join(ownHome, 'second'));
      assert.equal(second.lock, String(second.pid));
    } finally {
      rmSync(ownHome, { recursive: true, force: true });
    }
  });
});
