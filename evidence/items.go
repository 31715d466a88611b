package evidence

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/period"
	"github.com/bevis-ir/bevis/internal/validate"
)

// ErrItemNotFound is an evidence item that does not exist.
var ErrItemNotFound = errors.New("evidence: item not found")

// Kind is what sort of evidence an item is.
type Kind string

// KindPhysical items have no content, only their custody.
const KindPhysical Kind = "physical_item"

func (k Kind) valid() bool {
	switch k {
	case "disk_image", "memory_dump", "network_capture", "logs", "mobile_extraction", "document", KindPhysical, "other":
		return true
	}
	return false
}

// Source is where an item came from.
type Source struct {
	Device string
	Serial string
	Owner  string
}

// Acquisition is how an item was taken: with which tool, by whom, when
// and where.
type Acquisition struct {
	Tool        string
	ToolVersion string
	By          string
	At          *time.Time
	Where       string
}

// Hashes are the digests of an item's content, lowercase hex.
type Hashes struct {
	SHA256 string
	SHA1   string
	MD5    string
}

// Item is one exhibit of a case.
type Item struct {
	ID            string
	CaseID        string
	ExhibitSeq    int    // its place among the case's exhibits: 7 for …-E007
	ExhibitNumber string // like BEV-2026-0042-E007
	Title         string
	Description   string
	Kind          Kind
	Source        Source
	Acquisition   Acquisition
	Declared      Hashes // as the acquisition tool reported them
	TLP           access.TLP
	ParentID      string
	CreatedBy     string
	CreatedAt     time.Time

	// Content, set once when the bytes are stored, hashed and locked.
	ContentStatus string // none, received or rejected
	Filename      string // the content's name on the uploader's machine, as data only
	Size          int64
	Computed      Hashes // computed by Bevis as the bytes arrived
	ObjectKey     string
	ObjectVersion string
	KeyID         string
	ReceivedAt    *time.Time
}

type itemRow struct {
	ID                 string `gorm:"primaryKey"`
	CaseID             string
	ExhibitSeq         int
	ExhibitNumber      string
	Title              string
	Description        string
	Kind               string
	Physical           bool
	SourceDevice       string
	SourceSerial       string
	SourceOwner        string
	AcquisitionTool    string
	AcquisitionVersion string
	AcquiredBy         string
	AcquiredAt         *time.Time
	AcquiredWhere      string
	DeclaredSHA256     string `gorm:"column:declared_sha256"`
	DeclaredSHA1       string `gorm:"column:declared_sha1"`
	DeclaredMD5        string `gorm:"column:declared_md5"`
	TLP                string `gorm:"column:tlp"`
	ParentID           *string
	CreatedBy          string
	CreatedAt          time.Time
	ContentStatus      string
	Size               *int64
	SHA256             *string `gorm:"column:sha256"`
	SHA1               *string `gorm:"column:sha1"`
	MD5                *string `gorm:"column:md5"`
	ObjectKey          *string
	ObjectVersion      *string
	KeyID              *string
	ReceivedAt         *time.Time
	OriginalFilename   string
}

func (itemRow) TableName() string { return "evidence_items" }

func (r itemRow) item() Item {
	it := Item{ID: r.ID, CaseID: r.CaseID, ExhibitSeq: r.ExhibitSeq, ExhibitNumber: r.ExhibitNumber, Title: r.Title, Description: r.Description,
		Kind: Kind(r.Kind), Source: Source{Device: r.SourceDevice, Serial: r.SourceSerial, Owner: r.SourceOwner},
		Acquisition: Acquisition{Tool: r.AcquisitionTool, ToolVersion: r.AcquisitionVersion, By: r.AcquiredBy,
			At: r.AcquiredAt, Where: r.AcquiredWhere},
		Declared: Hashes{SHA256: r.DeclaredSHA256, SHA1: r.DeclaredSHA1, MD5: r.DeclaredMD5},
		TLP:      access.TLP(r.TLP), ParentID: str(r.ParentID), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt,
		ContentStatus: r.ContentStatus, Filename: r.OriginalFilename, Computed: Hashes{SHA256: str(r.SHA256), SHA1: str(r.SHA1), MD5: str(r.MD5)},
		ObjectKey: str(r.ObjectKey), ObjectVersion: str(r.ObjectVersion), KeyID: str(r.KeyID), ReceivedAt: r.ReceivedAt}
	if r.Size != nil {
		it.Size = *r.Size
	}
	return it
}

