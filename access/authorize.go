package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Action is something a principal asks to do.
type Action string

const (
	ActionSelfRead Action = "self.read" // the caller's own profile and memberships
	ActionSelfMFA  Action = "self.mfa"  // enrol or remove the caller's own second factor
	// ActionSelfWrite changes the caller's own settings, such as their time zone.
	ActionSelfWrite Action = "self.write"
	// ActionTokenManage lists, creates and revokes the caller's own API tokens.
	ActionTokenManage Action = "token.manage"

	ActionAgencyRead  Action = "agency.read"
	ActionAgencyWrite Action = "agency.write"
	// Single sign-on settings: trusting a provider lets it vouch for
	// everyone of the agency, so only an admin sets them; the agency's own
	// agency_admin may read them (never the client secret).
	ActionAgencySSORead  Action = "agency.sso.read"
	ActionAgencySSOWrite Action = "agency.sso.write"

	ActionUserRead      Action = "user.read"
	ActionUserWrite     Action = "user.write"
	ActionUserGrantRole Action = "user.grant_role" // Resource.Role is the system role to grant

	ActionCaseCreate        Action = "case.create"
	ActionCaseList          Action = "case.list" // the list holds only cases the caller can read (CaseScope)
	ActionCaseRead          Action = "case.read"
	ActionCaseWrite         Action = "case.write"
	ActionCaseGovern        Action = "case.govern" // change TLP or classification, close or reopen (lead)
	ActionCaseMembersRead   Action = "case.members.read"
	ActionCaseMembersManage Action = "case.members.manage"

	// Case templates are read by everyone who opens cases and kept by admins.
	ActionTemplateRead   Action = "template.read"
	ActionTemplateManage Action = "template.manage"

	// ActionAuditRead reads the audit log: all of it for auditors, one
	// case's (Resource.CaseID) for its leads.
	ActionAuditRead Action = "audit.read"

	// ActionTaskAcknowledge acknowledges or delegates a task: Resource.UserID
	// is its assigned user, or Resource.AgencyID its assigned agency.
	ActionTaskAcknowledge Action = "task.acknowledge"

	// Exfiltration alerts: an admin sees and acknowledges all of them, a
	// case's lead those touching the case (Resource.CaseID; with no case,
	// whether p may list alerts at all; Resource.UserID is whom the alert
	// is about). Approving lifts the download hard limit for the alert's
	// user on the case, so it takes four eyes: never the user themselves;
	// a lead of the case, or an admin where the case has no other lead.
	ActionAlertRead        Action = "alert.read"
	ActionAlertAcknowledge Action = "alert.acknowledge"
	ActionAlertApprove     Action = "alert.approve"

	// ActionEvidenceDownload downloads an item's content: members who may
	// write the case, and its observers where the case allows them.
	ActionEvidenceDownload Action = "evidence.download"
	// ActionEvidenceGovern releases legal holds, proposes, confirms and
	// withdraws disposals, and discards other people's stale uploads: the
	// lead's, since these end what the case keeps.
	ActionEvidenceGovern Action = "evidence.govern"
)

// knownActions lists every action, in the order of the constants above.
// A test holds it and the constants together.
var knownActions = []Action{
	ActionSelfRead, ActionSelfMFA, ActionSelfWrite, ActionTokenManage,
	ActionAgencyRead, ActionAgencyWrite, ActionAgencySSORead, ActionAgencySSOWrite,
	ActionUserRead, ActionUserWrite, ActionUserGrantRole,
	ActionCaseCreate, ActionCaseList, ActionCaseRead, ActionCaseWrite, ActionCaseGovern, ActionCaseMembersRead,
	ActionCaseMembersManage,
	ActionTaskAcknowledge, ActionAuditRead, ActionTemplateRead, ActionTemplateManage,
	ActionAlertRead, ActionAlertAcknowledge, ActionAlertApprove,
	ActionEvidenceDownload, ActionEvidenceGovern,
}

// notForTokens are actions an API token can never be scoped to: a token
// must not mint tokens or change the second factor of its owner, nor lift
// the download limit (an exfiltrating token approving itself); a person's
// settings are the person's.
var notForTokens = []Action{ActionSelfMFA, ActionSelfWrite, ActionTokenManage, ActionAlertApprove}

