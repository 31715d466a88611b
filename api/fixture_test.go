package api

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	pemlib "encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/alerts"
	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/period"
	"github.com/bevis-ir/bevis/internal/testenv"
	"github.com/bevis-ir/bevis/reports"
)

const fixturePassword = "correct horse battery staple"

// world is a Bevis with people in every role around one case, on one
// database, reached through the real Fiber app.
type world struct {
	app        *fiber.App
	deps       Deps
	tokens     *access.TokenIssuer
	signingKey ed25519.PrivateKey // the key behind tokens, for forging near-valid tokens
	caseID     string
	taskID     string // a task of the case, given to agency A, with one checklist item
	itemID     string
	evidenceID string                   // an evidence item of the case, marked AMBER, in agency A's custody
	contentID  string                   // an item of the case whose content is received
	uploadID   string                   // the lead's unfinished upload of another item's content
	templateID string                   // a case template
	store      evidence.BlobStore       // where content is kept
	storeDir   string                   // the store's folder, for tampering behind Bevis's back
	eventID    string                   // an event on the case's timeline
	importID   string                   // a timeline import into the case
	alertID    string                   // an open hard-limit alert of the analyst on the case
	agency     map[string]access.Agency // A owns the case (and holds admin_a, auditor_a), B is another agency, C holds admin and auditor, D is spare
	user       map[string]access.User
	bearer     map[string]string // principal name → access token
	refresh    map[string]string // principal name → refresh token
	session    map[string]string // principal name → the session of their tokens
}

// principals of the authorization matrix, in the order rows list them.
var principals = []string{"none", "expired", "other_agency", "observer", "analyst", "investigator", "lead", "excluded", "admin", "auditor",
	"admin_a", "auditor_a"}

// worldSecrets are the keys a world signs tokens and encrypts content with.
type worldSecrets struct {
	signingKey []byte // PEM
	masterKey  string // a line of the master key file
}

