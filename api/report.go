package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/cases"
	"github.com/bevis-ir/bevis/evidence"
	"github.com/bevis-ir/bevis/internal/validate"
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

// ReportFormat names the version of the custody report's JSON form.
const reportFormat = "bevis-custody-report-v1"

// maxReportItems bounds a case's custody report; a case with more items
// is reported in part, and says so.
const maxReportItems = 1000

// howToVerify tells a third party how to check a report without Bevis's
// server: the same chain, recomputed from the manifest.
const howToVerify = "Each custody event's hash is SHA-256 over \"bevis-custody-v1\\n\" and the event's canonical JSON " +
	"(version 1: every field in a fixed order, times in UTC to the microsecond, the previous event's hash included); " +
	"the registration records every fact that identifies the item and the receipt its digests and size. " +
	"To check offline, download the case's evidence manifest (GET /api/v1/cases/{id}/evidence/manifest) and run " +
	"`bevis evidence verify-manifest FILE`, which needs no server or database: it recomputes every chain and holds each " +
	"item's stated facts to it. The chain head printed here is the hash of the item's last event; it must be the same in the manifest."

type reportHashJSON struct {
	Algorithm string `json:"algorithm"`
	Declared  string `json:"declared,omitempty"`
	Computed  string `json:"computed,omitempty"`
	// Agrees is whether the computed digest is the declared one; absent
	// when either is unknown.
	Agrees *bool `json:"agrees,omitempty"`
}

type reportSealJSON struct {
	Number    string  `json:"number"`
	AppliedAt string  `json:"applied_at"`
	AppliedBy string  `json:"applied_by,omitempty"`
	BrokenAt  *string `json:"broken_at"`
	BrokenBy  string  `json:"broken_by,omitempty"`
	Reason    string  `json:"reason,omitempty"`
}

type reportVerificationJSON struct {
	At       string   `json:"at"`
	Result   string   `json:"result"`
	SHA256   string   `json:"sha256,omitempty"`
	By       string   `json:"by,omitempty"` // the person who asked; absent for Bevis's scheduled checks
	Findings []string `json:"findings,omitempty"`
}

type chainVerdictJSON struct {
	Verifies bool   `json:"verifies"`
	Problem  string `json:"problem,omitempty"`
	Head     string `json:"head"` // the hash of the last event
	Events   int    `json:"events"`
}

type reportItemJSON struct {
	Item          itemJSON                 `json:"item"`
	ParentExhibit string                   `json:"parent_exhibit_number,omitempty"`
	Hashes        []reportHashJSON         `json:"hashes"`
	Seals         []reportSealJSON         `json:"seals"`
	Custody       custodyJSON              `json:"custody"`
	Chain         chainVerdictJSON         `json:"chain"`
	Verifications []reportVerificationJSON `json:"verifications"`
}

type reportCaseJSON struct {
	ID        string `json:"id"`
	Reference string `json:"reference"`
	Title     string `json:"title"`
	TLP       string `json:"tlp"`
}

type reportJSON struct {
	Format      string           `json:"format"`
	GeneratedAt string           `json:"generated_at"`
	GeneratedBy string           `json:"generated_by"`
	TLP         string           `json:"tlp"` // the highest marking of the case and what the report holds
	Case        reportCaseJSON   `json:"case"`
	Items       []reportItemJSON `json:"items"`
	Truncated   bool             `json:"truncated"`
	HowToVerify string           `json:"how_to_verify"`
	namesJSON
}

// references names everyone the report mentions, once, at its top.
func (r *reportJSON) references() (people, agencies []string) {
	people = append(people, r.GeneratedBy)
	for _, it := range r.Items {
		people = append(people, it.Item.CreatedBy)
		for _, e := range it.Custody.Events {
			p, a := e.references()
			people, agencies = append(people, p...), append(agencies, a...)
		}
		p, a := it.Custody.State.references()
		people, agencies = append(people, p...), append(agencies, a...)
	}
	return people, agencies
}

var tlpRank = map[access.TLP]int{access.TLPClear: 0, access.TLPGreen: 1, access.TLPAmber: 2, access.TLPAmberStrict: 3, access.TLPRed: 4}

// reportOf builds the custody report of items of case k for the caller
// (who may see items marked as markings).
func (s *server) reportOf(ctx context.Context, p access.Principal, k cases.Case, items []evidence.Item, markings []access.TLP) (reportJSON, error) {
	out := reportJSON{Format: reportFormat, GeneratedAt: timestamp(time.Now()), GeneratedBy: p.UserID, TLP: string(k.TLP),
		Case:  reportCaseJSON{ID: k.ID, Reference: k.Reference, Title: k.Title, TLP: string(k.TLP)},
		Items: make([]reportItemJSON, len(items)), HowToVerify: howToVerify}
	for i, it := range items {
		if tlpRank[it.TLP] > tlpRank[access.TLP(out.TLP)] {
			out.TLP = string(it.TLP)
		}
		r, err := s.reportItem(ctx, it, markings)
		if err != nil {
			return reportJSON{}, err
		}
		out.Items[i] = r
	}
	named := []referrer{&out}
	for i := range out.Items {
		named = append(named, &out.Items[i].Item)
	}
	return out, s.nameAll(ctx, named...)
}

