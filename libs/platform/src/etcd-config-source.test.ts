import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { EtcdConfigSource } from './etcd-config-source.ts';
import { etcdMissing, startEtcdTestServer } from './etcd-test-server.ts';
import { LiveConfig } from './live-config.ts';
import type { StructuredLogger } from './structured-logger.ts';

// @carshare/testing depends on this library, so its startEtcdServer cannot be used here: the
// same few lines as discovery.test.ts start a one-member etcd.


const LimitsSchema = Type.Object({
  limit: Type.Integer({ minimum: 1 }),
  enabled: Type.Boolean({ default: true }),
});
type Limits = { limit: number; enabled: boolean };
const fileValue: Limits = { limit: 100, enabled: true };

/** Records log lines and lets a test wait for the next one of a level (no sleeping). */
class RecordingLogger implements StructuredLogger {
  readonly lines: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  #waiters: { level: string; resolve: () => void }[] = [];
  info(fields: Record<string, unknown>, message: string): void {
    this.#record('info', fields, message);
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.#record('warn', fields, message);
  }
  error(fields: Record<string, unknown>, message: string): void {
    this.#record('error', fields, message);
  }
  next(level: string): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ level, resolve }));
  }
  #record(level: string, fields: Record<string, unknown>, message: string): void {
    this.lines.push({ level, fields, message });
    for (const waiter of this.#waiters.filter((candidate) => candidate.level === level)) waiter.resolve();
    this.#waiters = this.#waiters.filter((candidate) => candidate.level !== level);
  }
}

function nextChange<T>(live: LiveConfig<T>): Promise<T> {
  return new Promise((resolve) => {
    const stop = live.onChange((next) => {
      stop();
      resolve(next);
    });
  });
}

