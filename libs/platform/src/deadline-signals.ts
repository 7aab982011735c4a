import { setMaxListeners } from 'node:events';

/** Width of a deadline slot: a shared signal aborts at most this long after a request's own deadline. */
export const deadlineSlotMs = 10;

const alreadyAborted = AbortSignal.abort();

function abortSlot(slots: Map<number, AbortController>, end: number): void {
  const controller = slots.get(end);
  slots.delete(end);
  controller?.abort();
}

/**
 * AbortSignals shared by every request whose deadline falls in the same `deadlineSlotMs` slot,
 * each aborted by one timer at the slot's end. A signal per request (an AbortController) costs
 * 2.6 µs to make here (4.7 µs with one listener added and removed, 0.1 and 0.4 µs for a shared
 * one) and lives, promoted to old space, as long as its request; at 5k requests per second a
 * 10 ms slot shares one among ~50 requests. The request's
 * own deadline timer still answers on time (504); only what listens on the signal (outbound
 * calls, a bulkhead queue, a retry's back-off) stops up to one slot later.
 */
export class DeadlineSignals {
  readonly #slots = new Map<number, AbortController>();

  /** The shared signal for `deadline` (epoch ms), given the clock's `now`; aborted already when it has passed. */
  signalFor(deadline: number, now: number): AbortSignal {
    if (deadline <= now) return alreadyAborted;
    const end = Math.ceil(deadline / deadlineSlotMs) * deadlineSlotMs;
    let controller = this.#slots.get(end);
    if (!controller) {
      controller = new AbortController();
      // Every request of the slot may listen at once: that is no leak.
      setMaxListeners(0, controller.signal);
      this.#slots.set(end, controller);
      // Unref'd: a slot never keeps a closing process alive (the requests' own timers do while they run).
      setTimeout(abortSlot, end - now, this.#slots, end).unref();
    }
    return controller.signal;
  }
}
