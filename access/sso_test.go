package access

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bevis-ir/bevis/internal/testenv"
	"github.com/bevis-ir/bevis/internal/validate"
)

const ssoTestRedirect = "http://bevis.test/api/v1/auth/sso/callback"

// ssoFixture is one database with agencies A (single sign-on through a
// real provider) and B, and a user of each.
type ssoFixture struct {
	db       testenv.Database
	dir      *Directory
	sso      *SSO
	provider *testenv.OIDCProvider
	a, b     Agency
	alice    User // of A
	bob      User // of B
}

func newSSOFixture(t *testing.T, d testenv.Database) *ssoFixture {
	t.Helper()
	ctx := context.Background()
	f := &ssoFixture{db: d, dir: NewDirectory(d.DB), provider: testenv.OIDC(t)}
	f.sso = NewSSO(d.DB, newTestSessions(t, d))
	var err error
	if f.a, err = f.dir.CreateAgency(ctx, NewAgency{Code: "AG-A", Name: "Agency A", Kind: "cert"}); err != nil {
		t.Fatal(err)
	}
	if f.b, err = f.dir.CreateAgency(ctx, NewAgency{Code: "AG-B", Name: "Agency B", Kind: "police"}); err != nil {
		t.Fatal(err)
	}
	if f.alice, err = f.dir.CreateUser(ctx, NewUser{AgencyID: f.a.ID, Email: "alice@a.test", Name: "Alice"}); err != nil {
		t.Fatal(err)
	}
	if f.bob, err = f.dir.CreateUser(ctx, NewUser{AgencyID: f.b.ID, Email: "bob@b.test", Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	f.configure(t, func(*SSOSettings) {})
	return f
}

// configure sets agency A's single sign-on to the provider, as edited.
func (f *ssoFixture) configure(t *testing.T, edit func(*SSOSettings)) {
	t.Helper()
	in := SSOSettings{Enabled: true, Issuer: f.provider.Issuer(), ClientID: f.provider.ClientID,
		ClientSecret: f.provider.ClientSecret, Scopes: []string{"openid", "email", "profile", "groups"},
		ProvisionUsers: true, GroupRoles: map[string]SystemRole{"bevis-admins": RoleAgencyAdmin, "auditors": RoleAuditor}}
	edit(&in)
	if _, err := f.sso.SetConfig(context.Background(), f.a.ID, in); err != nil {
		t.Fatal(err)
	}
}

// authorize plays the browser at the provider: it follows the
// authorization URL and returns the query the provider sends back.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("provider answered %d to %s", resp.StatusCode, authURL)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != ssoTestRedirect {
		t.Fatalf("provider sent the browser to %s", got)
	}
	return back.Query()
}

// signIn runs a whole sign-in of the person with the claims.
func (f *ssoFixture) signIn(t *testing.T, claims map[string]any) (Grant, error) {
	t.Helper()
	ctx := context.Background()
	start, err := f.sso.Start(ctx, "ag-a", ssoTestRedirect)
	if err != nil {
		t.Fatal(err)
	}
	f.provider.QueueUser(claims)
	back := authorize(t, start.AuthURL)
	return f.sso.Finish(ctx, SSOCallback{State: back.Get("state"), BrowserState: start.State, Code: back.Get("code"),
		RedirectURL: ssoTestRedirect, ClientIP: "192.0.2.7", UserAgent: "test"})
}

func person(sub, email string, extra ...any) map[string]any {
	claims := map[string]any{"sub": sub, "email": email, "email_verified": true}
	for i := 0; i+1 < len(extra); i += 2 {
		claims[extra[i].(string)] = extra[i+1]
	}
	return claims
}

func wantSSOError(t *testing.T, err error, code string) {
	t.Helper()
	var se *SSOError
	if !errors.As(err, &se) || se.Code != code {
		t.Fatalf("want single sign-on error %q, got %v", code, err)
	}
}