func (s *server) reportItem(ctx context.Context, it evidence.Item, markings []access.TLP) (reportItemJSON, error) {
	evs, err := s.Items.Events(ctx, it.ID)
	if err != nil {
		return reportItemJSON{}, err
	}
	custody, err := s.custodyOf(ctx, evs)
	if err != nil {
		return reportItemJSON{}, err
	}
	out := reportItemJSON{Item: toItemJSON(it), Custody: custody, Seals: []reportSealJSON{},
		Verifications: []reportVerificationJSON{}, Chain: chainVerdictJSON{Verifies: true, Events: len(evs)}}
	out.Item.Custody = custody.State
	if err := s.hideUnseenParents(ctx, it.CaseID, markings, &out.Item); err != nil {
		return reportItemJSON{}, err
	}
	if len(evs) > 0 {
		out.Chain.Head = evs[len(evs)-1].Hash
		if id := evs[0].Details.Identity; id != nil {
			out.ParentExhibit = id.ParentExhibit
		}
	}
	if err := s.Items.VerifyItem(ctx, it.ID); err != nil {
		var broken *evidence.ChainError
		var wrong *evidence.IdentityError
		if !errors.As(err, &broken) && !errors.As(err, &wrong) {
			return reportItemJSON{}, err
		}
		out.Chain = chainVerdictJSON{Problem: err.Error(), Head: out.Chain.Head, Events: len(evs)}
	}
	for _, h := range []struct{ alg, declared, computed string }{{"SHA-256", it.Declared.SHA256, it.Computed.SHA256},
		{"SHA-1", it.Declared.SHA1, it.Computed.SHA1}, {"MD5", it.Declared.MD5, it.Computed.MD5}} {
		if it.ContentStatus != "received" {
			h.computed = ""
		}
		row := reportHashJSON{Algorithm: h.alg, Declared: h.declared, Computed: h.computed}
		if h.declared != "" && h.computed != "" {
			agrees := h.declared == h.computed
			row.Agrees = &agrees
		}
		out.Hashes = append(out.Hashes, row)
	}
	for _, e := range evs {
		switch e.Type {
		case evidence.EventSealApplied, evidence.EventResealed:
			out.Seals = append(out.Seals, reportSealJSON{Number: e.Details.SealNumber, AppliedAt: timestamp(e.OccurredAt), AppliedBy: e.ActorUserID})
		case evidence.EventSealBroken, evidence.EventReturned:
			if e.Type == evidence.EventReturned && (e.Details.SealIntact == nil || *e.Details.SealIntact) {
				continue
			}
			if n := len(out.Seals); n > 0 && out.Seals[n-1].BrokenAt == nil {
				at := timestamp(e.OccurredAt)
				reason := e.Details.Reason
				if e.Type == evidence.EventReturned {
					reason = "found broken on return from " + e.CounterpartyExternal
				}
				out.Seals[n-1].BrokenAt, out.Seals[n-1].BrokenBy, out.Seals[n-1].Reason = &at, e.ActorUserID, reason
			}
		case evidence.EventVerified:
			out.Verifications = append(out.Verifications, reportVerificationJSON{At: timestamp(e.OccurredAt),
				Result: e.Details.Result, SHA256: e.Details.SHA256, By: e.ActorUserID, Findings: e.Details.Findings})
		}
	}
	return out, nil
}

// getReport answers an item's custody report, as JSON or, with
// format=html, as a printable page.
func (s *server) getReport(c *fiber.Ctx) error {
	it, err := s.item(c, access.ActionCaseRead)
	if err != nil {
		return err
	}
	ctx, p := c.UserContext(), principal(c)
	k, err := s.Cases.Get(ctx, it.CaseID)
	if err != nil {
		return err
	}
	markings, err := s.Authz.ItemMarkings(ctx, p, it.CaseID)
	if err != nil {
		return err
	}
	out, err := s.reportOf(ctx, p, k, []evidence.Item{it}, markings)
	if err != nil {
		return err
	}
	return s.sendReport(c, out, "Custody report "+it.ExhibitNumber)
}

