import type { Logger } from '@carshare/observability';

export type PartLoaders = Record<string, () => Promise<unknown>>;

export type GatheredParts<Loaders extends PartLoaders> = {
  [Name in keyof Loaders]: Awaited<ReturnType<Loaders[Name]>> | null;
};

/**
 * Loads independent parts of one answer at once. A part that fails becomes `null` and is named
 * in `partial`, so one service being down does not blank the whole page; if every part fails
 * there is nothing worth showing and the first error goes to the caller.
 */
export async function gatherParts<Loaders extends PartLoaders>(
  loaders: Loaders,
  log: Logger,
): Promise<{ parts: GatheredParts<Loaders>; partial: string[] }> {
  const names = Object.keys(loaders);
  const settled = await Promise.allSettled(names.map((name) => (loaders[name] as () => Promise<unknown>)()));
  const parts: Record<string, unknown> = {};
  const partial: string[] = [];
  let firstError: unknown;
  settled.forEach((result, index) => {
    const name = names[index] as string;
    if (result.status === 'fulfilled') {
      parts[name] = result.value;
    } else {
      parts[name] = null;
      partial.push(name);
      firstError ??= result.reason;
      log.warn({ part: name, err: result.reason }, 'part of a gathered answer failed');
    }
  });
  if (partial.length === names.length && names.length > 0) throw firstError;
  return { parts: parts as GatheredParts<Loaders>, partial };
}
