package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/config"
	"github.com/bevis-ir/bevis/internal/db"
)

// loadSigningKeys reads the token signing keys. Only the default file in
// the data dir is made when absent: a configured file that is missing is an
// error, since several nodes making keys of their own would refuse each
// other's tokens. A made file is staged in made, when given, rather than
// written (see newKeyFiles).
func loadSigningKeys(cfg config.Config, made *newKeyFiles, log *slog.Logger) (*access.SigningKeys, error) {
	pemData, err := readOrMakeKeyFile(cfg, cfg.TokenKeysFile, config.DefaultTokenKeysName, "BEVIS_TOKEN_KEYS_FILE",
		"token signing key", access.GenerateSigningKeyPEM, made, log)
	if err != nil {
		return nil, err
	}
	keys, err := access.ParseSigningKeys(pemData)
	if err != nil {
		return nil, &config.InvalidError{Err: fmt.Errorf("BEVIS_TOKEN_KEYS_FILE %s: %w", cfg.TokenKeysFile, err)}
	}
	return keys, nil
}

// loadMasterKeys reads the master keys that wrap the case data keys. As
// for the token keys, only the default file in the data dir is made when
// absent; a configured file must exist, since a node with a master key of
// its own could not read the other nodes' evidence.
func loadMasterKeys(cfg config.Config, log *slog.Logger) (*evidence.MasterKeys, error) {
	var made newKeyFiles
	keys, err := stageMasterKeys(cfg, &made, log)
	if err != nil {
		return nil, err
	}
	return keys, made.write(log)
}

// stageMasterKeys is loadMasterKeys with a made file staged in made.
func stageMasterKeys(cfg config.Config, made *newKeyFiles, log *slog.Logger) (*evidence.MasterKeys, error) {
	isDefault := cfg.MasterKeyFile == filepath.Join(cfg.DataDir, config.DefaultMasterKeysName)
	if _, err := os.Stat(cfg.MasterKeyFile); errors.Is(err, fs.ErrNotExist) && isDefault {
		line, err := evidence.NewMasterKeyLine(time.Now())
		if err != nil {
			return nil, fmt.Errorf("master keys: %w", err)
		}
		content := "# Bevis master keys: ID:BASE64, the first wraps new data keys, all unwrap.\n" +
			"# Without this file no evidence can be read. Back it up apart from the database and the evidence.\n" + line
		keys, err := evidence.ParseMasterKeys([]byte(content))
		if err != nil {
			return nil, fmt.Errorf("master keys: %w", err)
		}
		made.add(cfg, cfg.MasterKeyFile, "master key; back it up apart from the database and the evidence", []byte(content))
		return keys, nil
	}
	keys, err := evidence.ReadMasterKeyFile(cfg.MasterKeyFile)
	if err != nil {
		return nil, &config.InvalidError{Err: fmt.Errorf("BEVIS_MASTER_KEY_FILE: %w", err)}
	}
	return keys, nil
}

// checkMasterKeys refuses to start when the master key file cannot unwrap
// every data key or holds a known key ID with other bytes, and says when a
// rotation is not finished.
func checkMasterKeys(ctx context.Context, keyring *evidence.Keyring, log *slog.Logger) error {
	retiring, err := keyring.CheckMasterKeys(ctx)
	if errors.Is(err, evidence.ErrUnknownMasterKey) || errors.Is(err, evidence.ErrMasterKeyMismatch) {
		return &config.InvalidError{Err: fmt.Errorf("BEVIS_MASTER_KEY_FILE: %w", err)}
	}
	if err != nil {
		return err
	}
	if len(retiring) > 0 {
		log.Warn("data keys are still wrapped by older master keys; run `bevis keys rewrap`", "master_keys", retiring)
	}
	return nil
}

const keysUsage = "usage: bevis keys new-master | rewrap [options]"