describe('EtcdConfigSource', { timeout: 20_000, skip: etcdMissing }, () => {
  let etcd: { endpoint: string; close(): Promise<void> };
  let endpoint: string;
  const open: EtcdConfigSource[] = [];

  before(async () => {
    etcd = await startEtcdTestServer();
    endpoint = etcd.endpoint;
  });

  after(async () => {
    await Promise.allSettled(open.map((source) => source.close()));
    await etcd?.close();
  });

  async function connect(prefix: string, logger: StructuredLogger = new RecordingLogger()): Promise<EtcdConfigSource> {
    const source = await EtcdConfigSource.connect({ endpoints: [endpoint], prefix, service: 'gateway', logger });
    open.push(source);
    return source;
  }

  it('starts from the value already in etcd, with the schema defaults filled in', async () => {
    const prefix = `carshare-test-${randomUUID()}/`;
    const writer = await connect(prefix);
    await writer.put('limits', { limit: 7 });
    const source = await connect(prefix);
    const live = new LiveConfig<Limits>(fileValue);
    source.follow('limits', live, { schema: LimitsSchema, fallback: () => fileValue });
    assert.deepEqual(live.get(), { limit: 7, enabled: true });
  });

  it('applies a valid change on every instance that follows the key', async () => {
    const prefix = `carshare-test-${randomUUID()}/`;
    const [first, second, writer] = [await connect(prefix), await connect(prefix), await connect(prefix)];
    const lives = [new LiveConfig<Limits>(fileValue), new LiveConfig<Limits>(fileValue)];
    first.follow('limits', lives[0]!, { schema: LimitsSchema, fallback: () => fileValue });
    second.follow('limits', lives[1]!, { schema: LimitsSchema, fallback: () => fileValue });
    const changed = lives.map((live) => nextChange(live));
    await writer.put('limits', { limit: 3, enabled: false });
    assert.deepEqual(await Promise.all(changed), [
      { limit: 3, enabled: false },
      { limit: 3, enabled: false },
    ]);
    // Another service's key of the same name is not this one's.
    const other = await EtcdConfigSource.connect({ endpoints: [endpoint], prefix, service: 'user', logger: new RecordingLogger() });
    open.push(other);
    const next = nextChange(lives[0]!);
    await other.put('limits', { limit: 99 });
    await writer.put('limits', { limit: 4 });
    assert.deepEqual(await next, { limit: 4, enabled: true });
  });

  it('rejects an invalid value with a warning naming the key and the reason, and keeps the running value', async () => {
    const prefix = `carshare-test-${randomUUID()}/`;
    const logger = new RecordingLogger();
    const [source, writer] = [await connect(prefix, logger), await connect(prefix)];
    const live = new LiveConfig<Limits>(fileValue);
    source.follow('limits', live, { schema: LimitsSchema, fallback: () => fileValue, check: (value) => (value.limit === 13 ? 'unlucky' : undefined) });
    const applied = nextChange(live);
    await writer.put('limits', { limit: 5 });
    await applied;

    for (const [bad, reason] of [
      [{ limit: 0 }, /limit/],
      ['not an object', /\(root\)/],
      [{ limit: 13 }, /unlucky/],
    ] as const) {
      const warned = logger.next('warn');
      await writer.put('limits', bad);
      await warned;
      const line = logger.lines.at(-1)!;
      assert.equal(line.fields['key'], `${prefix}gateway/limits`);
      assert.match(String(line.fields['error']), reason);
      assert.match(line.message, /rejected/);
      assert.deepEqual(live.get(), { limit: 5, enabled: true });
    }
    assert.equal(source.rejectedUpdates, 3);

    // Not JSON at all: written raw, as a hand-typed `etcdctl put` would.
    const { Etcd3 } = await import('etcd3');
    const raw = new Etcd3({ hosts: [endpoint] });
    try {
      const warned = logger.next('warn');
      await raw.put(`${prefix}gateway/limits`).value('{limit: 2');
      await warned;
      assert.match(String(logger.lines.at(-1)!.fields['error']), /not JSON/);
      assert.deepEqual(live.get(), { limit: 5, enabled: true });
    } finally {
      raw.close();
    }
  });

  it('falls back to the file value when the key is deleted', async () => {
    const prefix = `carshare-test-${randomUUID()}/`;
    const [source, writer] = [await connect(prefix), await connect(prefix)];
    const live = new LiveConfig<Limits>(fileValue);
    source.follow('limits', live, { schema: LimitsSchema, fallback: () => fileValue });
    const applied = nextChange(live);
    await writer.put('limits', { limit: 9 });
    await applied;
    const { Etcd3 } = await import('etcd3');
    const raw = new Etcd3({ hosts: [endpoint] });
    try {
      const changed = nextChange(live);
      await raw.delete().key(`${prefix}gateway/limits`);
      assert.deepEqual(await changed, fileValue);
    } finally {
      raw.close();
    }
  });

  it('update is a compare-and-set: writers on many instances at once each keep their change', async () => {
    const prefix = `carshare-test-${randomUUID()}/`;
    const writers = [await connect(prefix), await connect(prefix), await connect(prefix)];
    // Twelve read-modify-writes of one key at once, each adding its own entry: a plain put would lose most.
    await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        (writers[index % writers.length] as EtcdConfigSource).update('switches', (current) => ({ ...(current as Record<string, number> | undefined), [`switch-${index}`]: index })),
      ),
    );
    const reader = await connect(prefix);
    const stored = await reader.update('switches', (current) => current);
    assert.deepEqual(Object.keys(stored as Record<string, number>).sort(), Array.from({ length: 12 }, (_, index) => `switch-${index}`).sort());
  });

  it('stops applying changes once the follower stops', async () => {
    const prefix = `carshare-test-${randomUUID()}/`;
    const logger = new RecordingLogger();
    const [source, writer] = [await connect(prefix, logger), await connect(prefix)];
    const live = new LiveConfig<Limits>(fileValue);
    const stop = source.follow('limits', live, { schema: LimitsSchema, fallback: () => fileValue });
    stop();
    // A second key followed afterwards tells when the watch has delivered the first write.
    const marker = new LiveConfig<Limits>(fileValue);
    source.follow('marker', marker, { schema: LimitsSchema, fallback: () => fileValue });
    await writer.put('limits', { limit: 2 });
    const markerChanged = nextChange(marker);
    await writer.put('marker', { limit: 2 });
    await markerChanged;
    assert.deepEqual(live.get(), fileValue);
  });
});
