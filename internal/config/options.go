package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bevis-ir/bevis/internal/period"
)

// option is one configuration setting. set parses a (trimmed) string into
// the Config; get renders it back for the start-up log.
type option struct {
	flag, env, def, usage string
	secret                bool
	mask                  func(string) string
	set                   func(*Config, string) error
	get                   func(Config) string
}

func maskAll(string) string { return "***" }

// options is the single table of every setting Bevis takes.
var options = []*option{
	{
		flag: "listen", env: "BEVIS_LISTEN", def: "127.0.0.1:8080",
		usage: "address to serve HTTP on (host:port)",
		set:   func(c *Config, v string) error { c.Listen = v; return validateListen(v) },
		get:   func(c Config) string { return c.Listen },
	},
	{
		flag: "data-dir", env: "BEVIS_DATA_DIR", def: "./data",
		usage: "folder for the default SQLite database and evidence folder",
		set:   func(c *Config, v string) error { c.DataDir = v; return nonEmpty(v) },
		get:   func(c Config) string { return c.DataDir },
	},
	{
		flag: "database-url", env: "BEVIS_DATABASE_URL", secret: true, mask: redactURL,
		usage: "sqlite:PATH or postgres://user:pass@host:port/db (default sqlite:DATA_DIR/bevis.db)",
		set:   func(c *Config, v string) error { c.DatabaseURL = v; return validateDatabaseURL(v) },
		get:   func(c Config) string { return c.DatabaseURL },
	},
	{
		flag: "database-connections", env: "BEVIS_DATABASE_CONNECTIONS", def: strconv.Itoa(DatabaseConnections),
		usage: "connections a node opens to PostgreSQL at start and may keep open (up to half of them writing at once; one unused for five minutes is closed); every node's together must stay under the server's max_connections",
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 2 || n > 1000 {
				return fmt.Errorf("must be a whole number from 2 to 1000, got %q", v)
			}
			c.DatabaseConnections = n
			return nil
		},
		get: func(c Config) string { return strconv.FormatInt(c.DatabaseConnections, 10) },
	},
	{
		flag: "evidence-dir", env: "BEVIS_EVIDENCE_DIR",
		usage: "folder of the filesystem evidence store, when S3 is not configured (default DATA_DIR/evidence)",
		set:   func(c *Config, v string) error { c.EvidenceDir = v; return nil },
		get:   func(c Config) string { return c.EvidenceDir },
	},
	{
		flag: "s3-endpoint", env: "BEVIS_S3_ENDPOINT",
		usage: "S3 server as host[:port]; setting it switches the evidence store to S3",
		set:   func(c *Config, v string) error { c.S3.Endpoint = v; return validateEndpoint(v) },
		get:   func(c Config) string { return c.S3.Endpoint },
	},
	{
		flag: "s3-bucket", env: "BEVIS_S3_BUCKET", def: "bevis-evidence",
		usage: "bucket for evidence (created with versioning and Object Lock when absent)",
		set:   func(c *Config, v string) error { c.S3.Bucket = v; return validateBucket(v) },
		get:   func(c Config) string { return c.S3.Bucket },
	},
	{
		flag: "s3-access-key", env: "BEVIS_S3_ACCESS_KEY", secret: true, mask: maskAll,
		usage: "S3 access key",
		set:   func(c *Config, v string) error { c.S3.AccessKey = v; return nil },
		get:   func(c Config) string { return c.S3.AccessKey },
	},
	{
		flag: "s3-secret-key", env: "BEVIS_S3_SECRET_KEY", secret: true, mask: maskAll,
		usage: "S3 secret key",
		set:   func(c *Config, v string) error { c.S3.SecretKey = v; return nil },
		get:   func(c Config) string { return c.S3.SecretKey },
	},
	{
		flag: "s3-region", env: "BEVIS_S3_REGION", def: "us-east-1",
		usage: "S3 region",
		set:   func(c *Config, v string) error { c.S3.Region = v; return nil },
		get:   func(c Config) string { return c.S3.Region },
	},
	{
		flag: "s3-tls", env: "BEVIS_S3_TLS", def: "true",
		usage: "connect to the S3 server over HTTPS (true/false)",
		set: func(c *Config, v string) (err error) {
			c.S3.TLS, err = strconv.ParseBool(v)
			return err
		},
		get: func(c Config) string { return strconv.FormatBool(c.S3.TLS) },
	},
	{
		flag: "allow-weak-store", env: "BEVIS_ALLOW_WEAK_STORE", def: "false",
		usage: "serve, with a loud warning, even when the lock probe finds that Bevis's own S3 credentials can shorten a lock, delete a locked version or lift a legal hold",
		set: func(c *Config, v string) (err error) {
			c.S3.AllowWeak, err = strconv.ParseBool(v)
			return err
		},
		get: func(c Config) string { return strconv.FormatBool(c.S3.AllowWeak) },
	},
	{
		flag: "s3-part-size", env: "BEVIS_S3_PART_SIZE", def: "16MiB",
		usage: "part size of S3 multipart uploads (5MiB to 5GiB); memory per upload grows with it",
		set: func(c *Config, v string) (err error) {
			c.S3.PartSize, err = parseBytes(v, 5<<20, 5<<30)
			return err
		},
		get: func(c Config) string { return formatBytes(c.S3.PartSize) },
	},
	{
		flag: "log-level", env: "BEVIS_LOG_LEVEL", def: "info",
		usage: "debug, info, warn or error",
		set:   func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) },
		get:   func(c Config) string { return strings.ToLower(c.LogLevel.String()) },
	},
	{
		flag: "log-format", env: "BEVIS_LOG_FORMAT", def: "auto",
		usage: "json (for machines), text (for people), or auto: text when stderr is a terminal, else json",
		set: func(c *Config, v string) error {
			c.LogFormat = v
			return oneOf(v, "auto", "json", "text")
		},
		get: func(c Config) string { return c.LogFormat },
	},
	durationOption("startup-timeout", "BEVIS_STARTUP_TIMEOUT", "60s",
		"how long to retry an unreachable database or S3 server at start",
		func(c *Config) *time.Duration { return &c.StartupTimeout }),
	durationOption("shutdown-timeout", "BEVIS_SHUTDOWN_TIMEOUT", "30s",
		"how long to let requests in flight finish on SIGINT/SIGTERM",
		func(c *Config) *time.Duration { return &c.ShutdownTimeout }),
	durationOption("read-timeout", "BEVIS_READ_TIMEOUT", "10m",
		"longest time to read one request, body included (bounds one upload request)",
		func(c *Config) *time.Duration { return &c.ReadTimeout }),
	durationOption("write-timeout", "BEVIS_WRITE_TIMEOUT", "1h",
		"longest time to write one response (bounds one download)",
		func(c *Config) *time.Duration { return &c.WriteTimeout }),
	durationOption("idle-timeout", "BEVIS_IDLE_TIMEOUT", "2m",
		"how long an idle keep-alive connection stays open",
		func(c *Config) *time.Duration { return &c.IdleTimeout }),
	{
		flag: "body-limit", env: "BEVIS_BODY_LIMIT", def: "1MiB",
		usage: "largest request body outside evidence and import uploads",
		set: func(c *Config, v string) (err error) {
			c.BodyLimit, err = parseBytes(v, 1<<10, 1<<30)
			return err
		},
		get: func(c Config) string { return formatBytes(c.BodyLimit) },
	},
	{
		flag: "import-limit", env: "BEVIS_IMPORT_LIMIT", def: "2GiB",
		usage: "largest super-timeline file one import accepts; larger uploads get 413 unread",
		set: func(c *Config, v string) (err error) {
			c.ImportLimit, err = parseBytes(v, 1<<20, 1<<40)
			return err
		},
		get: func(c Config) string { return formatBytes(c.ImportLimit) },
	},
	{
		flag: "cors-origins", env: "BEVIS_CORS_ORIGINS",
		usage: "comma-separated origins allowed to call the API from a browser (default none: CORS off)",
		set: func(c *Config, v string) (err error) {
			c.CORSOrigins, err = parseOrigins(v)
			return err
		},
		get: func(c Config) string { return strings.Join(c.CORSOrigins, ",") },
	},
	{
		flag: "trusted-proxies", env: "BEVIS_TRUSTED_PROXIES",
		usage: "comma-separated IPs or CIDRs of load balancers whose X-Forwarded-For is believed (default none)",
		set: func(c *Config, v string) (err error) {
			c.TrustedProxies, err = parseProxies(v)
			return err
		},
		get: func(c Config) string { return strings.Join(c.TrustedProxies, ",") },
	},
	{
		flag: "token-keys-file", env: "BEVIS_TOKEN_KEYS_FILE",
		usage: "PEM file of the Ed25519 keys signing access tokens; the first private key signs (default DATA_DIR/" + DefaultTokenKeysName + ", made on first start)",
		set:   func(c *Config, v string) error { c.TokenKeysFile = v; return nil },
		get:   func(c Config) string { return c.TokenKeysFile },
	},
	{
		flag: "master-key-file", env: "BEVIS_MASTER_KEY_FILE",
		usage: "file of the master keys wrapping the evidence encryption keys, one ID:BASE64 a line, the first current (default DATA_DIR/" + DefaultMasterKeysName + ", made on first start); must not be readable by others",
		set:   func(c *Config, v string) error { c.MasterKeyFile = v; return nil },
		get:   func(c Config) string { return c.MasterKeyFile },
	},
	{
		flag: "audit-key-file", env: "BEVIS_AUDIT_KEY_FILE",
		usage: "PEM file of the Ed25519 private key signing audit checkpoints (default DATA_DIR/" + DefaultAuditKeyName + ", made on first start)",
		set:   func(c *Config, v string) error { c.AuditKeyFile = v; return nil },
		get:   func(c Config) string { return c.AuditKeyFile },
	},
	{
		flag: "token-issuer", env: "BEVIS_TOKEN_ISSUER", def: "bevis",
		usage: "the iss of access tokens; give every node of one deployment the same",
		set:   func(c *Config, v string) error { c.TokenIssuer = v; return nonEmpty(v) },
		get:   func(c Config) string { return c.TokenIssuer },
	},
	durationOption("session-ttl", "BEVIS_SESSION_TTL", "12h",
		"how long one sign-in lasts, however often its refresh token is rotated",
		func(c *Config) *time.Duration { return &c.SessionTTL }),
	{
		flag: "evidence-retention", env: "BEVIS_EVIDENCE_RETENTION", def: "10y",
		usage: "the least time evidence is kept, in calendar years (10y), months (6mo) or a duration (720h): objects are locked that long, and disposal waits for it",
		set: func(c *Config, v string) error {
			p, err := period.Parse(v)
			if err != nil {
				return err
			}
			if !p.Positive() {
				return fmt.Errorf("must be positive, got %s", v)
			}
			c.EvidenceRetention = p
			return nil
		},
		get: func(c Config) string { return c.EvidenceRetention.String() },
	},
	{
		flag: "evidence-retention-mode", env: "BEVIS_EVIDENCE_RETENTION_MODE", def: "GOVERNANCE",
		usage: "Object Lock mode of stored evidence: COMPLIANCE (nobody can shorten the lock) or GOVERNANCE (an operator with the bypass permission can)",
		set: func(c *Config, v string) error {
			v = strings.ToUpper(v)
			if v != "COMPLIANCE" && v != "GOVERNANCE" {
				return fmt.Errorf("must be COMPLIANCE or GOVERNANCE, got %q", v)
			}
			c.RetentionMode = v
			return nil
		},
		get: func(c Config) string { return c.RetentionMode },
	},
	{
		flag: "upload-max-size", env: "BEVIS_UPLOAD_MAX_SIZE", def: "1TiB",
		usage: "largest content of one evidence item; larger uploads are refused with 413 before any byte is stored",
		set: func(c *Config, v string) (err error) {
			c.UploadMaxSize, err = parseBytes(v, 1, 1<<50)
			return err
		},
		get: func(c Config) string { return formatBytes(c.UploadMaxSize) },
	},
	{
		flag: "case-quota", env: "BEVIS_CASE_QUOTA", def: "10TiB",
		usage: "the most evidence content one case may hold, counting unfinished uploads; past it uploads get 413",
		set: func(c *Config, v string) (err error) {
			c.CaseQuota, err = parseBytes(v, 1, 1<<55)
			return err
		},
		get: func(c Config) string { return formatBytes(c.CaseQuota) },
	},
	durationOption("upload-expiry", "BEVIS_UPLOAD_EXPIRY", "72h",
		"how long an unfinished resumable upload is kept before it is discarded",
		func(c *Config) *time.Duration { return &c.UploadExpiry }),
	durationOption("upload-lease", "BEVIS_UPLOAD_LEASE", "30s",
		"how long one request holds a resumable upload, renewed as it works; after a node dies, a retry waits this long at most (must outlast storing one part)",
		func(c *Config) *time.Duration { return &c.UploadLease }),
	durationOption("verify-interval", "BEVIS_VERIFY_INTERVAL", "720h",
		"how often stored evidence is re-read and its SHA-256 recomputed (every 30 days by default)",
		func(c *Config) *time.Duration { return &c.VerifyInterval }),
	durationOption("alert-window", "BEVIS_ALERT_WINDOW", "1h",
		"window of the evidence exfiltration rules and of the download hard limit",
		func(c *Config) *time.Duration { return &c.Alerts.Window }),
	{
		flag: "alert-max-bytes", env: "BEVIS_ALERT_MAX_BYTES", def: "20GiB",
		usage: "alert when one user downloads more evidence than this within the alert window (0: off)",
		set: func(c *Config, v string) (err error) {
			c.Alerts.MaxBytes, err = parseBytesOrOff(v)
			return err
		},
		get: func(c Config) string { return formatBytes(c.Alerts.MaxBytes) },
	},
	countOption("alert-max-items", "BEVIS_ALERT_MAX_ITEMS", "50",
		"alert when one user downloads more distinct evidence items than this within the alert window (0: off)",
		func(c *Config) *int64 { return &c.Alerts.MaxItems }),
	countOption("alert-max-cases", "BEVIS_ALERT_MAX_CASES", "5",
		"alert when one user downloads evidence from more cases than this within the alert window (0: off)",
		func(c *Config) *int64 { return &c.Alerts.MaxCases }),
	durationOption("alert-reads-window", "BEVIS_ALERT_READS_WINDOW", "10m",
		"window of the bulk-read rule",
		func(c *Config) *time.Duration { return &c.Alerts.ReadsWindow }),
	countOption("alert-max-reads", "BEVIS_ALERT_MAX_READS", "1000",
		"alert when one user reads case data more often than this within the reads window (0: off)",
		func(c *Config) *int64 { return &c.Alerts.MaxReads }),
	{
		flag: "alert-rare-hour-share", env: "BEVIS_ALERT_RARE_HOUR_SHARE", def: "0.02",
		usage: "alert on reads at an hour of day holding less than this share of the user's last 2000 entries on cases, once they have 20 (0: off)",
		set: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f >= 1 {
				return fmt.Errorf("must be a share from 0 to below 1, like 0.02, got %q", v)
			}
			c.Alerts.RareHourShare = f
			return nil
		},
		get: func(c Config) string { return strconv.FormatFloat(c.Alerts.RareHourShare, 'g', -1, 64) },
	},
	{
		flag: "download-hard-limit", env: "BEVIS_DOWNLOAD_HARD_LIMIT", def: "0",
		usage: "evidence bytes one user may download per alert window; past it downloads get 429 until a case lead approves (0: off)",
		set: func(c *Config, v string) (err error) {
			c.Alerts.DownloadHardLimit, err = parseBytesOrOff(v)
			return err
		},
		get: func(c Config) string { return formatBytes(c.Alerts.DownloadHardLimit) },
	},
	durationOption("alert-approval-ttl", "BEVIS_ALERT_APPROVAL_TTL", "8h",
		"how long a case lead's approval of an alert lifts the download hard limit",
		func(c *Config) *time.Duration { return &c.Alerts.ApprovalTTL }),
	{
		flag: "alert-webhook-url", env: "BEVIS_ALERT_WEBHOOK_URL",
		usage: "URL new alerts are POSTed to as JSON",
		set: func(c *Config, v string) error {
			c.Alerts.WebhookURL = v
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("must be an http(s) URL, got %q", v)
			}
			return nil
		},
		get: func(c Config) string { return redactURL(c.Alerts.WebhookURL) },
	},
	{
		flag: "alert-webhook-secret", env: "BEVIS_ALERT_WEBHOOK_SECRET", secret: true, mask: maskAll,
		usage: "key of the HMAC-SHA256 signature (X-Bevis-Signature) of webhook deliveries",
		set:   func(c *Config, v string) error { c.Alerts.WebhookSecret = v; return nil },
		get:   func(c Config) string { return c.Alerts.WebhookSecret },
	},
	{
		flag: "public-url", env: "BEVIS_PUBLIC_URL",
		usage: "the URL people reach Bevis at, like https://bevis.example.org; single sign-on sends providers back to it (default http(s)://LISTEN, for local use only)",
		set:   func(c *Config, v string) (err error) { c.PublicURL, err = parsePublicURL(v); return err },
		get:   func(c Config) string { return c.PublicURL },
	}, {
		flag: "clock-rules-file", env: "BEVIS_CLOCK_RULES_FILE",
		usage: "JSON file of regulatory clock rules added to the built-in GDPR and NIS2 ones (national rules)",
		set:   func(c *Config, v string) error { c.ClockRulesFile = v; return nil },
		get:   func(c Config) string { return c.ClockRulesFile },
	},
	{
		flag: "tls-cert-file", env: "BEVIS_TLS_CERT_FILE",
		usage: "PEM certificate to serve HTTPS directly (with --tls-key-file); enables HSTS",
		set:   func(c *Config, v string) error { c.TLSCertFile = v; return nil },
		get:   func(c Config) string { return c.TLSCertFile },
	},
	{
		flag: "tls-key-file", env: "BEVIS_TLS_KEY_FILE",
		usage: "PEM private key for --tls-cert-file",
		set:   func(c *Config, v string) error { c.TLSKeyFile = v; return nil },
		get:   func(c Config) string { return c.TLSKeyFile },
	},
}

