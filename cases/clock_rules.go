package cases

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ClockRule derives one regulatory deadline from a case's facts:
// due = anchor + After.
type ClockRule struct {
	ID           string // unique, e.g. nis2.art23.notification
	Jurisdiction string // the set it belongs to, declared on a case, e.g. nis2
	Title        string
	// Anchor is the fact the clock runs from: "aware_at", "discovered_at",
	// or "met:<rule ID>", the time another clock of the case was met
	// (chaining: until that clock is met, this one has no due time).
	Anchor string
	After  Period
	// Requires lists the facts that must hold for the clock to apply; the
	// one fact known today is "personal_data_breach".
	Requires []string
}

// Period is a legal time limit: calendar months, then a duration.
type Period struct {
	Months   int
	Duration time.Duration
}

func (p Period) addTo(t time.Time) time.Time { return t.AddDate(0, p.Months, 0).Add(p.Duration) }

// String renders p as ParsePeriod reads it.
func (p Period) String() string {
	if p.Months > 0 {
		return strconv.Itoa(p.Months) + "mo"
	}
	return p.Duration.String()
}

// ParsePeriod reads "72h", "30m" (Go durations) or "1mo" (calendar months).
func ParsePeriod(s string) (Period, error) {
	if n, ok := strings.CutSuffix(s, "mo"); ok {
		months, err := strconv.Atoi(n)
		if err != nil || months < 1 || months > 120 {
			return Period{}, fmt.Errorf("%q is not a number of months from 1mo to 120mo", s)
		}
		return Period{Months: months}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return Period{}, fmt.Errorf("%q is not a positive duration like 24h or a number of months like 1mo", s)
	}
	return Period{Duration: d}, nil
}

const factPersonalDataBreach = "personal_data_breach"

func (r ClockRule) appliesTo(k Case) bool {
	if !slices.Contains(k.Jurisdictions, r.Jurisdiction) {
		return false
	}
	for _, f := range r.Requires {
		if f == factPersonalDataBreach && !k.PersonalDataBreach {
			return false
		}
	}
	return true
}

// anchorOf is the time the clock runs from, or nil while it is unknown.
func (r ClockRule) anchorOf(k Case, clocks map[string]clockRow) *time.Time {
	switch r.Anchor {
	case "aware_at":
		return k.AwareAt
	case "discovered_at":
		return k.DiscoveredAt
	}
	if c, ok := clocks[strings.TrimPrefix(r.Anchor, "met:")]; ok && c.MetAt != nil {
		return utcPtr(c.MetAt)
	}
	return nil
}

// ClockRules is the set of rules in force, in order: a chained rule comes
// after the rule it runs from.
type ClockRules struct {
	rules []ClockRule
}

// DefaultClockRules are GDPR Art. 33 and NIS2 Art. 23.
//
//   - gdpr.art33: notify the supervisory authority within 72 hours of
//     becoming aware of a personal-data breach.
//   - nis2.art23.early_warning: early warning within 24 hours of becoming
//     aware of a significant incident.
//   - nis2.art23.notification: incident notification within 72 hours.
//   - nis2.art23.final_report: final report within one month of the
//     incident notification, so it has no due time until that is met.
func DefaultClockRules() ClockRules {
	return ClockRules{rules: []ClockRule{
		{ID: "gdpr.art33", Jurisdiction: "gdpr", Title: "GDPR Art. 33: notify the supervisory authority",
			Anchor: "aware_at", After: Period{Duration: 72 * time.Hour}, Requires: []string{factPersonalDataBreach}},
		{ID: "nis2.art23.early_warning", Jurisdiction: "nis2", Title: "NIS2 Art. 23(4)(a): early warning to the CSIRT or competent authority",
			Anchor: "aware_at", After: Period{Duration: 24 * time.Hour}},
		{ID: "nis2.art23.notification", Jurisdiction: "nis2", Title: "NIS2 Art. 23(4)(b): incident notification",
			Anchor: "aware_at", After: Period{Duration: 72 * time.Hour}},
		{ID: "nis2.art23.final_report", Jurisdiction: "nis2", Title: "NIS2 Art. 23(4)(d): final report",
			Anchor: "met:nis2.art23.notification", After: Period{Months: 1}},
	}}
}

