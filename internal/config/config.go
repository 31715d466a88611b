// Package config parses Bevis's configuration once, from the environment and
// from command-line flags (flags win), into one typed, validated struct.
//
// Every option is described once, in the options table: its flag, its
// environment variable, its default, whether it is a secret. Parsing, the
// --help text, the masked start-up log line and the README check all read
// that table, so an option cannot exist in one and be missing from another.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bevis-ir/bevis/internal/period"
)

// DefaultTokenKeysName is the key file made in the data dir on a first
// start without BEVIS_TOKEN_KEYS_FILE.
const DefaultTokenKeysName = "token-signing-keys.pem"

// DefaultMasterKeysName is the master key file made in the data dir on a
// first start without BEVIS_MASTER_KEY_FILE.
const DefaultMasterKeysName = "master-keys"

// DefaultAuditKeyName is the audit checkpoint signing key made in the data
// dir on a first start without BEVIS_AUDIT_KEY_FILE.
const DefaultAuditKeyName = "audit-checkpoint-key.pem"

// DatabaseConnections is how many connections a node keeps to PostgreSQL
// unless BEVIS_DATABASE_CONNECTIONS says otherwise.
const DatabaseConnections = 32

// Config is the effective configuration of one Bevis process.
type Config struct {
	Listen      string
	DataDir     string
	DatabaseURL string
	// DatabaseConnections is the size of a node's PostgreSQL pool.
	DatabaseConnections int64
	EvidenceDir         string
	S3                  S3

	LogLevel  slog.Level
	LogFormat string

	StartupTimeout  time.Duration
	ShutdownTimeout time.Duration
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	IdleTimeout     time.Duration
	BodyLimit       int64
	ImportLimit     int64 // largest timeline import upload

	CORSOrigins    []string
	TrustedProxies []string

	// PublicURL is where people reach Bevis, as scheme://host[:port];
	// single sign-on sends providers back to it. See BaseURL.
	PublicURL string

	TokenKeysFile string // PEM of the Ed25519 keys that sign access tokens
	MasterKeyFile string // master keys wrapping the case data keys of evidence encryption
	AuditKeyFile  string // PEM of the Ed25519 key that signs audit checkpoints
	TokenIssuer   string
	SessionTTL    time.Duration
	TLSCertFile   string
	TLSKeyFile    string

	ClockRulesFile string // national regulatory clock rules, added to the defaults

	// EvidenceRetention is the least time evidence is kept: stored objects
	// are locked that long, and disposal is refused before it has passed.
	// Counted in calendar years by default: ten years are 10y, not 87600h.
	EvidenceRetention period.Period
	// RetentionMode is the Object Lock mode of stored evidence: COMPLIANCE
	// (nobody can shorten it) or GOVERNANCE (a privileged operator can).
	RetentionMode string

	UploadMaxSize  int64         // the largest content of one item
	CaseQuota      int64         // the most content one case may hold
	UploadExpiry   time.Duration // an unfinished upload is discarded after this
	UploadLease    time.Duration // how long a request holds an upload; a killed node's hold ends after it
	VerifyInterval time.Duration // stored evidence is re-read and re-hashed this often

	Alerts Alerts
}

// Alerts are the thresholds of the exfiltration rules (0 turns a rule off)
// and where alerts go.
type Alerts struct {
	Window            time.Duration // of the evidence rules and the hard limit
	MaxBytes          int64         // evidence bytes per Window
	MaxItems          int64         // distinct evidence items per Window
	MaxCases          int64         // cases downloaded from per Window
	ReadsWindow       time.Duration
	MaxReads          int64   // reads of case data per ReadsWindow
	RareHourShare     float64 // an hour holding less than this share of a user's history is unusual
	DownloadHardLimit int64   // bytes per Window past which downloads get 429 (0: off)
	ApprovalTTL       time.Duration
	WebhookURL        string
	WebhookSecret     string
}

// S3 configures the S3 evidence store. An empty Endpoint means the
// filesystem store in EvidenceDir.
type S3 struct {
	Endpoint  string
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	TLS       bool
	PartSize  int64
	// AllowWeak serves even when the lock probe finds Bevis's own
	// credentials able to destroy evidence (BEVIS_ALLOW_WEAK_STORE).
	AllowWeak bool
}

// Enabled reports whether evidence goes to S3 rather than the local folder.
func (s S3) Enabled() bool { return s.Endpoint != "" }

// BaseURL is PublicURL or, when that is unset, a URL made from the listen
// address, which is right only when people reach Bevis at that address
// (local use; behind a load balancer, set BEVIS_PUBLIC_URL).
func (c Config) BaseURL() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	scheme := "http"
	if c.TLSEnabled() {
		scheme = "https"
	}
	return scheme + "://" + c.Listen
}