// getCaseReport answers the custody report of every item of a case the
// caller may see, in exhibit order.
func (s *server) getCaseReport(c *fiber.Ctx) error {
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
	items, err := s.Items.CaseItems(ctx, caseID, markings, 0, maxReportItems+1)
	if err != nil {
		return err
	}
	truncated := len(items) > maxReportItems
	if truncated {
		items = items[:maxReportItems]
	}
	out, err := s.reportOf(ctx, p, k, items, markings)
	if err != nil {
		return err
	}
	out.Truncated = truncated
	return s.sendReport(c, out, "Custody report "+k.Reference)
}

func (s *server) sendReport(c *fiber.Ctx, out reportJSON, title string) error {
	switch c.Query("format", "json") {
	case "json":
		return c.JSON(out)
	case "html":
	default:
		return validate.Field("format", "must be json or html")
	}
	c.Set(fiber.HeaderContentSecurityPolicy, reportCSP)
	c.Type("html", "utf-8")
	var b strings.Builder
	err := reportPage.Execute(&b, map[string]any{"R": out, "Title": title,
		"Style": template.CSS(reportStyle(out.TLP))}) //nolint:gosec // built from constants of this file and a valid TLP
	if err != nil {
		return err
	}
	return c.SendString(b.String())
}

// reportStyles is the style of the printable report: A4, page numbers and
// the TLP marking at the top and foot of every printed page. Its hash, not
// 'unsafe-inline', lets it through the content security policy; there is
// one for each marking.
func reportStyle(tlp string) string {
	if !slices.Contains([]access.TLP{access.TLPClear, access.TLPGreen, access.TLPAmber, access.TLPAmberStrict, access.TLPRed}, access.TLP(tlp)) {
		tlp = string(access.TLPRed)
	}
	return `body{font:10.5pt/1.4 system-ui,sans-serif;margin:2em;color:#111}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;break-after:avoid}h3{font-size:1em}
table{border-collapse:collapse;width:100%;margin:.6em 0}
th,td{border:1px solid #999;padding:.25em .45em;text-align:left;vertical-align:top}
th{background:#eee}code{font-size:.85em;word-break:break-all}.tlp{font-weight:bold}
.broken{color:#a00;font-weight:bold}.item{break-before:page}.item:first-of-type{break-before:auto}
tr{break-inside:avoid}
@page{size:A4;margin:18mm 14mm;@top-center{content:"TLP:` + tlp + `";font:bold 9pt sans-serif}
@bottom-center{content:"TLP:` + tlp + ` \2014  page " counter(page) " of " counter(pages);font:9pt sans-serif}}
@media print{body{margin:0}.screen{display:none}}`
}

