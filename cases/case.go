// Package cases owns breach cases: their content, tasks, the attack
// timeline and the regulatory clocks. Who may see a case is decided by
// access; this package stores what a case says.
package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/validate"
)

// ErrNotFound is a case (or a clock of a case) that does not exist.
var ErrNotFound = errors.New("cases: not found")

// ErrStale is a write that named a version of the case that is no longer
// current: someone else changed it first. Nothing was changed.
var ErrStale = errors.New("cases: the case has changed since that version")

// Severity grades a case from 1 (low) to 4 (critical).
type Severity int

const (
	SeverityLow      Severity = 1
	SeverityMedium   Severity = 2
	SeverityHigh     Severity = 3
	SeverityCritical Severity = 4
)

// Valid reports whether s is 1 to 4.
func (s Severity) Valid() bool { return s >= SeverityLow && s <= SeverityCritical }

// String names the severity as people read it and as the API's document
// names its values: low, medium, high or critical.
func (s Severity) String() string {
	switch s {
	case SeverityLow:
		return "low"
	case SeverityMedium:
		return "medium"
	case SeverityHigh:
		return "high"
	case SeverityCritical:
		return "critical"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// PartyAwareness records when one party (the controller, a processor, an
// agency) became aware of the breach.
type PartyAwareness struct {
	Party   string
	AwareAt time.Time
}

// partyJSON is how party awareness is stored in its column.
type partyJSON struct {
	Party   string    `json:"party"`
	AwareAt time.Time `json:"aware_at"`
}

// Case is one investigation shared by member agencies.
type Case struct {
	ID                    string
	Reference             string // BEV-2026-0042
	Title                 string
	Summary               string
	Severity              Severity
	Status                Status
	StatusChangedAt       time.Time
	TLP                   access.TLP
	ClassificationLabel   string
	LeadAgencyID          string
	Tags                  []string
	AffectedOrganisations []string
	AffectedSystems       []string
	PersonalDataBreach    bool
	DiscoveredAt          *time.Time
	// AwareAt is when the organisation that must notify became aware of the
	// breach; the regulatory clocks run from it.
	AwareAt        *time.Time
	PartyAwareness []PartyAwareness
	Jurisdictions  []string // the clock rule sets that apply
	Clocks         []Clock
	Version        int64 // bumped by every change; the API's ETag
	CreatedBy      string
	CreatedAt      time.Time
	UpdatedAt      time.Time

	// ObserversMayDownload lets the case's observers download its
	// evidence; off unless its lead turns it on.
	ObserversMayDownload bool
}

type caseRow struct {
	ID                    string `gorm:"primaryKey"`
	Reference             string
	Title                 string
	Summary               string
	Severity              int
	Status                string
	StatusChangedAt       time.Time
	TLP                   string `gorm:"column:tlp"`
	ClassificationLabel   string
	LeadAgencyID          string
	AffectedOrganisations string // JSON array
	AffectedSystems       string // JSON array
	PersonalDataBreach    bool
	DiscoveredAt          *time.Time
	AwareAt               *time.Time
	PartyAwareness        string // JSON array of PartyAwareness
	Jurisdictions         string // JSON array
	ObserversMayDownload  bool
	Version               int64
	CreatedBy             string
	// The store sets the times from its own (injectable) clock.
	CreatedAt time.Time `gorm:"autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"autoUpdateTime:false"`
}

func (caseRow) TableName() string { return "cases" }

// toCase converts a row; tags and clocks are loaded separately.
func (r caseRow) toCase() Case {
	k := Case{ID: r.ID, Reference: r.Reference, Title: r.Title, Summary: r.Summary, Severity: Severity(r.Severity),
		Status: Status(r.Status), StatusChangedAt: r.StatusChangedAt, TLP: access.TLP(r.TLP),
		ClassificationLabel: r.ClassificationLabel, LeadAgencyID: r.LeadAgencyID, PersonalDataBreach: r.PersonalDataBreach,
		DiscoveredAt: utcPtr(r.DiscoveredAt), AwareAt: utcPtr(r.AwareAt), ObserversMayDownload: r.ObserversMayDownload,
		Version: r.Version, CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), Tags: []string{}}
	k.StatusChangedAt = k.StatusChangedAt.UTC()
	// The columns are only ever written by setContent, so they decode.
	_ = json.Unmarshal([]byte(r.AffectedOrganisations), &k.AffectedOrganisations)
	_ = json.Unmarshal([]byte(r.AffectedSystems), &k.AffectedSystems)
	_ = json.Unmarshal([]byte(r.Jurisdictions), &k.Jurisdictions)
	var parties []partyJSON
	_ = json.Unmarshal([]byte(r.PartyAwareness), &parties)
	k.PartyAwareness = make([]PartyAwareness, len(parties))
	for i, p := range parties {
		k.PartyAwareness[i] = PartyAwareness{Party: p.Party, AwareAt: p.AwareAt.UTC()}
	}
	return k
}

// setContent writes the editable content of k into the row.
func (r *caseRow) setContent(k Case) {
	r.Title, r.Summary, r.Severity = k.Title, k.Summary, int(k.Severity)
	r.TLP, r.ClassificationLabel = string(k.TLP), k.ClassificationLabel
	r.AffectedOrganisations, r.AffectedSystems = jsonText(k.AffectedOrganisations), jsonText(k.AffectedSystems)
	r.PersonalDataBreach, r.DiscoveredAt, r.AwareAt = k.PersonalDataBreach, k.DiscoveredAt, k.AwareAt
	parties := make([]partyJSON, len(k.PartyAwareness))
	for i, p := range k.PartyAwareness {
		parties[i] = partyJSON(p)
	}
	r.PartyAwareness, r.Jurisdictions = jsonText(parties), jsonText(k.Jurisdictions)
	r.ObserversMayDownload = k.ObserversMayDownload
}

func jsonText[T any](v []T) string {
	if v == nil {
		v = []T{}
	}
	b, _ := json.Marshal(v) // strings and times always marshal
	return string(b)
}

// utcPtr is t as the stores keep times: UTC, to the microsecond.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// Store keeps cases.
type Store struct {
	db    *gorm.DB
	now   func() time.Time
	rules ClockRules
	// counts caches the case list's counts per status (list_counts.go).
	counts *countCache
	// details caches the cases the list shows (list_details.go).
	details *detailCache
	// gatherMax: see defaultGatherMax (list.go).
	gatherMax int
}

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read the time from now (tests inject one).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithClockRules sets the regulatory clock rules (default DefaultClockRules).
func WithClockRules(r ClockRules) Option { return func(s *Store) { s.rules = r } }

// NewStore returns the case store in db.
func NewStore(db *gorm.DB, opts ...Option) *Store {
	s := &Store{db: db, now: time.Now, rules: DefaultClockRules(), counts: &countCache{}, details: &detailCache{}, gatherMax: defaultGatherMax}
	for _, o := range opts {
		o(s)
	}
	return s
}

// clock returns the current time as stored: UTC, to the microsecond.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// NewCase is the input to Create. A nil Jurisdictions means the default,
// ["gdpr"]; an empty one means no regulatory clocks.
type NewCase struct {
	Title                 string
	Summary               string
	Severity              Severity // 0 means medium
	TLP                   access.TLP
	ClassificationLabel   string
	Tags                  []string
	AffectedOrganisations []string
	AffectedSystems       []string
	PersonalDataBreach    bool
	DiscoveredAt          *time.Time
	AwareAt               *time.Time
	PartyAwareness        []PartyAwareness
	Jurisdictions         []string
	Tasks                 []PresetTask // from a template (see FromTemplate)
}

// normalize trims text, sorts and de-duplicates lists and puts times in UTC
// to the microsecond, so what is stored is what is validated.
func (k *Case) normalize() {
	k.Title, k.Summary, k.ClassificationLabel = strings.TrimSpace(k.Title), strings.TrimSpace(k.Summary), strings.TrimSpace(k.ClassificationLabel)
	k.Tags = cleanList(k.Tags, strings.ToLower)
	k.AffectedOrganisations = cleanList(k.AffectedOrganisations, nil)
	k.AffectedSystems = cleanList(k.AffectedSystems, nil)
	k.Jurisdictions = cleanList(k.Jurisdictions, strings.ToLower)
	k.DiscoveredAt, k.AwareAt = storedTime(k.DiscoveredAt), storedTime(k.AwareAt)
	for i := range k.PartyAwareness {
		k.PartyAwareness[i].Party = strings.TrimSpace(k.PartyAwareness[i].Party)
		k.PartyAwareness[i].AwareAt = k.PartyAwareness[i].AwareAt.UTC().Truncate(time.Microsecond)
	}
}

func cleanList(in []string, fold func(string) string) []string {
	out := make([]string, 0, len(in))
	for _, v := range in {
		v = strings.TrimSpace(v)
		if fold != nil {
			v = fold(v)
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func storedTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// validate checks the editable content of a case against the clock rules
// in force and the current time (facts cannot be in the future).
func (k Case) validate(rules ClockRules, now time.Time) error {
	var v validate.Errors
	v.Check(oneLine(k.Title, 1, 300), "title", "must be 1 to 300 characters on one line")
	v.Check(utf8.RuneCountInString(k.Summary) <= 20000 && !strings.ContainsRune(k.Summary, 0), "summary", "must be at most 20000 characters")
	v.Check(k.Severity.Valid(), "severity", "must be 1 (low), 2 (medium), 3 (high) or 4 (critical)")
	v.Check(k.TLP.Valid(), "tlp", "must be CLEAR, GREEN, AMBER, AMBER+STRICT or RED")
	v.Check(oneLine(k.ClassificationLabel, 0, 100), "classification_label", "must be at most 100 characters on one line")
	checkList(&v, "tags", k.Tags, 50, 64)
	checkList(&v, "affected_organisations", k.AffectedOrganisations, 200, 200)
	checkList(&v, "affected_systems", k.AffectedSystems, 500, 200)
	v.Check(k.DiscoveredAt == nil || !k.DiscoveredAt.After(now), "discovered_at", "must not be in the future")
	v.Check(k.AwareAt == nil || !k.AwareAt.After(now), "aware_at", "must not be in the future")
	v.Check(k.AwareAt == nil || k.DiscoveredAt == nil || !k.AwareAt.Before(*k.DiscoveredAt), "aware_at",
		"must not be before discovered_at")
	v.Check(len(k.PartyAwareness) <= 50, "party_awareness", "must list at most 50 parties")
	for _, pa := range k.PartyAwareness {
		v.Check(oneLine(pa.Party, 1, 200), "party_awareness", "each party must be named in 1 to 200 characters on one line")
		v.Check(!pa.AwareAt.IsZero() && !pa.AwareAt.After(now), "party_awareness", "each aware_at must be given and not in the future")
	}
	for _, j := range k.Jurisdictions {
		if !rules.has(j) {
			v.Add("jurisdictions", fmt.Sprintf("%q is not a known jurisdiction; known: %s", j, strings.Join(rules.Jurisdictions(), ", ")))
		}
	}
	return v.Err()
}

func oneLine(s string, lo, hi int) bool {
	n := utf8.RuneCountInString(s)
	return n >= lo && n <= hi && !strings.ContainsAny(s, "\x00\r\n")
}

func checkList(v *validate.Errors, field string, list []string, most, length int) {
	v.Check(len(list) <= most, field, fmt.Sprintf("must list at most %d entries", most))
	for _, s := range list {
		if !oneLine(s, 1, length) {
			v.Add(field, fmt.Sprintf("each entry must be 1 to %d characters on one line", length))
			return
		}
	}
}

// Create opens a case led by the creator's agency, with the creator as its
// lead, its reference allocated, its clocks derived and its first status
// recorded, all in one transaction.
func (s *Store) Create(ctx context.Context, creator access.Principal, in NewCase) (Case, error) {
	k := Case{Title: in.Title, Summary: in.Summary, Severity: in.Severity, TLP: in.TLP, ClassificationLabel: in.ClassificationLabel,
		Tags: in.Tags, AffectedOrganisations: in.AffectedOrganisations, AffectedSystems: in.AffectedSystems,
		PersonalDataBreach: in.PersonalDataBreach, DiscoveredAt: in.DiscoveredAt, AwareAt: in.AwareAt,
		PartyAwareness: slices.Clone(in.PartyAwareness), Jurisdictions: in.Jurisdictions}
	if k.Severity == 0 {
		k.Severity = SeverityMedium
	}
	if k.TLP == "" {
		k.TLP = access.TLPAmber
	}
	if k.Jurisdictions == nil {
		k.Jurisdictions = []string{"gdpr"}
	}
	k.normalize()
	now := s.clock()
	if err := k.validate(s.rules, now); err != nil {
		return Case{}, err
	}
	row := caseRow{ID: newID(), Status: string(StatusNew), StatusChangedAt: now, LeadAgencyID: creator.AgencyID,
		Version: 1, CreatedBy: creator.UserID, CreatedAt: now, UpdatedAt: now}
	row.setContent(k)
	// The case is what is written: answering with it saves reading it back.
	created := row.toCase()
	created.Tags = append(created.Tags, k.Tags...)
	clocks, _ := s.deriveClocks(created, nil) // a new case has none to drop
	// The rest answers nothing the creation needs: on PostgreSQL it is one
	// statement with the reference's, one round trip where there were
	// eight or more, built before the creation's turn.
	gdb := s.db.WithContext(ctx)
	write, err := db.PrepareOneStatement(gdb, referenceOf(gdb, now.Year(), &row.Reference), func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := recordChange(ctx, tx, "cases.post", "cases", row.ID, row.ID); err != nil {
			return err
		}
		if err := access.AddCreator(tx, row.ID, creator, now); err != nil {
			return err
		}
		if err := insertTags(tx, row.ID, k.Tags); err != nil {
			return err
		}
		if err := recordTransition(tx, row.ID, "", StatusNew, creator, now, ""); err != nil {
			return err
		}
		if err := addPresetTasks(tx, row.ID, creator, in.Tasks, now); err != nil {
			return err
		}
		if len(clocks) > 0 {
			return tx.Create(&clocks).Error
		}
		return nil
	})
	if err == nil {
		// Creations of a year take its reference counter one after another.
		err = write.RunSerial(ctx, s.db)
	}
	if err != nil {
		return Case{}, fmt.Errorf("cases: create: %w", err)
	}
	created.Reference = row.Reference
	for _, c := range clocks {
		created.Clocks = append(created.Clocks, c.toClock(now))
	}
	s.rules.order(created.Clocks)
	return created, nil
}

// Get returns one case with its tags and clocks. Whether the caller may see
// it is access's to say.
func (s *Store) Get(ctx context.Context, id string) (Case, error) {
	var row caseRow
	db := s.db.WithContext(ctx)
	err := db.Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Case{}, ErrNotFound
	}
	if err != nil {
		return Case{}, fmt.Errorf("cases: get: %w", err)
	}
	list, err := s.withDetails(db, []caseRow{row})
	if err != nil {
		return Case{}, err
	}
	return list[0], nil
}

// withDetails converts rows to cases with their tags and clocks, in two
// queries whatever the number of rows.
func (s *Store) withDetails(db *gorm.DB, rows []caseRow) ([]Case, error) {
	ds, err := loadDetails(db, rows)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	out := make([]Case, len(ds))
	for i, d := range ds {
		out[i] = s.render(d, now)
	}
	return out, nil
}

// caseDetails is a case as stored, with its tags, and its clocks as rows:
// their states follow the time (render).
type caseDetails struct {
	k      Case // Clocks unset
	clocks []clockRow
}

// loadDetails reads the tags and clocks of rows, in two queries whatever
// the number of rows.
func loadDetails(db *gorm.DB, rows []caseRow) ([]caseDetails, error) {
	out := make([]caseDetails, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]string, len(rows))
	at := make(map[string]int, len(rows))
	for i, r := range rows {
		out[i].k = r.toCase()
		ids[i] = r.ID
		at[r.ID] = i
	}
	var tags []tagRow
	if err := db.Where("case_id IN ?", ids).Order("tag").Find(&tags).Error; err != nil {
		return nil, fmt.Errorf("cases: tags: %w", err)
	}
	for _, t := range tags {
		out[at[t.CaseID]].k.Tags = append(out[at[t.CaseID]].k.Tags, t.Tag)
	}
	var clocks []clockRow
	if err := db.Where("case_id IN ?", ids).Find(&clocks).Error; err != nil {
		return nil, fmt.Errorf("cases: clocks: %w", err)
	}
	for _, c := range clocks {
		d := &out[at[c.CaseID]]
		d.clocks = append(d.clocks, c)
	}
	return out, nil
}

// render is the case of d as it stands at now (the states of its clocks),
// sharing nothing with d: d may be cached, the case is the caller's.
func (s *Store) render(d caseDetails, now time.Time) Case {
	k := d.k
	k.Tags = slices.Clone(k.Tags)
	k.AffectedOrganisations = slices.Clone(k.AffectedOrganisations)
	k.AffectedSystems = slices.Clone(k.AffectedSystems)
	k.PartyAwareness = slices.Clone(k.PartyAwareness)
	k.Jurisdictions = slices.Clone(k.Jurisdictions)
	k.DiscoveredAt, k.AwareAt = utcPtr(k.DiscoveredAt), utcPtr(k.AwareAt)
	for _, c := range d.clocks {
		k.Clocks = append(k.Clocks, c.toClock(now))
	}
	s.rules.order(k.Clocks)
	return k
}

type tagRow struct {
	CaseID string `gorm:"primaryKey"`
	Tag    string `gorm:"primaryKey"`
}

func (tagRow) TableName() string { return "case_tags" }

func replaceTags(tx *gorm.DB, caseID string, tags []string) error {
	if err := tx.Where("case_id = ?", caseID).Delete(&tagRow{}).Error; err != nil {
		return err
	}
	return insertTags(tx, caseID, tags)
}

// insertTags adds tags to a case that has none of them, in one statement.
func insertTags(tx *gorm.DB, caseID string, tags []string) error {
	if len(tags) == 0 {
		return nil
	}
	rows := make([]tagRow, len(tags))
	for i, t := range tags {
		rows[i] = tagRow{CaseID: caseID, Tag: t}
	}
	return tx.Create(&rows).Error
}
