package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/config"
)

// loadSigningKeys reads the token signing keys. Only the default file in
// the data dir is made when absent: a configured file that is missing is an
// error, since several nodes making keys of their own would refuse each
// other's tokens.
func loadSigningKeys(cfg config.Config, log *slog.Logger) (*access.SigningKeys, error) {
	pemData, err := os.ReadFile(cfg.TokenKeysFile)
	isDefault := cfg.TokenKeysFile == filepath.Join(cfg.DataDir, config.DefaultTokenKeysName)
	if errors.Is(err, fs.ErrNotExist) && isDefault {
		if pemData, err = access.GenerateSigningKeyPEM(); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("token keys: %w", err)
		}
		f, err := os.OpenFile(cfg.TokenKeysFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("token keys: %w", err)
		}
		if _, err := f.Write(pemData); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("token keys: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("token keys: %w", err)
		}
		log.Info("made a new token signing key", "file", cfg.TokenKeysFile)
	} else if err != nil {
		return nil, &config.InvalidError{Err: fmt.Errorf("BEVIS_TOKEN_KEYS_FILE: %w", err)}
	}
	keys, err := access.ParseSigningKeys(pemData)
	if err != nil {
		return nil, &config.InvalidError{Err: fmt.Errorf("BEVIS_TOKEN_KEYS_FILE %s: %w", cfg.TokenKeysFile, err)}
	}
	return keys, nil
}
