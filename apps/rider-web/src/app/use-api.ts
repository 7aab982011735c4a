import { useCallback, useEffect, useRef, useState } from 'react';

export type Loadable<T> = { state: 'loading' } | { state: 'loaded'; value: T } | { state: 'failed'; error: unknown };

/** Loads once per `key` change and on `reload()`; a stale answer (key changed meanwhile) is dropped. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, key: string): [Loadable<T>, () => void] {
  const [result, setResult] = useState<Loadable<T>>({ state: 'loading' });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const controller = new AbortController();
    setResult({ state: 'loading' });
    loadRef.current(controller.signal).then(
      (value) => {
        if (!controller.signal.aborted) setResult({ state: 'loaded', value });
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setResult({ state: 'failed', error });
      },
    );
    return () => controller.abort();
  }, [key, generation]);
  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return [result, reload];
}
