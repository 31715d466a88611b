// Asking the server again every so often, but only while the page is seen:
// a hidden tab (another tab in front, a minimised window, a locked phone)
// asks nothing, and asks at once when it is shown again if a round is due.

import { useEffect, useRef } from 'preact/hooks';

/**
 * Calls poll every everyMs while the document is visible (the Page
 * Visibility API), one call at a time: the next waits for the last to end.
 * A failed call is tried again at the next round.
 */
export function usePolling(poll: () => Promise<void>, everyMs: number, enabled = true): void {
  const latest = useRef(poll);
  latest.current = poll;
  useEffect(() => {
    if (!enabled) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let busy = false;
    let last = Date.now();
    const visible = () => document.visibilityState === 'visible';
    const schedule = (ms: number) => {
      clearTimeout(timer);
      timer = setTimeout(tick, ms);
    };
    async function tick() {
      timer = undefined;
      if (stopped || !visible()) return;
      busy = true;
      try {
        await latest.current();
      } catch {
        // Tried again at the next round; what is shown stays as it was.
      } finally {
        busy = false;
      }
      last = Date.now();
      if (!stopped && visible()) schedule(everyMs);
    }
    const onVisibility = () => {
      if (busy) return; // the call under way schedules the next
      if (visible()) schedule(Math.max(0, last + everyMs - Date.now()));
      else {
        clearTimeout(timer);
        timer = undefined;
      }
    };
    document.addEventListener('visibilitychange', onVisibility);
    if (visible()) schedule(everyMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [everyMs, enabled]);
}
