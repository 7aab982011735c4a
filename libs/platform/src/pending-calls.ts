/** What the table needs of a call: the id its answer will carry. */
export interface IdentifiedCall {
  readonly id: number;
}

const initialCapacity = 64;

/**
 * Calls waiting for their answers, by id: the framed RPC connection's, the PGlite thread's.
 * Ids are handed out in increasing order, so a call lives at `id & mask` of a power-of-two array
 * and a lookup checks the full id: an answer to a call that is gone finds another id there, or
 * nothing. The array doubles when a new id's place is still taken by a call that has waited
 * through `capacity` later ones.
 *
 * Not a Map: a Map given a new key and a delete per call rebuilds its hash table every few calls,
 * and under load those tables, with the calls in them, outlived scavenges. In the distributed
 * gateway (`npm run bench -- peers --only distributed`) the framed connection's pending Map took
 * /v1/me from ~110 to ~1,000 promoted bytes per request (bench/README.md).
 */
export class PendingCalls<Call extends IdentifiedCall> {
  #slots: (Call | undefined)[] = new Array<Call | undefined>(initialCapacity).fill(undefined);
  #mask = initialCapacity - 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): Call | undefined {
    const call = this.#slots[id & this.#mask];
    return call !== undefined && call.id === id ? call : undefined;
  }

  /** `call.id` must not be waiting already. */
  add(call: Call): void {
    while (this.#slots[call.id & this.#mask] !== undefined) this.#grow();
    this.#slots[call.id & this.#mask] = call;
    this.#size++;
  }

  /** Removes and returns the call with this id, if it still waits. */
  take(id: number): Call | undefined {
    const index = id & this.#mask;
    const call = this.#slots[index];
    if (call === undefined || call.id !== id) return undefined;
    this.#slots[index] = undefined;
    this.#size--;
    return call;
  }

  /** The waiting calls, in no particular order: a copy, so taking them one by one is safe. */
  values(): Call[] {
    const calls: Call[] = [];
    if (this.#size === 0) return calls;
    for (const call of this.#slots) if (call !== undefined) calls.push(call);
    return calls;
  }

  clear(): void {
    if (this.#size === 0) return;
    this.#slots.fill(undefined);
    this.#size = 0;
  }

  #grow(): void {
    // Doubling until every waiting call has a place of its own: distinct ids differ in some bit.
    let capacity = this.#slots.length * 2;
    for (;;) {
      const mask = capacity - 1;
      const slots = new Array<Call | undefined>(capacity).fill(undefined);
      let collided = false;
      for (const call of this.#slots) {
        if (call === undefined) continue;
        if (slots[call.id & mask] !== undefined) {
          collided = true;
          break;
        }
        slots[call.id & mask] = call;
      }
      if (!collided) {
        this.#slots = slots;
        this.#mask = mask;
        return;
      }
      capacity *= 2;
    }
  }
}
