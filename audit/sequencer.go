package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/internal/db"
)

// CheckpointStore keeps a copy of each checkpoint outside the database,
// write-once and locked against deletion (the evidence store, in serve).
// PutLocked returns nil when the key already holds the checkpoint.
type CheckpointStore interface {
	PutLocked(ctx context.Context, key string, data []byte) error
}

// CheckpointKey is where checkpoint seq is kept in a CheckpointStore;
// zero-padded so that listing the folder lists the checkpoints in order.
func CheckpointKey(seq int64) string { return fmt.Sprintf(CheckpointPrefix+"%020d.txt", seq) }

// CheckpointPrefix is where in the evidence store the checkpoints are.
const CheckpointPrefix = "audit/checkpoints/"

// SequencerOptions configure a Sequencer; zero values take the defaults.
type SequencerOptions struct {
	Signer *Signer         // required
	Store  CheckpointStore // optional second home of the checkpoints
	Log    *slog.Logger    // default slog.Default()
	// Interval between sealing rounds (default 250ms).
	Interval time.Duration
	// CheckpointEvery is the longest time between checkpoints while there
	// are new entries (default 30s, at most 1 minute).
	CheckpointEvery time.Duration
	// BatchSize bounds the entries sealed in one transaction (default 2000).
	BatchSize int
	// LeaderRetry is how often a node that is not the sequencer tries to
	// become it (default 2s).
	LeaderRetry time.Duration
	// OnSealed, when set, is given each batch of entries just sealed, in
	// chain order, on the leading node only: the audit stream, once, for
	// rules such as exfiltration alerts. It runs on the sequencer's
	// goroutine, so it must be quick (hand work off, never block).
	OnSealed func([]Recorded)
}

// Sequencer seals committed entries into the hash chain, in commit order,
// and signs checkpoints. Run it on every node: on PostgreSQL the nodes elect
// one through a session advisory lock, held on a connection of its own, so a
// node that loses its connection loses the lead and another takes over; the
// chain's primary key and unique entry ID refuse a fork should two ever
// seal at once.
type Sequencer struct {
	db      *gorm.DB
	opts    SequencerOptions
	log     *slog.Logger
	pending []Checkpoint // stored in the database, not yet in Store
	leading atomic.Bool
}

// Leading reports whether this node seals the chain now.
func (s *Sequencer) Leading() bool { return s.leading.Load() }

// sequencerLock is the advisory lock key of the sequencer ("bevisaud").
const sequencerLock int64 = 0x6265766973617564

var errNotLeader = errors.New("audit: another node is the sequencer")