func TestSSO_StartSendsPKCEAndNonceToTheProvider(t *testing.T) {
	f := newSSOFixture(t, testenv.SQLite(t))
	start, err := f.sso.Start(context.Background(), "AG-A", ssoTestRedirect)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(start.AuthURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme+"://"+u.Host+u.Path != f.provider.AuthorizationEndpoint() {
		t.Errorf("authorization endpoint %s, want the discovered %s", u, f.provider.AuthorizationEndpoint())
	}
	for k, want := range map[string]string{"response_type": "code", "client_id": f.provider.ClientID,
		"redirect_uri": ssoTestRedirect, "code_challenge_method": "S256", "state": start.State,
		"scope": "openid email profile groups"} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if len(q.Get("code_challenge")) != 43 || len(q.Get("nonce")) < 43 || len(start.State) < 43 {
		t.Errorf("challenge, nonce and state must be 256-bit values: %v", q)
	}
	var stored ssoLoginRow
	if err := f.db.DB.Take(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if stored.StateHash == start.State || stored.Nonce != q.Get("nonce") || !stored.ExpiresAt.After(time.Now().Add(9*time.Minute)) {
		t.Errorf("stored sign-in: %+v", stored)
	}
}

func TestSSO_LinksAnExistingUserByEmailThenBySubject(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newSSOFixture(t, d)
			g, err := f.signIn(t, person("alice-sub", "Alice@A.test"))
			if err != nil {
				t.Fatal(err)
			}
			if g.User.ID != f.alice.ID || g.AccessToken == "" || g.RefreshToken == "" {
				t.Fatalf("grant for %+v, want alice", g.User)
			}
			// Renamed at the provider: the link still finds her.
			g, err = f.signIn(t, person("alice-sub", "alice.smith@a.test"))
			if err != nil {
				t.Fatal(err)
			}
			if g.User.ID != f.alice.ID {
				t.Errorf("second sign-in found %s, want alice by her link", g.User.Email)
			}
			// Another subject with her address does not take her over.
			_, err = f.signIn(t, person("impostor-sub", "alice@a.test"))
			wantSSOError(t, err, SSOAccountRefused)
		})
	}
}

func TestSSO_ProvisionsWithTheRoleOfTheGroups(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newSSOFixture(t, d)
			tests := []struct {
				sub    string
				groups any
				want   SystemRole
			}{
				{"carol", []any{"staff", "auditors"}, RoleAuditor},
				{"dave", []any{"auditors", "bevis-admins"}, RoleAgencyAdmin},
				{"erin", "staff", RoleMember},
				{"frank", nil, RoleMember},
				{"gus", []any{42, "auditors"}, RoleAuditor},
			}
			for _, tt := range tests {
				claims := person(tt.sub, tt.sub+"@a.test", "name", "Person "+tt.sub)
				wantName := "Person " + tt.sub
				if tt.sub == "gus" { // a name on two lines is not taken
					claims["name"], wantName = "Gus\nEvil", "gus"
				}
				if tt.groups != nil {
					claims["groups"] = tt.groups
				}
				g, err := f.signIn(t, claims)
				if err != nil {
					t.Fatalf("%s: %v", tt.sub, err)
				}
				if g.User.AgencyID != f.a.ID || g.User.SystemRole != tt.want || g.User.Name != wantName ||
					g.User.Email != tt.sub+"@a.test" || g.User.Status != UserActive {
					t.Errorf("%s provisioned as %+v, want %s of agency A", tt.sub, g.User, tt.want)
				}
			}
		})
	}
}

func TestSSO_ReadsTheConfiguredClaims(t *testing.T) {
	f := newSSOFixture(t, testenv.SQLite(t))
	f.configure(t, func(in *SSOSettings) {
		in.EmailClaim, in.NameClaim, in.GroupsClaim = "upn", "display_name", "roles"
	})
	g, err := f.signIn(t, map[string]any{"sub": "gina", "upn": "gina@a.test", "display_name": "Gina G",
		"roles": []any{"auditors"}, "email": "someone-else@a.test"})
	if err != nil {
		t.Fatal(err)
	}
	if g.User.Email != "gina@a.test" || g.User.Name != "Gina G" || g.User.SystemRole != RoleAuditor {
		t.Errorf("claims mapped to %+v", g.User)
	}
}