// countOption is a whole number from 0.
func countOption(flag, env, def, usage string, field func(*Config) *int64) *option {
	return &option{
		flag: flag, env: env, def: def, usage: usage,
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("must be a whole number from 0, got %q", v)
			}
			*field(c) = n
			return nil
		},
		get: func(c Config) string { return strconv.FormatInt(*field(&c), 10) },
	}
}

// parseBytesOrOff is a size, or 0 for off.
func parseBytesOrOff(v string) (int64, error) {
	if v == "0" {
		return 0, nil
	}
	return parseBytes(v, 1, 1<<60)
}

func durationOption(flag, env, def, usage string, field func(*Config) *time.Duration) *option {
	return &option{
		flag: flag, env: env, def: def, usage: usage,
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%q is not a duration like 30s or 5m", v)
			}
			if d <= 0 {
				return fmt.Errorf("must be positive, got %s", v)
			}
			*field(c) = d
			return nil
		},
		get: func(c Config) string { return field(&c).String() },
	}
}

// validate checks what no single option can check alone.
func (c Config) validate() error {
	if c.S3.Enabled() && (c.S3.AccessKey == "" || c.S3.SecretKey == "") {
		return fmt.Errorf("BEVIS_S3_ENDPOINT is set, so BEVIS_S3_ACCESS_KEY and BEVIS_S3_SECRET_KEY are required")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return fmt.Errorf("BEVIS_TLS_CERT_FILE and BEVIS_TLS_KEY_FILE go together; set both or neither")
	}
	return nil
}