// keys runs `bevis keys new-master` (print a line for the master key file)
// and `bevis keys rewrap` (re-wrap every data key under the first master
// key of the file, the step of a master key rotation that needs the
// database).
func keys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "new-master" && args[0] != "rewrap") {
		return &usageError{keysUsage}
	}
	if args[0] == "new-master" {
		const newMasterUsage = "usage: bevis keys new-master (takes no options)"
		if helpAsked(args[1:]) {
			_, err := fmt.Fprintln(stdout, newMasterUsage+"\nPrints a new line for the master key file: ID:BASE64 of 32 random bytes.")
			return err
		}
		if len(args) > 1 {
			return &usageError{newMasterUsage}
		}
		line, err := evidence.NewMasterKeyLine(time.Now())
		if err != nil {
			return err
		}
		_, err = io.WriteString(stdout, line)
		return err
	}
	cfg, ok, err := loadConfig("keys rewrap", args[1:], getenv, stdout)
	if !ok {
		return err
	}
	log := newLogger(cfg, stderr)
	master, err := loadMasterKeys(cfg, log)
	if err != nil {
		return err
	}
	gdb, err := openMigrated(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close(gdb)
	keyring := evidence.NewKeyring(gdb, master)
	if err := checkMasterKeys(ctx, keyring, log); err != nil {
		return err
	}
	n, err := keyring.RewrapAll(ctx)
	if err != nil {
		return fmt.Errorf("rewrap: %d data key(s) re-wrapped before: %w", n, err)
	}
	inUse, err := keyring.MasterKeysInUse(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d data key(s) re-wrapped under master key %s\n", n, master.CurrentID())
	fmt.Fprintf(stdout, "master keys in use: %s (any other may be removed from the file)\n", strings.Join(inUse, ", "))
	return nil
}

// loadAuditSigner reads the audit checkpoint signing key, made on first
// start like the token keys (and staged in made like them). Every node
// must share it, so that checkpoints verify with one public key whichever
// node led.
func loadAuditSigner(cfg config.Config, made *newKeyFiles, log *slog.Logger) (*audit.Signer, []byte, error) {
	pemData, err := readOrMakeKeyFile(cfg, cfg.AuditKeyFile, config.DefaultAuditKeyName, "BEVIS_AUDIT_KEY_FILE",
		"audit checkpoint signing key", audit.GenerateKeyPEM, made, log)
	if err != nil {
		return nil, nil, err
	}
	signer, err := audit.ParseSigner(pemData)
	if err != nil {
		return nil, nil, &config.InvalidError{Err: fmt.Errorf("BEVIS_AUDIT_KEY_FILE %s: %w", cfg.AuditKeyFile, err)}
	}
	return signer, pemData, nil
}

// readOrMakeKeyFile reads path, making it with generate when it is the
// default file in the data dir and does not exist yet: staged in made when
// given, else written at once.
func readOrMakeKeyFile(cfg config.Config, path, defaultName, env, what string, generate func() ([]byte, error),
	made *newKeyFiles, log *slog.Logger) ([]byte, error) {
	pemData, err := os.ReadFile(path)
	isDefault := path == filepath.Join(cfg.DataDir, defaultName)
	if errors.Is(err, fs.ErrNotExist) && isDefault {
		if pemData, err = generate(); err != nil {
			return nil, err
		}
		if made != nil {
			made.add(cfg, path, what, pemData)
			return pemData, nil
		}
		var now newKeyFiles
		now.add(cfg, path, what, pemData)
		return pemData, now.write(log)
	} else if err != nil {
		return nil, &config.InvalidError{Err: fmt.Errorf("%s: %w", env, err)}
	}
	return pemData, nil
}

// newKeyFiles are default key files made in memory on a first start. serve
// writes them only once every start-up check has passed, so that a node
// refused at start leaves nothing in its data folder.
type newKeyFiles struct {
	dataDir string
	files   []newKeyFile
}

type newKeyFile struct {
	path, what string
	data       []byte
}

func (n *newKeyFiles) add(cfg config.Config, path, what string, data []byte) {
	n.dataDir = cfg.DataDir
	n.files = append(n.files, newKeyFile{path: path, what: what, data: data})
}

// write writes each made file, readable by its owner only; a file that
// exists by now (another process made it) is an error, never overwritten.
func (n *newKeyFiles) write(log *slog.Logger) error {
	for _, f := range n.files {
		if err := os.MkdirAll(n.dataDir, 0o700); err != nil {
			return fmt.Errorf("%s: %w", f.what, err)
		}
		out, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("%s: %w", f.what, err)
		}
		if _, err := out.Write(f.data); err != nil {
			_ = out.Close()
			return fmt.Errorf("%s: %w", f.what, err)
		}
		if err := out.Close(); err != nil {
			return fmt.Errorf("%s: %w", f.what, err)
		}
		log.Info("made a new "+f.what, "file", f.path)
	}
	n.files = nil
	return nil
}
