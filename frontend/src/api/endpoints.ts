// Every endpoint the SPA calls, typed by what it sends and what it gets.

import type { Sent } from './client';
import { request } from './client';
import { call, fetchFile } from './session';
import type {
  Agency,
  AgencyPatch,
  Alert,
  AlertStatus,
  AuditEntry,
  AuditVerification,
  AgencyMember,
  APIToken,
  Case,
  CaseHistory,
  CasePage,
  CasePatch,
  CaseQuery,
  CaseRole,
  CaseStatus,
  CaseTemplate,
  CaseTemplateInput,
  Comment,
  Custody,
  CustodyEvent,
  CustodyStep,
  DownloadTicket,
  EvidenceItem,
  EvidenceLineage,
  Exclusion,
  Me,
  MePatch,
  Members,
  MFAStatus,
  NewAgency,
  NewAPIToken,
  NewCase,
  NewEvidenceItem,
  NewTask,
  NewUser,
  Page,
  SetupRequest,
  SSOAgencies,
  SSOConfig,
  SSOSettings,
  SSOTest,
  SetupStatus,
  Tagged,
  Task,
  TaskPatch,
  TaskView,
  TOTPEnrolment,
  User,
  UserMember,
  UserPatch,
  Verification,
} from './types';

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

function auditQuery({ action, ...rest }: AuditQuery): string {
  const q = query({ ...rest });
  if (!action?.length) return q;
  const actions = action.map((a) => `action=${enc(a)}`).join('&');
  return q === '' ? `?${actions}` : `${q}&${actions}`;
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

/** Filters of the audit log; empty ones do not filter. */
export interface AuditQuery {
  user_id?: string;
  agency_id?: string;
  case_id?: string;
  resource_id?: string;
  /** Exact action names (GET /api/v1/audit/actions lists them); an entry of any of them matches. */
  action?: string[];
  /** RFC 3339; from inclusive, to exclusive. */
  from?: string;
  to?: string;
  cursor?: string;
  limit?: number;
}

/** Filters of an item's access log. */
export type ItemAccessQuery = Pick<AuditQuery, 'action' | 'from' | 'to' | 'cursor' | 'limit'>;

function tagged<T>(r: Sent<T>): Tagged<T> {
  return { value: r.body, etag: r.etag ?? '' };
}

/** The tus endpoint that starts a resumable upload of an item's content. */
export function uploadEndpoint(itemId: string): string {
  return `/api/v1/evidence/${enc(itemId)}/uploads`;
}

// ---------------------------------------------------------------- endpoints

export const api = {
  /** Whether Bevis still waits for its first admin (public). */
  setupStatus: () => request<SetupStatus>('GET', '/api/v1/setup'),
  /** Redeems a set-up link: the first agency and its admin (public; a dead link is 404). */
  completeSetup: (s: SetupRequest) => request<User>('POST', '/api/v1/setup', s),
  /** The agencies whose people may sign in by single sign-on (public): code and name. */
  ssoAgencies: () => request<SSOAgencies>('GET', '/api/v1/auth/sso/agencies'),
  me: () => get<Me>('/api/v1/me'),
  /** Changes the caller's own settings (the time zone they read times in). */
  updateMe: async (patch: MePatch) => (await call<Me>('PATCH', '/api/v1/me', patch)).body,
  agencies: () => get<Page<Agency>>('/api/v1/agencies'),
  users: () => get<Page<User>>('/api/v1/users'),

  mfaStatus: () => get<MFAStatus>('/api/v1/me/mfa'),
  startTOTP: (password: string) => post<TOTPEnrolment>('/api/v1/me/mfa/totp', { password }),
  confirmTOTP: (code: string) => post<{ recovery_codes: string[] }>('/api/v1/me/mfa/totp/confirm', { code }),
  newRecoveryCodes: (password: string) =>
    post<{ recovery_codes: string[] }>('/api/v1/me/mfa/recovery-codes', { password }),
  disableMFA: (password: string) => post<void>('/api/v1/me/mfa/disable', { password }),

  /** People of one agency (an agency admin's own when absent); an admin sees everyone's without it. */
  usersOf: (agencyId?: string) => get<Page<User>>(`/api/v1/users${query({ agency_id: agencyId })}`),
  createAgency: (a: NewAgency) => post<Agency>('/api/v1/agencies', a),
  patchAgency: async (id: string, patch: AgencyPatch) =>
    (await call<Agency>('PATCH', `/api/v1/agencies/${enc(id)}`, patch)).body,
  ssoConfig: (agencyId: string) => get<SSOConfig>(`/api/v1/agencies/${enc(agencyId)}/sso`),
  /** Replaces an agency's single sign-on settings; a client_secret left out keeps the stored one. */
  putSSO: async (agencyId: string, s: SSOSettings) => (await call<SSOConfig>('PUT', `/api/v1/agencies/${enc(agencyId)}/sso`, s)).body,
  /** Tests an agency's provider with unsaved settings (a client_secret left out uses the stored one); saves nothing. */
  testSSO: async (agencyId: string, s: SSOSettings) => (await call<SSOTest>('POST', `/api/v1/agencies/${enc(agencyId)}/sso/test`, s)).body,
  createUser: (u: NewUser) => post<User>('/api/v1/users', u),
  patchUser: async (id: string, patch: UserPatch) => (await call<User>('PATCH', `/api/v1/users/${enc(id)}`, patch)).body,
  /** Removes a person's second factor, so they enrol again at their next sign-in. */
  resetUserMFA: async (id: string) => {
    await call<void>('DELETE', `/api/v1/users/${enc(id)}/mfa`);
  },

  /** A page of the audit log, newest first. */
  audit: (f: AuditQuery) => get<Page<AuditEntry>>(`/api/v1/audit${auditQuery(f)}`),
  /** Who read or changed an evidence item, newest first: for its case's leads and for auditors. */
  itemAccess: (id: string, f: ItemAccessQuery) => get<Page<AuditEntry>>(`/api/v1/evidence/${enc(id)}/access${auditQuery(f)}`),
  /** The action names the audit log records, sorted (what its action filter takes). */
  auditActions: () => get<{ items: string[] }>('/api/v1/audit/actions'),
  /** The whole sealed log and its checkpoints, as JSON Lines (for `bevis audit verify --export`). */
  exportAudit: () => fetchFile('/api/v1/audit/export'),
  /** Verifies the whole log now, against the server's checkpoint keys. */
  verifyAudit: () => get<AuditVerification>('/api/v1/audit/verification'),
  /** The signed checkpoints alone. */
  auditCheckpoints: () => fetchFile('/api/v1/audit/checkpoints'),

  alerts: (status?: AlertStatus) => get<{ items: Alert[] }>(`/api/v1/alerts${query({ status })}`),
  acknowledgeAlert: (id: string) => post<Alert>(`/api/v1/alerts/${enc(id)}/acknowledge`),
  /** Approves the activity of an alert, saying why it was expected (1 to 1000 characters). */
  approveAlert: (id: string, reason: string) => post<Alert>(`/api/v1/alerts/${enc(id)}/approve`, { reason }),

  tokens: () => get<Page<APIToken>>('/api/v1/tokens'),
  createToken: (t: NewAPIToken) => post<APIToken>('/api/v1/tokens', t),
  revokeToken: async (id: string) => {
    await call<void>('DELETE', `/api/v1/tokens/${enc(id)}`);
  },

  templates: () => get<{ items: CaseTemplate[] }>('/api/v1/templates'),
  createTemplate: (t: CaseTemplateInput) => post<CaseTemplate>('/api/v1/templates', t),
  updateTemplate: async (id: string, t: CaseTemplateInput) => (await call<CaseTemplate>('PUT', `/api/v1/templates/${enc(id)}`, t)).body,
  deleteTemplate: async (id: string) => {
    await call<void>('DELETE', `/api/v1/templates/${enc(id)}`);
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
  lineage: (id: string) => get<EvidenceLineage>(`/api/v1/evidence/${enc(id)}/lineage`),
  custody: (id: string) => get<Custody>(`/api/v1/evidence/${enc(id)}/custody`),
  recordCustody: (id: string, step: CustodyStep) => post<CustodyEvent>(`/api/v1/evidence/${enc(id)}/custody`, step),
  verifyEvidence: (id: string) => post<Verification>(`/api/v1/evidence/${enc(id)}/verify`),
  /**
   * A single-use, one-minute ticket to download the item's content by a plain
   * link, which the browser saves to disk as it arrives (see startDownload).
   */
  downloadTicket: (id: string) => post<DownloadTicket>(`/api/v1/evidence/${enc(id)}/download-tickets`),
  /** The item's content as a Blob (held in memory whole). */
  downloadEvidence: (id: string) => fetchFile(`/api/v1/evidence/${enc(id)}/content`),
  /** The printable custody report of an item, or of a whole case, as HTML. */
  custodyReport: (id: string) => fetchFile(`/api/v1/evidence/${enc(id)}/report?format=html`),
  caseCustodyReport: (id: string) => fetchFile(`/api/v1/cases/${enc(id)}/evidence/report?format=html`),
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