func nonEmpty(v string) error {
	if v == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

func oneOf(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
}

func validateListen(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port", v)
	}
	if _, err := parsePort(port); err != nil {
		return err
	}
	if strings.ContainsAny(host, "/ ") {
		return fmt.Errorf("%q is not a valid host", host)
	}
	return nil
}

func parsePort(p string) (int, error) {
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("port %q is not a number from 0 to 65535", p)
	}
	return n, nil
}

// validateDatabaseURL accepts "" (the SQLite default), sqlite:PATH,
// sqlite:///ABS/PATH and postgres:// or postgresql:// URLs with a host.
func validateDatabaseURL(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("not a valid URL: %v", redactParseError(err, v))
	}
	switch u.Scheme {
	case "sqlite":
		if SQLitePath(u) == "" {
			return fmt.Errorf("sqlite URL has no path; use sqlite:PATH")
		}
	case "postgres", "postgresql":
		if u.Host == "" {
			return fmt.Errorf("postgres URL has no host; use postgres://user@host:5432/db")
		}
		if p := u.Port(); p != "" {
			if _, err := parsePort(p); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("scheme %q is not supported; use sqlite: or postgres://", u.Scheme)
	}
	return nil
}

// SQLitePath returns the file path of a sqlite: URL.
func SQLitePath(u *url.URL) string {
	if u.Opaque != "" {
		return u.Opaque
	}
	return u.Host + u.Path
}

