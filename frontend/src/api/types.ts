// The shapes of the API's requests and answers, named for the screens. Every
// one is taken from schema.ts, which `npm run api-types` generates from
// api/openapi.json (and `make lint` fails when it is stale): the document is
// the one definition, of the server and of the SPA alike.

import {
  caseRoleValues,
  caseStatusValues,
  clockStateValues,
  type components,
  custodyStepTypeValues,
  evidenceKindValues,
  Severity,
  taskPriorityValues,
  taskStatusValues,
  tLPValues,
  agencyKindValues,
} from './schema';

type Schemas = components['schemas'];

export type TLP = Schemas['TLP'];
export const TLPS = tLPValues;
export type CaseRole = Schemas['CaseRole'];
export const CASE_ROLES = caseRoleValues;
export type SystemRole = Schemas['SystemRole'];

export type User = Schemas['User'];
export type Agency = Schemas['Agency'];
export type AgencyKind = Schemas['AgencyKind'];
export type NewAgency = Schemas['NewAgency'];
export type AgencyPatch = Schemas['AgencyPatch'];
export type NewUser = Schemas['NewUser'];
export type UserPatch = Schemas['UserPatch'];
export const SYSTEM_ROLES: readonly SystemRole[] = ['member', 'agency_admin', 'auditor', 'admin'];
export type AuditEntry = Schemas['AuditEntry'];
export type Alert = Schemas['Alert'];
export type CaseTemplate = Schemas['CaseTemplate'];
export type SSOConfig = Schemas['SSOConfig'];
export type SSOSettings = Schemas['SSOSettings'];
export type SSOTest = Schemas['SSOTest'];
export type SSOAgencies = Schemas['SSOAgencies'];
export type CaseTemplateInput = Schemas['CaseTemplateInput'];
export type AuditVerification = Schemas['AuditVerification'];
export type AlertStatus = Alert['status'];
export const AGENCY_KINDS = agencyKindValues;
export type SetupStatus = Schemas['SetupStatus'];
export type SetupRequest = Schemas['SetupRequest'];
export type Me = Schemas['Me'];
export type MePatch = Schemas['MePatch'];
export type TokenResponse = Schemas['TokenResponse'];

/** The NIST incident phases a case moves through, in order. */
export const CASE_STATUSES = caseStatusValues;
export type CaseStatus = Schemas['CaseStatus'];

export { Severity };
/** The severities from the lowest to the highest, each with its name in the document (Severity[s]). */
export const SEVERITIES = Object.values(Severity).filter((v): v is Severity => typeof v === 'number');

export type Clock = Schemas['Clock'];
/** Who met a regulatory clock, and when. */
export type ClockMet = NonNullable<Clock['met']>;
export type ClockState = Clock['state'];
export const CLOCK_STATES = clockStateValues;
export type PartyAwareness = Schemas['PartyAwareness'];

/** A case, as the server sends it (the ETag of GET/PATCH answers is its version). */
export type Case = Schemas['Case'];
export type NewCase = Schemas['NewCase'];
/** A JSON merge patch of a case's editable fields; changing tlp or classification_label is the lead's. */
export type CasePatch = Schemas['CasePatch'];

/** The keys the case list sorts by (cases.SortKeys); a leading "-" sorts descending. */
export const CASE_SORT_KEYS = ['created_at', 'updated_at', 'severity', 'reference', 'status_changed_at'] as const;

/** Filters of the case list; lists are sent comma-separated. */
export interface CaseQuery {
  status?: CaseStatus[];
  severity?: Severity[];
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
export type CasePage = Schemas['CasePage'];
export type CaseHistory = Schemas['CaseHistory'];
export type CaseTransition = CaseHistory['transitions'][number];
export type CasePhase = CaseHistory['phases'][number];

/** A case with the ETag to send back as If-Match when changing it. */
export interface Tagged<T> {
  value: T;
  etag: string;
}

export type AgencyMember = Schemas['AgencyMember'];
export type UserMember = Schemas['UserMember'];
export type Exclusion = Schemas['Exclusion'];
/** exclusions is present only for those who may manage the membership. */
export type Members = Schemas['Members'];

export type MFAStatus = Schemas['MFAStatus'];
export type TOTPEnrolment = Schemas['TOTPEnrolment'];

export type APIToken = Schemas['APIToken'];
export type NewAPIToken = Schemas['NewAPIToken'];
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

export type TaskStatus = Schemas['TaskStatus'];
export const TASK_STATUSES = taskStatusValues;
export type TaskPriority = Schemas['TaskPriority'];
export const TASK_PRIORITIES = taskPriorityValues;
export type ChecklistItem = Schemas['ChecklistItem'];
export type Task = Schemas['Task'];
export type NewTask = Schemas['NewTask'];
export type TaskPatch = Schemas['TaskPatch'];
export type TaskView = 'mine' | 'agency' | 'overdue';

export type Comment = Schemas['Comment'];

export const EVIDENCE_KINDS = evidenceKindValues;
export type EvidenceKind = Schemas['EvidenceKind'];
export type Hashes = Schemas['Hashes'];
export type EvidenceSource = Schemas['Source'];
export type Acquisition = Schemas['Acquisition'];
/** Derived from the custody events; never stored or edited. */
export type CustodyState = Schemas['CustodyState'];
export type EvidenceItem = Schemas['EvidenceItem'];
export type LineageItem = Schemas['LineageItem'];
export type EvidenceLineage = Schemas['Lineage'];
export type NewEvidenceItem = Schemas['NewEvidenceItem'];
export type CustodyDetails = Schemas['CustodyDetails'];
export type CustodyEvent = Schemas['CustodyEvent'];
export type Custody = Schemas['Custody'];

/** The custody steps a person records (the CustodyStep schema). */
export const CUSTODY_STEPS = custodyStepTypeValues;
export type CustodyStep = Schemas['CustodyStep'];
export type CustodyStepType = CustodyStep['type'];
export type Verification = Schemas['Verification'];
export type DownloadTicket = Schemas['DownloadTicket'];
export type LoginRequest = Schemas['LoginRequest'];