// NewSequencer returns a sequencer of the log in db.
func NewSequencer(db *gorm.DB, opts SequencerOptions) (*Sequencer, error) {
	if opts.Signer == nil {
		return nil, errors.New("audit: sequencer needs a checkpoint signer")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Interval <= 0 {
		opts.Interval = 250 * time.Millisecond
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = 30 * time.Second
	}
	if opts.CheckpointEvery > time.Minute {
		return nil, errors.New("audit: checkpoints must be at most a minute apart")
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 2000
	}
	if opts.LeaderRetry <= 0 {
		opts.LeaderRetry = 2 * time.Second
	}
	return &Sequencer{db: quiet(db), opts: opts, log: opts.Log.With("component", "audit-sequencer")}, nil
}

// Run seals until ctx ends, leading when it can. When it ends while
// leading, it seals what is committed and signs a last checkpoint; an error
// doing so is returned.
func (s *Sequencer) Run(ctx context.Context) error {
	for {
		err := s.lead(ctx)
		if ctx.Err() != nil {
			if errors.Is(err, errNotLeader) || errors.Is(err, ctx.Err()) {
				return nil
			}
			return err
		}
		if err != nil && !errors.Is(err, errNotLeader) {
			s.log.Error("sequencer lost the lead", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.opts.LeaderRetry):
		}
	}
}

// chainState is the head of the chain as the leader knows it.
type chainState struct {
	seq     int64
	head    string
	lastPos int64      // SQLite: pos of the head's entry
	bounds  scanBounds // PostgreSQL: where unsealed entries can be
	cpSeq   int64
	cpAt    time.Time
}

// scanBounds say where, on PostgreSQL, unsealed entries can be: in
// transactions that had not committed when the snapshot was taken, that
// is with an xid in xip (running then) or at least xmax (begun after).
// Every entry visible in that snapshot has been sealed. xmin, the lowest of
// them, is kept with each chain position (scan_from) so that a new leader,
// not knowing the old one's snapshot, can start from "xid >= xmin".
type scanBounds struct {
	xmin, xmax int64
	xip        string // PostgreSQL array literal of xid8, like {} or {7,9}
}

func (s *Sequencer) isPostgres() bool { return s.db.Dialector.Name() == "postgres" }

// lead holds the lead on one connection until ctx ends or the connection
// fails.
func (s *Sequencer) lead(ctx context.Context) error {
	return s.db.WithContext(ctx).Connection(func(conn *gorm.DB) error {
		// A fresh statement for each call on the one connection.
		conn = db.Queued(s.db, conn.Session(&gorm.Session{}))
		if s.isPostgres() {
			var got bool
			if err := conn.Raw("SELECT pg_try_advisory_lock(?)", sequencerLock).Scan(&got).Error; err != nil {
				return fmt.Errorf("audit: sequencer lock: %w", err)
			}
			if !got {
				return errNotLeader
			}
			defer func() {
				unlockCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = conn.WithContext(unlockCtx).Exec("SELECT pg_advisory_unlock(?)", sequencerLock).Error
			}()
		}
		st, err := s.loadState(conn)
		if err != nil {
			return err
		}
		s.log.Info("leading the audit chain", "seq", st.seq)
		s.leading.Store(true)
		defer s.leading.Store(false)
		tick := time.NewTicker(s.opts.Interval)
		defer tick.Stop()
		// A round is never cut short by ctx (a transaction cancelled
		// half way may take the connection with it): ctx is looked at
		// between rounds, and the round after it ends is the last one,
		// sealing what is committed and signing the head.
		for {
			stopping := ctx.Err() != nil
			roundCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), roundTimeout)
			err := s.round(conn.WithContext(roundCtx), &st, stopping)
			cancel()
			if err != nil || stopping {
				return err
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
	})
}

// roundTimeout bounds one sealing round, and so how long a stop may wait.
const roundTimeout = 30 * time.Second

func (s *Sequencer) loadState(conn *gorm.DB) (chainState, error) {
	st := chainState{head: genesisHash, bounds: scanBounds{xip: "{}"}}
	var head struct {
		Seq      int64
		Hash     string
		Pos      int64
		ScanFrom *int64
	}
	res := conn.Raw("SELECT c.seq, c.hash, e.pos, c.scan_from FROM audit_chain c JOIN audit_entries e ON e.id = c.entry_id ORDER BY c.seq DESC LIMIT 1").
		Scan(&head)
	if res.Error != nil {
		return st, fmt.Errorf("audit: read chain head: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		st.seq, st.head, st.lastPos = head.Seq, head.Hash, head.Pos
		if head.ScanFrom != nil {
			st.bounds = scanBounds{xmin: *head.ScanFrom, xmax: *head.ScanFrom, xip: "{}"}
		}
	}
	var cp struct {
		Seq      int64
		SignedAt time.Time
	}
	res = conn.Raw("SELECT seq, signed_at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1").Scan(&cp)
	if res.Error != nil {
		return st, fmt.Errorf("audit: read last checkpoint: %w", res.Error)
	}
	st.cpSeq, st.cpAt = cp.Seq, cp.SignedAt
	return st, nil
}

// round seals every committed entry, then signs a checkpoint when one is
// due (or, with final, whenever the head moved).
func (s *Sequencer) round(conn *gorm.DB, st *chainState, final bool) error {
	var next scanBounds
	if s.isPostgres() {
		// Taken before looking: whatever this round does not see committed
		// was still running at this snapshot, or began after it.
		var err error
		if next, err = currentBounds(conn); err != nil {
			return err
		}
	}
	for {
		n, err := s.sealBatch(conn, st)
		if err != nil {
			return err
		}
		if n < s.opts.BatchSize {
			break
		}
	}
	st.bounds = next
	now := time.Now()
	if st.seq > st.cpSeq && (final || now.Sub(st.cpAt) >= s.opts.CheckpointEvery) {
		if err := s.checkpoint(conn, st, now); err != nil {
			return err
		}
	}
	s.storePending(conn.Statement.Context)
	return nil
}

// sealRow is an entry read for sealing, with its commit-order keys.
type sealRow struct {
	Entry entryRow `gorm:"embedded"`
	Pos   int64
	Xid   string
}

const entryColumns = "e.id, e.at, e.user_id, e.agency_id, e.token_id, e.client_ip, e.user_agent, e.action, " +
	"e.resource_type, e.resource_id, e.case_id, e.outcome, e.request_id, e.range_offset, e.range_length, e.detail"

// unsealed reads committed entries not yet sealed. On SQLite write
// transactions are serialised, so pos is commit order and the entries past
// the head's pos are the unsealed ones. On PostgreSQL pos is insert order,
// and a transaction that inserted early may commit late, so the entries of
// transactions not committed at the last round's snapshot are searched
// (see scanBounds), each sealed once it is committed, in (xid, pos) order
// within a round.
func (s *Sequencer) unsealed(conn *gorm.DB, st *chainState) ([]sealRow, error) {
	var rows []sealRow
	var err error
	if s.isPostgres() {
		// Two searches of the (xid, pos) index, each for what one bound
		// holds, merged: under OR a prepared statement's generic plan
		// (the one PostgreSQL settles on after five runs) had no
		// condition to search the index by, and walked all of it.
		branch := "(SELECT " + entryColumns + ", e.pos, e.xid AS xid_order, e.xid::text AS xid FROM audit_entries e" +
			" WHERE %s AND " + notSealed + " ORDER BY e.xid, e.pos LIMIT ?)"
		n := s.opts.BatchSize
		err = conn.Raw("SELECT * FROM ("+
			fmt.Sprintf(branch, "e.xid >= ?::text::xid8")+" UNION ALL "+
			fmt.Sprintf(branch, "e.xid = ANY(?::text::xid8[])")+") u ORDER BY u.xid_order, u.pos LIMIT ?",
			strconv.FormatInt(st.bounds.xmax, 10), n, st.bounds.xip, n, n).Scan(&rows).Error
	} else {
		err = conn.Raw("SELECT "+entryColumns+", e.pos, '' AS xid FROM audit_entries e WHERE e.pos > ? ORDER BY e.pos LIMIT ?",
			st.lastPos, s.opts.BatchSize).Scan(&rows).Error
	}
	if err != nil {
		return nil, fmt.Errorf("audit: read unsealed entries: %w", err)
	}
	return rows, nil
}

// notSealed is true of an entry e that has no chain position yet. It is a
// lookup of the chain's key per entry, which PostgreSQL cannot turn into
// an anti-join: planned without statistics of the audit tables (their
// first minutes, or a server whose autovacuum is off), the anti-join of
// NOT EXISTS read both tables whole on every round (84 ms at 120,000
// entries, for the few entries a round seals), and the backlog's count,
// whose bound PostgreSQL cannot know when it plans, did so even with
// statistics (TestSealingPlans).
const notSealed = "(SELECT 1 FROM audit_chain c WHERE c.entry_id = e.id) IS NULL"

// currentBounds reads the snapshot of now as scanBounds.
func currentBounds(conn *gorm.DB) (scanBounds, error) {
	var b struct {
		Xmin, Xmax int64
		Xip        string
	}
	err := conn.Raw("SELECT pg_snapshot_xmin(s)::text::bigint AS xmin, pg_snapshot_xmax(s)::text::bigint AS xmax," +
		" ARRAY(SELECT pg_snapshot_xip(s))::text AS xip FROM pg_current_snapshot() AS s").Scan(&b).Error
	if err != nil {
		return scanBounds{}, fmt.Errorf("audit: read snapshot: %w", err)
	}
	return scanBounds{xmin: b.Xmin, xmax: b.Xmax, xip: b.Xip}, nil
}

func (s *Sequencer) sealBatch(conn *gorm.DB, st *chainState) (int, error) {
	rows, err := s.unsealed(conn, st)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	chain := make([]chainRow, len(rows))
	head, seq := st.head, st.seq
	for i, r := range rows {
		seq++
		h := chainHash(head, normalizeRead(r.Entry))
		chain[i] = chainRow{Seq: seq, EntryID: r.Entry.ID, PrevHash: head, Hash: h, SealedAt: now, Search: searchOf(r.Entry)}
		if s.isPostgres() {
			chain[i].ScanFrom = &st.bounds.xmin
		}
		head = h
	}
	// A chain row has 12 columns: 1,000 rows a statement stays well under
	// PostgreSQL's 65,535 parameters; SQLite binds fewer faster.
	perStatement := 1000
	if !s.isPostgres() {
		perStatement = db.RowsPerInsert(12)
	}
	err = conn.Transaction(func(tx *gorm.DB) error {
		return tx.CreateInBatches(&chain, perStatement).Error
	})
	if err != nil {
		return 0, fmt.Errorf("audit: seal: %w", err)
	}
	last := rows[len(rows)-1]
	st.seq, st.head, st.lastPos = seq, head, last.Pos
	if s.opts.OnSealed != nil {
		out := make([]Recorded, len(rows))
		for i, r := range rows {
			out[i] = Recorded{Entry: r.Entry.entry(), Seq: chain[i].Seq}
		}
		s.opts.OnSealed(out)
	}
	return len(rows), nil
}

// normalizeRead puts a row read back from the database in the form it was
// hashed in: UTC (drivers may return local time; the hash uses Unix
// microseconds, so this is for display only).
func normalizeRead(r entryRow) entryRow {
	r.At = r.At.UTC()
	return r
}

func (s *Sequencer) checkpoint(conn *gorm.DB, st *chainState, now time.Time) error {
	cp := s.opts.Signer.Sign(st.seq, st.head, now)
	row := checkpointRow{Seq: cp.Seq, HeadHash: cp.Head, SignedAt: cp.Time, KeyID: cp.KeyID, Note: cp.Note}
	if err := conn.Create(&row).Error; err != nil {
		return fmt.Errorf("audit: store checkpoint: %w", err)
	}
	st.cpSeq, st.cpAt = cp.Seq, cp.Time
	if s.opts.Store != nil {
		s.pending = append(s.pending, cp)
	}
	return nil
}

// storePending copies checkpoints to the Store; one that fails stays
// pending for the next round.
func (s *Sequencer) storePending(ctx context.Context) {
	for len(s.pending) > 0 {
		cp := s.pending[0]
		if err := s.opts.Store.PutLocked(ctx, CheckpointKey(cp.Seq), []byte(cp.Note)); err != nil {
			s.log.Error("could not copy an audit checkpoint to the evidence store; will retry", "seq", cp.Seq, "err", err)
			return
		}
		s.pending = s.pending[1:]
	}
}

// checkpointRow is one audit_checkpoints row.
type checkpointRow struct {
	Seq      int64 `gorm:"primaryKey;autoIncrement:false"`
	HeadHash string
	SignedAt time.Time
	KeyID    string
	Note     string
}

func (checkpointRow) TableName() string { return "audit_checkpoints" }