// TokenScopes lists the actions an API token may be scoped to.
func TokenScopes() []Action {
	var out []Action
	for _, a := range knownActions {
		if !slices.Contains(notForTokens, a) {
			out = append(out, a)
		}
	}
	return out
}

// Resource is what an action is done to. Case actions name CaseID; agency
// and user actions name the AgencyID the object belongs to.
type Resource struct {
	CaseID   string
	AgencyID string
	UserID   string
	// Role is the system role to grant (ActionUserGrantRole), or the
	// system role of the user written to (ActionUserWrite).
	Role SystemRole
	// DisabledBy is, when a disabled user is re-enabled (ActionUserWrite),
	// the system role of whoever disabled them.
	DisabledBy SystemRole
}

// Authorizer decides every access in Bevis, through Authorize.
type Authorizer struct {
	db *gorm.DB
}

// NewAuthorizer returns the authorizer reading memberships from db.
func NewAuthorizer(db *gorm.DB) *Authorizer { return &Authorizer{db: db} }

// caseRoleActions lists what each case role may do.
var caseRoleActions = map[CaseRole]map[Action]bool{
	CaseLead: {ActionCaseRead: true, ActionCaseWrite: true, ActionCaseGovern: true, ActionCaseMembersRead: true,
		ActionCaseMembersManage: true, ActionEvidenceDownload: true, ActionEvidenceGovern: true},
	CaseInvestigator: {ActionCaseRead: true, ActionCaseWrite: true, ActionCaseMembersRead: true, ActionEvidenceDownload: true},
	CaseAnalyst:      {ActionCaseRead: true, ActionCaseWrite: true, ActionCaseMembersRead: true, ActionEvidenceDownload: true},
	// Observers download evidence only where the case allows it (see Authorize).
	CaseObserver: {ActionCaseRead: true, ActionCaseMembersRead: true},
}