func TestSSO_RefusesPeople(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newSSOFixture(t, d)
			ctx := context.Background()
			disabled := UserDisabled
			mallory, err := f.dir.CreateUser(ctx, NewUser{AgencyID: f.a.ID, Email: "mallory@a.test", Name: "Mallory"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.dir.UpdateUser(ctx, Principal{SystemRole: RoleAdmin}, mallory.ID, UserPatch{Status: &disabled}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.dir.CreateUser(ctx, NewUser{AgencyID: f.a.ID, Email: "root@a.test", Name: "Root", SystemRole: RoleAdmin}); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name   string
				claims map[string]any
				code   string
			}{
				{"disabled user", person("mallory-sub", "mallory@a.test"), SSOAccountRefused},
				{"email of another agency", person("bob-sub", "bob@b.test"), SSOAccountRefused},
				{"admin", person("root-sub", "root@a.test"), SSOAccountRefused},
				{"unverified email", person("ivan", "ivan@a.test", "email_verified", false), SSOEmailUnverified},
				{"unverified email as a string", person("ivan", "ivan@a.test", "email_verified", "false"), SSOEmailUnverified},
				{"no email", map[string]any{"sub": "judy"}, SSOTokenInvalid},
				{"not an address", person("judy", "judy at a.test"), SSOTokenInvalid},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					_, err := f.signIn(t, tt.claims)
					wantSSOError(t, err, tt.code)
				})
			}
			var n int64
			if err := d.DB.Model(&userRow{}).Where("email IN ?", []string{"ivan@a.test", "judy@a.test"}).Count(&n).Error; err != nil || n != 0 {
				t.Errorf("refused people were provisioned: %d %v", n, err)
			}
			var sessions int64
			if err := d.DB.Model(&sessionRow{}).Count(&sessions).Error; err != nil || sessions != 0 {
				t.Errorf("refused sign-ins opened %d sessions (%v)", sessions, err)
			}

			// A disabled user already linked is refused too.
			if _, err := f.signIn(t, person("alice-sub", "alice@a.test")); err != nil {
				t.Fatal(err)
			}
			if _, err := f.dir.UpdateUser(ctx, Principal{SystemRole: RoleAdmin}, f.alice.ID, UserPatch{Status: &disabled}); err != nil {
				t.Fatal(err)
			}
			_, err = f.signIn(t, person("alice-sub", "alice@a.test"))
			wantSSOError(t, err, SSOAccountRefused)
		})
	}
}

func TestSSO_WithoutProvisioningUnknownPeopleAreRefused(t *testing.T) {
	f := newSSOFixture(t, testenv.SQLite(t))
	f.configure(t, func(in *SSOSettings) { in.ProvisionUsers = false })
	_, err := f.signIn(t, person("kim", "kim@a.test", "groups", []any{"auditors"}))
	wantSSOError(t, err, SSOAccountRefused)
	if _, err := f.signIn(t, person("alice-sub", "alice@a.test")); err != nil {
		t.Errorf("known people still sign in: %v", err)
	}
}

func TestSSO_StateWorksOnceInItsBrowserBeforeItExpires(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newSSOFixture(t, d)
			ctx := context.Background()
			begin := func() (SSOStart, url.Values) {
				start, err := f.sso.Start(ctx, "AG-A", ssoTestRedirect)
				if err != nil {
					t.Fatal(err)
				}
				f.provider.QueueUser(person("alice-sub", "alice@a.test"))
				return start, authorize(t, start.AuthURL)
			}
			finish := func(state, browser, code string) error {
				_, err := f.sso.Finish(ctx, SSOCallback{State: state, BrowserState: browser, Code: code, RedirectURL: ssoTestRedirect})
				return err
			}

			start, back := begin()
			if err := finish(back.Get("state"), start.State, back.Get("code")); err != nil {
				t.Fatal(err)
			}
			wantSSOError(t, finish(back.Get("state"), start.State, back.Get("code")), SSOInvalidState)

			wantSSOError(t, finish("", "", "x"), SSOInvalidState)
			wantSSOError(t, finish("made-up", "made-up", "x"), SSOInvalidState)

			start, back = begin()
			wantSSOError(t, finish(back.Get("state"), "", back.Get("code")), SSOInvalidState)
			// Spent by the refused attempt: the right browser cannot use it now.
			wantSSOError(t, finish(back.Get("state"), start.State, back.Get("code")), SSOInvalidState)

			start, back = begin()
			f.sso.SetClock(func() time.Time { return dbNow().Add(SSOLoginTTL + time.Second) })
			wantSSOError(t, finish(back.Get("state"), start.State, back.Get("code")), SSOInvalidState)
			f.sso.SetClock(dbNow)

			// The code of one sign-in with the state of another fails PKCE
			// at the provider.
			_, backFirst := begin()
			second, backSecond := begin()
			err := finish(backSecond.Get("state"), second.State, backFirst.Get("code"))
			wantSSOError(t, err, SSOProviderError)
			if !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "invalid_grant") {
				t.Errorf("want the provider's PKCE refusal (401 invalid_grant), got %v", err)
			}

			// An expired sign-in is dropped when another starts.
			f.sso.SetClock(func() time.Time { return dbNow().Add(SSOLoginTTL + time.Minute) })
			if _, err := f.sso.Start(ctx, "AG-A", ssoTestRedirect); err != nil {
				t.Fatal(err)
			}
			var left int64
			if err := d.DB.Model(&ssoLoginRow{}).Count(&left).Error; err != nil || left != 1 {
				t.Errorf("%d sign-ins under way after the purge, want the new one (%v)", left, err)
			}
		})
	}
}

