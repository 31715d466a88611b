package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
)

type mfaStatusJSON struct {
	TOTPEnabled       bool `json:"totp_enabled"`
	RecoveryCodesLeft int  `json:"recovery_codes_left"`
	RequiredByAgency  bool `json:"required_by_agency"`
	EnrolmentRequired bool `json:"enrolment_required"`
}

func (s *server) getMFA(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionSelfRead, access.Resource{}); err != nil {
		return err
	}
	st, err := s.Sessions.MFAStatus(c.UserContext(), principal(c).UserID)
	if err != nil {
		return err
	}
	return c.JSON(mfaStatusJSON{TOTPEnabled: st.TOTPEnabled, RecoveryCodesLeft: st.RecoveryCodesLeft,
		RequiredByAgency: st.RequiredByAgency, EnrolmentRequired: st.EnrolmentRequired})
}

type totpEnrolmentJSON struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
}

// startTOTP hands out a new authenticator secret, to whoever gives the
// password again; the client shows it as a QR code of otpauth_uri and sends
// a first code to confirm it.
func (s *server) startTOTP(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionSelfMFA, access.Resource{}); err != nil {
		return err
	}
	var in passwordRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	e, err := s.Sessions.StartTOTP(c.UserContext(), principal(c), in.Password)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(totpEnrolmentJSON{Secret: e.Secret, OTPAuthURI: e.ProvisioningURI})
}

type recoveryCodesJSON struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

func (s *server) confirmTOTP(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionSelfMFA, access.Resource{}); err != nil {
		return err
	}
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	codes, err := s.Sessions.ConfirmTOTP(c.UserContext(), principal(c), in.Code)
	if err != nil {
		return err
	}
	return c.JSON(recoveryCodesJSON{RecoveryCodes: codes})
}

type passwordRequest struct {
	Password string `json:"password"`
}

func (s *server) newRecoveryCodes(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionSelfMFA, access.Resource{}); err != nil {
		return err
	}
	var in passwordRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	codes, err := s.Sessions.NewRecoveryCodesFor(c.UserContext(), principal(c), in.Password)
	if err != nil {
		return err
	}
	return c.JSON(recoveryCodesJSON{RecoveryCodes: codes})
}

func (s *server) disableMFA(c *fiber.Ctx) error {
	if err := s.authorize(c, access.ActionSelfMFA, access.Resource{}); err != nil {
		return err
	}
	var in passwordRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.Sessions.RemoveMFA(c.UserContext(), principal(c), in.Password); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// resetUserMFA removes the second factor of someone who lost it; it is the
// user administrator's call, as a password reset is.
func (s *server) resetUserMFA(c *fiber.Ctx) error {
	u, err := s.loadUser(c, access.ActionUserWrite)
	if err != nil {
		return err
	}
	if u.ID == principal(c).UserID {
		return access.ErrForbidden // one's own factor is removed with the password, at /me/mfa/disable
	}
	if err := s.Sessions.ResetMFA(c.UserContext(), u.ID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