// Rules returns the rules in force, in order.
func (r ClockRules) Rules() []ClockRule { return slices.Clone(r.rules) }

// Jurisdictions lists the jurisdictions the rules know, sorted.
func (r ClockRules) Jurisdictions() []string {
	var out []string
	for _, rule := range r.rules {
		out = append(out, rule.Jurisdiction)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (r ClockRules) has(jurisdiction string) bool {
	return slices.ContainsFunc(r.rules, func(c ClockRule) bool { return c.Jurisdiction == jurisdiction })
}

// With returns r with more rules added after its own, checked as a whole.
func (r ClockRules) With(more ...ClockRule) (ClockRules, error) {
	out := ClockRules{rules: append(slices.Clone(r.rules), more...)}
	seen := map[string]bool{}
	for _, rule := range out.rules {
		switch {
		case !validClockID(rule.ID):
			return ClockRules{}, fmt.Errorf("clock rule %q: id must be 1 to 64 of a-z, 0-9, '.', '_', '-'", rule.ID)
		case seen[rule.ID]:
			return ClockRules{}, fmt.Errorf("clock rule %q is defined twice", rule.ID)
		case !validClockID(rule.Jurisdiction):
			return ClockRules{}, fmt.Errorf("clock rule %q: jurisdiction must be 1 to 64 of a-z, 0-9, '.', '_', '-'", rule.ID)
		case !oneLine(rule.Title, 1, 200):
			return ClockRules{}, fmt.Errorf("clock rule %q: title must be 1 to 200 characters on one line", rule.ID)
		case rule.After.Months <= 0 && rule.After.Duration <= 0:
			return ClockRules{}, fmt.Errorf("clock rule %q: after must be positive", rule.ID)
		}
		switch from, chained := strings.CutPrefix(rule.Anchor, "met:"); {
		case rule.Anchor == "aware_at" || rule.Anchor == "discovered_at":
		case chained && seen[from]:
		case chained:
			return ClockRules{}, fmt.Errorf("clock rule %q runs from %q, which must be defined before it", rule.ID, from)
		default:
			return ClockRules{}, fmt.Errorf("clock rule %q: anchor must be aware_at, discovered_at or met:<rule id>", rule.ID)
		}
		for _, f := range rule.Requires {
			if f != factPersonalDataBreach {
				return ClockRules{}, fmt.Errorf("clock rule %q requires unknown fact %q; known: %s", rule.ID, f, factPersonalDataBreach)
			}
		}
		seen[rule.ID] = true
	}
	return out, nil
}

// ruleFile is the JSON of a clock rules file.
type ruleFile struct {
	Rules []struct {
		ID           string   `json:"id"`
		Jurisdiction string   `json:"jurisdiction"`
		Title        string   `json:"title"`
		Anchor       string   `json:"anchor"`
		After        string   `json:"after"`
		Requires     []string `json:"requires"`
	} `json:"rules"`
}

// LoadClockRules reads a deployment's national rules and returns the
// defaults with them added. The file is JSON:
//
//	{"rules": [{"id": "no.nsm.varsel", "jurisdiction": "no-sikkerhetsloven",
//	  "title": "Varsle NSM", "anchor": "aware_at", "after": "24h",
//	  "requires": []}]}
func LoadClockRules(r io.Reader) (ClockRules, error) {
	raw, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return ClockRules{}, fmt.Errorf("clock rules: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var f ruleFile
	if err := dec.Decode(&f); err != nil {
		return ClockRules{}, fmt.Errorf("clock rules: %w", err)
	}
	more := make([]ClockRule, len(f.Rules))
	for i, fr := range f.Rules {
		after, err := ParsePeriod(fr.After)
		if err != nil {
			return ClockRules{}, fmt.Errorf("clock rules: rule %q: after: %w", fr.ID, err)
		}
		more[i] = ClockRule{ID: fr.ID, Jurisdiction: fr.Jurisdiction, Title: fr.Title, Anchor: fr.Anchor, After: after, Requires: fr.Requires}
	}
	rules, err := DefaultClockRules().With(more...)
	if err != nil {
		return ClockRules{}, fmt.Errorf("clock rules: %w", err)
	}
	return rules, nil
}