func TestSSO_RefusesIDTokensNotMadeForThisSignIn(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newSSOFixture(t, d)
			tests := []struct {
				name   string
				tamper func(jwt.MapClaims)
				code   string
			}{
				{"nonce of another sign-in", func(c jwt.MapClaims) { c["nonce"] = "another-nonce" }, SSOTokenInvalid},
				{"no nonce", func(c jwt.MapClaims) { delete(c, "nonce") }, SSOTokenInvalid},
				{"for another client", func(c jwt.MapClaims) { c["aud"] = []string{"another-client"} }, SSOTokenInvalid},
				{"from another issuer", func(c jwt.MapClaims) { c["iss"] = "https://evil.example/oidc" }, SSOTokenInvalid},
				{"expired", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, SSOTokenInvalid},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					f.provider.TamperNextIDToken(tt.tamper, nil)
					_, err := f.signIn(t, person("alice-sub", "alice@a.test"))
					wantSSOError(t, err, tt.code)
				})
			}
			t.Run("signed with another key", func(t *testing.T) {
				key, err := rsa.GenerateKey(rand.Reader, 2048)
				if err != nil {
					t.Fatal(err)
				}
				f.provider.TamperNextIDToken(func(jwt.MapClaims) {}, key)
				_, err = f.signIn(t, person("alice-sub", "alice@a.test"))
				wantSSOError(t, err, SSOTokenInvalid)
			})
			// The same person, untampered, signs in.
			if _, err := f.signIn(t, person("alice-sub", "alice@a.test")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSSO_ProviderRefusalAndSwitchedOffSignIn(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newSSOFixture(t, d)
			ctx := context.Background()
			start, err := f.sso.Start(ctx, "AG-A", ssoTestRedirect)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.sso.Finish(ctx, SSOCallback{State: start.State, BrowserState: start.State,
				ProviderError: "access_denied", RedirectURL: ssoTestRedirect})
			wantSSOError(t, err, SSOProviderError)

			_, err = f.sso.Start(ctx, "AG-B", ssoTestRedirect)
			wantSSOError(t, err, SSOUnavailable)
			_, err = f.sso.Start(ctx, "NO-SUCH", ssoTestRedirect)
			wantSSOError(t, err, SSOUnavailable)

			// Started, then switched off before the provider sent the person back.
			start, err = f.sso.Start(ctx, "AG-A", ssoTestRedirect)
			if err != nil {
				t.Fatal(err)
			}
			f.provider.QueueUser(person("alice-sub", "alice@a.test"))
			back := authorize(t, start.AuthURL)
			f.configure(t, func(in *SSOSettings) { in.Enabled = false })
			_, err = f.sso.Finish(ctx, SSOCallback{State: back.Get("state"), BrowserState: start.State,
				Code: back.Get("code"), RedirectURL: ssoTestRedirect})
			wantSSOError(t, err, SSOUnavailable)
			_, err = f.sso.Start(ctx, "AG-A", ssoTestRedirect)
			wantSSOError(t, err, SSOUnavailable)

			// A provider that cannot be reached.
			f.configure(t, func(in *SSOSettings) { in.Issuer = "http://127.0.0.1:1/oidc" })
			_, err = f.sso.Start(ctx, "AG-A", ssoTestRedirect)
			wantSSOError(t, err, SSOProviderError)
		})
	}
}

