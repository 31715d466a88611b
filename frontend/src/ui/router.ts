// A small History API router: the server answers every non-/api path with
// the SPA, so paths are real URLs that can be bookmarked and shared.

import { createElement, type ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { confirmLeave } from './leave';

const NAVIGATE = 'bevis:navigate';

export function currentPath(): string {
  return window.location.pathname;
}

/** Moves to path, adding a history entry (or replacing the current one). */
export function navigate(path: string, replace = false) {
  if (path === currentPath() + window.location.search) return;
  if (replace) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
  window.dispatchEvent(new Event(NAVIGATE));
}

/** The current path, re-rendering on navigation and on back/forward. */
export function usePath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = () => setPath(currentPath());
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATE, update);
    };
  }, []);
  return path;
}

/** Matches path against a pattern like /cases/:id; returns the decoded params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(g);
      } catch {
        return null;
      }
    } else if (w !== g) {
      return null;
    }
  }
  return params;
}

interface LinkProps {
  href: string;
  class?: string;
  children: ComponentChildren;
  'aria-current'?: 'page' | undefined;
}

/** An ordinary link that navigates in the app on a plain left click. */
export function Link(props: LinkProps) {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (!confirmLeave()) return;
    navigate(props.href);
  };
  return createElement('a', { ...props, onClick }, props.children);
}

/** The query of the current URL, re-rendering when navigation changes it (Back and Forward too). */
export function useSearch(): URLSearchParams {
  const [search, setSearch] = useState(() => window.location.search);
  useEffect(() => {
    const update = () => setSearch(window.location.search);
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATE, update);
    };
  }, []);
  return new URLSearchParams(search);
}

/**
 * Puts filters into the query of the current URL, so that Back and bookmarks
 * keep them; empty values are left out. A new history entry by default, so
 * Back undoes a filter; replace for what changes as one types.
 */
export function setSearch(params: Record<string, string | undefined>, replace = false) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  navigate(currentPath() + (s === '' ? '' : `?${s}`), replace);
}
