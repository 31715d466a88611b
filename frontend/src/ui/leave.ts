// Asking before leaving while work is in flight (an upload, an import): the
// browser's own prompt when the tab is closed or reloaded, and a confirm
// before the app's own links move away.

import { useEffect } from 'preact/hooks';

const guards = new Set<symbol>();

/** Whether some part of the page is still sending, so leaving would lose it. */
export function leaveGuarded(): boolean {
  return guards.size > 0;
}

/** Asks before the person leaves the page while active is true. */
export function useLeaveGuard(active: boolean) {
  useEffect(() => {
    if (!active) return;
    const me = Symbol('guard');
    guards.add(me);
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = '';
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => {
      guards.delete(me);
      window.removeEventListener('beforeunload', onBeforeUnload);
    };
  }, [active]);
}

/** The question a link asks before leaving a page mid-upload; true to go. */
export function confirmLeave(): boolean {
  return !leaveGuarded() || window.confirm('An upload is still in progress. Leave the page and stop it?');
}
