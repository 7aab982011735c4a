import type { Observability } from '@carshare/observability';
import type { Caller, CallContext } from './call-context.ts';
import { systemClock, type Clock } from './clock.ts';
import { uuidV7Ids } from './ids.ts';

export interface BackgroundContext extends CallContext {
  /** Ends the span and clears the deadline timer; call it when the work is done. */
  dispose(): void;
}

/**
 * A call context for work no inbound request started (CLI commands, workers, seeding): it gets
 * its own deadline timer and root span, so outbound calls behave exactly as under a request.
 */
export function createBackgroundContext(
  observability: Observability,
  name: string,
  options: { budgetMs: number; caller?: Caller; clock?: Clock },
): BackgroundContext {
  const clock = options.clock ?? systemClock;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.budgetMs);
  const span = observability.tracing.startServerSpan(name, undefined);
  const requestId = uuidV7Ids.next();
  return {
    requestId,
    deadline: clock.now() + options.budgetMs,
    signal: controller.signal,
    span,
    log: observability.logger.child({ requestId, traceId: span.spanContext().traceId }),
    caller: options.caller,
    dispose() {
      clearTimeout(timer);
      span.end();
    },
  };
}