// Authorize returns nil when p may do action to res, ErrNotFound when res
// is outside p's scope (so the API's 404 does not reveal that it exists),
// and ErrForbidden when p can see res but not do this to it. It reads
// memberships from the database on every call, so a removal or exclusion
// takes effect on the next request whatever tokens the user holds.
//
// Separation of duties: an admin runs agencies and people, an auditor reads
// the audit log, and neither holds case content by virtue of their agency.
// A user whose system role is admin or auditor gets no role from their
// agency's membership of a case, and is never named on one (naming them is
// refused, and so is giving the role to someone named on a case); CaseRole
// answers ErrNotFound for them on every case. An agency admin manages the
// members and agency admins of their own agency, never its admins or
// auditors, and does not re-enable someone an admin disabled.
func (a *Authorizer) Authorize(ctx context.Context, p Principal, action Action, res Resource) error {
	if p.UserID == "" {
		return ErrUnauthenticated
	}
	if p.MFAEnrolmentRequired && action != ActionSelfRead && action != ActionSelfMFA {
		return ErrMFAEnrolmentRequired
	}
	if p.TokenID != "" {
		if res.CaseID != "" && len(p.TokenCaseIDs) > 0 && !slices.Contains(p.TokenCaseIDs, res.CaseID) {
			return ErrNotFound
		}
		if !slices.Contains(p.TokenScopes, action) {
			return ErrForbidden
		}
	}
	switch action {
	case ActionSelfRead, ActionSelfMFA, ActionSelfWrite, ActionTokenManage, ActionCaseList:
		return nil
	case ActionAgencyRead:
		return nil // agency names are shared by everyone working together
	case ActionAgencyWrite, ActionAgencySSOWrite:
		return allowIf(p.SystemRole == RoleAdmin)
	case ActionAgencySSORead:
		return allowIf(p.SystemRole == RoleAdmin || (p.SystemRole == RoleAgencyAdmin && p.AgencyID == res.AgencyID))
	case ActionUserRead:
		if p.SystemRole == RoleAdmin || p.AgencyID == res.AgencyID {
			return nil
		}
		return ErrNotFound
	case ActionUserWrite:
		switch {
		case p.SystemRole == RoleAdmin:
			return nil
		case p.AgencyID != res.AgencyID:
			return ErrNotFound
		}
		agencyManaged := res.Role == RoleMember || res.Role == RoleAgencyAdmin
		adminsDecision := res.DisabledBy != "" && res.DisabledBy != RoleAgencyAdmin
		return allowIf(p.SystemRole == RoleAgencyAdmin && agencyManaged && !adminsDecision)
	case ActionUserGrantRole:
		switch p.SystemRole {
		case RoleAdmin:
			return nil
		case RoleAgencyAdmin:
			return allowIf(p.AgencyID == res.AgencyID && (res.Role == RoleMember || res.Role == RoleAgencyAdmin))
		}
		return ErrForbidden
	case ActionCaseCreate:
		// Running cases is work for members of agencies; the admin and
		// auditor roles see no case content by virtue of their role. A
		// token confined to some cases acts on those alone, and a case it
		// opened would be outside them.
		if len(p.TokenCaseIDs) > 0 {
			return ErrForbidden
		}
		return allowIf(p.SystemRole == RoleMember || p.SystemRole == RoleAgencyAdmin)
	case ActionCaseRead, ActionCaseWrite, ActionCaseGovern, ActionCaseMembersRead, ActionCaseMembersManage,
		ActionEvidenceGovern:
		role, err := a.CaseRole(ctx, p, res.CaseID)
		if err != nil {
			return err
		}
		return allowIf(caseRoleActions[role][action])
	case ActionEvidenceDownload:
		role, err := a.CaseRole(ctx, p, res.CaseID)
		if err != nil {
			return err
		}
		if role == CaseObserver {
			return a.observersMayDownload(ctx, res.CaseID)
		}
		return allowIf(caseRoleActions[role][action])
	case ActionTemplateRead:
		return nil
	case ActionTemplateManage:
		return allowIf(p.SystemRole == RoleAdmin)
	case ActionAuditRead:
		if p.SystemRole == RoleAuditor {
			return nil
		}
		if res.CaseID == "" {
			return ErrForbidden
		}
		role, err := a.CaseRole(ctx, p, res.CaseID)
		if err != nil {
			return err
		}
		return allowIf(role == CaseLead)
	case ActionTaskAcknowledge:
		role, err := a.CaseRole(ctx, p, res.CaseID)
		if err != nil {
			return err
		}
		if !caseRoleActions[role][ActionCaseWrite] {
			return ErrForbidden
		}
		if res.UserID != "" {
			return allowIf(p.UserID == res.UserID)
		}
		// An agency's coordinator on the case: its lead there, or the
		// agency's own admin working on the case.
		return allowIf(p.AgencyID == res.AgencyID && (role == CaseLead || p.SystemRole == RoleAgencyAdmin))
	case ActionAlertRead, ActionAlertAcknowledge, ActionAlertApprove:
		return a.authorizeAlert(ctx, p, action, res)
	}
	return fmt.Errorf("access: unknown action %q: %w", action, ErrForbidden)
}

// authorizeAlert: alerts of a case are the business of its leads alone;
// to anyone else on the case they do not exist.
func (a *Authorizer) authorizeAlert(ctx context.Context, p Principal, action Action, res Resource) error {
	if p.SystemRole == RoleAdmin {
		if action != ActionAlertApprove {
			return nil
		}
		if p.UserID == res.UserID {
			return ErrSelfApproval
		}
		// An admin holds no case role; they stand in only for a case whose
		// one lead is the person the alert is about.
		other, err := a.hasLeadBesides(ctx, res.CaseID, res.UserID)
		if err != nil {
			return err
		}
		return allowIf(!other)
	}
	if res.CaseID == "" {
		if action != ActionAlertRead {
			return ErrForbidden
		}
		leads, err := a.Memberships(ctx, p)
		if err != nil {
			return err
		}
		return allowIf(slices.ContainsFunc(leads, func(m CaseMembership) bool { return m.Role == CaseLead }))
	}
	role, err := a.CaseRole(ctx, p, res.CaseID)
	if err != nil {
		return err
	}
	if role != CaseLead {
		return ErrNotFound
	}
	if action == ActionAlertApprove && p.UserID == res.UserID {
		return ErrSelfApproval
	}
	return nil
}

