// Loading data and running actions, with their busy flags and problems.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { asProblem, type ProblemError } from '../api';

export interface Loaded<T> {
  data: T | undefined;
  error: ProblemError | null;
  loading: boolean;
  reload: () => void;
  set: (data: T) => void;
}

/**
 * Loads data with fn when deps change; stale answers are dropped. fn is a new
 * closure on every render, so deps (not fn) say when to load again.
 */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ProblemError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setLoading(true);
    fn().then(
      (d) => {
        if (seq.current !== mine) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (seq.current !== mine) return;
        setError(asProblem(err));
        setLoading(false);
      },
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, set: setData };
}

/** Runs an action, keeping its busy flag and its problem for the form. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemError | null>(null);
  const run = useCallback(async (fn: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setProblem(null);
    try {
      await fn();
      return true;
    } catch (err) {
      setProblem(asProblem(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, problem, setProblem, run };
}
