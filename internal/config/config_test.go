package config

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoad_DefaultsNeedNoConfiguration(t *testing.T) {
	c, err := Load("serve", nil, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Listen: "127.0.0.1:8080", DataDir: "./data",
		DatabaseURL: "sqlite:" + filepath.Join("data", "bevis.db"),
		EvidenceDir: filepath.Join("data", "evidence"),
	}
	if c.Listen != want.Listen || c.DataDir != want.DataDir || c.DatabaseURL != want.DatabaseURL ||
		c.EvidenceDir != want.EvidenceDir {
		t.Errorf("got %+v", c)
	}
	if c.S3.Enabled() || c.TLSEnabled() || len(c.CORSOrigins) != 0 {
		t.Errorf("S3, TLS and CORS must be off by default: %+v", c)
	}
	if c.LogLevel != slog.LevelInfo || c.LogFormat != "auto" || c.ShutdownTimeout != 30*time.Second ||
		c.BodyLimit != 1<<20 || c.ImportLimit != 2<<30 || c.S3.PartSize != 16<<20 || c.DatabaseConnections != 32 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestLoad_FlagsWinOverEnvironment(t *testing.T) {
	env := envOf(map[string]string{"BEVIS_LISTEN": "127.0.0.1:9000", "BEVIS_DATA_DIR": "/srv/bevis"})
	c, err := Load("serve", []string{"--listen", "127.0.0.1:9001"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9001" || c.DataDir != "/srv/bevis" {
		t.Errorf("got listen %q data dir %q", c.Listen, c.DataDir)
	}
	if c.DatabaseURL != "sqlite:/srv/bevis/bevis.db" || c.EvidenceDir != "/srv/bevis/evidence" ||
		c.MasterKeyFile != "/srv/bevis/master-keys" || c.TokenKeysFile != "/srv/bevis/token-signing-keys.pem" {
		t.Errorf("derived paths must follow the data dir: %q %q %q %q", c.DatabaseURL, c.EvidenceDir, c.MasterKeyFile, c.TokenKeysFile)
	}
	c, err = Load("serve", nil, envOf(map[string]string{"BEVIS_MASTER_KEY_FILE": "/run/secrets/bevis-master-keys"}), io.Discard)
	if err != nil || c.MasterKeyFile != "/run/secrets/bevis-master-keys" {
		t.Errorf("BEVIS_MASTER_KEY_FILE: %q, %v", c.MasterKeyFile, err)
	}
}

func TestBaseURL_IsThePublicURLOrTheListenAddress(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{nil, "http://127.0.0.1:8080"},
		{map[string]string{"BEVIS_PUBLIC_URL": "https://Bevis.Example.org/"}, "https://Bevis.Example.org"},
		{map[string]string{"BEVIS_PUBLIC_URL": "http://localhost:9000"}, "http://localhost:9000"},
		{map[string]string{"BEVIS_TLS_CERT_FILE": "c.pem", "BEVIS_TLS_KEY_FILE": "k.pem", "BEVIS_LISTEN": "127.0.0.1:8443"},
			"https://127.0.0.1:8443"},
	}
	for _, tt := range tests {
		c, err := Load("serve", nil, envOf(tt.env), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.BaseURL(); got != tt.want {
			t.Errorf("%v: BaseURL %q, want %q", tt.env, got, tt.want)
		}
	}
}

func TestLoad_SecretsFromFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "s3-secret")
	if err := os.WriteFile(secret, []byte("s3cr3t-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{
		"BEVIS_S3_ENDPOINT": "minio.internal:9000", "BEVIS_S3_ACCESS_KEY": "bevis",
		"BEVIS_S3_SECRET_KEY_FILE": secret,
	})
	c, err := Load("serve", nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.S3.SecretKey != "s3cr3t-from-file" {
		t.Errorf("secret key from file: %q", c.S3.SecretKey)
	}
}

func TestLoad_RejectsInvalidConfiguration(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantMsg string
	}{
		{"malformed database URL", nil, map[string]string{"BEVIS_DATABASE_URL": "postgres://u:pw@host:port/db"}, "BEVIS_DATABASE_URL"},
		{"unsupported database scheme", nil, map[string]string{"BEVIS_DATABASE_URL": "mysql://h/db"}, "not supported"},
		{"postgres without host", nil, map[string]string{"BEVIS_DATABASE_URL": "postgres:///db"}, "no host"},
		{"unknown flag", []string{"--colour", "blue"}, nil, "flag provided but not defined"},
		{"stray argument", []string{"extra"}, nil, "unexpected argument"},
		{"bad port", []string{"--listen", "127.0.0.1:99999"}, nil, "port"},
		{"port not a number", nil, map[string]string{"BEVIS_LISTEN": "127.0.0.1:http"}, "port"},
		{"listen without port", nil, map[string]string{"BEVIS_LISTEN": "localhost"}, "host:port"},
		{"bad duration", nil, map[string]string{"BEVIS_SHUTDOWN_TIMEOUT": "soon"}, "duration"},
		{"negative duration", nil, map[string]string{"BEVIS_STARTUP_TIMEOUT": "-1s"}, "positive"},
		{"one database connection", nil, map[string]string{"BEVIS_DATABASE_CONNECTIONS": "1"}, "from 2 to 1000"},
		{"database connections not a number", nil, map[string]string{"BEVIS_DATABASE_CONNECTIONS": "many"}, "from 2 to 1000"},
		{"bad log level", nil, map[string]string{"BEVIS_LOG_LEVEL": "loud"}, "BEVIS_LOG_LEVEL"},
		{"bad log format", nil, map[string]string{"BEVIS_LOG_FORMAT": "xml"}, "not one of"},
		{"S3 endpoint with scheme", nil, map[string]string{"BEVIS_S3_ENDPOINT": "https://s3.example.org"}, "without a scheme"},
		{"S3 without keys", nil, map[string]string{"BEVIS_S3_ENDPOINT": "s3.example.org"}, "required"},
		{"bad bucket", nil, map[string]string{"BEVIS_S3_BUCKET": "Evidence_Bucket"}, "bucket"},
		{"bad S3 TLS flag", nil, map[string]string{"BEVIS_S3_TLS": "maybe"}, "BEVIS_S3_TLS"},
		{"part size too small", nil, map[string]string{"BEVIS_S3_PART_SIZE": "1MiB"}, "outside"},
		{"body limit not a size", nil, map[string]string{"BEVIS_BODY_LIMIT": "lots"}, "not a size"},
		{"wildcard CORS", nil, map[string]string{"BEVIS_CORS_ORIGINS": "*"}, "not an origin"},
		{"public URL with a path", nil, map[string]string{"BEVIS_PUBLIC_URL": "https://bevis.example.org/app"}, "BEVIS_PUBLIC_URL"},
		{"public URL without scheme", nil, map[string]string{"BEVIS_PUBLIC_URL": "bevis.example.org"}, "BEVIS_PUBLIC_URL"},
		{"public URL with credentials", nil, map[string]string{"BEVIS_PUBLIC_URL": "https://u:p@bevis.example.org"}, "BEVIS_PUBLIC_URL"},
		{"TLS cert without key", nil, map[string]string{"BEVIS_TLS_CERT_FILE": "/etc/cert.pem"}, "go together"},
		{"secret and secret file", nil, map[string]string{"BEVIS_S3_SECRET_KEY": "a", "BEVIS_S3_SECRET_KEY_FILE": "/x"}, "both set"},
		{"missing secret file", nil, map[string]string{"BEVIS_S3_SECRET_KEY_FILE": "/nonexistent/secret"}, "BEVIS_S3_SECRET_KEY_FILE"},
		{"negative alert count", nil, map[string]string{"BEVIS_ALERT_MAX_ITEMS": "-1"}, "BEVIS_ALERT_MAX_ITEMS"},
		{"rare hour share of one", nil, map[string]string{"BEVIS_ALERT_RARE_HOUR_SHARE": "1"}, "BEVIS_ALERT_RARE_HOUR_SHARE"},
		{"hard limit not a size", nil, map[string]string{"BEVIS_DOWNLOAD_HARD_LIMIT": "plenty"}, "not a size"},
		{"webhook not http", nil, map[string]string{"BEVIS_ALERT_WEBHOOK_URL": "ftp://hooks.example.org/x"}, "BEVIS_ALERT_WEBHOOK_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("serve", tt.args, envOf(tt.env), io.Discard)
			var invalid *InvalidError
			if !errors.As(err, &invalid) {
				t.Fatalf("want *InvalidError, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error must be one line: %q", err)
			}
		})
	}
}

