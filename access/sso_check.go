package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/validate"
)

// Testing a provider: an admin asks Bevis to check an agency's settings
// (stored or about to be saved) against the provider before people depend
// on them. The test reaches only the URLs a saved setting could make a
// sign-in reach: the issuer must pass the same rule as when it is saved
// (https, or http on loopback), and so must every URL the provider's
// discovery document names and every redirect on the way. Answers are read
// up to a small size and summarised; no response body is repeated back.
const (
	// checkRequestLimit bounds each request of a test, far below the
	// sign-in's own limit: someone is waiting at the screen.
	checkRequestLimit = 5 * time.Second
	checkBodyLimit    = 256 << 10
	checkRedirects    = 3
	// checkCode is the made-up authorization code the token endpoint is
	// asked to redeem: its refusal tells a wrong client from a right one.
	checkCode = "bevis-provider-test"
)

// Names of the checks of a provider test, in the order they run.
const (
	CheckDiscovery   = "discovery"
	CheckIssuer      = "issuer"
	CheckCodeFlow    = "authorization_code"
	CheckPKCE        = "pkce"
	CheckScopes      = "scopes"
	CheckKeys        = "keys"
	CheckClient      = "client"
	checkEndpointURL = "must be https (http only on loopback), as the issuer"
)

// SSOCheck is one check of a provider test: Message says what was found
// and, on failure, what to change. It never holds the client secret.
type SSOCheck struct {
	Name    string
	Passed  bool
	Message string
}

// SSOTest is the outcome of a provider test. Checks stop at the first
// failure that leaves the rest nothing to look at.
type SSOTest struct {
	Issuer string
	Passed bool
	Checks []SSOCheck
}

