// The shapes of the API's requests and answers.

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