// hasLeadBesides reports whether anyone but userID leads the case now, by
// the rules of CaseRole (disabled and excluded people lead nothing).
func (a *Authorizer) hasLeadBesides(ctx context.Context, caseID, userID string) (bool, error) {
	var people []struct {
		ID, AgencyID string
		SystemRole   SystemRole
	}
	err := a.db.WithContext(ctx).Raw(`
		SELECT u.id AS id, u.agency_id AS agency_id, u.system_role AS system_role FROM users u
		WHERE u.status = ? AND u.id <> ? AND (
		      u.id IN (SELECT um.user_id FROM case_user_members um WHERE um.case_id = ? AND um.role = ?)
		   OR u.agency_id IN (SELECT am.agency_id FROM case_agency_members am WHERE am.case_id = ? AND am.role = ?))
		ORDER BY u.id`, string(UserActive), userID, caseID, string(CaseLead), caseID, string(CaseLead)).Scan(&people).Error
	if err != nil {
		return false, fmt.Errorf("access: leads of a case: %w", err)
	}
	for _, u := range people {
		role, err := a.CaseRole(ctx, Principal{UserID: u.ID, AgencyID: u.AgencyID, SystemRole: u.SystemRole}, caseID)
		switch {
		case err == nil && role == CaseLead:
			return true, nil
		case err != nil && !errors.Is(err, ErrNotFound):
			return false, err
		}
	}
	return false, nil
}

// observersMayDownload answers nil when the case lets its observers
// download its evidence (a setting of its lead), else ErrForbidden.
func (a *Authorizer) observersMayDownload(ctx context.Context, caseID string) error {
	var allowed []bool
	err := a.db.WithContext(ctx).Table("cases").Where("id = ?", caseID).Pluck("observers_may_download", &allowed).Error
	if err != nil {
		return fmt.Errorf("access: observer downloads: %w", err)
	}
	return allowIf(len(allowed) == 1 && allowed[0])
}

func allowIf(ok bool) error {
	if ok {
		return nil
	}
	return ErrForbidden
}

// CaseRole returns p's effective role on a case, or ErrNotFound when p has
// none. An exclusion beats every grant; a user's own membership overrides
// their agency's; agency memberships grant nothing on AMBER+STRICT and RED
// cases, and on RED cases only named users are in, on AMBER+STRICT only
// named users of member agencies. Admins and auditors have none (see
// Authorize).
func (a *Authorizer) CaseRole(ctx context.Context, p Principal, caseID string) (CaseRole, error) {
	f, err := a.caseFacts(ctx, p, caseID)
	if err != nil {
		return "", err
	}
	return resolveCaseRole(f.TLP, f.Excluded, f.UserRole, f.AgencyRole)
}

// ItemMarkings returns the TLP markings of the items on a case (timeline
// events and the like) that p may see, by the rules that decide who sees a
// case marked so: an item marked AMBER+STRICT is for named users of member
// agencies, one marked RED for named users. It answers ErrNotFound when p
// cannot see the case at all. Stores filter items by these markings in SQL.
func (a *Authorizer) ItemMarkings(ctx context.Context, p Principal, caseID string) ([]TLP, error) {
	f, err := a.caseFacts(ctx, p, caseID)
	if err != nil {
		return nil, err
	}
	if _, err := resolveCaseRole(f.TLP, f.Excluded, f.UserRole, f.AgencyRole); err != nil {
		return nil, err
	}
	var out []TLP
	for _, t := range []TLP{TLPClear, TLPGreen, TLPAmber, TLPAmberStrict, TLPRed} {
		if _, err := resolveCaseRole(t, f.Excluded, f.UserRole, f.AgencyRole); err == nil {
			out = append(out, t)
		}
	}
	return out, nil
}

// caseFacts is what the database holds about p's standing on one case.
type caseFacts struct {
	TLP        TLP
	Excluded   bool
	UserRole   *CaseRole
	AgencyRole *CaseRole
}

// factsMemo holds the case facts read for one decision (see
// RememberCaseFacts).
type factsMemo struct {
	mu                       sync.Mutex
	userID, agencyID, caseID string
	facts                    caseFacts
	read                     bool
}

type factsMemoKey struct{}

// RememberCaseFacts returns ctx in which the authorizer reads a caller's
// standing on a case once: the calls made with it that decide one thing
// together (Authorize, then ItemMarkings for what the caller may see of
// the case) share one lookup instead of each reading the same rows. Give
// it to calls made before any change to the case in the request, never
// across one: a membership or marking changed since is not seen through it.
func RememberCaseFacts(ctx context.Context) context.Context {
	return context.WithValue(ctx, factsMemoKey{}, &factsMemo{})
}

