package api

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/evidence"
)

// getManifest answers a case's evidence manifest: every item the caller
// may see, with its hashes and whole custody chain, which `bevis evidence
// verify-manifest` checks offline.
func (s *server) getManifest(c *fiber.Ctx) error {
	caseID, err := s.caseAction(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	ctx, p := c.UserContext(), principal(c)
	k, err := s.Cases.Get(ctx, caseID)
	if err != nil {
		return err
	}
	markings, err := s.Authz.ItemMarkings(ctx, p, caseID)
	if err != nil {
		return err
	}
	m, err := s.Items.Manifest(ctx, caseID, k.Reference, p.UserID, markings)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+k.Reference+`-evidence-manifest.json"`)
	return c.JSON(m)
}

// reportStyle is the only style of the printable report; its hash, not
// 'unsafe-inline', lets it through the content security policy.
const reportStyle = `body{font:11pt/1.4 system-ui,sans-serif;margin:2em;color:#111}
h1{font-size:1.4em}table{border-collapse:collapse;width:100%;margin:1em 0}
th,td{border:1px solid #999;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eee}code{font-size:.85em;word-break:break-all}@media print{body{margin:0}}`

var reportCSP = func() string {
	sum := sha256.Sum256([]byte(reportStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'"
}()

var reportPage = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Custody report {{.Item.ExhibitNumber}}</title>
<style>{{.Style}}</style></head><body>
<h1>Chain of custody: {{.Item.ExhibitNumber}}</h1>
<table>
<tr><th>Title</th><td>{{.Item.Title}}</td></tr>
<tr><th>Kind</th><td>{{.Item.Kind}}</td></tr>
<tr><th>Marking</th><td>TLP:{{.Item.TLP}}</td></tr>
<tr><th>Source</th><td>{{.Item.Source.Device}} {{.Item.Source.Serial}} {{.Item.Source.Owner}}</td></tr>
<tr><th>Acquisition</th><td>{{.Item.Acquisition.Tool}} {{.Item.Acquisition.ToolVersion}}, by {{.Item.Acquisition.By}}{{with .Item.Acquisition.Where}}, at {{.}}{{end}}</td></tr>
{{if .Received}}<tr><th>Size</th><td>{{.Item.Size}} bytes</td></tr>
<tr><th>SHA-256</th><td><code>{{.Item.Computed.SHA256}}</code></td></tr>
<tr><th>SHA-1</th><td><code>{{.Item.Computed.SHA1}}</code></td></tr>
<tr><th>MD5</th><td><code>{{.Item.Computed.MD5}}</code></td></tr>{{end}}
<tr><th>Custodian now</th><td>{{.State.CustodianAgencyID}}{{with .State.Location}}, {{.}}{{end}}</td></tr>
<tr><th>Chain</th><td>{{if .ChainOK}}verifies: every event's hash recomputed{{else}}<strong>BROKEN: {{.ChainProblem}}</strong>{{end}}</td></tr>
</table>
<table><tr><th>#</th><th>Step</th><th>When (recorded)</th><th>By</th><th>Counterparty</th><th>Where, why</th><th>Hash</th></tr>
{{range .Events}}<tr><td>{{.Seq}}</td><td>{{.Type}}{{with .Supersedes}} (corrects {{.}}){{end}}</td>
<td>{{.OccurredAt.UTC.Format "2006-01-02 15:04:05Z"}} ({{.RecordedAt.UTC.Format "2006-01-02 15:04:05Z"}})</td>
<td>{{.ActorUserID}} / {{.ActorAgencyID}}</td>
<td>{{.CounterpartyUserID}}{{.CounterpartyAgencyID}}{{.CounterpartyExternal}}{{with .IdentityCheck}} (identity: {{.}}){{end}}</td>
<td>{{.Location}} {{.Purpose}} {{.Details.SealNumber}} {{.Details.Reason}} {{.Details.LegalBasis}} {{.Details.AuthorityReference}} {{.Details.Result}} {{.Notes}}</td>
<td><code>{{.Hash}}</code></td></tr>{{end}}
</table></body></html>`))

type reportJSON struct {
	Item    itemJSON         `json:"item"`
	Custody custodyJSON      `json:"custody"`
	Chain   chainVerdictJSON `json:"chain"`
}

type chainVerdictJSON struct {
	Verifies bool   `json:"verifies"`
	Problem  string `json:"problem,omitempty"`
}

// getReport answers an item's custody report, as JSON or, with
// format=html, as a printable page.
func (s *server) getReport(c *fiber.Ctx) error {
	it, err := s.item(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	evs, err := s.Items.Events(c.UserContext(), it.ID)
	if err != nil {
		return err
	}
	verdict := chainVerdictJSON{Verifies: true}
	if err := evidence.VerifyChain(it.ID, evs); err != nil {
		verdict = chainVerdictJSON{Problem: err.Error()}
	}
	state := evidence.Derive(evs)
	if c.Query("format") == "html" {
		c.Set(fiber.HeaderContentSecurityPolicy, reportCSP)
		c.Type("html", "utf-8")
		var b strings.Builder
		err := reportPage.Execute(&b, map[string]any{"Item": it, "State": state, "Events": evs,
			"Received": it.ContentStatus == "received", "ChainOK": verdict.Verifies, "ChainProblem": verdict.Problem,
			"Style": template.CSS(reportStyle)}) //nolint:gosec // a constant of this file, never input
		if err != nil {
			return err
		}
		return c.SendString(b.String())
	}
	custody, err := s.custodyOf(c.UserContext(), evs)
	if err != nil {
		return err
	}
	out := reportJSON{Item: toItemJSON(it), Chain: verdict, Custody: custody}
	if err := s.nameAll(c.UserContext(), &out.Item); err != nil {
		return err
	}
	return c.JSON(out)
}
