// A small typed client for the Bevis REST API.
//
// Every API error is an RFC 9457 problem document (application/problem+json).
// request() turns any failure, including a network error or a non-problem
// error body from a proxy, into a ProblemError so callers handle one type.

import { announceWrite } from './changes';

/** One invalid input field, as listed in a problem's `errors`. */
export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem document as Bevis sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** Stable machine-readable error code, e.g. "invalid_credentials". */
  code?: string;
  instance?: string;
  errors?: FieldError[];
}

/** Codes the client itself assigns when the server sent no problem document. */
export const NETWORK_ERROR = 'network_error';
export const UNEXPECTED_RESPONSE = 'unexpected_response';

export class ProblemError extends Error {
  readonly problem: Problem;
  /** Seconds to wait before trying again, from a 429's Retry-After. */
  readonly retryAfter: number | undefined;

  constructor(problem: Problem, retryAfter?: number) {
    super(problem.detail || problem.title);
    this.name = 'ProblemError';
    this.problem = problem;
    this.retryAfter = retryAfter;
  }

  get status(): number {
    return this.problem.status;
  }

  get code(): string | undefined {
    return this.problem.code;
  }

  /** The message to show a person: the detail if there is one, else the title. */
  get userMessage(): string {
    return this.problem.detail || this.problem.title;
  }

  /** The message for one input field, if the server named it. */
  fieldMessage(field: string): string | undefined {
    return this.problem.errors?.find((e) => e.field === field)?.message;
  }
}

const PROBLEM_JSON = 'application/problem+json';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optionalString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function fallbackTitle(status: number, statusText: string): string {
  if (statusText) return statusText;
  if (status >= 500) return 'The server failed to answer the request';
  return `Request failed (HTTP ${status})`;
}

/**
 * Builds a Problem from a response body, tolerating missing or malformed
 * fields: the HTTP status wins over a missing or bogus `status` member, and a
 * body that is not a problem document yields a generic problem.
 */
export function toProblem(status: number, statusText: string, body: unknown): Problem {
  if (!isRecord(body)) {
    return {
      type: 'about:blank',
      title: fallbackTitle(status, statusText),
      status,
      code: UNEXPECTED_RESPONSE,
    };
  }
  const problem: Problem = {
    type: optionalString(body.type) ?? 'about:blank',
    title: optionalString(body.title) ?? fallbackTitle(status, statusText),
    status: typeof body.status === 'number' && Number.isInteger(body.status) ? body.status : status,
  };
  const detail = optionalString(body.detail);
  if (detail !== undefined) problem.detail = detail;
  const code = optionalString(body.code);
  if (code !== undefined) problem.code = code;
  const instance = optionalString(body.instance);
  if (instance !== undefined) problem.instance = instance;
  if (Array.isArray(body.errors)) {
    problem.errors = body.errors.filter(
      (e): e is FieldError =>
        isRecord(e) && typeof e.field === 'string' && typeof e.message === 'string',
    );
  }
  return problem;
}

/** Reads an error response into a Problem. Never throws. */
export async function parseProblem(res: Response): Promise<Problem> {
  let body: unknown;
  const type = res.headers.get('content-type') ?? '';
  if (type.startsWith(PROBLEM_JSON) || type.startsWith('application/json')) {
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
  }
  return toProblem(res.status, res.statusText, body);
}

/** Reads Retry-After as a number of seconds (the HTTP-date form is turned into seconds too). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Turns anything thrown into a ProblemError, so the UI handles one type. */
export function asProblem(err: unknown): ProblemError {
  if (err instanceof ProblemError) return err;
  return new ProblemError({ type: 'about:blank', title: 'Something went wrong. Try again.', status: 0 });
}

export interface Sent<T> {
  body: T;
  etag: string | undefined;
}

/** How often a create is sent again, with the same Idempotency-Key, after a lost answer or a 503. */
const CREATE_RETRIES = 2;
const RETRY_PAUSE_MS = 500;
const MAX_RETRY_PAUSE_MS = 3000;

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface SendOptions {
  token?: string | undefined;
  ifMatch?: string | undefined;
}

/**
 * Sends one request: every call of the SPA goes through here, so a header
 * that every request (or every request of a kind) carries is set here.
 */
export async function send<T>(method: string, path: string, body: unknown, opts: SendOptions = {}): Promise<Sent<T>> {
  const headers: Record<string, string> = { Accept: `application/json, ${PROBLEM_JSON}` };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (opts.token !== undefined) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.ifMatch !== undefined) headers['If-Match'] = opts.ifMatch;
  // A create carries a key of its own, so that the retries below (or the
  // server's replay of its first answer) never make it twice.
  // (Signing in is not a create: a retry there would count a wrong password twice.)
  const idempotent =
    method === 'POST' && !path.startsWith('/api/v1/auth/') && typeof globalThis.crypto?.randomUUID === 'function';
  if (idempotent) headers['Idempotency-Key'] = crypto.randomUUID();

  let res: Response | undefined;
  for (let attempt = 0; ; attempt++) {
    const retry = idempotent && attempt < CREATE_RETRIES;
    try {
      res = await fetch(path, init);
    } catch {
      if (retry) {
        await pause(RETRY_PAUSE_MS);
        continue;
      }
      throw new ProblemError({
        type: 'about:blank',
        title: 'Cannot reach the Bevis server. Check your connection and try again.',
        status: 0,
        code: NETWORK_ERROR,
      });
    }
    // A 503 (a database or store fault, passing) is worth one more try of the same create.
    if (retry && res.status === 503) {
      await pause(Math.min((parseRetryAfter(res.headers.get('retry-after')) ?? RETRY_PAUSE_MS / 1000) * 1000, MAX_RETRY_PAUSE_MS));
      continue;
    }
    break;
  }

  if (!res.ok) throw new ProblemError(await parseProblem(res), parseRetryAfter(res.headers.get('retry-after')));
  announceWrite(method, path);
  const etag = res.headers.get('etag') ?? undefined;
  if (res.status === 204) return { body: undefined as T, etag };
  const text = await res.text();
  if (text === '') return { body: undefined as T, etag };
  try {
    return { body: JSON.parse(text) as T, etag };
  } catch {
    throw new ProblemError({
      type: 'about:blank',
      title: 'The server sent an answer that could not be read.',
      status: res.status,
      code: UNEXPECTED_RESPONSE,
    });
  }
}

/**
 * Sends one API request without credentials other than cookies and returns
 * the decoded JSON body (undefined for an empty body). Throws ProblemError
 * for any non-2xx answer or network failure.
 */
export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await send<T>(method, path, body)).body;
}
