package api

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

const localClientAddress = "bevis.client_address"

// trustedProxies are the load balancers whose X-Forwarded-For is believed
// (BEVIS_TRUSTED_PROXIES).
type trustedProxies []netip.Prefix

// parseTrustedProxies reads the IPs and CIDRs of the configuration, which
// has checked them already.
func parseTrustedProxies(list []string) trustedProxies {
	var out trustedProxies
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}

func (t trustedProxies) trust(a netip.Addr) bool {
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// withClientAddress finds the address of whoever sent the request, once,
// for the logs, the audit record and the sign-in limits: the peer, or, when
// the peer is a trusted proxy, the rightmost address in X-Forwarded-For
// that is not a trusted proxy itself. Each proxy appends the address it saw,
// so that one was written by the last proxy that is ours; everything left of
// it was written by the client or by proxies nobody vouches for, and a
// forged leftmost address must not dodge the sign-in limit or the record.
func withClientAddress(trusted trustedProxies) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Locals(localClientAddress, trusted.clientOf(c))
		return c.Next()
	}
}

func (t trustedProxies) clientOf(c *fiber.Ctx) string {
	addr, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return c.Context().RemoteIP().String()
	}
	addr = addr.Unmap()
	if !t.trust(addr) {
		return addr.String()
	}
	var hops []string
	for _, h := range c.Request().Header.PeekAll(fiber.HeaderXForwardedFor) {
		hops = append(hops, strings.Split(string(h), ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(hops[i])
		if !ok {
			break // the chain of our proxies is broken here: the last good hop is all we know
		}
		addr = hop
		if !t.trust(addr) {
			break
		}
	}
	return addr.String()
}

// parseHop reads one X-Forwarded-For entry: an address, with a port as
// some proxies write it ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// clientIP is the request's client address (see withClientAddress).
func clientIP(c *fiber.Ctx) string {
	if a, ok := c.Locals(localClientAddress).(string); ok {
		return a
	}
	return c.Context().RemoteIP().String()
}
