// A small typed client for the Bevis REST API.
//
// Every API error is an RFC 9457 problem document (application/problem+json).
// request() turns any failure, including a network error or a non-problem
// error body from a proxy, into a ProblemError so callers handle one type.

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

interface Sent<T> {
  body: T;
  etag: string | undefined;
}

interface SendOptions {
  token?: string | undefined;
  ifMatch?: string | undefined;
}

async function send<T>(method: string, path: string, body: unknown, opts: SendOptions = {}): Promise<Sent<T>> {
  const headers: Record<string, string> = { Accept: `application/json, ${PROBLEM_JSON}` };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (opts.token !== undefined) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.ifMatch !== undefined) headers['If-Match'] = opts.ifMatch;
  if (method === 'POST' && typeof globalThis.crypto?.randomUUID === 'function') headers['Idempotency-Key'] = crypto.randomUUID(); // a create is not made twice

  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ProblemError({
      type: 'about:blank',
      title: 'Cannot reach the Bevis server. Check your connection and try again.',
      status: 0,
      code: NETWORK_ERROR,
    });
  }

  if (!res.ok) throw new ProblemError(await parseProblem(res), parseRetryAfter(res.headers.get('retry-after')));
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

// ---------------------------------------------------------------- types

export type TLP = 'CLEAR' | 'GREEN' | 'AMBER' | 'AMBER+STRICT' | 'RED';
export const TLPS: readonly TLP[] = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];
export type CaseRole = 'lead' | 'investigator' | 'analyst' | 'observer';
export const CASE_ROLES: readonly CaseRole[] = ['lead', 'investigator', 'analyst', 'observer'];
export type SystemRole = 'member' | 'agency_admin' | 'auditor' | 'admin';

export interface User {
  id: string;
  agency_id: string;
  email: string;
  name: string;
  title?: string;
  status?: 'active' | 'disabled';
  system_role: SystemRole;
  must_change_password?: boolean;
}

export interface Agency {
  id: string;
  code: string;
  name: string;
  kind?: string;
  require_mfa?: boolean;
}

export interface Me {
  user: User;
  agency: Agency;
  memberships: { case_id: string; role: CaseRole }[];
}

export interface TokenResponse {
  access_token: string;
  token_type?: 'Bearer';
  expires_in: number;
  expires_at?: string;
  user: User;
  mfa_enrolment_required?: boolean;
}

/** The NIST incident phases a case moves through (present once cases carry a status). */
export const CASE_STATUSES = [
  'new',
  'triage',
  'investigating',
  'containment',
  'eradication',
  'recovery',
  'closed',
] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

/** Who met a regulatory clock, and when. */
export interface ClockMet {
  at: string;
  by_user: string;
  by_agency: string;
  reference: string;
  recorded_at: string;
  /** Met after it was due. */
  late: boolean;
}

export type ClockState = 'pending' | 'met' | 'overdue';
export const CLOCK_STATES: readonly ClockState[] = ['pending', 'met', 'overdue'];

/** A regulatory deadline on a case, e.g. the GDPR 72-hour notification (id "gdpr.art33"). */
export interface Clock {
  id: string;
  jurisdiction: string;
  title: string;
  /** Null while the fact the clock runs from is not known yet. */
  due_at: string | null;
  state: ClockState;
  met: ClockMet | null;
}

export interface PartyAwareness {
  party: string;
  aware_at: string;
}

