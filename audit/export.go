package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"gorm.io/gorm"
)

// exportFormat names the export's format in its first line.
const exportFormat = "bevis-audit-export-v1"

// exportRecord is one line of an export: the header, a sealed entry with
// its chain fields, or a checkpoint.
type exportRecord struct {
	Kind     string       `json:"kind"` // "header", "entry" or "checkpoint"
	Format   string       `json:"format,omitempty"`
	Seq      int64        `json:"seq,omitempty"`
	PrevHash string       `json:"prev_hash,omitempty"`
	Hash     string       `json:"hash,omitempty"`
	SealedAt *time.Time   `json:"sealed_at,omitempty"`
	Entry    *exportEntry `json:"entry,omitempty"` // absent when the entry row is missing from the database
	Note     string       `json:"note,omitempty"`
}

// exportEntry is an entry as exported: every hashed field, as stored.
type exportEntry struct {
	ID           string    `json:"id"`
	At           time.Time `json:"at"`
	UserID       string    `json:"user_id"`
	AgencyID     string    `json:"agency_id"`
	TokenID      string    `json:"token_id"`
	ClientIP     string    `json:"client_ip"`
	UserAgent    string    `json:"user_agent"`
	Action       string    `json:"action"`
	ResourceType string    `json:"resource_type"`
	ResourceID   string    `json:"resource_id"`
	CaseID       string    `json:"case_id"`
	Outcome      string    `json:"outcome"`
	RequestID    string    `json:"request_id"`
	RangeOffset  *int64    `json:"range_offset,omitempty"`
	RangeLength  *int64    `json:"range_length,omitempty"`
	Detail       string    `json:"detail"`
}

func toExport(r entryRow) *exportEntry {
	e := exportEntry(r)
	e.At = e.At.UTC()
	return &e
}

func (e *exportEntry) row() entryRow { return entryRow(*e) }

// sealed is one chain position as read back, from the database or an export.
type sealed struct {
	Seq      int64
	PrevHash string
	Hash     string
	SealedAt time.Time
	Entry    *entryRow // nil when the entry is missing
	Search   *search   // the chain's copy of the search columns (database only)
}

// Export writes the sealed log as JSON Lines: a header, every sealed entry
// with its chain fields in seq order, then every checkpoint. It streams in
// pages, so memory stays bounded whatever the log's size. Give the file and
// the checkpoint public key to Verify (`bevis audit verify --export`).
func Export(ctx context.Context, db *gorm.DB, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(exportRecord{Kind: "header", Format: exportFormat}); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	err := readChain(ctx, db, func(s sealed) error {
		rec := exportRecord{Kind: "entry", Seq: s.Seq, PrevHash: s.PrevHash, Hash: s.Hash, SealedAt: &s.SealedAt}
		if s.Entry != nil {
			rec.Entry = toExport(*s.Entry)
		}
		return enc.Encode(rec)
	})
	if err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	notes, err := readCheckpointNotes(ctx, db)
	if err != nil {
		return err
	}
	for _, n := range notes {
		if err := enc.Encode(exportRecord{Kind: "checkpoint", Note: n}); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return nil
}

// ExportCheckpoints writes every checkpoint note, one after another (each
// ends with its signature line), for a partner agency to keep its own copy.
func ExportCheckpoints(ctx context.Context, db *gorm.DB, w io.Writer) error {
	notes, err := readCheckpointNotes(ctx, db)
	if err != nil {
		return err
	}
	for _, n := range notes {
		if _, err := io.WriteString(w, n); err != nil {
			return fmt.Errorf("audit: export checkpoints: %w", err)
		}
	}
	return nil
}

const chainPage = 2000

// readChain calls fn with every chain position in seq order, joined with
// its entry (left join: a missing entry is reported, not skipped).
func readChain(ctx context.Context, db *gorm.DB, fn func(sealed) error) error {
	after := int64(-1 << 63)
	for {
		var page []chainRow
		if err := db.WithContext(ctx).Where("seq > ?", after).Order("seq").Limit(chainPage).Find(&page).Error; err != nil {
			return fmt.Errorf("read audit chain: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		ids := make([]string, len(page))
		for i, c := range page {
			ids[i] = c.EntryID
		}
		var entries []entryRow
		if err := db.WithContext(ctx).Where("id IN ?", ids).Find(&entries).Error; err != nil {
			return fmt.Errorf("read audit entries: %w", err)
		}
		byID := make(map[string]entryRow, len(entries))
		for _, e := range entries {
			byID[e.ID] = normalizeRead(e)
		}
		for _, c := range page {
			s := sealed{Seq: c.Seq, PrevHash: c.PrevHash, Hash: c.Hash, SealedAt: c.SealedAt.UTC(), Search: &c.Search}
			if e, ok := byID[c.EntryID]; ok {
				s.Entry = &e
			}
			if err := fn(s); err != nil {
				return err
			}
			after = c.Seq
		}
		if len(page) < chainPage {
			return nil
		}
	}
}

func readCheckpointNotes(ctx context.Context, db *gorm.DB) ([]string, error) {
	var notes []string
	if err := db.WithContext(ctx).Model(&checkpointRow{}).Order("seq").Pluck("note", &notes).Error; err != nil {
		return nil, fmt.Errorf("audit: read checkpoints: %w", err)
	}
	return notes, nil
}

// readExport calls onEntry for each entry line and onCheckpoint for each
// checkpoint line of an export, in file order.
func readExport(r io.Reader, onEntry func(sealed) error, onCheckpoint func(string) error) error {
	dec := json.NewDecoder(bufio.NewReader(r))
	dec.DisallowUnknownFields()
	line := 0
	for {
		var rec exportRecord
		err := dec.Decode(&rec)
		if errors.Is(err, io.EOF) {
			if line == 0 {
				return errors.New("export is empty")
			}
			return nil
		}
		line++
		if err != nil {
			return fmt.Errorf("export record %d: %w", line, err)
		}
		switch {
		case line == 1:
			if rec.Kind != "header" || rec.Format != exportFormat {
				return fmt.Errorf("not a Bevis audit export (want a %s header)", exportFormat)
			}
		case rec.Kind == "entry" && onEntry != nil:
			s := sealed{Seq: rec.Seq, PrevHash: rec.PrevHash, Hash: rec.Hash}
			if rec.SealedAt != nil {
				s.SealedAt = *rec.SealedAt
			}
			if rec.Entry != nil {
				r := rec.Entry.row()
				s.Entry = &r
			}
			if err := onEntry(s); err != nil {
				return err
			}
		case rec.Kind == "checkpoint" && onCheckpoint != nil:
			if err := onCheckpoint(rec.Note); err != nil {
				return err
			}
		case rec.Kind != "entry" && rec.Kind != "checkpoint":
			return fmt.Errorf("export record %d: unknown kind %q", line, rec.Kind)
		}
	}
}