func (a *Authorizer) caseFacts(ctx context.Context, p Principal, caseID string) (caseFacts, error) {
	memo, _ := ctx.Value(factsMemoKey{}).(*factsMemo)
	if memo == nil {
		return a.lookUpCaseFacts(ctx, p, caseID)
	}
	memo.mu.Lock()
	defer memo.mu.Unlock()
	if memo.read && memo.userID == p.UserID && memo.agencyID == p.AgencyID && memo.caseID == caseID {
		return memo.facts, nil
	}
	f, err := a.lookUpCaseFacts(ctx, p, caseID)
	if err != nil {
		return caseFacts{}, err
	}
	memo.userID, memo.agencyID, memo.caseID, memo.facts, memo.read = p.UserID, p.AgencyID, caseID, f, true
	return f, nil
}

// lookUpCaseFacts answers the request's first question about a case with
// the standing read when the request was authenticated (see
// AuthenticateOnCase), when it is p's on this case, and every other
// question from the database.
func (a *Authorizer) lookUpCaseFacts(ctx context.Context, p Principal, caseID string) (caseFacts, error) {
	if f, ok, err := takeStanding(ctx, p, caseID); ok {
		return f, err
	}
	return a.readCaseFacts(ctx, p, caseID)
}

func (a *Authorizer) readCaseFacts(ctx context.Context, p Principal, caseID string) (caseFacts, error) {
	var row struct {
		Standing   standingRow `gorm:"embedded"`
		SystemRole SystemRole
	}
	// The system role is read with the memberships, from the database, so
	// that no caller can leave it out.
	res := a.db.WithContext(ctx).Raw(`
		SELECT `+standingColumns+`, u.system_role AS system_role
		FROM cases c
		LEFT JOIN users u ON u.id = ?
		`+standingJoins("?", "?")+`
		WHERE c.id = ?`, p.UserID, p.UserID, p.UserID, p.AgencyID, caseID).Scan(&row)
	if res.Error != nil {
		return caseFacts{}, fmt.Errorf("access: case role: %w", res.Error)
	}
	return row.Standing.facts(row.SystemRole)
}

// standingColumns and standingJoins read one user's standing on the case
// c (which may be missing, NULL in a LEFT JOIN) into a standingRow; user
// and agency are the SQL of the user's ID and their agency's.
const standingColumns = `c.id IS NOT NULL AS case_found, c.tlp AS tlp, e.user_id IS NOT NULL AS excluded,
		       um.role AS user_role, am.role AS agency_role`

func standingJoins(user, agency string) string {
	return `LEFT JOIN case_exclusions e ON e.case_id = c.id AND e.user_id = ` + user + `
		LEFT JOIN case_user_members um ON um.case_id = c.id AND um.user_id = ` + user + `
		LEFT JOIN case_agency_members am ON am.case_id = c.id AND am.agency_id = ` + agency
}

// standingRow is what the database holds about a user's standing on one
// case; CaseFound is false when there is no such case.
type standingRow struct {
	CaseFound  bool
	TLP        *TLP
	Excluded   bool
	UserRole   *CaseRole
	AgencyRole *CaseRole
}

// facts is the standing as the membership rules see it, for a user of
// systemRole: ErrNotFound when there is no such case.
func (r standingRow) facts(systemRole SystemRole) (caseFacts, error) {
	if !r.CaseFound || r.TLP == nil {
		return caseFacts{}, ErrNotFound
	}
	f := caseFacts{TLP: *r.TLP, Excluded: r.Excluded, UserRole: r.UserRole, AgencyRole: r.AgencyRole}
	if systemRole.holdsNoCaseRoles() {
		f.UserRole, f.AgencyRole = nil, nil
	}
	return f, nil
}

// prefetchedStanding is a caller's standing on a case read when the
// request was authenticated, waiting for the request's first question.
type prefetchedStanding struct {
	mu                       sync.Mutex
	userID, agencyID, caseID string
	facts                    caseFacts
	err                      error
	asked                    bool
}

type standingKey struct{}

// withStanding hands r, p's standing on caseID as read with p's session
// (whose system role p carries), to takeStanding.
func withStanding(ctx context.Context, p Principal, caseID string, r standingRow) context.Context {
	f, err := r.facts(p.SystemRole)
	return context.WithValue(ctx, standingKey{}, &prefetchedStanding{
		userID: p.UserID, agencyID: p.AgencyID, caseID: caseID, facts: f, err: err})
}

