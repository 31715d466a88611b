package api

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/reports"
)

// sitrepStyle is the only style of the printable situation report; its
// hash lets it through the content security policy. On paper: A4, page
// numbers in the bottom margin, and the TLP marking at the top and bottom of
// every page, as TLP 2.0 asks (the table's header and footer groups repeat
// on each printed page), in the colours it prescribes on black.
const sitrepStyle = `body{font:10.5pt/1.4 system-ui,sans-serif;margin:1.5em;color:#111}
h1{font-size:1.35em;margin:.2em 0}h2{font-size:1.1em;margin:1em 0 .3em;border-bottom:2px solid #333}
h3{font-size:1em;margin:.6em 0 .2em}table.data{border-collapse:collapse;width:100%;margin:.3em 0}
.data th,.data td{border:1px solid #999;padding:.2em .4em;text-align:left;vertical-align:top}.data th{background:#eee}
.page{width:100%;border-collapse:collapse}.page>thead td,.page>tfoot td{padding:.3em 0;text-align:right}
.tlp{display:inline-block;background:#000;font:bold 12pt/1.2 system-ui,sans-serif;padding:.1em .5em}
.tlp-RED{color:#FF2B2B}.tlp-AMBER,.tlp-AMBERSTRICT{color:#FFC000}.tlp-GREEN{color:#33FF00}.tlp-CLEAR{color:#FFFFFF}
.muted{color:#555}ul{margin:.2em 0;padding-left:1.3em}.warn{font-weight:bold}
@page{size:A4;margin:14mm 12mm 16mm;@bottom-center{content:"Page " counter(page) " of " counter(pages);font:9pt system-ui,sans-serif}}
@media print{body{margin:0}h2{break-after:avoid}tr{break-inside:avoid}}`

