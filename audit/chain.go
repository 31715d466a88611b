package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// entryRow is one audit_entries row as writers insert it. pos (the insert
// order) and, on PostgreSQL, xid (the writing transaction) are set by the
// database.
type entryRow struct {
	ID           string `gorm:"primaryKey"`
	At           time.Time
	UserID       string
	AgencyID     string
	TokenID      string
	ClientIP     string `gorm:"column:client_ip"`
	UserAgent    string
	Action       string
	ResourceType string
	ResourceID   string
	CaseID       string
	Outcome      string
	RequestID    string
	RangeOffset  *int64
	RangeLength  *int64
	Detail       string
}

func (entryRow) TableName() string { return "audit_entries" }

// chainRow is one audit_chain row: the entry sealed at seq, with copies
// of its search columns (see searchOf).
type chainRow struct {
	Seq      int64 `gorm:"primaryKey;autoIncrement:false"`
	EntryID  string
	PrevHash string
	Hash     string
	SealedAt time.Time
	Search   search `gorm:"embedded"`
	ScanFrom *int64 // PostgreSQL: see scanBounds
}

// search is what List filters on. It is copied from the entry into the
// chain when sealing, and indexed there: recording an entry, on the
// request's path, then maintains no index but its keys, and the sequencer
// maintains these in large batches off that path.
type search struct {
	At         time.Time
	CaseID     string
	UserID     string
	AgencyID   string
	ResourceID string
	Action     string
}

func searchOf(r entryRow) search {
	return search{At: r.At.UTC(), CaseID: r.CaseID, UserID: r.UserID, AgencyID: r.AgencyID, ResourceID: r.ResourceID,
		Action: r.Action}
}

func (s search) matches(r entryRow) bool {
	return s.At.Equal(r.At) && s.CaseID == r.CaseID && s.UserID == r.UserID && s.AgencyID == r.AgencyID &&
		s.ResourceID == r.ResourceID && s.Action == r.Action
}

func (chainRow) TableName() string { return "audit_chain" }

// hashVersion starts every hashed record, so that a later encoding can be
// told apart from this one.
const hashVersion = "bevis-audit-entry-v1"

// genesisHash is the prev hash of seq 1.
var genesisHash = hex.EncodeToString(make([]byte, sha256.Size))

// chainHash is the hash of an entry sealed after prev (hex): SHA-256 over
// the version tag, the previous hash and the entry's canonical encoding.
// The encoding is each field, in a fixed order, as a uvarint length and its
// bytes, so no two different entries encode alike; the time is its Unix
// microseconds; a byte range is a presence byte and two varints. The
// sequence number is not hashed: the chain fixes each entry's place, and a
// moved entry still hashing correctly after its true predecessor is how
// Verify tells reordering from modification.
func chainHash(prev string, r entryRow) string {
	var b []byte
	b = appendField(b, hashVersion)
	b = appendField(b, prev)
	b = appendField(b, r.ID)
	b = binary.AppendVarint(b, r.At.UnixMicro())
	for _, f := range []string{r.UserID, r.AgencyID, r.TokenID, r.ClientIP, r.UserAgent, r.Action,
		r.ResourceType, r.ResourceID, r.CaseID, r.Outcome, r.RequestID} {
		b = appendField(b, f)
	}
	if r.RangeOffset != nil && r.RangeLength != nil {
		b = append(b, 1)
		b = binary.AppendVarint(b, *r.RangeOffset)
		b = binary.AppendVarint(b, *r.RangeLength)
	} else {
		b = append(b, 0)
	}
	b = appendField(b, r.Detail)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func appendField(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
