package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/config"
)

// loadSigningKeys reads the token signing keys. Only the default file in
// the data dir is made when absent: a configured file that is missing is an
// error, since several nodes making keys of their own would refuse each
// other's tokens.
func loadSigningKeys(cfg config.Config, log *slog.Logger) (*access.SigningKeys, error) {
	pemData, err := readOrMakeKeyFile(cfg, cfg.TokenKeysFile, config.DefaultTokenKeysName, "BEVIS_TOKEN_KEYS_FILE",
		"token signing key", access.GenerateSigningKeyPEM, log)
	if err != nil {
		return nil, err
	}
	keys, err := access.ParseSigningKeys(pemData)
	if err != nil {
		return nil, &config.InvalidError{Err: fmt.Errorf("BEVIS_TOKEN_KEYS_FILE %s: %w", cfg.TokenKeysFile, err)}
	}
	return keys, nil
}

// loadAuditSigner reads the audit checkpoint signing key, made on first
// start like the token keys. Every node must share it, so that
// checkpoints verify with one public key whichever node led.
func loadAuditSigner(cfg config.Config, log *slog.Logger) (*audit.Signer, error) {
	pemData, err := readOrMakeKeyFile(cfg, cfg.AuditKeyFile, config.DefaultAuditKeyName, "BEVIS_AUDIT_KEY_FILE",
		"audit checkpoint signing key", audit.GenerateKeyPEM, log)
	if err != nil {
		return nil, err
	}
	signer, err := audit.ParseSigner(pemData)
	if err != nil {
		return nil, &config.InvalidError{Err: fmt.Errorf("BEVIS_AUDIT_KEY_FILE %s: %w", cfg.AuditKeyFile, err)}
	}
	return signer, nil
}

// readOrMakeKeyFile reads path, making it with generate when it is the
// default file in the data dir and does not exist yet.
func readOrMakeKeyFile(cfg config.Config, path, defaultName, env, what string, generate func() ([]byte, error), log *slog.Logger) ([]byte, error) {
	pemData, err := os.ReadFile(path)
	isDefault := path == filepath.Join(cfg.DataDir, defaultName)
	if errors.Is(err, fs.ErrNotExist) && isDefault {
		if pemData, err = generate(); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if _, err := f.Write(pemData); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		log.Info("made a new "+what, "file", path)
	} else if err != nil {
		return nil, &config.InvalidError{Err: fmt.Errorf("%s: %w", env, err)}
	}
	return pemData, nil
}