// discoveryDocument holds the fields of OpenID Connect Discovery 1.0 §3
// that a sign-in depends on.
type discoveryDocument struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	ResponseTypes         []string `json:"response_types_supported"`
	GrantTypes            []string `json:"grant_types_supported"`
	Scopes                []string `json:"scopes_supported"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
}

// TestProvider tests an agency's provider with in, the unsaved settings
// (an empty client secret takes the stored one), or with the stored
// settings when in is nil. Who may is the caller's to check with
// Authorize(ActionAgencySSOWrite) before: the test sends the client secret
// to the provider's token endpoint. The test is on the record before it
// reaches out, so that every probe is.
func (s *SSO) TestProvider(ctx context.Context, agencyID string, in *SSOSettings) (SSOTest, error) {
	if _, err := NewDirectory(s.db).Agency(ctx, agencyID); err != nil {
		return SSOTest{}, err
	}
	var settings SSOSettings
	err := s.inTx(ctx, s.db, "agencies.sso.test", "agencies", agencyID, "", func(tx *gorm.DB) error {
		stored, _, err := loadSSOConfig(tx, agencyID)
		switch {
		case errors.Is(err, ErrNotFound) && in == nil:
			return validate.Field("issuer", "nothing is stored to test: send the settings to test")
		case err != nil && !errors.Is(err, ErrNotFound):
			return err
		case in == nil:
			settings = SSOSettings{Issuer: stored.Issuer, ClientID: stored.ClientID, ClientSecret: stored.ClientSecret,
				Scopes: strings.Fields(stored.Scopes)}
			return nil
		}
		settings = *in
		if err := settings.normalize(stored.ClientSecret != ""); err != nil {
			return err
		}
		if settings.ClientSecret == "" {
			settings.ClientSecret = stored.ClientSecret
		}
		return nil
	})
	if err != nil {
		var invalid *validate.Error
		if errors.As(err, &invalid) {
			return SSOTest{}, err
		}
		return SSOTest{}, fmt.Errorf("access: test single sign-on: %w", err)
	}
	return s.probe(ctx, settings), nil
}

// probe runs the checks of a provider test.
func (s *SSO) probe(ctx context.Context, in SSOSettings) SSOTest {
	t := SSOTest{Issuer: in.Issuer, Passed: true}
	add := func(name string, passed bool, format string, args ...any) bool {
		t.Checks = append(t.Checks, SSOCheck{Name: name, Passed: passed, Message: fmt.Sprintf(format, args...)})
		t.Passed = t.Passed && passed
		return passed
	}
	client := s.checkClient()
	where := strings.TrimSuffix(in.Issuer, "/") + "/.well-known/openid-configuration"
	var doc discoveryDocument
	if err := fetchJSON(ctx, client, where, &doc); err != nil {
		add(CheckDiscovery, false, "Could not read the discovery document at %s: %s.", where, err)
		return t
	}
	add(CheckDiscovery, true, "Read the discovery document at %s.", where)

	if !add(CheckIssuer, doc.Issuer == in.Issuer, "The provider names itself %q.", truncateRunes(doc.Issuer, 200)) {
		t.Checks[len(t.Checks)-1].Message += fmt.Sprintf(" Set the issuer URL to exactly that; %q differs, and sign-ins would fail.", in.Issuer)
		return t
	}

	var bad []string
	for name, u := range map[string]string{"authorization_endpoint": doc.AuthorizationEndpoint,
		"token_endpoint": doc.TokenEndpoint, "jwks_uri": doc.JWKSURI} {
		if checkIssuer(u) != "" {
			bad = append(bad, name)
		}
	}
	slices.Sort(bad)
	codeFlow := slices.Contains(doc.ResponseTypes, "code") &&
		(len(doc.GrantTypes) == 0 || slices.Contains(doc.GrantTypes, "authorization_code"))
	switch {
	case len(bad) > 0:
		add(CheckCodeFlow, false, "The discovery document's %s %s.", strings.Join(bad, ", "), checkEndpointURL)
		return t
	case !codeFlow:
		add(CheckCodeFlow, false, "The provider does not offer the authorization code flow (response type code, grant authorization_code), which Bevis signs in with.")
		return t
	}
	add(CheckCodeFlow, true, "The provider offers the authorization code flow.")

	switch {
	case len(doc.CodeChallengeMethods) == 0:
		add(CheckPKCE, true, "The provider does not list its PKCE methods; Bevis sends S256, which providers that do not list them accept or ignore.")
	case slices.Contains(doc.CodeChallengeMethods, "S256"):
		add(CheckPKCE, true, "The provider accepts PKCE with S256.")
	default:
		add(CheckPKCE, false, "The provider lists PKCE methods without S256, the one Bevis uses.")
	}

	var missing []string
	for _, sc := range in.Scopes {
		if !slices.Contains(doc.Scopes, sc) {
			missing = append(missing, sc)
		}
	}
	switch {
	case len(doc.Scopes) == 0:
		add(CheckScopes, true, "The provider does not list its scopes, so they cannot be checked: %s.", strings.Join(in.Scopes, " "))
	case len(missing) > 0:
		add(CheckScopes, false, "The provider does not offer the scopes %s; remove them or enable them at the provider.", strings.Join(missing, " "))
	default:
		add(CheckScopes, true, "The provider offers the scopes %s.", strings.Join(in.Scopes, " "))
	}

	var keys struct {
		Keys []json.RawMessage `json:"keys"`
	}
	switch err := fetchJSON(ctx, client, doc.JWKSURI, &keys); {
	case err != nil:
		add(CheckKeys, false, "Could not read the provider's signing keys at %s: %s.", doc.JWKSURI, err)
	case len(keys.Keys) == 0:
		add(CheckKeys, false, "The provider's key set at %s holds no keys to verify ID tokens with.", doc.JWKSURI)
	default:
		add(CheckKeys, true, "The provider publishes %d signing key(s).", len(keys.Keys))
	}

	s.checkClientCredentials(ctx, client, in, doc, add)
	return t
}

// checkClientCredentials redeems a made-up code at the token endpoint with
// the client ID and secret. A provider checks the client first: invalid_grant
// means it took them and refused only the code.
func (s *SSO) checkClientCredentials(ctx context.Context, client *http.Client, in SSOSettings, doc discoveryDocument,
	add func(string, bool, string, ...any) bool) {
	conf := &oauth2.Config{ClientID: in.ClientID, ClientSecret: in.ClientSecret,
		Endpoint: oauth2.Endpoint{AuthURL: doc.AuthorizationEndpoint, TokenURL: doc.TokenEndpoint}}
	_, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, client), checkCode)
	var re *oauth2.RetrieveError
	switch {
	case err == nil:
		add(CheckClient, false, "The token endpoint redeemed a made-up code; that provider cannot be trusted.")
	case errors.As(err, &re) && re.ErrorCode == "invalid_grant":
		add(CheckClient, true, "The token endpoint accepted the client ID and secret (and refused a made-up code, as it should).")
	case errors.As(err, &re) && (re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client"):
		add(CheckClient, false, "The token endpoint refused the client ID or secret (%s): check both with the provider.", re.ErrorCode)
	case errors.As(err, &re):
		add(CheckClient, false, "The token endpoint answered %s; expected it to accept the client and refuse the made-up code.",
			describeExchangeError(err))
	default:
		add(CheckClient, false, "Could not reach the token endpoint %s: %s.", doc.TokenEndpoint, describeFetchError(err))
	}
}

// checkClient is the HTTP client of a test: short timeouts, and redirects
// only to URLs a setting could name.
func (s *SSO) checkClient() *http.Client {
	transport := http.DefaultTransport
	if s.client.Transport != nil {
		transport = s.client.Transport
	}
	return &http.Client{Timeout: checkRequestLimit, Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= checkRedirects {
				return errTooManyRedirects
			}
			if checkIssuer(req.URL.String()) != "" {
				return errRedirectRefused
			}
			return nil
		}}
}

var (
	errTooManyRedirects = fmt.Errorf("it redirected more than %d times", checkRedirects)
	errRedirectRefused  = errors.New("it redirected to a URL that " + checkEndpointURL)
)

// fetchJSON reads a JSON document of at most checkBodyLimit bytes from u.
func fetchJSON(ctx context.Context, client *http.Client, u string, dst any) error {
	if checkIssuer(u) != "" {
		return errors.New("the URL " + checkEndpointURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return errors.New("not a usable URL")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return errors.New(describeFetchError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("it answered HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, checkBodyLimit+1))
	switch {
	case err != nil:
		return errors.New(describeFetchError(err))
	case len(body) > checkBodyLimit:
		return fmt.Errorf("the answer is larger than %d KiB", checkBodyLimit>>10)
	case json.Unmarshal(body, dst) != nil:
		return errors.New("the answer is not the JSON document expected")
	}
	return nil
}

// describeFetchError says why a request failed in words for an admin,
// without the URL again (the check names it).
func describeFetchError(err error) string {
	var dns *net.DNSError
	var op *net.OpError
	var ne net.Error
	switch {
	case errors.Is(err, errTooManyRedirects):
		return errTooManyRedirects.Error()
	case errors.Is(err, errRedirectRefused):
		return errRedirectRefused.Error()
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return fmt.Sprintf("no answer within %s", checkRequestLimit)
	case errors.As(err, &dns):
		return "the host name does not resolve"
	case errors.As(err, &op) && op.Op == "dial":
		return "the connection was refused or the host is unreachable"
	case strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:"):
		return "the TLS certificate or handshake failed"
	}
	return "the request failed"
}