var reportCSP = func() string {
	csp := "default-src 'none'; style-src"
	for _, t := range []access.TLP{access.TLPClear, access.TLPGreen, access.TLPAmber, access.TLPAmberStrict, access.TLPRed} {
		sum := sha256.Sum256([]byte(reportStyle(string(t))))
		csp += " 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	return csp + "; frame-ancestors 'none'"
}()

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"person": func(r reportJSON, id string) string {
		if id == "" {
			return "Bevis"
		}
		if p, ok := r.People[id]; ok {
			return p.Name + " (" + id + ")"
		}
		return id
	},
	"agency": func(r reportJSON, id string) string {
		if a, ok := r.Agencies[id]; ok {
			return a.Name + " (" + id + ")"
		}
		return id
	},
	"step": func(t string) string { return strings.ReplaceAll(t, "_", " ") },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>{{.Style}}</style></head><body>
<p class="tlp">TLP:{{.R.TLP}}</p>
<h1>{{.Title}}</h1>
<table>
<tr><th>Case</th><td>{{.R.Case.Reference}}: {{.R.Case.Title}} ({{.R.Case.ID}})</td></tr>
<tr><th>Generated</th><td>{{.R.GeneratedAt}} for {{person .R .R.GeneratedBy}}</td></tr>
<tr><th>Items</th><td>{{len .R.Items}}{{if .R.Truncated}} (the first; the case holds more){{end}}</td></tr>
</table>
<h2>How to check this report</h2><p>{{.R.HowToVerify}}</p>
{{$r := .R}}{{range .R.Items}}<section class="item">
<h2>Exhibit {{.Item.ExhibitNumber}}: {{.Item.Title}}</h2>
<table>
<tr><th>Item</th><td>{{.Item.ID}}, {{.Item.Kind}}, TLP:{{.Item.TLP}}{{with .ParentExhibit}}, extracted from {{.}}{{end}}{{with .Item.ParentID}} ({{.}}){{end}}</td></tr>
<tr><th>Registered</th><td>{{.Item.CreatedAt}} by {{person $r .Item.CreatedBy}}</td></tr>
<tr><th>Source</th><td>{{.Item.Source.Device}} {{.Item.Source.Serial}} {{.Item.Source.Owner}}</td></tr>
<tr><th>Acquisition</th><td>{{.Item.Acquisition.Tool}} {{.Item.Acquisition.ToolVersion}}{{with .Item.Acquisition.By}}, by {{.}}{{end}}{{with .Item.Acquisition.Where}}, at {{.}}{{end}}</td></tr>
{{with .Item.Size}}<tr><th>Size</th><td>{{.}} bytes</td></tr>{{end}}
<tr><th>Custodian now</th><td>{{agency $r .Custody.State.CustodianAgencyID}}{{with .Custody.State.Location}}, {{.}}{{end}}{{with .Custody.State.Out}}; <strong>out with {{.Name}}, {{.Organisation}}{{with .Reference}} (ref. {{.}}){{end}} since {{.Since}}{{with .DueBack}}, due back {{.}}{{end}}{{if .Overdue}} — OVERDUE{{end}}</strong>{{end}}{{with .Custody.State.Final}}; {{.}}{{end}}</td></tr>
<tr><th>Chain</th><td>{{if .Chain.Verifies}}verifies: {{.Chain.Events}} events, every hash recomputed and every identifying fact held to it{{else}}<span class="broken">BROKEN: {{.Chain.Problem}}</span>{{end}}<br>head <code>{{.Chain.Head}}</code></td></tr>
</table>
<h3>Hashes</h3>
{{if eq .Item.Kind "physical_item"}}<p>A physical item: it has no content to hash.</p>{{else}}<table><tr><th>Algorithm</th><th>Declared at acquisition</th><th>Computed by Bevis on receipt</th><th>Agree</th></tr>
{{range .Hashes}}<tr><td>{{.Algorithm}}</td><td><code>{{.Declared}}</code></td><td><code>{{.Computed}}</code></td><td>{{with .Agrees}}{{if .}}yes{{else}}<span class="broken">NO</span>{{end}}{{end}}</td></tr>{{end}}
</table>{{end}}
{{if .Seals}}<h3>Seals</h3>
<table><tr><th>Number</th><th>Applied</th><th>Broken</th></tr>
{{range .Seals}}<tr><td>{{.Number}}</td><td>{{.AppliedAt}} by {{person $r .AppliedBy}}</td><td>{{with .BrokenAt}}{{.}}{{end}}{{if .BrokenAt}} by {{person $r .BrokenBy}}: {{.Reason}}{{else}}intact{{end}}</td></tr>{{end}}
</table>{{end}}
<h3>Custody events</h3>
<table><tr><th>#</th><th>Step</th><th>When (recorded)</th><th>Handed by</th><th>Received by</th><th>Where, why</th><th>Hash</th></tr>
{{range .Custody.Events}}<tr><td>{{.Seq}}</td><td>{{step .Type}}{{with .Supersedes}} (corrects {{.}}){{end}}</td>
<td>{{.OccurredAt}} ({{.RecordedAt}})</td>
<td>{{person $r .ActorUserID}}{{with .ActorAgencyID}}, {{agency $r .}}{{end}}</td>
<td>{{with .CounterpartyUserID}}{{person $r .}}{{end}}{{with .CounterpartyAgencyID}} {{agency $r .}}{{end}}{{with .CounterpartyExternal}}{{.}}{{end}}{{with .Details.Organisation}}, {{.}}{{end}}{{with .Details.Reference}} (ref. {{.}}){{end}}{{with .IdentityCheck}} (identity: {{.}}){{end}}</td>
<td>{{.Location}} {{.Purpose}}{{with .Details.SealNumber}} seal {{.}}{{end}}{{with .Details.SealIntact}}{{if .}} intact{{else}} <span class="broken">broken</span>{{end}}{{end}} {{.Details.Reason}} {{.Details.LegalBasis}} {{.Details.AuthorityReference}}{{with .Details.Result}} result: {{.}}{{end}}{{if .Details.Field}} {{.Details.Field}}: “{{.Details.Old}}” → “{{.Details.New}}”{{end}}{{with .Details.Derivation}} {{.What}} {{.Tool}} {{.ToolVersion}} {{.ParentExhibit}}{{.ChildExhibit}}{{end}} {{.Notes}}</td>
<td><code>{{.Hash}}</code></td></tr>{{end}}
</table>
<h3>Verification history</h3>
{{if .Verifications}}<table><tr><th>When</th><th>Result</th><th>SHA-256 read back</th><th>By</th></tr>
{{range .Verifications}}<tr><td>{{.At}}</td><td>{{if eq .Result "ok"}}ok{{else}}<span class="broken">{{.Result}}</span>{{end}}{{range .Findings}}; {{.}}{{end}}</td><td><code>{{.SHA256}}</code></td><td>{{person $r .By}}</td></tr>{{end}}
</table>{{else}}<p>Not yet verified after receipt.</p>{{end}}
</section>{{end}}
<p class="tlp">TLP:{{.R.TLP}}</p>
</body></html>`))