/** A case, as the server sends it (the ETag of GET/PATCH answers is its version). */
export interface Case {
  id: string;
  reference: string;
  title: string;
  summary: string;
  /** 1 (highest) to 4. */
  severity: number;
  status: CaseStatus;
  status_changed_at: string;
  /** The statuses this case may move to next. */
  allowed_transitions: CaseStatus[];
  tlp: TLP;
  classification_label: string;
  lead_agency_id: string;
  tags: string[];
  affected_organisations: string[];
  affected_systems: string[];
  personal_data_breach: boolean;
  discovered_at: string | null;
  aware_at: string | null;
  party_awareness: PartyAwareness[];
  jurisdictions: string[];
  clocks: Clock[];
  version: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface NewCase {
  title: string;
  summary?: string;
  severity?: number;
  tlp?: TLP;
  classification_label?: string;
  tags?: string[];
  personal_data_breach?: boolean;
  jurisdictions?: string[];
}

/** A JSON merge patch of a case's editable fields; changing tlp or classification_label is the lead's. */
export type CasePatch = Partial<
  Pick<
    Case,
    | 'title'
    | 'summary'
    | 'severity'
    | 'tlp'
    | 'classification_label'
    | 'tags'
    | 'affected_organisations'
    | 'affected_systems'
    | 'personal_data_breach'
    | 'discovered_at'
    | 'aware_at'
    | 'party_awareness'
    | 'jurisdictions'
  >
>;

/** The keys the case list sorts by (cases.SortKeys); a leading "-" sorts descending. */
export const CASE_SORT_KEYS = ['created_at', 'updated_at', 'severity', 'reference', 'status_changed_at'] as const;

/** Filters of the case list; lists are sent comma-separated. */
export interface CaseQuery {
  status?: CaseStatus[];
  severity?: number[];
  agency?: string;
  tag?: string;
  clock_state?: ClockState;
  sort?: string;
  cursor?: string;
  limit?: number;
}

/** A page of a list; next_cursor is there when more may follow. */
export interface Page<T> {
  items: T[];
  next_cursor?: string;
}

/** A page of the case list, with the visible cases per status under the other filters. */
export interface CasePage extends Page<Case> {
  counts: Record<string, number>;
}

export interface CaseTransition {
  id: string;
  /** Empty for the creation. */
  from: string;
  to: CaseStatus;
  by_user: string;
  by_agency: string;
  at: string;
  reason: string;
}
export interface CasePhase {
  status: CaseStatus;
  entered_at: string;
  left_at: string | null;
  seconds: number;
}
export interface CaseHistory {
  transitions: CaseTransition[];
  phases: CasePhase[];
  time_in_phase_seconds: Record<string, number>;
}

/** A case with the ETag to send back as If-Match when changing it. */
export interface Tagged<T> {
  value: T;
  etag: string;
}

export interface AgencyMember {
  agency_id: string;
  name?: string;
  code?: string;
  role: CaseRole;
  added_by?: string;
  added_at?: string;
}
export interface UserMember {
  user_id: string;
  name?: string;
  agency_id?: string;
  role: CaseRole;
  added_by?: string;
  added_at?: string;
}
export interface Exclusion {
  user_id: string;
  reason: string;
  excluded_by?: string;
  excluded_at?: string;
}
/** exclusions is present only for those who may manage the membership, and only when there are some. */
export interface Members {
  agencies: AgencyMember[];
  users: UserMember[];
  exclusions?: Exclusion[];
}

export interface MFAStatus {
  totp_enabled: boolean;
  recovery_codes_left: number;
  required_by_agency: boolean;
  enrolment_required: boolean;
}
export interface TOTPEnrolment {
  secret: string;
  otpauth_uri: string;
}

export interface APIToken {
  id: string;
  name: string;
  scopes: string[];
  case_ids?: string[];
  created_at?: string;
  expires_at: string;
  revoked_at?: string | null;
  last_used_at?: string | null;
  last_used_ip?: string;
  token?: string;
}
export interface NewAPIToken {
  name: string;
  scopes: string[];
  case_ids?: string[];
  expires_at: string;
}
/** The actions a token may be scoped to (access.TokenScopes on the server). */
export const TOKEN_SCOPES = [
  'self.read',
  'agency.read',
  'agency.write',
  'agency.sso.read',
  'agency.sso.write',
  'user.read',
  'user.write',
  'user.grant_role',
  'case.create',
  'case.list',
  'case.read',
  'case.write',
  'case.govern',
  'case.members.read',
  'case.members.manage',
  'task.acknowledge',
] as const;

export type TaskStatus = 'open' | 'in_progress' | 'blocked' | 'done' | 'cancelled';
export const TASK_STATUSES: readonly TaskStatus[] = ['open', 'in_progress', 'blocked', 'done', 'cancelled'];
export type TaskPriority = 'low' | 'normal' | 'high' | 'urgent';
export const TASK_PRIORITIES: readonly TaskPriority[] = ['low', 'normal', 'high', 'urgent'];

export interface ChecklistItem {
  id: string;
  text: string;
  done: boolean;
  done_by?: string;
  done_at?: string | null;
}
export interface Task {
  id: string;
  case_id: string;
  title: string;
  description?: string;
  assignee_user_id?: string;
  assignee_agency_id?: string;
  delegated_to?: string;
  priority: TaskPriority;
  due_at?: string | null;
  overdue?: boolean;
  status: TaskStatus;
  acknowledged_at?: string | null;
  acknowledged_by?: string;
  checklist?: ChecklistItem[];
  created_by?: string;
  created_at?: string;
  updated_at?: string;
  version?: number;
}
export interface NewTask {
  title: string;
  description?: string;
  assignee_user_id?: string;
  assignee_agency_id?: string;
  priority?: TaskPriority;
  due_at?: string | null;
  checklist?: string[];
}
export type TaskPatch = Partial<Pick<Task, 'title' | 'description' | 'priority' | 'status' | 'due_at'>> & {
  assignee_user_id?: string;
  assignee_agency_id?: string;
};
export type TaskView = 'mine' | 'agency' | 'overdue';

export interface Comment {
  id: string;
  case_id: string;
  task_id?: string;
  author_id: string;
  body: string;
  mentions?: string[];
  created_at: string;
}

export const EVIDENCE_KINDS = [
  'disk_image',
  'memory_dump',
  'network_capture',
  'logs',
  'mobile_extraction',
  'document',
  'physical_item',
  'other',
] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

export interface Hashes {
  sha256?: string;
  sha1?: string;
  md5?: string;
}

export interface EvidenceSource {
  device?: string;
  serial?: string;
  owner?: string;
}

export interface Acquisition {
  tool?: string;
  tool_version?: string;
  by?: string;
  at?: string | null;
  where?: string;
}

/** Derived from the custody events; never stored or edited. */
export interface CustodyState {
  custodian_agency_id: string;
  custodian_user_id: string;
  location: string;
  checked_out_by?: string;
  transfer_offered_to?: string;
  sealed: boolean;
  seal_number?: string;
  seal_broken: boolean;
  legal_hold: boolean;
  integrity?: 'ok' | 'mismatch' | 'missing';
  last_verified_at: string | null;
  final?: 'released' | 'returned' | 'disposed';
}

export interface EvidenceItem {
  id: string;
  case_id: string;
  exhibit_number: string;
  title: string;
  description: string;
  kind: EvidenceKind;
  source: EvidenceSource;
  acquisition: Acquisition;
  declared_hashes: Hashes;
  tlp: TLP;
  parent_id?: string;
  created_by: string;
  created_at: string;
  content_status: 'none' | 'received' | 'rejected';
  size: number | null;
  /** Computed by Bevis as the bytes arrived. */
  hashes: Hashes | null;
  received_at: string | null;
  custody?: CustodyState;
}

export interface NewEvidenceItem {
  title: string;
  kind: EvidenceKind;
  description?: string;
  source?: EvidenceSource;
  acquisition?: Acquisition;
  declared_hashes?: Hashes;
  tlp?: TLP;
  parent_id?: string;
  location?: string;
  occurred_at?: string | null;
  notes?: string;
}

export interface CustodyDetails {
  seal_number?: string;
  reason?: string;
  legal_basis?: string;
  authority_reference?: string;
  /** Bevis's own, for verified events. */
  result?: string;
  sha256?: string;
}

export interface CustodyEvent {
  id: string;
  seq: number;
  type: string;
  actor_user_id?: string;
  actor_agency_id?: string;
  counterparty_user_id?: string;
  counterparty_agency_id?: string;
  counterparty_external?: string;
  identity_check?: string;
  purpose?: string;
  location?: string;
  details: CustodyDetails;
  notes?: string;
  supersedes?: string;
  superseded_by?: string[];
  occurred_at: string;
  recorded_at: string;
  prev_hash: string;
  hash: string;
}

export interface Custody {
  state: CustodyState;
  events: CustodyEvent[];
}

/** The custody steps a person records (the CustodyStep schema). */
export const CUSTODY_STEPS = [
  'transfer_offered',
  'transfer_accepted',
  'transfer_declined',
  'checked_out',
  'checked_in',
  'location_changed',
  'seal_applied',
  'seal_broken',
  'resealed',
  'legal_hold_set',
  'legal_hold_released',
  'released',
  'returned',
  'disposed',
  'correction',
] as const;
export type CustodyStepType = (typeof CUSTODY_STEPS)[number];

export interface CustodyStep {
  type: CustodyStepType;
  counterparty_user_id?: string;
  counterparty_agency_id?: string;
  counterparty_external?: string;
  identity_check?: string;
  purpose?: string;
  location?: string;
  details?: Omit<CustodyDetails, 'result' | 'sha256'>;
  notes?: string;
  supersedes?: string;
  occurred_at?: string | null;
}

export interface Verification {
  result: 'ok' | 'mismatch' | 'missing';
  sha256: string;
  event: CustodyEvent;
}

// ---------------------------------------------------------------- session

export interface LoginRequest {
  email: string;
  password: string;
  /** A code from an authenticator app, or a recovery code. */
  totp?: string;
  /** Replaces a one-time password in the same step. */
  new_password?: string;
}

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
    return await send<T>(method, path, body, { token: accessToken, ifMatch });
  } catch (err) {
    if (err instanceof ProblemError && err.status === 401) {
      const session = await refreshSession();
      if (session === null) throw err;
      return send<T>(method, path, body, { token: accessToken, ifMatch });
    }
    if (err instanceof ProblemError && err.code === 'mfa_enrolment_required') setEnrolmentRequired(true);
    throw err;
  }
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

