import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LiveCar, LiveServerMessage } from '@carshare/contracts';
import { createLogger } from '@carshare/observability';
import { systemScheduler, type Caller } from '@carshare/platform';
import type { FleetSnapshots } from './fleet-sources.ts';
import { LiveHub } from './live-hub.ts';
import type { LiveSocket } from './live-session.ts';
import type { LiveView } from './live-view.ts';

class FakeSocket implements LiveSocket {
  readonly sent: LiveServerMessage[] = [];
  bufferedAmount = 0;

  send(text: string): void {
    this.sent.push(JSON.parse(text) as LiveServerMessage);
  }

  close(): void {}
}

/** Snapshot reads that end only when the test says so, counting how many run at once. */
class HeldSnapshots implements FleetSnapshots {
  running = 0;
  mostAtOnce = 0;
  readonly #held: (() => void)[] = [];

  async forView(_view: LiveView, _caller: Caller): Promise<LiveCar[]> {
    this.running++;
    this.mostAtOnce = Math.max(this.mostAtOnce, this.running);
    await new Promise<void>((resolve) => this.#held.push(resolve));
    this.running--;
    return [];
  }

  /** Lets every read started so far end. */
  releaseAll(): number {
    const released = this.#held.splice(0);
    for (const release of released) release();
    return released.length;
  }
}

const silentLogger = createLogger({ service: 'gateway', level: 'silent', pretty: false });
const view: LiveView = { staff: false, area: { lat: 52.52, lng: 13.405, radiusM: 1_000 } };

describe('LiveHub', () => {
  it('reads at most maxConcurrentSnapshots at once when many connections start together, and answers every one', async () => {
    const snapshots = new HeldSnapshots();
    const hub = new LiveHub({ snapshots, scheduler: systemScheduler, logger: silentLogger, settings: { maxConcurrentSnapshots: 4 } });
    const sockets = Array.from({ length: 30 }, () => new FakeSocket());
    const watching = sockets.map((socket, index) => hub.watch(hub.open(socket, { userId: `u${index}`, role: 'rider', plan: 'free' }), view));
    let rounds = 0;
    while (sockets.some((socket) => socket.sent.length === 0)) {
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(snapshots.releaseAll() <= 4);
      assert.ok(++rounds < 100, 'every waiting read gets its turn');
    }
    await Promise.all(watching);
    assert.equal(snapshots.mostAtOnce, 4);
    assert.ok(sockets.every((socket) => socket.sent[0]?.type === 'snapshot'));
  });

  it('passes a failed read on to its connection and lets the next one run', async () => {
    let calls = 0;
    const failing: FleetSnapshots = {
      forView: async () => {
        if (++calls === 1) throw new Error('car service down');
        return [];
      },
    };
    const hub = new LiveHub({ snapshots: failing, scheduler: systemScheduler, logger: silentLogger, settings: { maxConcurrentSnapshots: 1 } });
    const first = hub.watch(hub.open(new FakeSocket(), { userId: 'a', role: 'rider', plan: 'free' }), view);
    const second = hub.watch(hub.open(new FakeSocket(), { userId: 'b', role: 'rider', plan: 'free' }), view);
    await assert.rejects(first, /car service down/);
    await second;
  });
});
