import type { OutputLine } from '@carshare/testing';

/**
 * Why the gateway degraded or failed answers, from its own log: each failed part of /v1/me
 * (`stale:` or `partial:` + the error's reason) and each unhandled error (`500:` + message),
 * counted per bucket (`bucketOf` maps the line's time, in ms since the drill began). A stale
 * answer alone does not say whether the user service, the deadline or the breaker failed it.
 */
export function digestGatewayLog(
  lines: readonly OutputLine[],
  wallEpoch: number,
  bucketOf: (at: number) => string,
): Record<string, Record<string, number>> {
  const digest: Record<string, Record<string, number>> = {};
  for (const { text } of lines) {
    const unhandled = text.includes('"unhandled error"');
    if (!unhandled && !text.includes('"part of a gathered answer failed"')) continue;
    let entry: { time?: unknown; servedStale?: unknown; err?: { reason?: string; code?: string; message?: string } };
    try {
      entry = JSON.parse(text) as typeof entry;
    } catch {
      continue;
    }
    const time = typeof entry.time === 'string' ? Date.parse(entry.time) : Number.NaN;
    if (Number.isNaN(time)) continue;
    const why = unhandled
      ? `500:${entry.err?.message ?? 'unknown'}`
      : `${entry.servedStale === true ? 'stale' : 'partial'}:${entry.err?.reason ?? entry.err?.code ?? entry.err?.message ?? 'unknown'}`;
    const bucket = (digest[bucketOf(time - wallEpoch)] ??= {});
    bucket[why] = (bucket[why] ?? 0) + 1;
  }
  return digest;
}
