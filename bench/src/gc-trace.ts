/**
 * Reads V8's `--trace-gc-nvp` lines (one per GC, on the child's stdout) into running totals, so
 * a benchmark can say how many bytes each request left in old space. Promoted bytes per request
 * are stable on this noisy 2-core machine where req/s is not: a per-request object that survives
 * two scavenges (a context held by a timer, a closure kept by a pending promise, a literal with
 * accessors that V8 cannot keep in new space) shows as hundreds or thousands of bytes here,
 * whatever else the machine is doing.
 *
 * A line looks like (Node 20, V8 11.3; one line per GC, name=value pairs after the timestamp):
 *   [1234:0x5f…]  5012 ms: pause=0.6 mutator=9.1 gc=s … allocated=… promoted=1880 new_space_survived=…
 * `gc=s` is a scavenge (young generation: the only GC that promotes), `gc=ms`/`gc=mc` a full
 * mark-sweep(-compact), `gc=mmc`/`gc=ms` minor mark-compact where enabled.
 */

export interface GcTotals {
  /** Bytes moved from the young generation to old space (sum of `promoted=` of scavenges). */
  promotedBytes: number;
  scavenges: number;
  /** Every other GC: full mark-compacts and minor mark-compacts. */
  otherGcs: number;
  /** Sum of `pause=` (ms) over all GCs: main-thread time stopped for GC. */
  pauseMs: number;
  /** Lines seen, to tell "no GC in the window" from "tracing is off". */
  lines: number;
}

const emptyTotals = (): GcTotals => ({ promotedBytes: 0, scavenges: 0, otherGcs: 0, pauseMs: 0, lines: 0 });

/** `name=value` of one field of an nvp line, or undefined. */
function field(line: string, name: string): string | undefined {
  const at = line.indexOf(` ${name}=`);
  if (at < 0) return undefined;
  const start = at + name.length + 2;
  const end = line.indexOf(' ', start);
  return line.slice(start, end < 0 ? undefined : end);
}

const gcFields = /(^| ms: )pause=\S+ mutator=\S+ gc=/;
/** V8 prints the `[pid:isolate]  N ms: ` prefix apart from the fields: another write can land between. */
const gcPrefixAlone = /^\[\d+:0x[0-9a-f]+\]\s+[\d.]+ ms: $/;

/** True for a `--trace-gc-nvp` line (so a child's other stdout can be told apart). */
export function isGcTraceLine(line: string): boolean {
  return gcFields.test(line);
}

export class GcTrace {
  readonly #totals = emptyTotals();

  /** Feeds one stdout line; returns false (and ignores it) when it is not a GC trace line. */
  accept(raw: string): boolean {
    if (gcPrefixAlone.test(raw)) return true;
    if (!isGcTraceLine(raw)) return false;
    // Every field, the first one included, is then preceded by a space.
    const line = ` ${raw}`;
    const totals = this.#totals;
    totals.lines++;
    totals.pauseMs += Number(field(line, 'pause') ?? 0) || 0;
    if (field(line, 'gc') === 's') {
      totals.scavenges++;
      totals.promotedBytes += Number(field(line, 'promoted') ?? 0) || 0;
    } else {
      totals.otherGcs++;
    }
    return true;
  }

  /** A copy of the running totals; subtract two with `gcBetween`. */
  snapshot(): GcTotals {
    return { ...this.#totals };
  }
}

export function gcBetween(before: GcTotals, after: GcTotals): GcTotals {
  return {
    promotedBytes: after.promotedBytes - before.promotedBytes,
    scavenges: after.scavenges - before.scavenges,
    otherGcs: after.otherGcs - before.otherGcs,
    pauseMs: after.pauseMs - before.pauseMs,
    lines: after.lines - before.lines,
  };
}

export function sumGc(parts: readonly GcTotals[]): GcTotals {
  const sum = emptyTotals();
  for (const part of parts) {
    sum.promotedBytes += part.promotedBytes;
    sum.scavenges += part.scavenges;
    sum.otherGcs += part.otherGcs;
    sum.pauseMs += part.pauseMs;
    sum.lines += part.lines;
  }
  return sum;
}
