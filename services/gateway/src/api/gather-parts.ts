import { AppError, DeadlineCallContext, type CallContext, type Clock } from '@carshare/platform';
import type { LastGoodCache } from './last-good-cache.ts';

export interface PartSpec<T> {
  load(ctx: CallContext): Promise<T>;
  /** A part slower than this is given up on, so one slow service cannot hold the whole answer. */
  budgetMs?: number;
  /** Where the last good value lives, and under which key, for when `load` fails. */
  fallback?: { cache: LastGoodCache<T>; key: string };
}

type Specs = Record<string, PartSpec<any>>;

export type GatheredParts<Parts extends Specs> = {
  [Name in keyof Parts]: (Parts[Name] extends PartSpec<infer T> ? T : never) | null;
};

export interface Gathered<Parts extends Specs> {
  parts: GatheredParts<Parts>;
  /** Parts that could not be loaded and are null. */
  partial: string[];
  /** Parts served from the last good value instead of live. */
  stale: string[];
}

/**
 * A part's budget travels as a shorter deadline: the downstream receives it and answers at it.
 * No timer of its own (DESIGN rule 9: one per request): a downstream that cannot answer at all
 * is still cut off by the request's deadline.
 */
function withBudget(ctx: CallContext, budgetMs: number | undefined, clock: Clock): CallContext {
  if (budgetMs === undefined) return ctx;
  // The request's deadline was set on this clock; the wall clock would compare apples with pears.
  const partDeadline = clock.now() + budgetMs;
  if (partDeadline >= ctx.deadline) return ctx;
  // A small derived context, never Object.create(ctx): a prototype made per request is kept
  // alive across scavenges (DESIGN.md §5).
  return new DeadlineCallContext(ctx, partDeadline);
}

/**
 * Scatter-gather for answers assembled from several services: every part loads at once under
 * its own deadline; a part that fails falls back to its last good value (named in `stale`) or
 * to null (named in `partial`). Only when no part has anything to show does the first error
 * reach the caller, since an empty 200 would hide an outage.
 */
export async function gatherParts<Parts extends Specs>(specs: Parts, ctx: CallContext, clock: Clock): Promise<Gathered<Parts>> {
  const names = Object.keys(specs);
  const settled = await Promise.allSettled(
    names.map((name) => (specs[name] as PartSpec<unknown>).load(withBudget(ctx, specs[name]?.budgetMs, clock))),
  );
  const parts: Record<string, unknown> = {};
  const partial: string[] = [];
  const stale: string[] = [];
  let firstError: unknown;
  settled.forEach((result, index) => {
    const name = names[index] as string;
    const spec = specs[name] as PartSpec<unknown>;
    if (result.status === 'fulfilled') {
      parts[name] = result.value;
      spec.fallback?.cache.remember(spec.fallback.key, result.value);
      return;
    }
    firstError ??= result.reason;
    const remembered = spec.fallback?.cache.recall(spec.fallback.key);
    if (remembered !== undefined) {
      parts[name] = remembered;
      stale.push(name);
    } else {
      parts[name] = null;
      partial.push(name);
    }
    warnPartFailed(ctx, clock, name, result.reason, remembered !== undefined);
  });
  if (partial.length === names.length && names.length > 0) throw firstError;
  return { parts: parts as GatheredParts<Parts>, partial, stale };
}

/**
 * One warning per part and kind of failure per interval: while a service is down every request
 * fails the same way, and a line with a stack for each cost more than the request itself (an
 * open circuit to trip doubled /v1/me's CPU). The next line says how many it stood for.
 */
const partWarningIntervalMs = 10_000;
const lastPartWarnings = new Map<string, { at: number; suppressed: number }>();

function warnPartFailed(ctx: CallContext, clock: Clock, part: string, reason: unknown, servedStale: boolean): void {
  const kind = reason instanceof AppError ? `${reason.code} ${reason.reason}` : 'unexpected';
  const key = `${part} ${kind}`;
  const now = clock.now();
  const last = lastPartWarnings.get(key);
  if (last && now - last.at < partWarningIntervalMs) {
    last.suppressed++;
    return;
  }
  ctx.log.warn({ part, err: reason, servedStale, alikeSinceLastLine: last?.suppressed ?? 0 }, 'part of a gathered answer failed');
  // Keys are parts × failure kinds: a handful, so the map stays small without eviction.
  lastPartWarnings.set(key, { at: now, suppressed: 0 });
}
