package access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Second factors. A user enrols a TOTP authenticator in two steps (a
// secret is handed out, then a first code from it confirms it) and gets
// recovery codes at confirmation. Once confirmed, every password sign-in
// needs a current code or an unused recovery code. An agency that requires
// MFA lets its users without an authenticator sign in only to enrol one.

const (
	totpIssuer         = "Bevis"
	recoveryCodesCount = 10
)

var (
	// ErrMFARequired: the password is right and a second factor is needed.
	ErrMFARequired = errors.New("access: a one-time code is required")
	// ErrMFAEnrolmentRequired: the caller's agency requires MFA and the
	// caller has not enrolled; only enrolment is open to them.
	ErrMFAEnrolmentRequired = errors.New("access: MFA enrolment required")
)

// Sign-in methods, as sessions record them.
const (
	methodPassword     = "password"
	methodTOTP         = "password+totp"
	methodRecoveryCode = "password+recovery_code"
	// methodSSO sessions were opened by the agency's identity provider,
	// which owns their second factor.
	methodSSO = "sso"
)

type totpRow struct {
	UserID      string `gorm:"primaryKey"`
	Secret      string
	LastStep    int64
	CreatedAt   time.Time
	ConfirmedAt *time.Time
}

func (totpRow) TableName() string { return "user_totp" }

type recoveryCodeRow struct {
	UserID   string `gorm:"primaryKey"`
	CodeHash string `gorm:"primaryKey"`
	UsedAt   *time.Time
}

func (recoveryCodeRow) TableName() string { return "user_recovery_codes" }

// MFAStatus is what a user has enrolled.
type MFAStatus struct {
	TOTPEnabled        bool
	RecoveryCodesLeft  int
	RequiredByAgency   bool
	EnrolmentRequired  bool // required by the agency and not yet enrolled
	PendingEnrolmentAt *time.Time
}

// MFAStatus reports the second factors of a user.
func (s *Sessions) MFAStatus(ctx context.Context, userID string) (MFAStatus, error) {
	var row struct {
		RequireMFA  bool
		CreatedAt   *time.Time
		ConfirmedAt *time.Time
		CodesLeft   int
	}
	err := s.db.WithContext(ctx).Raw(`
		SELECT a.require_mfa, t.created_at, t.confirmed_at,
		       (SELECT COUNT(*) FROM user_recovery_codes r WHERE r.user_id = u.id AND r.used_at IS NULL) AS codes_left
		FROM users u JOIN agencies a ON a.id = u.agency_id
		LEFT JOIN user_totp t ON t.user_id = u.id
		WHERE u.id = ?`, userID).Scan(&row).Error
	if err != nil {
		return MFAStatus{}, fmt.Errorf("access: mfa status: %w", err)
	}
	st := MFAStatus{TOTPEnabled: row.ConfirmedAt != nil, RecoveryCodesLeft: row.CodesLeft,
		RequiredByAgency: row.RequireMFA, EnrolmentRequired: row.RequireMFA && row.ConfirmedAt == nil}
	if row.ConfirmedAt == nil {
		st.PendingEnrolmentAt = row.CreatedAt
	}
	return st, nil
}

// TOTPEnrolment is a new authenticator secret, shown once to be scanned.
type TOTPEnrolment struct {
	Secret          string
	ProvisioningURI string
}

// StartTOTP hands out a new authenticator secret for the caller, after
// checking their password, to be confirmed with ConfirmTOTP. An unconfirmed
// earlier secret is replaced; a confirmed one must be removed first.
func (s *Sessions) StartTOTP(ctx context.Context, p Principal, password string) (TOTPEnrolment, error) {
	if err := s.checkPassword(ctx, p.UserID, password); err != nil {
		return TOTPEnrolment{}, err
	}
	var out TOTPEnrolment
	err := s.inTx(ctx, s.db, "me.mfa.totp.post", "users", p.UserID, "", func(tx *gorm.DB) error {
		var u userRow
		if err := tx.Where("id = ?", p.UserID).Take(&u).Error; err != nil {
			return translate(err, "")
		}
		var existing totpRow
		err := tx.Where("user_id = ?", p.UserID).Take(&existing).Error
		switch {
		case err == nil && existing.ConfirmedAt != nil:
			return &ConflictError{Reason: "an authenticator is enrolled already; remove it first"}
		case err == nil:
			if err := tx.Delete(&existing).Error; err != nil {
				return err
			}
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return err
		}
		secret, uri, err := NewTOTPKey(totpIssuer, u.Email)
		if err != nil {
			return err
		}
		out = TOTPEnrolment{Secret: secret, ProvisioningURI: uri}
		return tx.Create(&totpRow{UserID: p.UserID, Secret: secret, CreatedAt: s.now()}).Error
	})
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("access: start TOTP: %w", err)
	}
	return out, nil
}

