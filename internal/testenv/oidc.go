package testenv

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// OIDCProvider is a real OpenID Connect provider (mockoidc) on loopback:
// discovery, authorization with PKCE (plain and S256, checked at the token
// endpoint), code exchange with client authentication, ID tokens carrying
// the nonce, and JWKS. People signing in are queued with QueueUser; the
// authorization endpoint asks nothing and sends the browser straight back.
type OIDCProvider struct {
	*mockoidc.MockOIDC

	t      testing.TB
	mu     sync.Mutex
	tamper func(jwt.MapClaims)
	signer *rsa.PrivateKey
}

// OIDC starts a provider for the test and stops it at the end.
func OIDC(t testing.TB) *OIDCProvider {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &OIDCProvider{MockOIDC: m, t: t}
	if err := m.AddMiddleware(p.tamperIDTokens); err != nil {
		t.Fatal(err)
	}
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

// QueueUser makes claims the person of the next authorization. They go
// into the ID token as given, over the standard ones; "sub" names them.
func (p *OIDCProvider) QueueUser(claims map[string]any) {
	p.MockOIDC.QueueUser(claimsUser(claims))
}

// TamperNextIDToken rewrites the claims of the next ID token the token
// endpoint hands out, and signs it again with the provider's own key (so
// that only the rewritten claims are wrong), or with signer when given
// (under the provider's key ID, so that only the signature is wrong).
func (p *OIDCProvider) TamperNextIDToken(f func(jwt.MapClaims), signer *rsa.PrivateKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper, p.signer = f, signer
}

func (p *OIDCProvider) tamperIDTokens(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		f, signer := p.tamper, p.signer
		p.mu.Unlock()
		if f == nil || r.URL.Path != mockoidc.TokenEndpoint {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		// A refused request (golang.org/x/oauth2 first tries the client
		// credentials in a header, which mockoidc refuses) is passed on, and
		// the next token response is tampered with instead.
		if rec.Code == http.StatusOK {
			p.mu.Lock()
			p.tamper, p.signer = nil, nil
			p.mu.Unlock()
			var err error
			if body, err = p.rewrite(rec, f, signer); err != nil {
				// The test asked for a tampered token and would pass for
				// the wrong reason without one.
				p.t.Errorf("testenv: tampering with the ID token: %v", err)
				body = rec.Body.Bytes()
			}
		}
		maps.Copy(w.Header(), rec.Header())
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = bytes.NewReader(body).WriteTo(w)
	})
}

func (p *OIDCProvider) rewrite(rec *httptest.ResponseRecorder, f func(jwt.MapClaims), signer *rsa.PrivateKey) ([]byte, error) {
	var resp map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		return nil, err
	}
	raw, ok := resp["id_token"].(string)
	if !ok {
		return nil, fmt.Errorf("no id_token in %s", rec.Body)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
		return nil, err
	}
	f(claims)
	keys := p.Keypair
	if signer != nil {
		kid, err := p.Keypair.KeyID()
		if err != nil {
			return nil, err
		}
		keys = &mockoidc.Keypair{PrivateKey: signer, PublicKey: &signer.PublicKey, Kid: kid}
	}
	signed, err := keys.SignJWT(claims)
	if err != nil {
		return nil, err
	}
	resp["id_token"] = signed
	return json.Marshal(resp)
}

// claimsUser is a mockoidc user whose ID token carries arbitrary claims.
type claimsUser map[string]any

func (u claimsUser) ID() string { s, _ := u["sub"].(string); return s }

func (u claimsUser) Userinfo([]string) ([]byte, error) { return json.Marshal(map[string]any(u)) }

func (u claimsUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	b, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	if err := json.Unmarshal(b, &claims); err != nil {
		return nil, err
	}
	maps.Copy(claims, u)
	return claims, nil
}