// takeStanding answers the first question asked in ctx about anyone's
// standing on any case, when it is about p on caseID, from the standing
// read with the session (ok true). Every later question, and one about
// someone else or another case, finds nothing (ok false): the handler may
// have changed the case since.
func takeStanding(ctx context.Context, p Principal, caseID string) (f caseFacts, ok bool, err error) {
	pre, _ := ctx.Value(standingKey{}).(*prefetchedStanding)
	if pre == nil {
		return caseFacts{}, false, nil
	}
	pre.mu.Lock()
	defer pre.mu.Unlock()
	if pre.asked {
		return caseFacts{}, false, nil
	}
	pre.asked = true
	if pre.userID != p.UserID || pre.agencyID != p.AgencyID || pre.caseID != caseID {
		return caseFacts{}, false, nil
	}
	return pre.facts, true, pre.err
}

// isID reports whether s has the shape of the IDs Bevis gives (UUIDs in
// their canonical text).
func isID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }

// UserCaseRole is the role another user (an assignee, someone mentioned)
// has on a case; ErrNotFound when they have none or are disabled.
func (a *Authorizer) UserCaseRole(ctx context.Context, userID, caseID string) (CaseRole, error) {
	var u userRow
	err := a.db.WithContext(ctx).Select("id", "agency_id", "status").Where("id = ?", userID).Take(&u).Error
	if err != nil {
		return "", translate(err, "")
	}
	if u.Status != string(UserActive) {
		return "", ErrNotFound
	}
	return a.CaseRole(ctx, Principal{UserID: u.ID, AgencyID: u.AgencyID}, caseID)
}

// AgencyCaseRole is the default role an agency's membership gives on a
// case; ErrNotFound when the agency is not a member.
func (a *Authorizer) AgencyCaseRole(ctx context.Context, agencyID, caseID string) (CaseRole, error) {
	var row caseAgencyMemberRow
	err := a.db.WithContext(ctx).Where("case_id = ? AND agency_id = ?", caseID, agencyID).Take(&row).Error
	if err != nil {
		return "", translate(err, "")
	}
	return CaseRole(row.Role), nil
}

// resolveCaseRole applies the membership rules to what the database holds
// for one user and case.
func resolveCaseRole(tlp TLP, excluded bool, userRole, agencyRole *CaseRole) (CaseRole, error) {
	switch {
	case excluded:
		return "", ErrNotFound
	case tlp == TLPRed:
		return deref(userRole)
	case tlp == TLPAmberStrict:
		if agencyRole == nil {
			return "", ErrNotFound
		}
		return deref(userRole)
	case userRole != nil:
		return *userRole, nil
	}
	return deref(agencyRole)
}

// CaseScope is a subquery of the IDs of the cases p can see, by the same
// rules as CaseRole (and, for an API token, within its cases), for listing
// cases without asking case by case. It starts from p's own and p's
// agency's memberships (both indexed), so its cost follows the number of
// cases p is a member of, not the number of cases in Bevis; for an admin or
// auditor it is empty.
func CaseScope(db *gorm.DB, p Principal) *gorm.DB {
	scope := memberScope(db, p)
	if len(p.TokenCaseIDs) > 0 {
		return db.Raw(`SELECT id FROM (?) s WHERE id IN ?`, scope, p.TokenCaseIDs)
	}
	return scope
}

// CaseVisible is CaseScope as a condition on one row of the cases table,
// which the query must name "cases": true when p can see that case. A list
// that walks an index of cases in the order it shows them tests each row
// with it and stops after a page, so its cost follows the page, not the
// number of cases p can see; CaseScope, which gathers the whole visible
// set first, suits counting it. The two must agree
// (TestList_PageAgreesWithCaseScope in the cases package).
func CaseVisible(p Principal) clause.Expr {
	return caseVisible(p, func(member string) string { return "EXISTS (" + member + ")" })
}

// CaseRowVisible is CaseVisible with each membership looked up as a scalar
// subquery of its primary key ((case, user) and (case, agency) are unique)
// rather than tested with EXISTS, for a walk of the cases table itself:
// PostgreSQL turns a correlated EXISTS under OR into a hashed subplan, which
// reads every membership of the user and of the agency before the first
// row (11 ms for a coordinator of 20,000 cases, for a page that needs 51
// lookups). Where the cases are reached from another table (a task's case),
// the EXISTS form plans better.
func CaseRowVisible(p Principal) clause.Expr {
	return caseVisible(p, func(member string) string { return "(" + member + ") IS NOT NULL" })
}