// ConfirmTOTP checks a first code from the pending authenticator, turns it
// on, and returns fresh recovery codes, shown this once.
func (s *Sessions) ConfirmTOTP(ctx context.Context, p Principal, code string) ([]string, error) {
	var codes []string
	err := s.inTx(ctx, s.db, "me.mfa.totp.confirm.post", "users", p.UserID, "", func(tx *gorm.DB) error {
		var t totpRow
		err := tx.Where("user_id = ?", p.UserID).Take(&t).Error
		if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && t.ConfirmedAt != nil) {
			return &ConflictError{Reason: "no authenticator enrolment is pending; start one first"}
		}
		if err != nil {
			return err
		}
		step, err := ValidateTOTP(t.Secret, code, s.now(), t.LastStep)
		if err != nil {
			return err
		}
		now := s.now()
		if err := tx.Model(&totpRow{}).Where("user_id = ? AND confirmed_at IS NULL", p.UserID).
			Updates(map[string]any{"confirmed_at": now, "last_step": step}).Error; err != nil {
			return err
		}
		codes, err = replaceRecoveryCodes(tx, p.UserID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("access: confirm TOTP: %w", err)
	}
	return codes, nil
}

// RemoveMFA turns the caller's second factor off, after checking their
// password. An agency that requires MFA does not let its users do this.
func (s *Sessions) RemoveMFA(ctx context.Context, p Principal, password string) error {
	if err := s.checkPassword(ctx, p.UserID, password); err != nil {
		return err
	}
	st, err := s.MFAStatus(ctx, p.UserID)
	if err != nil {
		return err
	}
	if st.RequiredByAgency {
		return &ConflictError{Reason: "your agency requires a second factor; ask an agency admin to reset it"}
	}
	return s.resetMFA(ctx, "me.mfa.disable.post", p.UserID)
}

// ResetMFA removes a user's authenticator and recovery codes, for someone
// who lost both; the caller is an admin checked by Authorize.
func (s *Sessions) ResetMFA(ctx context.Context, userID string) error {
	return s.resetMFA(ctx, "users.mfa.delete", userID)
}

func (s *Sessions) resetMFA(ctx context.Context, action, userID string) error {
	err := s.inTx(ctx, s.db, action, "users", userID, "", func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ?", userID).Delete(&recoveryCodeRow{}).Error; err != nil {
			return err
		}
		return tx.Where("user_id = ?", userID).Delete(&totpRow{}).Error
	})
	if err != nil {
		return fmt.Errorf("access: reset MFA: %w", err)
	}
	return nil
}

// NewRecoveryCodesFor replaces the caller's recovery codes after checking
// their password; the old ones stop working.
func (s *Sessions) NewRecoveryCodesFor(ctx context.Context, p Principal, password string) ([]string, error) {
	if err := s.checkPassword(ctx, p.UserID, password); err != nil {
		return nil, err
	}
	var codes []string
	err := s.inTx(ctx, s.db, "me.mfa.recovery_codes.post", "users", p.UserID, "", func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&totpRow{}).Where("user_id = ? AND confirmed_at IS NOT NULL", p.UserID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return &ConflictError{Reason: "recovery codes come with an enrolled authenticator"}
		}
		var err error
		codes, err = replaceRecoveryCodes(tx, p.UserID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("access: recovery codes: %w", err)
	}
	return codes, nil
}