// redactParseError keeps a password out of the error a malformed URL gives:
// url.Parse quotes the whole input.
func redactParseError(err error, raw string) string {
	msg := err.Error()
	if i := strings.Index(raw, "://"); i >= 0 {
		if at := strings.LastIndex(raw, "@"); at > i {
			msg = strings.ReplaceAll(msg, raw[i+3:at], "***")
		}
	}
	return msg
}

func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return "***"
	}
	return u.Redacted()
}

func validateEndpoint(v string) error {
	if v == "" {
		return nil
	}
	if strings.Contains(v, "://") {
		return fmt.Errorf("%q must be host[:port] without a scheme; BEVIS_S3_TLS chooses HTTPS", v)
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		host, port = v, ""
	}
	if host == "" || strings.ContainsAny(host, "/ ") {
		return fmt.Errorf("%q is not host[:port]", v)
	}
	if port != "" {
		if n, err := parsePort(port); err != nil || n == 0 {
			return fmt.Errorf("port %q is not a number from 1 to 65535", port)
		}
	}
	return nil
}

var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func validateBucket(v string) error {
	if !bucketName.MatchString(v) || strings.Contains(v, "..") {
		return fmt.Errorf("%q is not a valid bucket name (3-63 of a-z, 0-9, '.', '-')", v)
	}
	return nil
}