type counterRow struct {
	CaseID     string `gorm:"primaryKey"`
	LastSeq    int
	LastNumber int
}

func (counterRow) TableName() string { return "evidence_counters" }

// Items keeps evidence items and their custody ledgers. Whether the caller
// may see or change the case is decided before, by access.Authorize.
type Items struct {
	db  *gorm.DB
	now func() time.Time
	// retention is how long evidence is kept at least: disposal is refused
	// before it has passed.
	retention period.Period
}

// NewItems returns the item store in db; retention is the least time an
// item is kept before it may be disposed of.
func NewItems(db *gorm.DB, retention period.Period) *Items {
	return &Items{db: db, retention: retention, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// SetClock replaces the clock, for tests of retention.
func (s *Items) SetClock(now func() time.Time) { s.now = now }

// NewItem is the input to Register.
type NewItem struct {
	Title       string
	Description string
	Kind        Kind
	Source      Source
	Acquisition Acquisition
	Declared    Hashes
	TLP         access.TLP
	ParentID    string
	// Extracted says what was extracted from the parent (a partition, a
	// mailbox, a carved file); the acquisition's tool is what did it.
	Extracted string
	// The registration is the first custody event: where the item is and
	// when it was taken into custody (default: now).
	Location   string
	OccurredAt *time.Time
	Notes      string
}

var (
	hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)
	hexSHA1   = regexp.MustCompile(`^[0-9a-f]{40}$`)
	hexMD5    = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

func (in *NewItem) normalize() {
	in.Title = strings.TrimSpace(in.Title)
	in.Declared = Hashes{SHA256: strings.ToLower(strings.TrimSpace(in.Declared.SHA256)),
		SHA1: strings.ToLower(strings.TrimSpace(in.Declared.SHA1)), MD5: strings.ToLower(strings.TrimSpace(in.Declared.MD5))}
	if in.TLP == "" {
		in.TLP = access.TLPAmber
	}
}

func (in NewItem) validate(now time.Time) error {
	var v validate.Errors
	v.Line("title", in.Title, 1, 300)
	v.Text("description", in.Description, 20000)
	v.Check(in.Kind.valid(), "kind", "must be disk_image, memory_dump, network_capture, logs, mobile_extraction, document, physical_item or other")
	for field, s := range map[string]string{"source.device": in.Source.Device, "source.serial": in.Source.Serial,
		"source.owner": in.Source.Owner, "acquisition.tool": in.Acquisition.Tool,
		"acquisition.tool_version": in.Acquisition.ToolVersion, "acquisition.by": in.Acquisition.By,
		"acquisition.where": in.Acquisition.Where, "location": in.Location} {
		v.Line(field, s, 0, 300)
	}
	v.Text("notes", in.Notes, 20000)
	v.Line("extracted", in.Extracted, 0, 300)
	v.Check(in.ParentID != "" || in.Extracted == "", "extracted", "only an item derived from a parent is extracted")
	v.Check(in.Declared.SHA256 == "" || hexSHA256.MatchString(in.Declared.SHA256), "declared_hashes.sha256", "must be 64 hex digits")
	v.Check(in.Declared.SHA1 == "" || hexSHA1.MatchString(in.Declared.SHA1), "declared_hashes.sha1", "must be 40 hex digits")
	v.Check(in.Declared.MD5 == "" || hexMD5.MatchString(in.Declared.MD5), "declared_hashes.md5", "must be 32 hex digits")
	v.Check(in.Kind != KindPhysical || in.Declared == Hashes{}, "declared_hashes", "a physical item has no content to hash")
	v.Check(in.TLP.Valid(), "tlp", "must be CLEAR, GREEN, AMBER, AMBER+STRICT or RED")
	v.Check(in.OccurredAt == nil || !in.OccurredAt.After(now.Add(maxClockSkew)), "occurred_at", "must not be in the future")
	v.Check(in.Acquisition.At == nil || !in.Acquisition.At.After(now.Add(maxClockSkew)), "acquisition.at", "must not be in the future")
	return v.Err()
}

// maxClockSkew is how far in the future a reported time may be, for
// clocks that run a little fast.
const maxClockSkew = 5 * time.Minute

// Register records a new item of a case, numbers it as an exhibit of the
// case (caseRef-E001, -E002, …), and opens its custody ledger with the
// actor's agency as custodian, all in one transaction.
func (s *Items) Register(ctx context.Context, p access.Principal, caseID, caseRef string, in NewItem) (Item, error) {
	in.normalize()
	now := s.now()
	if err := in.validate(now); err != nil {
		return Item{}, err
	}
	occurred := now
	if in.OccurredAt != nil {
		occurred = in.OccurredAt.UTC().Truncate(time.Microsecond)
	}
	row := itemRow{ID: newItemID(), CaseID: caseID, Title: in.Title, Description: in.Description, Kind: string(in.Kind),
		Physical: in.Kind == KindPhysical, SourceDevice: in.Source.Device, SourceSerial: in.Source.Serial,
		SourceOwner: in.Source.Owner, AcquisitionTool: in.Acquisition.Tool, AcquisitionVersion: in.Acquisition.ToolVersion,
		AcquiredBy: in.Acquisition.By, AcquiredAt: utcPtr(in.Acquisition.At), AcquiredWhere: in.Acquisition.Where,
		DeclaredSHA256: in.Declared.SHA256, DeclaredSHA1: in.Declared.SHA1, DeclaredMD5: in.Declared.MD5,
		TLP: string(in.TLP), CreatedBy: p.UserID, CreatedAt: now, ContentStatus: "none"}
	if in.ParentID != "" {
		row.ParentID = &in.ParentID
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var parent *itemRow
		if in.ParentID != "" {
			var err error
			if parent, err = s.parentOf(tx, caseID, in.ParentID); err != nil {
				return err
			}
		}
		seq, number, err := nextExhibit(tx, caseID, parent == nil)
		if err != nil {
			return err
		}
		row.ExhibitSeq, row.ExhibitNumber = seq, fmt.Sprintf("%s-E%03d", caseRef, number)
		if parent != nil {
			// A child shows its parent in its number: E004.1, E004.2, E004.1.1.
			var n int64
			if err := tx.Model(&itemRow{}).Where("parent_id = ?", parent.ID).Count(&n).Error; err != nil {
				return err
			}
			row.ExhibitNumber = fmt.Sprintf("%s.%d", parent.ExhibitNumber, n+1)
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := recordChange(ctx, tx, "cases.evidence.post", row.ID, caseID); err != nil {
			return err
		}
		reg := Event{Type: EventRegistered, ActorUserID: p.UserID, ActorAgencyID: p.AgencyID,
			Location: in.Location, Notes: in.Notes, OccurredAt: occurred, RecordedAt: now,
			Details: Details{Identity: identityOf(row, parent)}}
		if parent == nil {
			return appendEvent(tx, row.ID, nil, &reg)
		}
		what := in.Extracted
		if what == "" {
			what = row.Title
		}
		d := Derivation{What: what, Tool: row.AcquisitionTool, ToolVersion: row.AcquisitionVersion}
		reg.Details.Derivation = &Derivation{ParentExhibit: parent.ExhibitNumber, What: d.What, Tool: d.Tool, ToolVersion: d.ToolVersion}
		if err := appendEvent(tx, row.ID, nil, &reg); err != nil {
			return err
		}
		d.ChildExhibit = row.ExhibitNumber
		return recordOwn(tx, parent.ID, &Event{Type: EventDerived, ActorUserID: p.UserID, ActorAgencyID: p.AgencyID,
			Details: Details{Derivation: &d}, OccurredAt: occurred, RecordedAt: now})
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) && in.ParentID != "" {
		return Item{}, conflict("another item was derived from the same parent at the same moment; try again")
	}
	if err != nil {
		if isValidation(err) || errors.Is(err, access.ErrConflict) {
			return Item{}, err
		}
		return Item{}, fmt.Errorf("evidence: register: %w", err)
	}
	return row.item(), nil
}

// parentOf loads the item a new one is derived from: an item of the same
// case (lineage stays within one case) that is here to extract from.
func (s *Items) parentOf(tx *gorm.DB, caseID, parentID string) (*itemRow, error) {
	var parent itemRow
	err := tx.Where("id = ? AND case_id = ?", parentID, caseID).Take(&parent).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, validate.Field("parent_id", "is not an item of this case")
	}
	if err != nil {
		return nil, err
	}
	past, err := events(tx, parentID)
	if err != nil {
		return nil, err
	}
	switch cur := Derive(past); {
	case cur.Final != "":
		return nil, conflict("the parent item was %s: nothing can be extracted from it", cur.Final)
	case cur.Out != nil:
		return nil, conflict("the parent item is out with an outside party; it must be returned first")
	}
	return &parent, nil
}

// identityOf is what the registration of row records as its identity.
func identityOf(row itemRow, parent *itemRow) *Identity {
	id := &Identity{CaseID: row.CaseID, ExhibitNumber: row.ExhibitNumber, Title: row.Title, Kind: row.Kind,
		DeclaredSHA256: row.DeclaredSHA256, DeclaredSHA1: row.DeclaredSHA1, DeclaredMD5: row.DeclaredMD5}
	if parent != nil {
		id.ParentExhibit = parent.ExhibitNumber
	}
	return id
}

// nextExhibit takes the next place of an item among a case's exhibits,
// and, for an item with no parent (top), the next of the case's exhibit
// numbers, race-free across nodes: the counter row is written in the
// caller's transaction.
func nextExhibit(tx *gorm.DB, caseID string, top bool) (seq, number int, err error) {
	step := 0
	if top {
		step = 1
	}
	var c counterRow
	err = tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "case_id"}},
		DoUpdates: clause.Assignments(map[string]any{"last_seq": gorm.Expr("evidence_counters.last_seq + 1"),
			"last_number": gorm.Expr("evidence_counters.last_number + ?", step)})},
		clause.Returning{Columns: []clause.Column{{Name: "last_seq"}, {Name: "last_number"}}}).
		Create(&counterRow{CaseID: caseID, LastSeq: 1, LastNumber: step}).Scan(&c).Error
	if err != nil {
		return 0, 0, err
	}
	return c.LastSeq, c.LastNumber, nil
}