var sitrepCSP = func() string {
	sum := sha256.Sum256([]byte(sitrepStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'"
}()

var sitrepPage = template.Must(template.New("sitrep").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"whenp": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"span": func(seconds int64) string {
		d := time.Duration(seconds) * time.Second
		if d >= 48*time.Hour {
			return fmt.Sprintf("%d days", int(d.Hours()/24))
		}
		return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	},
	"join": func(v []string) string {
		if len(v) == 0 {
			return "none recorded"
		}
		return strings.Join(v, ", ")
	},
	"clock": func(state string) string {
		return map[string]string{"met": "met", "overdue": "OVERDUE", "due_24h": "due within 24 hours",
			"due_72h": "due within 72 hours", "pending": "pending"}[state]
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{if .Issued}}Situation report {{.R.Reference}} #{{.Issued.Number}}{{else}}Situation report {{.R.Reference}}{{end}}</title>
<style>{{.Style}}</style></head><body>
<table class="page"><thead><tr><td><span class="tlp tlp-{{.MarkClass}}">TLP:{{.Marking}}</span></td></tr></thead>
<tfoot><tr><td><span class="tlp tlp-{{.MarkClass}}">TLP:{{.Marking}}</span></td></tr></tfoot>
<tbody><tr><td>
<h1>Situation report: {{.R.Reference}} {{.R.Title}}</h1>
<p class="muted">{{if .Issued}}Issued report #{{.Issued.Number}}, {{when .Issued.IssuedAt}}; SHA-256 {{.Issued.SHA256}}{{else}}As of {{when .R.GeneratedAt}} (not issued){{end}}.
{{if .R.Since}}Covers what happened since report #{{.R.SinceNumber}} of {{whenp .R.Since}}.{{else}}No report was issued before.{{end}}</p>
{{with .R.Conditions}}
<h2>Conditions</h2>
<table class="data">
<tr><th>Phase</th><td>{{.Phase}}, for {{span .SecondsInPhase}} (since {{when .PhaseSince}})</td></tr>
<tr><th>Severity</th><td>{{.Severity}} of 4</td></tr>
<tr><th>Marking</th><td>TLP:{{.TLP}}{{with .ClassificationLabel}}, {{.}}{{end}}</td></tr>
<tr><th>Lead agency</th><td>{{index $.Agencies .LeadAgencyID}}</td></tr>
<tr><th>Affected organisations</th><td>{{join .AffectedOrganisations}}</td></tr>
<tr><th>Affected systems</th><td>{{join .AffectedSystems}}</td></tr>
<tr><th>Personal data breach</th><td>{{if .PersonalDataBreach}}yes{{else}}no{{end}}</td></tr>
</table>
{{with .Summary}}<p>{{.}}</p>{{end}}
<h3>Regulatory clocks</h3>
{{if .Clocks}}<table class="data"><tr><th>Clock</th><th>Due</th><th>State</th></tr>
{{range .Clocks}}<tr><td>{{.Title}}</td><td>{{whenp .DueAt}}</td><td{{if eq .State "overdue"}} class="warn"{{end}}>{{clock .State}}{{with .MetAt}} ({{whenp .}}){{end}}</td></tr>{{end}}
</table>{{else}}<p>No clocks apply.</p>{{end}}
<h3>Key timeline events since the last report ({{.EventsSince}}{{if .EventsSinceMore}}+{{end}} in all)</h3>
{{if .KeyEvents}}<table class="data"><tr><th>Occurred</th><th>Event</th><th>ATT&amp;CK</th></tr>
{{range .KeyEvents}}<tr><td>{{when .OccurredAt}}</td><td>{{.Description}}</td><td>{{join .Techniques}}</td></tr>{{end}}
</table>{{else}}<p>None.</p>{{end}}
{{end}}
<h2>Actions</h2>
{{range .R.Actions.Tasks}}<h3>{{index $.Agencies .AgencyID}}</h3><ul>
{{range .Done}}<li>Done: {{.Title}}</li>{{end}}{{range .InProgress}}<li>In progress: {{.Title}}</li>{{end}}</ul>
{{else}}<p>No tasks done or in progress since the last report.</p>{{end}}
<h3>Evidence received</h3>{{if .R.Actions.EvidenceReceived}}<ul>{{range .R.Actions.EvidenceReceived}}<li>{{.ExhibitNumber}} {{.Title}} ({{when .At}})</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
<h3>Evidence handed over</h3>{{if .R.Actions.HandedOver}}<ul>{{range .R.Actions.HandedOver}}<li>{{.ExhibitNumber}} {{.Title}} to {{index $.Agencies .AgencyID}} ({{when .At}})</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
<h2>Needs</h2>
<h3>Clocks at risk</h3>{{if .R.Needs.ClocksAtRisk}}<ul>{{range .R.Needs.ClocksAtRisk}}<li class="warn">{{.Title}}: {{clock .State}}, due {{whenp .DueAt}}</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
<h3>Blocked tasks</h3>{{if .R.Needs.Blocked}}<ul>{{range .R.Needs.Blocked}}<li>{{.Title}} ({{index $.Agencies .AgencyID}})</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
<h3>Overdue tasks</h3>{{if .R.Needs.Overdue}}<ul>{{range .R.Needs.Overdue}}<li>{{.Title}} ({{index $.Agencies .AgencyID}}), due {{whenp .DueAt}}</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
<h3>Open transfer offers</h3>{{if .R.Needs.OpenOffers}}<ul>{{range .R.Needs.OpenOffers}}<li>{{.ExhibitNumber}} {{.Title}} offered to {{index $.Agencies .AgencyID}} ({{when .At}})</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
{{if .R.Changes}}<h2>Changed since the last report</h2><table class="data"><tr><th>What</th><th>Was</th><th>Is</th></tr>
{{range .R.Changes}}<tr><td>{{.What}}</td><td>{{.From}}</td><td>{{.To}}</td></tr>{{end}}</table>{{end}}
</td></tr></tbody></table></body></html>`))

// tlpOrder ranks markings from least to most restrictive.
var tlpOrder = map[access.TLP]int{access.TLPClear: 0, access.TLPGreen: 1, access.TLPAmber: 2, access.TLPAmberStrict: 3, access.TLPRed: 4}

// sitrepMarking is the marking of the whole report: the most restrictive of
// the case's and of every item it shows (TLP 2.0: a document carries the
// strictest marking of what it holds).
func sitrepMarking(r reports.Sitrep) access.TLP {
	m := r.Conditions.TLP
	raise := func(t access.TLP) {
		if tlpOrder[t] > tlpOrder[m] {
			m = t
		}
	}
	for _, e := range r.Conditions.KeyEvents {
		raise(e.TLP)
	}
	for _, list := range [][]reports.ItemLine{r.Actions.EvidenceReceived, r.Actions.HandedOver, r.Needs.OpenOffers} {
		for _, it := range list {
			raise(it.TLP)
		}
	}
	return m
}

func sendSitrepPage(c *fiber.Ctx, r reports.Sitrep, issued *reports.Issued) error {
	marking := sitrepMarking(r)
	agencies := map[string]string{}
	for _, a := range r.Agencies {
		agencies[a.ID] = a.Name
	}
	c.Set(fiber.HeaderContentSecurityPolicy, sitrepCSP)
	c.Type("html", "utf-8")
	var b strings.Builder
	err := sitrepPage.Execute(&b, map[string]any{"R": r, "Issued": issued, "Marking": string(marking),
		"MarkClass": strings.ReplaceAll(string(marking), "+", ""), "Agencies": agencies,
		"Style": template.CSS(sitrepStyle)}) //nolint:gosec // a constant of this file, never input
	if err != nil {
		return err
	}
	return c.SendString(b.String())
}