func parseOrigins(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, o := range strings.Split(v, ",") {
		o = strings.TrimSpace(o)
		u, err := url.Parse(o)
		if o == "*" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("%q is not an origin like https://bevis.example.org", o)
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out, nil
}

// parsePublicURL accepts an absolute http or https URL of a host, without
// path, query or credentials: Bevis serves its routes at the root.
func parsePublicURL(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not a URL like https://bevis.example.org (no path, query or credentials)", v)
	}
	return u.Scheme + "://" + u.Host, nil
}

func parseProxies(v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR", p)
		}
		out = append(out, p)
	}
	return out, nil
}

var byteUnits = []struct {
	suffix string
	mult   int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}, {"", 1}}

// parseBytes reads sizes such as 1048576, 512KiB, 16MiB, 2GiB or 1TiB.
func parseBytes(v string, lo, hi int64) (int64, error) {
	for _, u := range byteUnits {
		num, ok := strings.CutSuffix(v, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil {
			break
		}
		size := n * u.mult
		if n < 0 || size/u.mult != n || size < lo || size > hi {
			return 0, fmt.Errorf("%s is outside %s to %s", v, formatBytes(lo), formatBytes(hi))
		}
		return size, nil
	}
	return 0, fmt.Errorf("%q is not a size like 1048576, 512KiB, 16MiB or 2GiB", v)
}

func formatBytes(n int64) string {
	for _, u := range byteUnits[:4] {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