// TLSEnabled reports whether Bevis serves HTTPS itself.
func (c Config) TLSEnabled() bool { return c.TLSCertFile != "" }

// HTTPS reports whether people reach Bevis over HTTPS: it serves TLS
// itself, or its public URL is https (a load balancer in front terminates
// TLS). Cookies are then Secure and HSTS is sent.
func (c Config) HTTPS() bool { return c.TLSEnabled() || strings.HasPrefix(c.PublicURL, "https://") }

// InvalidError is a configuration the process cannot start with. The
// command line reports it as one line and exits with status 2.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

func invalid(format string, args ...any) error {
	return &InvalidError{Err: fmt.Errorf(format, args...)}
}

// Load parses the flags in args over the environment read through getenv,
// over the defaults, and validates the result. flag.ErrHelp is returned
// (after the usage went to usage) when args ask for help. A command with
// flags of its own defines them through extra.
func Load(name string, args []string, getenv func(string) string, usage io.Writer, extra ...func(*flag.FlagSet)) (Config, error) {
	values := map[*option]string{}
	for _, o := range options {
		values[o] = o.def
		v, err := fromEnv(o, getenv)
		if err != nil {
			return Config{}, err
		}
		if v != nil {
			values[o] = *v
		}
	}

	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, o := range options {
		fs.Func(o.flag, o.usage, func(v string) error { values[o] = v; return nil })
	}
	for _, define := range extra {
		define(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			PrintUsage(usage, name)
			for _, define := range extra {
				own := flag.NewFlagSet(name, flag.ContinueOnError)
				define(own)
				fmt.Fprintln(usage, "\nOptions of this command:")
				own.SetOutput(usage)
				own.PrintDefaults()
			}
			return Config{}, err
		}
		return Config{}, invalid("%v (see `bevis %s --help`)", err, name)
	}
	if fs.NArg() > 0 {
		return Config{}, invalid("unexpected argument %q (see `bevis %s --help`)", fs.Arg(0), name)
	}

	var c Config
	for _, o := range options {
		if err := o.set(&c, strings.TrimSpace(values[o])); err != nil {
			return Config{}, invalid("%s: %v", o.env, err)
		}
	}
	c.applyDerivedDefaults()
	if err := c.validate(); err != nil {
		return Config{}, &InvalidError{Err: err}
	}
	return c, nil
}

// fromEnv reads an option from its variable or, for secrets, from the file
// named by its _FILE variable. Setting both is ambiguous and refused.
func fromEnv(o *option, getenv func(string) string) (*string, error) {
	v := getenv(o.env)
	hasV := v != ""
	if !o.secret {
		if !hasV {
			return nil, nil
		}
		return &v, nil
	}
	path := getenv(o.env + "_FILE")
	switch {
	case hasV && path != "":
		return nil, invalid("%s and %s_FILE are both set; set one", o.env, o.env)
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, invalid("%s_FILE: %v", o.env, err)
		}
		s := strings.TrimRight(string(b), "\r\n")
		return &s, nil
	case hasV:
		return &v, nil
	}
	return nil, nil
}

func (c *Config) applyDerivedDefaults() {
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:" + filepath.Join(c.DataDir, "bevis.db")
	}
	if c.EvidenceDir == "" {
		c.EvidenceDir = filepath.Join(c.DataDir, "evidence")
	}
	if c.TokenKeysFile == "" {
		c.TokenKeysFile = filepath.Join(c.DataDir, DefaultTokenKeysName)
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, DefaultMasterKeysName)
	}
	if c.AuditKeyFile == "" {
		c.AuditKeyFile = filepath.Join(c.DataDir, DefaultAuditKeyName)
	}
}

// LogValue prints the effective configuration for the start-up log, with
// every secret masked and the password stripped from the database URL.
func (c Config) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(options))
	for _, o := range options {
		v := o.get(c)
		if o.secret && v != "" {
			v = o.mask(v)
		}
		attrs = append(attrs, slog.String(o.flag, v))
	}
	return slog.GroupValue(attrs...)
}

// PrintUsage writes the options with their variables and defaults.
func PrintUsage(w io.Writer, name string) {
	fmt.Fprintf(w, "Usage: bevis %s [options]\n\nOptions (flags win over environment variables):\n", name)
	for _, o := range options {
		env := o.env
		if o.secret {
			env += " (or " + o.env + "_FILE)"
		}
		def := ""
		if o.def != "" {
			def = ", default " + o.def
		}
		fmt.Fprintf(w, "  --%s\n      %s\n      env %s%s\n", o.flag, o.usage, env, def)
	}
}

// Variables lists every environment variable Bevis reads, for the README check.
func Variables() []string {
	var out []string
	for _, o := range options {
		out = append(out, o.env)
		if o.secret {
			out = append(out, o.env+"_FILE")
		}
	}
	return out
}