func TestSSOSettings_ValidatesAndKeepsTheSecret(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newSSOFixture(t, d)
			ctx := context.Background()
			valid := func() SSOSettings {
				return SSOSettings{Issuer: "https://login.b.example/realms/staff", ClientID: "bevis", ClientSecret: "s3cret"}
			}
			tests := []struct {
				name  string
				edit  func(*SSOSettings)
				field string
			}{
				{"plain http off loopback", func(in *SSOSettings) { in.Issuer = "http://login.b.example" }, "issuer"},
				{"not a URL", func(in *SSOSettings) { in.Issuer = "login.b.example" }, "issuer"},
				{"issuer with a query", func(in *SSOSettings) { in.Issuer = "https://login.b.example/?x=1" }, "issuer"},
				{"issuer too long", func(in *SSOSettings) { in.Issuer = "https://b.example/" + strings.Repeat("x", 500) }, "issuer"},
				{"no client", func(in *SSOSettings) { in.ClientID = " " }, "client_id"},
				{"client ID too long", func(in *SSOSettings) { in.ClientID = strings.Repeat("c", 256) }, "client_id"},
				{"no secret yet", func(in *SSOSettings) { in.ClientSecret = "" }, "client_secret"},
				{"secret on two lines", func(in *SSOSettings) { in.ClientSecret = "a\nb" }, "client_secret"},
				{"admin for a group", func(in *SSOSettings) { in.GroupRoles = map[string]SystemRole{"ops": RoleAdmin} }, "group_roles"},
				{"unknown role", func(in *SSOSettings) { in.GroupRoles = map[string]SystemRole{"ops": "root"} }, "group_roles"},
				{"empty group", func(in *SSOSettings) { in.GroupRoles = map[string]SystemRole{"": RoleMember} }, "group_roles"},
				{"without openid", func(in *SSOSettings) { in.Scopes = []string{"email"} }, "scopes"},
				{"scope with a space", func(in *SSOSettings) { in.Scopes = []string{"openid", "a b"} }, "scopes"},
				{"bad claim name", func(in *SSOSettings) { in.EmailClaim = "e mail" }, "email_claim"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					in := valid()
					tt.edit(&in)
					_, err := f.sso.SetConfig(ctx, f.b.ID, in)
					var invalid *validate.Error
					if !errors.As(err, &invalid) || len(invalid.Fields) == 0 || invalid.Fields[0].Field != tt.field {
						t.Fatalf("want a field error on %s, got %v", tt.field, err)
					}
				})
			}
			if cfg, err := f.sso.Config(ctx, f.b.ID); err != nil || cfg.Configured || cfg.EmailClaim != "email" ||
				strings.Join(cfg.Scopes, " ") != "openid email profile" {
				t.Fatalf("refused settings were stored, or defaults wrong: %+v %v", cfg, err)
			}

			in := valid()
			in.GroupRoles = map[string]SystemRole{"ops": RoleAgencyAdmin, "audit": RoleAuditor}
			cfg, err := f.sso.SetConfig(ctx, f.b.ID, in)
			if err != nil {
				t.Fatal(err)
			}
			if !cfg.Configured || !cfg.ClientSecretSet || cfg.NameClaim != "name" || cfg.GroupsClaim != "groups" ||
				len(cfg.GroupRoles) != 2 || cfg.Enabled {
				t.Errorf("stored %+v", cfg)
			}
			// Without a secret the stored one stays; the group map is replaced.
			in = valid()
			in.ClientSecret, in.Enabled, in.GroupRoles = "", true, map[string]SystemRole{"staff": RoleMember}
			if cfg, err = f.sso.SetConfig(ctx, f.b.ID, in); err != nil {
				t.Fatal(err)
			}
			var secret string
			if err := d.DB.Model(&ssoConfigRow{}).Where("agency_id = ?", f.b.ID).Pluck("client_secret", &secret).Error; err != nil {
				t.Fatal(err)
			}
			if secret != "s3cret" || !cfg.Enabled || len(cfg.GroupRoles) != 1 || cfg.GroupRoles["staff"] != RoleMember {
				t.Errorf("after an update without secret: secret %q, %+v", secret, cfg)
			}
			if _, err := f.sso.Config(ctx, "no-such-agency"); !errors.Is(err, ErrNotFound) {
				t.Errorf("settings of a missing agency: %v", err)
			}
			if _, err := f.sso.SetConfig(ctx, "no-such-agency", valid()); !errors.Is(err, ErrNotFound) {
				t.Errorf("setting a missing agency: %v", err)
			}
		})
	}
}

