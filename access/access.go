// Package access owns who may see and do what in Bevis: agencies and their
// people, system roles, case membership (the access object), sign-in,
// sessions and tokens, and the one Authorize function every route calls.
package access

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Errors the API maps to HTTP answers. ErrNotFound is also the answer for
// objects outside the caller's scope, so their existence does not leak.
var (
	ErrNotFound        = errors.New("access: not found")
	ErrForbidden       = errors.New("access: forbidden")
	ErrConflict        = errors.New("access: conflict")
	ErrUnauthenticated = errors.New("access: not authenticated")
	// ErrPasswordChangeRequired: the password is right but must be replaced
	// (a one-time password from bootstrap or a reset) before signing in.
	ErrPasswordChangeRequired = errors.New("access: password change required")
	// ErrSelfApproval refuses the approval of an alert by the person it is
	// about: four eyes, not two, lift a download limit.
	ErrSelfApproval = fmt.Errorf("access: an alert about you is approved by someone else: %w", ErrForbidden)
)

// ConflictError is a change refused by the current state; Reason is
// written for the client ("a case needs at least one lead"). It matches
// ErrConflict with errors.Is.
type ConflictError struct{ Reason string }

func (e *ConflictError) Error() string { return "access: conflict: " + e.Reason }
func (e *ConflictError) Unwrap() error { return ErrConflict }

// RateLimitedError refuses a sign-in after too many failures.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("access: too many failed sign-ins; retry after %s", e.RetryAfter)
}

// SystemRole is a user's role in Bevis as a whole, outside any case.
type SystemRole string

const (
	RoleMember      SystemRole = "member"
	RoleAgencyAdmin SystemRole = "agency_admin" // manages the users of their own agency
	RoleAuditor     SystemRole = "auditor"      // reads the audit log
	RoleAdmin       SystemRole = "admin"        // manages agencies and agency admins; no case content by virtue of it
)

// Valid reports whether r is a known system role.
func (r SystemRole) Valid() bool {
	switch r {
	case RoleMember, RoleAgencyAdmin, RoleAuditor, RoleAdmin:
		return true
	}
	return false
}

// holdsNoCaseRoles reports whether r keeps its holder off every case:
// admins and auditors watch over cases and must not hold their content
// (separation of duties), whatever their agency is a member of.
func (r SystemRole) holdsNoCaseRoles() bool { return r == RoleAdmin || r == RoleAuditor }

// CaseRole is a role on one case, granted to an agency (as the default of
// its users) or to a user.
type CaseRole string

const (
	CaseLead         CaseRole = "lead"         // coordinates, manages membership
	CaseInvestigator CaseRole = "investigator" // reads and writes the case
	CaseAnalyst      CaseRole = "analyst"      // as investigator, without membership changes
	CaseObserver     CaseRole = "observer"     // reads only: leadership
)

// Valid reports whether r is a known case role.
func (r CaseRole) Valid() bool {
	switch r {
	case CaseLead, CaseInvestigator, CaseAnalyst, CaseObserver:
		return true
	}
	return false
}

// TLP is a Traffic Light Protocol 2.0 marking.
type TLP string

const (
	TLPClear       TLP = "CLEAR"
	TLPGreen       TLP = "GREEN"
	TLPAmber       TLP = "AMBER"
	TLPAmberStrict TLP = "AMBER+STRICT"
	TLPRed         TLP = "RED"
)

// Valid reports whether t is a TLP 2.0 marking.
func (t TLP) Valid() bool {
	switch t {
	case TLPClear, TLPGreen, TLPAmber, TLPAmberStrict, TLPRed:
		return true
	}
	return false
}

// AgencyKind is what sort of organisation an agency is.
type AgencyKind string

// Valid reports whether k is a known kind.
func (k AgencyKind) Valid() bool {
	switch k {
	case "police", "security_authority", "cert", "victim", "it_provider", "ministry", "other":
		return true
	}
	return false
}

// Principal is the authenticated caller of one request, as loaded from the
// database on that request (never from token claims alone).
type Principal struct {
	UserID     string
	AgencyID   string
	SystemRole SystemRole
	SessionID  string // of a signed-in person; empty for an API token

	// MFAEnrolmentRequired confines a session to enrolling a second factor.
	MFAEnrolmentRequired bool

	// An API token acts for its user, but only within its scopes and, when
	// TokenCaseIDs is not empty, only on those cases.
	TokenID      string
	TokenScopes  []Action
	TokenCaseIDs []string
}

// dbNow is the current time as the databases keep it: UTC, to the
// microsecond (PostgreSQL's precision), so a value reads back as written.
func dbNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// newID returns an unguessable, time-ordered ID (UUIDv7).
func newID() string { return uuid.Must(uuid.NewV7()).String() }