async function get<T>(path: string): Promise<T> {
  return (await call<T>('GET', path)).body;
}
async function post<T>(path: string, body?: unknown): Promise<T> {
  return (await call<T>('POST', path, body)).body;
}

const enc = encodeURIComponent;

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

function caseQuery(q: CaseQuery): string {
  return query({
    status: q.status?.join(','),
    severity: q.severity?.join(','),
    agency: q.agency,
    tag: q.tag,
    clock_state: q.clock_state,
    sort: q.sort,
    cursor: q.cursor,
    limit: q.limit,
  });
}

function tagged<T>(r: Sent<T>): Tagged<T> {
  return { value: r.body, etag: r.etag ?? '' };
}

/** The tus endpoint that starts a resumable upload of an item's content. */
export function uploadEndpoint(itemId: string): string {
  return `/api/v1/evidence/${enc(itemId)}/uploads`;
}

// ---------------------------------------------------------------- endpoints

export const api = {
  me: () => get<Me>('/api/v1/me'),
  agencies: () => get<Page<Agency>>('/api/v1/agencies'),
  users: () => get<Page<User>>('/api/v1/users'),

  mfaStatus: () => get<MFAStatus>('/api/v1/me/mfa'),
  startTOTP: (password: string) => post<TOTPEnrolment>('/api/v1/me/mfa/totp', { password }),
  confirmTOTP: (code: string) => post<{ recovery_codes: string[] }>('/api/v1/me/mfa/totp/confirm', { code }),
  newRecoveryCodes: (password: string) =>
    post<{ recovery_codes: string[] }>('/api/v1/me/mfa/recovery-codes', { password }),
  disableMFA: (password: string) => post<void>('/api/v1/me/mfa/disable', { password }),

  tokens: () => get<Page<APIToken>>('/api/v1/tokens'),
  createToken: (t: NewAPIToken) => post<APIToken>('/api/v1/tokens', t),
  revokeToken: async (id: string) => {
    await call<void>('DELETE', `/api/v1/tokens/${enc(id)}`);
  },

  cases: (q: CaseQuery = {}) => get<CasePage>(`/api/v1/cases${caseQuery(q)}`),
  createCase: (c: NewCase) => post<Case>('/api/v1/cases', c),
  getCase: (id: string) => get<Case>(`/api/v1/cases/${enc(id)}`),
  /** A case with its ETag, for changing it. */
  getCaseTagged: async (id: string) => tagged(await call<Case>('GET', `/api/v1/cases/${enc(id)}`)),
  /** Changes a case; 412 precondition_failed means someone changed it first, 428 that etag was missing. */
  patchCase: async (id: string, patch: CasePatch, etag: string) =>
    tagged(await call<Case>('PATCH', `/api/v1/cases/${enc(id)}`, patch, etag)),
  /** Moves a case to another status; only its allowed_transitions are accepted. */
  transitionCase: async (id: string, to: CaseStatus, reason: string, etag: string) =>
    tagged(await call<Case>('POST', `/api/v1/cases/${enc(id)}/transitions`, { to, reason }, etag)),
  /** Records that a regulatory clock was met (the notification was made). */
  meetClock: async (id: string, clock: string, reference: string, metAt: string | undefined, etag: string) =>
    tagged(
      await call<Case>(
        'POST',
        `/api/v1/cases/${enc(id)}/clocks/${enc(clock)}/met`,
        metAt === undefined ? { reference } : { reference, met_at: metAt },
        etag,
      ),
    ),
  caseHistory: (id: string) => get<CaseHistory>(`/api/v1/cases/${enc(id)}/history`),

  caseEvidence: (id: string, cursor?: string) =>
    get<Page<EvidenceItem>>(`/api/v1/cases/${enc(id)}/evidence${query({ cursor })}`),
  registerEvidence: (id: string, item: NewEvidenceItem) => post<EvidenceItem>(`/api/v1/cases/${enc(id)}/evidence`, item),
  evidence: (id: string) => get<EvidenceItem>(`/api/v1/evidence/${enc(id)}`),
  custody: (id: string) => get<Custody>(`/api/v1/evidence/${enc(id)}/custody`),
  recordCustody: (id: string, step: CustodyStep) => post<CustodyEvent>(`/api/v1/evidence/${enc(id)}/custody`, step),
  verifyEvidence: (id: string) => post<Verification>(`/api/v1/evidence/${enc(id)}/verify`),
  /** The item's content as a Blob (held in memory whole). */
  downloadEvidence: (id: string) => fetchFile(`/api/v1/evidence/${enc(id)}/content`),
  members: (id: string) => get<Members>(`/api/v1/cases/${enc(id)}/members`),
  putAgencyMember: (id: string, agencyId: string, role: CaseRole) =>
    call<AgencyMember>('PUT', `/api/v1/cases/${enc(id)}/members/agencies/${enc(agencyId)}`, { role }),
  deleteAgencyMember: (id: string, agencyId: string) =>
    call<void>('DELETE', `/api/v1/cases/${enc(id)}/members/agencies/${enc(agencyId)}`),
  putUserMember: (id: string, userId: string, role: CaseRole) =>
    call<UserMember>('PUT', `/api/v1/cases/${enc(id)}/members/users/${enc(userId)}`, { role }),
  deleteUserMember: (id: string, userId: string) =>
    call<void>('DELETE', `/api/v1/cases/${enc(id)}/members/users/${enc(userId)}`),

  /** Cuts a user off the case at once, whatever they are granted. */
  excludeUser: (id: string, userId: string, reason: string) =>
    call<Exclusion>('PUT', `/api/v1/cases/${enc(id)}/members/exclusions/${enc(userId)}`, { reason }),
  liftExclusion: (id: string, userId: string) =>
    call<void>('DELETE', `/api/v1/cases/${enc(id)}/members/exclusions/${enc(userId)}`),

  myTasks: (view: TaskView, cursor?: string) => get<Page<Task>>(`/api/v1/tasks${query({ view, cursor })}`),
  caseTasks: (id: string, cursor?: string) => get<Page<Task>>(`/api/v1/cases/${enc(id)}/tasks${query({ cursor })}`),
  createTask: (id: string, t: NewTask) => post<Task>(`/api/v1/cases/${enc(id)}/tasks`, t),
  /** One task with the ETag to send back when changing it. */
  getTask: async (id: string, taskId: string) => {
    const r = await call<Task>('GET', `/api/v1/cases/${enc(id)}/tasks/${enc(taskId)}`);
    return { task: r.body, etag: r.etag };
  },
  /** Changes a task; a 412 precondition_failed means someone changed it first. */
  patchTask: async (id: string, taskId: string, patch: TaskPatch, etag: string) => {
    const r = await call<Task>('PATCH', `/api/v1/cases/${enc(id)}/tasks/${enc(taskId)}`, patch, etag);
    return { task: r.body, etag: r.etag };
  },
  acknowledgeTask: (id: string, taskId: string) =>
    post<Task>(`/api/v1/cases/${enc(id)}/tasks/${enc(taskId)}/acknowledge`),
  delegateTask: (id: string, taskId: string, userId: string) =>
    post<Task>(`/api/v1/cases/${enc(id)}/tasks/${enc(taskId)}/delegate`, { user_id: userId }),
  addChecklistItem: (id: string, taskId: string, text: string) =>
    post<Task>(`/api/v1/cases/${enc(id)}/tasks/${enc(taskId)}/checklist`, { text }),
  setChecklistItem: async (id: string, taskId: string, itemId: string, done: boolean) =>
    (await call<Task>('PATCH', `/api/v1/cases/${enc(id)}/tasks/${enc(taskId)}/checklist/${enc(itemId)}`, { done }))
      .body,

  comments: (id: string, taskId?: string, cursor?: string) =>
    get<Page<Comment>>(
      `/api/v1/cases/${enc(id)}${taskId === undefined ? '' : `/tasks/${enc(taskId)}`}/comments${query({ cursor })}`,
    ),
  addComment: (id: string, taskId: string | undefined, body: string, mentions: string[]) =>
    post<Comment>(`/api/v1/cases/${enc(id)}${taskId === undefined ? '' : `/tasks/${enc(taskId)}`}/comments`, {
      body,
      mentions,
    }),
};