// Item returns one item.
func (s *Items) Item(ctx context.Context, id string) (Item, error) {
	var row itemRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Item{}, ErrItemNotFound
	}
	if err != nil {
		return Item{}, fmt.Errorf("evidence: item: %w", err)
	}
	return row.item(), nil
}

// IDsMarkedOutside is a subquery of the IDs of a case's items, and of the
// uploads of their content, marked other than markings: what a reader with
// those markings may not see, for leaving it out of what else they read
// (the case's audit log).
func (s *Items) IDsMarkedOutside(caseID string, markings []access.TLP) *gorm.DB {
	return s.db.Raw(`SELECT i.id FROM evidence_items i WHERE i.case_id = ? AND i.tlp NOT IN ?
		UNION ALL
		SELECT u.id FROM evidence_uploads u JOIN evidence_items i ON i.id = u.item_id
		WHERE u.case_id = ? AND i.tlp NOT IN ?`, caseID, markings, caseID, markings)
}

// CaseItems lists a case's items in exhibit order, a page at a time, with
// only the markings in allowed (the caller's clearance).
func (s *Items) CaseItems(ctx context.Context, caseID string, allowed []access.TLP, afterSeq, limit int) ([]Item, error) {
	var rows []itemRow
	err := s.db.WithContext(ctx).Where("case_id = ? AND exhibit_seq > ? AND tlp IN ?", caseID, afterSeq, allowed).
		Order("exhibit_seq").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("evidence: items: %w", err)
	}
	out := make([]Item, len(rows))
	for i, r := range rows {
		out[i] = r.item()
	}
	return out, nil
}

func newItemID() string { return uuid.Must(uuid.NewV7()).String() }

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

func isValidation(err error) bool {
	var v *validate.Error
	return errors.As(err, &v)
}

// IDs lists the IDs of every item, or of one case's items, in exhibit
// order within each case, for checking them all.
func (s *Items) IDs(ctx context.Context, caseID string) ([]string, error) {
	q := s.db.WithContext(ctx).Model(&itemRow{})
	if caseID != "" {
		q = q.Where("case_id = ?", caseID)
	}
	var ids []string
	if err := q.Order("case_id, exhibit_seq").Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("evidence: item IDs: %w", err)
	}
	return ids, nil
}
