import { useCallback, useEffect, useRef, useState } from 'react';

export interface Page<Item> {
  items: Item[];
  nextCursor?: string | null | undefined;
}

export interface CursorPages<Item> {
  /** The page on screen, or with `accumulate` every page loaded so far, in order. */
  items: Item[];
  loading: boolean;
  error: unknown;
  /** Whether any page of this listing has answered yet (before that, "empty" would be a guess). */
  loaded: boolean;
  /** 1-based: which page of this listing is the last one asked for. */
  pageNumber: number;
  hasNext: boolean;
  hasPrevious: boolean;
  next: () => void;
  previous: () => void;
  /** Loads the current page again (after a change on it, or to retry a failure), keeping the position. */
  reload: () => void;
}

export interface CursorPagesOptions {
  /**
   * "Load more": `next` adds the following page below the ones shown instead of replacing them
   * (a phone list); without it one page is shown at a time with previous/next (a console table).
   */
  accumulate?: boolean;
}

/**
 * The items to show: the pages loaded for the cursors up to `depth` (a page answered for a
 * deeper cursor that was since left is not shown), all of them or only the last one.
 */
export function shownItems<Item>(pages: ReadonlyArray<readonly Item[] | undefined>, depth: number, accumulate: boolean): Item[] {
  if (!accumulate) return [...(pages[depth - 1] ?? [])];
  return pages.slice(0, depth).flatMap((page) => page ?? []);
}

/**
 * Cursor pagination for one listing. The server hands out only forward cursors, so the cursors
 * of the pages already seen are kept as a stack to go back. Changing `filterKey` (the filters
 * and sort as a string) starts again at the first page: a cursor belongs to its query.
 */
export function useCursorPages<Item>(
  filterKey: string,
  load: (cursor: string | undefined, signal: AbortSignal) => Promise<Page<Item>>,
  options: CursorPagesOptions = {},
): CursorPages<Item> {
  const accumulate = options.accumulate ?? false;
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  // One entry per cursor of the stack; the page on screen stays until the next one answers, so a
  // page change does not flash an empty list.
  const [pages, setPages] = useState<Array<Item[] | undefined>>([]);
  const [shownDepth, setShownDepth] = useState(0);
  const [nextCursor, setNextCursor] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(undefined);
  const [generation, setGeneration] = useState(0);
  // The latest `load` without making it a dependency: callers pass a new closure every render.
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    setCursors([undefined]);
  }, [filterKey]);

  const depth = cursors.length;
  const cursor = cursors[depth - 1];
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(undefined);
    loadRef.current(cursor, controller.signal).then(
      (answer) => {
        if (controller.signal.aborted) return;
        setPages((earlier) => [...earlier.slice(0, depth - 1), answer.items]);
        setShownDepth(depth);
        setNextCursor(answer.nextCursor ?? undefined);
        setLoading(false);
      },
      (failure: unknown) => {
        if (controller.signal.aborted) return;
        setError(failure);
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [cursor, cursors, depth, generation]);

  return {
    items: shownItems(pages, shownDepth, accumulate),
    loading,
    error,
    loaded: shownDepth > 0,
    pageNumber: depth,
    hasNext: !loading && nextCursor !== undefined,
    hasPrevious: depth > 1,
    next: useCallback(() => {
      if (nextCursor) setCursors((stack) => [...stack, nextCursor]);
    }, [nextCursor]),
    previous: useCallback(() => setCursors((stack) => (stack.length > 1 ? stack.slice(0, -1) : stack)), []),
    reload: useCallback(() => setGeneration((value) => value + 1), []),
  };
}