func TestSSOSettings_TheDatabaseRefusesAdminForAGroup(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newSSOFixture(t, d)
			err := d.DB.Create(&ssoGroupRoleRow{AgencyID: f.a.ID, GroupName: "ops", SystemRole: string(RoleAdmin)}).Error
			if err == nil {
				t.Error("the database stored admin for a provider group")
			}
		})
	}
}

func TestSSO_AnotherNodeFinishesTheSignIn(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newSSOFixture(t, d)
			ctx := context.Background()
			start, err := f.sso.Start(ctx, "AG-A", ssoTestRedirect)
			if err != nil {
				t.Fatal(err)
			}
			f.provider.QueueUser(person("alice-sub", "alice@a.test"))
			back := authorize(t, start.AuthURL)
			// A second node: its own services on the same database, nothing
			// shared in memory with the first.
			other := NewSSO(d.DB, newTestSessions(t, d))
			g, err := other.Finish(ctx, SSOCallback{State: back.Get("state"), BrowserState: start.State,
				Code: back.Get("code"), RedirectURL: ssoTestRedirect})
			if err != nil {
				t.Fatal(err)
			}
			if g.User.ID != f.alice.ID {
				t.Errorf("signed in %s, want alice", g.User.Email)
			}
		})
	}
}

func TestSSO_AStateIsSpentOnceUnderConcurrency(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newSSOFixture(t, d)
			ctx := context.Background()
			start, err := f.sso.Start(ctx, "AG-A", ssoTestRedirect)
			if err != nil {
				t.Fatal(err)
			}
			const callbacks = 8
			errs := make(chan error, callbacks)
			for range callbacks {
				go func() {
					_, err := f.sso.consume(ctx, start.State)
					errs <- err
				}()
			}
			spent := 0
			for range callbacks {
				err := <-errs
				var se *SSOError
				switch {
				case err == nil:
					spent++
				case errors.As(err, &se) && se.Code == SSOInvalidState:
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}
			if spent != 1 {
				t.Errorf("the state was spent %d times, want once", spent)
			}
		})
	}
}

// A provider that cannot be discovered is asked once, whatever the flood of
// sign-ins, and again only after a short while: Bevis must not hammer a
// dead provider, nor wait on it once per request.
func TestSSO_FailedDiscoveryIsAskedOnceAndRememberedBriefly(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			f := newSSOFixture(t, d)
			var hits atomic.Int64
			dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				time.Sleep(200 * time.Millisecond) // a slow failure: the flood arrives while it is asked
				http.Error(w, "bad gateway", http.StatusBadGateway)
			}))
			t.Cleanup(dead.Close)
			f.configure(t, func(in *SSOSettings) { in.Issuer = dead.URL + "/realms/staff" })
			ctx := context.Background()
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					_, err := f.sso.Start(ctx, "AG-A", ssoTestRedirect)
					var se *SSOError
					if !errors.As(err, &se) || se.Code != SSOProviderError {
						t.Errorf("sign-in at a dead provider: %v, want %s", err, SSOProviderError)
					}
				})
			}
			wg.Wait()
			for range 10 {
				_, err := f.sso.Start(ctx, "AG-A", ssoTestRedirect)
				wantSSOError(t, err, SSOProviderError)
			}
			if n := hits.Load(); n != 1 {
				t.Errorf("the dead provider was asked %d times, want once", n)
			}
			later := dbNow().Add(time.Minute)
			f.sso.SetClock(func() time.Time { return later })
			_, err := f.sso.Start(ctx, "AG-A", ssoTestRedirect)
			wantSSOError(t, err, SSOProviderError)
			if n := hits.Load(); n != 2 {
				t.Errorf("a minute later the provider was asked %d times in all, want 2", n)
			}
		})
	}
}