func replaceRecoveryCodes(tx *gorm.DB, userID string) ([]string, error) {
	plain, hashes, err := NewRecoveryCodes(recoveryCodesCount)
	if err != nil {
		return nil, err
	}
	if err := tx.Where("user_id = ?", userID).Delete(&recoveryCodeRow{}).Error; err != nil {
		return nil, err
	}
	rows := make([]recoveryCodeRow, len(hashes))
	for i, h := range hashes {
		rows[i] = recoveryCodeRow{UserID: userID, CodeHash: h}
	}
	if err := tx.Create(&rows).Error; err != nil {
		return nil, err
	}
	return plain, nil
}

// checkPassword re-confirms a signed-in user's password before a change to
// their second factor, so that a stolen access token alone cannot turn it
// off or enrol an authenticator of the thief's. Wrong answers count towards
// the sign-in limit.
func (s *Sessions) checkPassword(ctx context.Context, userID, password string) error {
	var u userRow
	if err := s.db.WithContext(ctx).Where("id = ?", userID).Take(&u).Error; err != nil {
		return fmt.Errorf("access: check password: %w", translate(err, ""))
	}
	attempt, err := s.reserveAttempt(ctx, []string{"account:" + u.Email})
	if err != nil {
		return err
	}
	ok, err := VerifyPasswordOrDummy(u.PasswordHash, password)
	if ok || err != nil {
		// Only a wrong password counts as a failure.
		if rerr := s.releaseAttempt(ctx, attempt); rerr != nil {
			return rerr
		}
	}
	switch {
	case errors.Is(err, ErrPasswordBusy):
		return err
	case err != nil:
		return fmt.Errorf("access: check password: %w", err)
	case !ok:
		return ErrPasswordIncorrect
	}
	return nil
}

// ErrPasswordIncorrect refuses a change that re-confirms the password of a
// signed-in user with a wrong one.
var ErrPasswordIncorrect = errors.New("access: password incorrect")

// secondFactor checks the code of a sign-in whose password was right, and
// names the method the session is opened with. A code of six digits is
// taken as TOTP, anything else as a recovery code; either is spent by a
// conditional UPDATE, so two requests racing with one code cannot both win.
func (s *Sessions) secondFactor(ctx context.Context, userID, code string) (string, error) {
	db := s.db.WithContext(ctx)
	var t totpRow
	err := db.Where("user_id = ? AND confirmed_at IS NOT NULL", userID).Take(&t).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return methodPassword, nil
	case err != nil:
		return "", fmt.Errorf("access: second factor: %w", err)
	case code == "":
		return "", ErrMFARequired
	}
	if _, isTOTP := normalizeTOTPCode(code); isTOTP {
		step, err := ValidateTOTP(t.Secret, code, s.now(), t.LastStep)
		if err != nil {
			if errors.Is(err, ErrTOTPInvalid) {
				return "", ErrUnauthenticated
			}
			return "", fmt.Errorf("access: second factor: %w", err)
		}
		res := db.Model(&totpRow{}).Where("user_id = ? AND last_step < ?", userID, step).Update("last_step", step)
		if res.Error != nil {
			return "", fmt.Errorf("access: second factor: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return "", ErrUnauthenticated // the same code won a race elsewhere
		}
		return methodTOTP, nil
	}
	var hashes []string
	if err := db.Model(&recoveryCodeRow{}).Where("user_id = ? AND used_at IS NULL", userID).
		Order("code_hash").Pluck("code_hash", &hashes).Error; err != nil {
		return "", fmt.Errorf("access: second factor: %w", err)
	}
	i, ok := MatchRecoveryCode(hashes, code)
	if !ok {
		return "", ErrUnauthenticated
	}
	res := db.Model(&recoveryCodeRow{}).Where("user_id = ? AND code_hash = ? AND used_at IS NULL", userID, hashes[i]).
		Update("used_at", s.now())
	if res.Error != nil {
		return "", fmt.Errorf("access: second factor: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return "", ErrUnauthenticated
	}
	return methodRecoveryCode, nil
}
