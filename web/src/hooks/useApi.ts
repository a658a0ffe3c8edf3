// Loading data for a page: the request is aborted when the page goes away or its inputs change, and
// can be repeated every `intervalMs` (live charts) — the next poll starts only after the last one ended.
import { useCallback, useEffect, useRef, useState } from 'react';

import type { ApiClient } from '../api/client.js';
import { useSession } from '../auth/SessionContext.js';

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
  /** When data last arrived. */
  at: number | null;
}

export function useApi<T>(
  load: (api: ApiClient, signal: AbortSignal) => Promise<T>,
  deps: readonly unknown[],
  o: { intervalMs?: number; enabled?: boolean } = {},
): Loaded<T> {
  const { api } = useSession();
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean; at: number | null }>({
    data: null,
    error: null,
    loading: true,
    at: null,
  });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const enabled = o.enabled ?? true;

  useEffect(() => {
    if (!enabled) return;
    const ctl = new AbortController();
    let timer: number | undefined;
    const run = async () => {
      setState((s) => ({ ...s, loading: true }));
      try {
        const data = await loadRef.current(api, ctl.signal);
        if (!ctl.signal.aborted) setState({ data, error: null, loading: false, at: Date.now() });
      } catch (error) {
        if (!ctl.signal.aborted) setState((s) => ({ ...s, error, loading: false }));
      }
      if (!ctl.signal.aborted && o.intervalMs) timer = window.setTimeout(() => void run(), o.intervalMs);
    };
    void run();
    return () => {
      ctl.abort();
      window.clearTimeout(timer);
    };
    // The caller's deps say when to load again; `load` itself is read through the ref.
  }, [api, tick, enabled, o.intervalMs, ...deps]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, loading: enabled && state.loading, reload };
}

/** An image from the API (it needs the bearer token, so no plain <img src>) as an object URL, revoked when done. */
export function useObjectUrl(path: string | null, query?: Record<string, string>): { url: string | null; error: unknown; loading: boolean } {
  const key = path === null ? null : `${path}?${new URLSearchParams(query ?? {}).toString()}`;
  const loaded = useApi((api, signal) => (path === null ? Promise.resolve(null) : api.blob(path, query, signal)), [key], { enabled: path !== null });
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!loaded.data) return;
    const u = URL.createObjectURL(loaded.data);
    setUrl(u);
    return () => {
      URL.revokeObjectURL(u);
      setUrl(null);
    };
  }, [loaded.data]);
  return { url, error: loaded.error, loading: loaded.loading };
}
