import { FifoQueue } from './fifo-queue.ts';

/**
 * Runs work items so that items of one subject run one at a time in arrival order while items
 * of different subjects run side by side, as far as `acquire` hands out slots. This is what
 * keeps per-subject order inside one consumer.
 */
export class SubjectLanes<Item, Slot> {
  readonly #lanes = new Map<string, FifoQueue<Item>>();
  /** Subjects whose first item is waiting for a slot, oldest first. */
  readonly #ready = new FifoQueue<string>();
  readonly #acquire: () => Slot | undefined;
  readonly #run: (item: Item, slot: Slot) => Promise<void>;
  readonly #runningSubjects = new Set<string>();
  #running = 0;
  #queued = 0;
  #idleWaiters: Array<() => void> = [];

  /** `run` must not reject: failures are the caller's to handle (retry, dead letter). */
  constructor(acquire: () => Slot | undefined, run: (item: Item, slot: Slot) => Promise<void>) {
    this.#acquire = acquire;
    this.#run = run;
  }

  /** Items queued or running. */
  get size(): number {
    return this.#queued + this.#running;
  }

  push(subject: string, item: Item): void {
    let lane = this.#lanes.get(subject);
    if (!lane) {
      lane = new FifoQueue();
      this.#lanes.set(subject, lane);
      this.#ready.push(subject);
    }
    lane.push(item);
    this.#queued += 1;
    this.pump();
  }

  /** Starts as many ready items as there are slots; call again when a slot frees up elsewhere. */
  pump(): void {
    while (this.#ready.length > 0) {
      const subject = this.#ready.peek() as string;
      const lane = this.#lanes.get(subject);
      const item = lane?.peek();
      if (lane === undefined || item === undefined) {
        this.#ready.shift();
        continue;
      }
      const slot = this.#acquire();
      if (slot === undefined) return;
      this.#ready.shift();
      this.#queued -= 1;
      this.#running += 1;
      this.#runningSubjects.add(subject);
      void this.#run(item, slot).finally(() => this.#finish(subject, lane));
    }
  }

  /** Drops queued (not running) items matching `predicate`, e.g. those of a released partition. */
  discardQueued(predicate: (item: Item) => boolean): number {
    let removed = 0;
    for (const [subject, lane] of this.#lanes) {
      const running = this.#runningSubjects.has(subject);
      const head = running ? lane.shift() : undefined;
      removed += lane.removeWhere(predicate);
      if (running) {
        // Put the running head back in front of what is left.
        const rest = lane.toArray();
        lane.removeWhere(() => true);
        lane.push(head as Item);
        for (const item of rest) lane.push(item);
      } else if (lane.length === 0) {
        this.#lanes.delete(subject);
      }
    }
    if (removed > 0) {
      this.#queued -= removed;
      this.#ready.removeWhere((subject) => !this.#lanes.has(subject));
    }
    return removed;
  }

  /** Resolves when nothing is running (queued items may remain if no slot is handed out). */
  whenNothingRunning(): Promise<void> {
    if (this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #finish(subject: string, lane: FifoQueue<Item>): void {
    this.#running -= 1;
    this.#runningSubjects.delete(subject);
    lane.shift();
    if (lane.length > 0) this.#ready.push(subject);
    else this.#lanes.delete(subject);
    if (this.#running === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
    this.pump();
  }
}
