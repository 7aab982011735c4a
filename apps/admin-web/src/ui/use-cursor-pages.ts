import { useCallback, useEffect, useRef, useState } from 'react';

export interface Page<Item> {
  items: Item[];
  nextCursor?: string | null | undefined;
}

export interface CursorPages<Item> {
  items: Item[];
  loading: boolean;
  error: unknown;
  /** 1-based: which page of this listing is on screen. */
  pageNumber: number;
  hasNext: boolean;
  hasPrevious: boolean;
  next: () => void;
  previous: () => void;
  /** Loads the current page again (after a change on it), keeping the position. */
  reload: () => void;
}

/**
 * Cursor pagination for one listing. The server hands out only forward cursors, so the cursors
 * of the pages already seen are kept as a stack to go back. Changing `filterKey` (the filters
 * and sort as a string) starts again at the first page: a cursor belongs to its query.
 */
export function useCursorPages<Item>(filterKey: string, load: (cursor: string | undefined, signal: AbortSignal) => Promise<Page<Item>>): CursorPages<Item> {
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [page, setPage] = useState<Page<Item> | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(undefined);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    setCursors([undefined]);
  }, [filterKey]);

  const cursor = cursors[cursors.length - 1];
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(undefined);
    loadRef.current(cursor, controller.signal).then(
      (answer) => {
        if (controller.signal.aborted) return;
        setPage(answer);
        setLoading(false);
      },
      (failure: unknown) => {
        if (controller.signal.aborted) return;
        setError(failure);
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [cursor, cursors, generation]);

  const nextCursor = page?.nextCursor ?? undefined;
  return {
    items: page?.items ?? [],
    loading,
    error,
    pageNumber: cursors.length,
    hasNext: !loading && nextCursor !== undefined,
    hasPrevious: cursors.length > 1,
    next: useCallback(() => {
      if (nextCursor) setCursors((stack) => [...stack, nextCursor]);
    }, [nextCursor]),
    previous: useCallback(() => setCursors((stack) => (stack.length > 1 ? stack.slice(0, -1) : stack)), []),
    reload: useCallback(() => setGeneration((value) => value + 1), []),
  };
}
