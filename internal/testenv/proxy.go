package testenv

import (
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Proxy is a TCP proxy in front of a real service, for tests of what Bevis
// does while that service is down: Down cuts every connection and refuses
// new ones, Up lets them through again on the same address.
type Proxy struct {
	t     testing.TB
	proxy *toxiproxy.Proxy
}

// NewProxy starts a proxy on a free loopback port forwarding to upstream
// (host:port); it is stopped when the test ends.
func NewProxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(server, t.Name(), "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("start proxy to %s: %v", upstream, err)
	}
	t.Cleanup(p.Stop)
	return &Proxy{t: t, proxy: p}
}

// Addr is the proxy's host:port, to use in place of the upstream's.
func (p *Proxy) Addr() string { return p.proxy.Listen }

// Down makes the service unreachable through the proxy.
func (p *Proxy) Down() { p.proxy.Stop() }

// Up makes it reachable again.
func (p *Proxy) Up() {
	p.t.Helper()
	if err := p.proxy.Start(); err != nil {
		p.t.Fatalf("restart proxy: %v", err)
	}
}