func TestLoad_MalformedURLErrorDoesNotLeakPassword(t *testing.T) {
	_, err := Load("serve", nil, envOf(map[string]string{"BEVIS_DATABASE_URL": "postgres://bevis:hunter2@db:port/x"}), io.Discard)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error must exist and not contain the password: %v", err)
	}
}

func TestLoad_HelpPrintsEveryVariable(t *testing.T) {
	var out strings.Builder
	_, err := Load("serve", []string{"--help"}, envOf(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("want flag.ErrHelp, got %v", err)
	}
	for _, v := range Variables() {
		if !strings.Contains(out.String(), v) {
			t.Errorf("help does not mention %s", v)
		}
	}
}

func TestLoad_AlertThresholds(t *testing.T) {
	c, err := Load("serve", nil, envOf(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a := c.Alerts
	if a.Window != time.Hour || a.MaxBytes != 20<<30 || a.MaxItems != 50 || a.MaxCases != 5 ||
		a.ReadsWindow != 10*time.Minute || a.MaxReads != 1000 || a.RareHourShare != 0.02 || a.DownloadHardLimit != 0 ||
		a.ApprovalTTL != 8*time.Hour || a.WebhookURL != "" {
		t.Errorf("alert defaults: %+v", a)
	}
	secret := filepath.Join(t.TempDir(), "hook")
	if err := os.WriteFile(secret, []byte("s3cr3t-hook\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = Load("serve", nil, envOf(map[string]string{"BEVIS_DOWNLOAD_HARD_LIMIT": "5GiB", "BEVIS_ALERT_MAX_BYTES": "0",
		"BEVIS_ALERT_WEBHOOK_URL": "https://hooks.example.org/bevis", "BEVIS_ALERT_WEBHOOK_SECRET_FILE": secret}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Alerts.DownloadHardLimit != 5<<30 || c.Alerts.MaxBytes != 0 || c.Alerts.WebhookSecret != "s3cr3t-hook" {
		t.Errorf("alerts: %+v", c.Alerts)
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	if strings.Contains(buf.String(), "s3cr3t-hook") {
		t.Errorf("log line leaks the webhook secret: %s", buf.String())
	}
}

func TestLogValue_MasksSecrets(t *testing.T) {
	env := envOf(map[string]string{
		"BEVIS_DATABASE_URL": "postgres://bevis:hunter2@db.internal:5432/bevis",
		"BEVIS_S3_ENDPOINT":  "minio:9000", "BEVIS_S3_ACCESS_KEY": "AKIAEXAMPLE", "BEVIS_S3_SECRET_KEY": "wJalrXUtnFEMI",
	})
	c, err := Load("serve", nil, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", c)
	for _, secret := range []string{"hunter2", "AKIAEXAMPLE", "wJalrXUtnFEMI"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("log line leaks %q: %s", secret, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "db.internal:5432") {
		t.Errorf("the database host should stay visible: %s", buf.String())
	}
}

func TestREADME_DocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range options {
		if !strings.Contains(string(readme), "`"+o.env+"`") && !strings.Contains(string(readme), "`"+o.env+"` (`_FILE`)") {
			t.Errorf("README does not document %s", o.env)
		}
		if o.secret && !strings.Contains(string(readme), "`"+o.env+"` (`_FILE`)") {
			t.Errorf("README does not say %s can be read from a file", o.env)
		}
	}
}