// caseVisible is the visibility test of CaseVisible, with each membership
// (a SELECT of one row at most) tested by has.
func caseVisible(p Principal, has func(member string) string) clause.Expr {
	sql := `NOT EXISTS (SELECT 1 FROM users u WHERE u.id = ? AND u.system_role IN ('admin', 'auditor'))
		  AND NOT ` + has("SELECT 1 FROM case_exclusions e WHERE e.case_id = cases.id AND e.user_id = ?") + `
		  AND (
		        (` + has("SELECT 1 FROM case_user_members um WHERE um.case_id = cases.id AND um.user_id = ?") + `
		         AND (cases.tlp <> 'AMBER+STRICT'
		              OR ` + has("SELECT 1 FROM case_agency_members am WHERE am.case_id = cases.id AND am.agency_id = ?") + `))
		     OR (cases.tlp IN ('CLEAR', 'GREEN', 'AMBER')
		         AND ` + has("SELECT 1 FROM case_agency_members am WHERE am.case_id = cases.id AND am.agency_id = ?") + `)
		  )`
	vars := []any{p.UserID, p.UserID, p.UserID, p.AgencyID, p.AgencyID}
	if len(p.TokenCaseIDs) > 0 {
		sql += ` AND cases.id IN ?`
		vars = append(vars, p.TokenCaseIDs)
	}
	return clause.Expr{SQL: "(" + sql + ")", Vars: vars}
}

func memberScope(db *gorm.DB, p Principal) *gorm.DB {
	return db.Raw(`
		SELECT c.id FROM cases c
		JOIN (SELECT um.case_id FROM case_user_members um WHERE um.user_id = ?
		      UNION
		      SELECT am.case_id FROM case_agency_members am WHERE am.agency_id = ?) m ON m.case_id = c.id
		WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = ? AND u.system_role IN ('admin', 'auditor'))
		  AND NOT EXISTS (SELECT 1 FROM case_exclusions e WHERE e.case_id = c.id AND e.user_id = ?)
		  AND (
		        (EXISTS (SELECT 1 FROM case_user_members um WHERE um.case_id = c.id AND um.user_id = ?)
		         AND (c.tlp <> 'AMBER+STRICT'
		              OR EXISTS (SELECT 1 FROM case_agency_members am WHERE am.case_id = c.id AND am.agency_id = ?)))
		     OR (c.tlp IN ('CLEAR', 'GREEN', 'AMBER')
		         AND EXISTS (SELECT 1 FROM case_agency_members am WHERE am.case_id = c.id AND am.agency_id = ?))
		  )`, p.UserID, p.AgencyID, p.UserID, p.UserID, p.UserID, p.AgencyID, p.AgencyID)
}

func deref(r *CaseRole) (CaseRole, error) {
	if r == nil {
		return "", ErrNotFound
	}
	return *r, nil
}

// CaseMembership is one case the principal can see, with their role on it.
type CaseMembership struct {
	CaseID string
	Role   CaseRole
}

// Memberships lists every case p can see with p's role on it, in one query.
func (a *Authorizer) Memberships(ctx context.Context, p Principal) ([]CaseMembership, error) {
	var rows []struct {
		ID         string
		TLP        TLP
		UserRole   *CaseRole
		AgencyRole *CaseRole
	}
	db := a.db.WithContext(ctx)
	err := db.Raw(`
		SELECT c.id AS id, c.tlp AS tlp, um.role AS user_role, am.role AS agency_role
		FROM cases c
		LEFT JOIN case_user_members um ON um.case_id = c.id AND um.user_id = ?
		LEFT JOIN case_agency_members am ON am.case_id = c.id AND am.agency_id = ?
		WHERE c.id IN (?)
		ORDER BY c.id`, p.UserID, p.AgencyID, CaseScope(db, p)).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("access: memberships: %w", err)
	}
	out := make([]CaseMembership, 0, len(rows))
	for _, r := range rows {
		// CaseScope already left out exclusions.
		if role, err := resolveCaseRole(r.TLP, false, r.UserRole, r.AgencyRole); err == nil {
			out = append(out, CaseMembership{CaseID: r.ID, Role: role})
		}
	}
	return out, nil
}
