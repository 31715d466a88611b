// The session: the access token (kept in memory only), its refresh from the
// cookie, and the authenticated calls that carry it.

import { NETWORK_ERROR, parseProblem, parseRetryAfter, ProblemError, request, send, type Sent } from './client';
import { forgetNames, learnNames } from './names';
import type { LoginRequest, TokenResponse, User } from './types';

/** What the app needs to know about the session; the access token itself stays in this module. */
export interface Session {
  user: User;
  mfaEnrolmentRequired: boolean;
}

type SessionListener = (session: Session | null) => void;

/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 60_000;

let accessToken: string | undefined;
let current: Session | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<Session | null> | undefined;
const listeners = new Set<SessionListener>();

/** Calls fn whenever the session starts, changes or ends. Returns the unsubscribe. */
export function onSessionChange(fn: SessionListener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function currentSession(): Session | null {
  return current;
}

function publish(session: Session | null) {
  current = session;
  for (const fn of listeners) fn(session);
}

function clearSession() {
  accessToken = undefined;
  forgetNames();
  if (refreshTimer !== undefined) clearTimeout(refreshTimer);
  refreshTimer = undefined;
  if (current !== null) publish(null);
}

function adopt(grant: TokenResponse): Session {
  accessToken = grant.access_token;
  if (refreshTimer !== undefined) clearTimeout(refreshTimer);
  const delay = Math.max(5_000, grant.expires_in * 1000 - REFRESH_MARGIN_MS);
  refreshTimer = setTimeout(() => void refreshSession(), delay);
  const session = { user: grant.user, mfaEnrolmentRequired: grant.mfa_enrolment_required === true };
  // A routine refresh changes only the token: keep the session object, so nothing re-renders for it.
  if (current !== null && JSON.stringify(current) === JSON.stringify(session)) return current;
  publish(session);
  return session;
}

/**
 * Runs fn while holding a lock shared by every tab of this origin, where the
 * browser has Web Locks: each refresh spends the cookie it sends, and two tabs
 * sending the same one at once would look like a stolen token and end the session.
 */
function acrossTabs<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  return locks === undefined ? fn() : (locks.request('bevis-session-refresh', fn) as Promise<T>);
}

/** Signs in. Throws ProblemError: 401 mfa_required, 403 password_change_required, 429 rate_limited, … */
export async function login(credentials: LoginRequest): Promise<Session> {
  const grant = await request<TokenResponse>('POST', '/api/v1/auth/login', credentials);
  return adopt(grant);
}

/**
 * Trades the refresh cookie for a new access token. Returns null (and ends
 * the session) when the cookie is missing or spent. Concurrent callers share
 * one request, since each refresh rotates the cookie.
 */
export function refreshSession(): Promise<Session | null> {
  refreshing ??= (async () => {
    try {
      return adopt(await acrossTabs(() => request<TokenResponse>('POST', '/api/v1/auth/refresh')));
    } catch (err) {
      if (err instanceof ProblemError && (err.status === 401 || err.status === 403)) {
        clearSession();
        return null;
      }
      throw err;
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

/** Ends the session on the server (best effort) and forgets the access token. */
export async function logout(): Promise<void> {
  const token = accessToken;
  try {
    await send('POST', '/api/v1/auth/logout', undefined, { token });
  } finally {
    clearSession();
  }
}

/** Takes the signed-in person as the server now has them (after they changed a setting of theirs). */
export function adoptUser(user: User) {
  if (current !== null && current.user.id === user.id) publish({ ...current, user });
}

/** Marks the session as one that may only enrol a second factor, or no longer. */
export function setEnrolmentRequired(required: boolean) {
  if (current !== null && current.mfaEnrolmentRequired !== required) {
    publish({ ...current, mfaEnrolmentRequired: required });
  }
}

/**
 * Sends an authenticated request. On a 401 it refreshes the session once and
 * retries; a 403 mfa_enrolment_required switches the session to enrolment.
 */
export async function call<T>(method: string, path: string, body?: unknown, ifMatch?: string): Promise<Sent<T>> {
  if (accessToken === undefined && (await refreshSession()) === null) {
    throw new ProblemError({ type: 'about:blank', title: 'You are signed out.', status: 401, code: 'unauthenticated' });
  }
  try {
    return learnt(await send<T>(method, path, body, { token: accessToken, ifMatch }));
  } catch (err) {
    if (err instanceof ProblemError && err.status === 401) {
      const session = await refreshSession();
      if (session === null) throw err;
      return learnt(await send<T>(method, path, body, { token: accessToken, ifMatch }));
    }
    if (err instanceof ProblemError && err.code === 'mfa_enrolment_required') setEnrolmentRequired(true);
    throw err;
  }
}

/** Learns the names an answer carries (see names.ts) and passes it on. */
function learnt<T>(r: Sent<T>): Sent<T> {
  learnNames(r.body);
  return r;
}

/**
 * The current access token, refreshing the session first if there is none,
 * for clients that send their own requests (the tus upload client).
 */
export async function bearerToken(): Promise<string> {
  if (accessToken === undefined && (await refreshSession()) === null) {
    throw new ProblemError({ type: 'about:blank', title: 'You are signed out.', status: 401, code: 'unauthenticated' });
  }
  return accessToken!;
}

/**
 * Fetches a file with the session's bearer token (refreshing once on a 401)
 * and returns it as a Blob with the name the server gave it. The whole file
 * is held in memory: large evidence is for curl or the CLI.
 */
export async function fetchFile(path: string): Promise<{ blob: Blob; filename: string | undefined }> {
  const attempt = async () => {
    let res: Response;
    try {
      res = await fetch(path, { headers: { Authorization: `Bearer ${await bearerToken()}` }, credentials: 'same-origin' });
    } catch {
      throw new ProblemError({
        type: 'about:blank',
        title: 'Cannot reach the Bevis server. Check your connection and try again.',
        status: 0,
        code: NETWORK_ERROR,
      });
    }
    if (!res.ok) throw new ProblemError(await parseProblem(res), parseRetryAfter(res.headers.get('retry-after')));
    return { blob: await res.blob(), filename: dispositionFilename(res.headers.get('content-disposition')) };
  };
  try {
    return await attempt();
  } catch (err) {
    if (err instanceof ProblemError && err.status === 401 && (await refreshSession()) !== null) return attempt();
    throw err;
  }
}

/** The file name of a Content-Disposition header, preferring the RFC 5987 filename*. */
export function dispositionFilename(h: string | null): string | undefined {
  if (!h) return undefined;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(h);
  if (star) {
    try {
      return decodeURIComponent(star[1]!.trim());
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/.exec(h);
  if (!plain) return undefined;
  return (plain[1] ?? plain[2] ?? '').replace(/\\(.)/g, '$1').trim() || undefined;
}