func newWorldSecrets(t testing.TB) worldSecrets {
	t.Helper()
	pem, err := access.GenerateSigningKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	line, err := evidence.NewMasterKeyLine(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return worldSecrets{signingKey: pem, masterKey: line}
}

// newWorld builds the world on d from nothing. Most tests take a copy of
// the package's seed world instead (seededWorld), which is the same world
// made once.
func newWorld(t testing.TB, d testenv.Database) *world {
	t.Helper()
	w := openWorld(t, d, newWorldSecrets(t), t.TempDir())
	w.populate(t, d)
	return w
}

// openWorld wires a Bevis on d, keeping evidence in storeDir, with nothing
// in it yet.
func openWorld(t testing.TB, d testenv.Database, secrets worldSecrets, storeDir string) *world {
	t.Helper()
	keys, err := access.ParseSigningKeys(secrets.signingKey)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pemlib.Decode(secrets.signingKey)
	private, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := access.NewTokenIssuer(keys, "bevis-test", "bevis-api", access.DefaultAccessTokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	sessions := access.NewSessions(d.DB, tokens, 12*time.Hour)
	sessions.RecordChangesWith(audit.Change)
	directory := access.NewDirectory(d.DB)
	directory.RecordChangesWith(audit.Change)
	sso := access.NewSSO(d.DB, sessions)
	sso.RecordChangesWith(audit.Change)
	setup := access.NewSetup(d.DB)
	setup.RecordChangesWith(audit.Change)
	deps := Deps{
		Config: testConfig(t), DB: d.DB, Evidence: fakePinger{}, Log: testenv.Logger(t), UI: testUI,
		Directory: directory, Sessions: sessions, SSO: sso, Setup: setup,
		Authz: access.NewAuthorizer(d.DB), Membership: recordingMembership(d.DB), SigningKeys: keys,
		Cases: cases.NewStore(d.DB), Tasks: cases.NewTasks(d.DB, access.NewAuthorizer(d.DB)),
		Items: evidence.NewItems(d.DB, period.Of(24*time.Hour)), Timeline: cases.NewTimeline(d.DB),
		Reports: reports.NewStore(d.DB),
		Alerts:  alerts.New(d.DB, alerts.Options{Log: testenv.Logger(t)}),
	}
	t.Cleanup(deps.Alerts.Stop)
	store, err := evidence.NewFSStore(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	master, err := evidence.ParseMasterKeys([]byte(secrets.masterKey + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	keyring := evidence.NewKeyring(d.DB, master)
	deps.Uploads = evidence.NewUploads(d.DB, store, keyring,
		evidence.UploadLimits{MaxSize: 1 << 30, CaseQuota: 1 << 32, Expiry: time.Hour, PartSize: evidence.MinPartSize},
		evidence.RetentionPolicy{Mode: evidence.Governance, Period: period.Of(time.Hour)})
	deps.Content = evidence.NewContent(d.DB, store, keyring)
	deps.Content.ReportIncidentsTo(deps.Alerts)
	writer := audit.NewWriter(d.DB, audit.WriterOptions{})
	t.Cleanup(writer.Close)
	deps.Audit = writer
	deps.AuditKeys = audit.Keys{} // a test that checkpoints adds its key
	app, err := New(deps)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{app: app, deps: deps, tokens: tokens, signingKey: private.(ed25519.PrivateKey), agency: map[string]access.Agency{}, user: map[string]access.User{},
		bearer: map[string]string{}, refresh: map[string]string{}, session: map[string]string{}}
	w.store, w.storeDir = store, storeDir
	return w
}

// populate makes the fixture: agencies, people in every role, signed in,
// and the case with a task, items, an upload, events, an import and an alert.
func (w *world) populate(t testing.TB, d testenv.Database) {
	t.Helper()
	ctx := context.Background()
	deps, tokens := w.deps, w.tokens
	for _, code := range []string{"A", "B", "C", "D"} {
		a, err := deps.Directory.CreateAgency(ctx, access.NewAgency{Code: "AG-" + code, Name: "Agency " + code, Kind: "other"})
		if err != nil {
			t.Fatal(err)
		}
		w.agency[code] = a
	}
	people := []struct {
		name, agency string
		role         access.SystemRole
	}{
		{"lead", "A", access.RoleMember}, {"investigator", "A", access.RoleMember}, {"analyst", "A", access.RoleMember},
		{"observer", "A", access.RoleMember}, {"excluded", "A", access.RoleMember}, {"spare", "A", access.RoleMember},
		{"agency_admin", "A", access.RoleAgencyAdmin}, {"other_agency", "B", access.RoleMember},
		{"admin", "C", access.RoleAdmin}, {"auditor", "C", access.RoleAuditor},
		{"admin_a", "A", access.RoleAdmin}, {"auditor_a", "A", access.RoleAuditor},
	}
	for _, p := range people {
		u, err := deps.Directory.CreateUser(ctx, access.NewUser{AgencyID: w.agency[p.agency].ID,
			Email: strings.ReplaceAll(p.name, "_", "-") + "@bevis.test", Name: p.name, SystemRole: p.role, Password: fixturePassword})
		if err != nil {
			t.Fatal(err)
		}
		w.user[p.name] = u
	}
	lead := w.principal(t, "lead")
	k, err := deps.Cases.Create(ctx, lead, cases.NewCase{Title: "Health authority breach", TLP: access.TLPAmber})
	if err != nil {
		t.Fatal(err)
	}
	w.caseID = k.ID
	for name, role := range map[string]access.CaseRole{"investigator": access.CaseInvestigator, "analyst": access.CaseAnalyst, "observer": access.CaseObserver} {
		if _, err := deps.Membership.SetUser(ctx, lead, k.ID, w.user[name].ID, role); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := deps.Membership.Exclude(ctx, lead, k.ID, w.user["excluded"].ID, "suspected insider"); err != nil {
		t.Fatal(err)
	}
	task, err := deps.Tasks.CreateTask(ctx, lead, k.ID, cases.NewTask{Title: "Preserve the firewall logs",
		AssigneeAgencyID: w.agency["A"].ID, Checklist: []string{"Export the last 90 days"}})
	if err != nil {
		t.Fatal(err)
	}
	w.taskID, w.itemID = task.ID, task.Checklist[0].ID
	item, err := deps.Items.Register(ctx, lead, k.ID, k.Reference, evidence.NewItem{Title: "Seized laptop",
		Kind: evidence.KindPhysical, Location: "Evidence room 1"})
	if err != nil {
		t.Fatal(err)
	}
	w.evidenceID = item.ID
	tmpl, err := deps.Cases.SaveTemplate(ctx, w.principal(t, "admin"), cases.Template{Name: "Ransomware",
		Severity: cases.SeverityHigh, TLP: access.TLPAmber, Tags: []string{"ransomware"}, Jurisdictions: []string{"gdpr", "nis2"},
		Tasks: []cases.PresetTask{{Title: "Isolate affected hosts", Priority: "urgent", DueInHours: 4,
			Checklist: []string{"Pull network cables", "Preserve memory"}}}})
	if err != nil {
		t.Fatal(err)
	}
	w.templateID = tmpl.ID
	w.contentID = w.uploadContent(t, lead, k.Reference, "Firewall logs", fixtureContent).ID
	pending, err := deps.Items.Register(ctx, lead, k.ID, k.Reference, evidence.NewItem{Title: "Mail server image", Kind: "disk_image"})
	if err != nil {
		t.Fatal(err)
	}
	up, err := deps.Uploads.Create(ctx, lead, pending, 1<<20, "mail.dd")
	if err != nil {
		t.Fatal(err)
	}
	w.uploadID = up.ID
	markings, err := deps.Authz.ItemMarkings(ctx, lead, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	reader := cases.Reader{Principal: lead, Markings: markings}
	ev, err := deps.Timeline.Add(ctx, k.ID, reader, cases.NewEvent{OccurredAt: time.Date(2026, 1, 15, 8, 30, 0, 0, time.UTC),
		Description: "Phishing mail opened on hr-ws12", Techniques: []string{"T1566.001"}})
	if err != nil {
		t.Fatal(err)
	}
	w.eventID = ev.ID
	rec, err := deps.Timeline.Import(ctx, k.ID, reader, cases.ImportRequest{Format: cases.FormatJSONLine},
		strings.NewReader(`{"timestamp": 1768465800000000, "message": "logon", "hostname": "hr-fs01"}`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	w.importID = rec.ID
	w.alertID = fixtureAlert(t, d, w.user["analyst"], k.ID)
	for name := range w.user {
		w.login(t, name)
	}
	// An expired token of a real member in a live session, signed with the
	// real key: expiry is the only thing wrong with it.
	expired, _, err := tokens.Issue(w.user["investigator"].ID, w.sessionOf(t, "investigator"), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	w.bearer["expired"] = expired
	for name := range w.user {
		w.session[name] = w.sessionOf(t, name)
	}
}

// fixtureAlert raises a hard-limit alert of u on the case the real way: a
// download refused by an engine with a one-byte limit.
func fixtureAlert(t testing.TB, d testenv.Database, u access.User, caseID string) string {
	t.Helper()
	strict := alerts.New(d.DB, alerts.Options{HardLimit: 1, Log: testenv.Logger(t)})
	defer strict.Stop()
	var refused *alerts.ThrottledError
	_, err := strict.ReserveDownload(context.Background(), audit.Actor{UserID: u.ID, AgencyID: u.AgencyID}, caseID, "item", 2)
	if !errors.As(err, &refused) || refused.AlertID == "" {
		t.Fatalf("fixture alert: %v", err)
	}
	return refused.AlertID
}

// recordingMembership records membership changes on the audit log, as serve wires it.
func recordingMembership(db *gorm.DB) *access.Membership {
	m := access.NewMembership(db)
	m.RecordChangesWith(audit.Change)
	return m
}

// fixtureContent is the content of the fixture's received item.
const fixtureContent = "2026-01-05T08:00:00Z fw01 DENY tcp 203.0.113.9:4444 -> 10.0.0.5:445\n"

// uploadContent registers a logs item and stores content as it.
func (w *world) uploadContent(t testing.TB, by access.Principal, caseRef, title, content string) evidence.Item {
	t.Helper()
	ctx := context.Background()
	it, err := w.deps.Items.Register(ctx, by, w.caseID, caseRef, evidence.NewItem{Title: title, Kind: "logs"})
	if err != nil {
		t.Fatal(err)
	}
	up, err := w.deps.Uploads.Create(ctx, by, it, int64(len(content)), "fw01.log")
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.deps.Uploads.Write(ctx, up.ID, 0, strings.NewReader(content), nil)
	if err != nil || res.Item == nil {
		t.Fatalf("upload: %v", err)
	}
	return *res.Item
}

// sessionOf is the session ID of a signed-in fixture user.
func (w *world) sessionOf(t testing.TB, name string) string {
	t.Helper()
	claims, err := w.tokens.Verify(w.bearer[name], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return claims.SessionID
}

// principal is the access.Principal of a fixture user, for direct calls.
func (w *world) principal(t testing.TB, name string) access.Principal {
	t.Helper()
	u := w.user[name]
	return access.Principal{UserID: u.ID, AgencyID: u.AgencyID, SystemRole: u.SystemRole}
}

// login signs a fixture user in through the API and keeps their tokens.
func (w *world) login(t testing.TB, name string) {
	t.Helper()
	body := `{"email":"` + w.user[name].Email + `","password":"` + fixturePassword + `"}`
	resp, out := w.call(t, http.MethodPost, "/api/v1/auth/login", "", body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d %s", name, resp.StatusCode, out)
	}
	var tok tokenResponse
	if err := json.Unmarshal([]byte(out), &tok); err != nil {
		t.Fatal(err)
	}
	w.bearer[name] = tok.AccessToken
	for _, c := range resp.Cookies() {
		if c.Name == refreshCookie {
			w.refresh[name] = c.Value
		}
	}
}

// call sends one request; token "" sends no Authorization header.
func (w *world) call(t testing.TB, method, path, token, body string, header ...string) (*http.Response, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1] // a Host in Header is not sent
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := w.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAndCheck(t, req, resp)
}
