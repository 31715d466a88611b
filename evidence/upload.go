package evidence

import (
	"bytes"
	"context"
	"crypto/sha1" //nolint:gosec // tus checksums name SHA-1; it guards against transfer errors, not attackers
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/internal/period"
)

// Errors of uploads, each a distinct answer to the client.
var (
	ErrUploadGone     = errors.New("evidence: upload not found or finished")
	ErrOffsetMismatch = errors.New("evidence: upload offset does not match")
	ErrUploadBusy     = errors.New("evidence: upload is being written by another request")
	ErrTooLarge       = errors.New("evidence: larger than allowed")
	ErrQuotaExceeded  = errors.New("evidence: the case's evidence quota is used up")
	ErrChecksum       = errors.New("evidence: checksum of the request body does not match")
	// ErrInvalidFilename is a content's name that is not text a database
	// can hold: not UTF-8, with a NUL, or past MaxFilenameLength.
	ErrInvalidFilename = errors.New("evidence: the file name is not valid UTF-8, holds a NUL or is too long")
)

// MaxFilenameLength is the most characters a content's file name may have
// (that of the common file systems).
const MaxFilenameLength = 255

// ValidFilename reports whether name may be kept as a content's name: any
// text (it is data, never a name in storage), but text.
func ValidFilename(name string) bool {
	return utf8.ValidString(name) && !strings.ContainsRune(name, 0) && utf8.RuneCountInString(name) <= MaxFilenameLength
}

// HashMismatchError refuses content whose hash is not the one declared at
// registration: nothing is kept, and the rejection is on the custody record.
type HashMismatchError struct {
	Algorithm, Declared, Received string
}

func (e *HashMismatchError) Error() string {
	return fmt.Sprintf("evidence: %s of the content is %s, not the declared %s", e.Algorithm, e.Received, e.Declared)
}

// UploadLimits bound what one upload and one case may hold.
type UploadLimits struct {
	MaxSize   int64         // the most one item's content may be
	CaseQuota int64         // the most a case's content may be in all
	Expiry    time.Duration // an unfinished upload is discarded after this
	PartSize  int           // the sealed bytes buffered before they are stored as one part
	// Lease is how long one request holds an upload (0: DefaultUploadLease).
	// The request renews it while it works; a killed process's lease runs
	// out after it, and only then may a retry take the upload over.
	Lease time.Duration
	// SyncInterval (0: DefaultSyncInterval) is, on a store that syncs a
	// part once however many pieces it is written in (the folder), the
	// longest the bytes a request received stay unsynced and unrecorded:
	// a request makes them durable at its end, and a long or stalled one
	// also once this long after the first of them arrived, so a killed
	// process loses no more.
	SyncInterval time.Duration
}

// RetentionPolicy is how stored content is locked: mode and how long.
type RetentionPolicy struct {
	Mode   RetentionMode
	Period period.Period
}

// Uploads receives evidence content: streamed, hashed (SHA-256, SHA-1,
// MD5) and sealed as it arrives, stored in parts, and resumable from any
// node. An upload's state is kept in the database whenever the bytes it
// received are durable in the store, and names nothing that is not: on S3,
// where a part is durable once stored, after every part; on the folder,
// where durable means synced, at the end of each request and, within a long
// one, every UploadLimits.SyncInterval, each time with one sync for all the
// parts written since (see partOpener). So an interrupted request loses
// nothing that arrived (but a chunk cut short), and a killed process at
// most a part, or on the folder the bytes of the last SyncInterval.
type Uploads struct {
	db        *gorm.DB
	store     BlobStore
	keys      *Keyring
	limits    UploadLimits
	retention RetentionPolicy
	now       func() time.Time
}

// NewUploads returns the upload service.
func NewUploads(db *gorm.DB, store BlobStore, keys *Keyring, limits UploadLimits, retention RetentionPolicy) *Uploads {
	if limits.PartSize < MinPartSize {
		limits.PartSize = 16 << 20
	}
	if limits.Lease <= 0 {
		limits.Lease = DefaultUploadLease
	}
	if limits.SyncInterval <= 0 {
		limits.SyncInterval = DefaultSyncInterval
	}
	return &Uploads{db: db, store: store, keys: keys, limits: limits, retention: retention,
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// DefaultUploadLease is how long one request holds an upload unless
// UploadLimits.Lease says otherwise. A lease must outlast the storing of
// one part, which renews nothing: a request whose lease ran out meanwhile
// loses the upload (ErrUploadBusy), though nothing it stored is accepted.
const DefaultUploadLease = 30 * time.Second

// DefaultSyncInterval is UploadLimits.SyncInterval unless it says
// otherwise: long enough that a request of a few hundred MiB costs one
// sync, short enough that a killed process loses seconds of a transfer.
const DefaultSyncInterval = 5 * time.Second

// Upload is content on its way to an item.
type Upload struct {
	ID        string
	ItemID    string
	CaseID    string
	CreatedBy string
	CreatedAt time.Time
	ActiveAt  time.Time // when it last received bytes, or was started
	Length    int64
	Received  int64
	Filename  string
	Status    string
	ExpiresAt time.Time
	// Listed uploads only: the case quota it holds, and whether it is
	// stale (see StaleUploadAfter).
	Held  int64
	Stale bool
}

type uploadRow struct {
	ID          string `gorm:"primaryKey"`
	ItemID      string
	CaseID      string
	CreatedBy   string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	Length      int64
	Received    int64
	Filename    string
	ObjectKey   string
	StoreUpload string
	DataKeyID   string
	Parts       string
	Tail        []byte
	HashState   []byte
	SealState   []byte
	Status      string
	LeaseUntil  *time.Time
	ActiveAt    *time.Time
	Version     int64
}

func (uploadRow) TableName() string { return "evidence_uploads" }

func (r uploadRow) upload() Upload {
	active := r.CreatedAt
	if r.ActiveAt != nil {
		active = *r.ActiveAt
	}
	return Upload{ID: r.ID, ItemID: r.ItemID, CaseID: r.CaseID, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(),
		ActiveAt: active.UTC(), Length: r.Length, Received: r.Received, Filename: r.Filename, Status: r.Status,
		ExpiresAt: r.ExpiresAt}
}

// Create starts an upload of length bytes of content for an item. The
// person's own unfinished upload of the item, and a stale one of anyone,
// are discarded, so a client that lost track of its upload can always
// start again; another person's upload in progress is ErrUploadInProgress.
func (u *Uploads) Create(ctx context.Context, p access.Principal, it Item, length int64, filename string) (Upload, error) {
	switch {
	case !ValidFilename(filename):
		return Upload{}, ErrInvalidFilename
	case it.Kind == KindPhysical:
		return Upload{}, conflict("a physical item has no content to upload")
	case it.ContentStatus == "received":
		return Upload{}, conflict("the item's content was received already; register a new item for other content")
	case length < 0 || length > u.limits.MaxSize:
		return Upload{}, ErrTooLarge
	}
	if err := u.checkQuota(ctx, it, length); err != nil {
		return Upload{}, err
	}
	key, err := u.keys.DataKey(ctx, it.CaseID)
	if err != nil {
		return Upload{}, err
	}
	now := u.now()
	row := uploadRow{ID: newItemID(), ItemID: it.ID, CaseID: it.CaseID, CreatedBy: p.UserID, CreatedAt: now,
		ExpiresAt: now.Add(u.limits.Expiry), Length: length, Filename: filename, DataKeyID: key.ID, Parts: "[]",
		Status: "active", ActiveAt: &now, Version: 1}
	row.ObjectKey = fmt.Sprintf("cases/%s/items/%s/%s.sealed", it.CaseID, it.ID, row.ID)
	until := u.retention.Period.After(now)
	row.StoreUpload, err = u.store.StartMultipart(ctx, row.ObjectKey,
		PutOptions{Retention: &Retention{Mode: u.retention.Mode, Until: until}})
	if err != nil {
		return Upload{}, err
	}
	var stale []uploadRow
	err = u.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Omit("tail", "hash_state", "seal_state").Where("item_id = ? AND status = 'active'", it.ID).
			Find(&stale).Error; err != nil {
			return err
		}
		if err := replaceable(p, stale, now); err != nil {
			return err
		}
		if err := tx.Model(&uploadRow{}).Where("item_id = ? AND status = 'active'", it.ID).
			Updates(map[string]any{"status": "aborted", "tail": nil}).Error; err != nil {
			return err
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		_ = u.store.AbortMultipart(context.WithoutCancel(ctx), row.ObjectKey, row.StoreUpload)
		return Upload{}, fmt.Errorf("evidence: create upload: %w", err)
	}
	for _, s := range stale {
		_ = u.store.AbortMultipart(ctx, s.ObjectKey, s.StoreUpload)
	}
	return row.upload(), nil
}

// Get returns an upload that is still going on.
func (u *Uploads) Get(ctx context.Context, id string) (Upload, error) {
	var row uploadRow
	err := u.db.WithContext(ctx).Omit("tail", "hash_state", "seal_state").
		Where("id = ? AND status = 'active' AND expires_at > ?", id, u.now()).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Upload{}, ErrUploadGone
	}
	if err != nil {
		return Upload{}, fmt.Errorf("evidence: upload: %w", err)
	}
	return row.upload(), nil
}

// Abort discards an unfinished upload and its stored parts.
func (u *Uploads) Abort(ctx context.Context, id string) error {
	return u.abort(ctx, id, false)
}

// AbortExpired discards the uploads left unfinished past their expiry.
func (u *Uploads) AbortExpired(ctx context.Context) (int, error) {
	var rows []uploadRow
	if err := u.db.WithContext(ctx).Select("id").Where("status = 'active' AND expires_at <= ?", u.now()).
		Limit(1000).Find(&rows).Error; err != nil {
		return 0, fmt.Errorf("evidence: expired uploads: %w", err)
	}
	n := 0
	for _, r := range rows {
		if err := u.Abort(ctx, r.ID); err != nil && !errors.Is(err, ErrUploadGone) {
			return n, err
		}
		n++
	}
	return n, nil
}

// Checksum is a tus Upload-Checksum: the digest of one request's body.
type Checksum struct {
	Algorithm string // sha1 or sha256
	Sum       []byte
}

func (c *Checksum) hasher() hash.Hash {
	if c == nil {
		return nil
	}
	if c.Algorithm == "sha1" {
		return sha1.New() //nolint:gosec // see the import
	}
	return sha256.New()
}

// Result is what a write left: the upload, and the item when the content
// is complete and received.
type Result struct {
	Upload Upload
	Item   *Item
}

// Write takes the bytes of body as the content from offset on. It stores
// whole parts as they fill, and keeps the upload's state when they are
// durable (see Uploads), at the latest when body ends. It stops there: when
// the whole length has arrived it checks the hashes, completes and locks
// the object, and marks the item received; otherwise it keeps what it has
// up to a chunk boundary, and Upload.Received says where to go on from.
func (u *Uploads) Write(ctx context.Context, id string, offset int64, body io.Reader, sum *Checksum) (Result, error) {
	row, err := u.lease(ctx, id, offset)
	if err != nil {
		return Result{}, err
	}
	if err := u.holdQuota(ctx, row); err != nil {
		u.release(row)
		return Result{}, err
	}
	w, err := u.resume(ctx, row)
	if err != nil {
		u.release(row)
		return Result{}, err
	}
	defer w.hasher.Close()
	defer w.freeParts()
	check := sum.hasher()
	if check != nil {
		body = io.TeeReader(body, check)
		w.checkpoints = false // the request is kept only once its checksum is known to match
	}
	final, readErr := w.take(ctx, body)
	if err := w.awaitPart(); err != nil && w.storeErr == nil {
		readErr = errors.Join(readErr, err) // the checkpoint of the stored part was not saved
	}
	w.stopTimer() // from here the request's end makes what it wrote durable, or throws it away
	if readErr == nil && check != nil && !bytes.Equal(check.Sum(nil), sum.Sum) {
		u.release(w.row)
		return Result{}, ErrChecksum
	}
	if errors.Is(readErr, ErrTooLarge) || errors.Is(readErr, ErrUploadBusy) || errors.Is(readErr, ErrQuotaExceeded) ||
		w.storeErr != nil {
		if w.storeErr == nil && !errors.Is(readErr, ErrUploadBusy) {
			// What was stored before the refusal is kept.
			if err := w.keepPending(context.WithoutCancel(ctx)); err != nil {
				readErr = err
			}
		}
		u.release(w.row)
		if w.storeErr != nil {
			return Result{}, w.storeErr
		}
		return Result{}, readErr
	}
	// A read error is a client that went away: keep what arrived, with a
	// context of our own, since the request's is over.
	keep := context.WithoutCancel(ctx)
	if final {
		return u.finish(keep, w)
	}
	err = w.suspend()
	if err == nil && w.buf.Len() >= MinPartSize {
		err = w.putPart(keep)
	}
	if err == nil {
		err = w.settle(keep) // durable before it is recorded
	}
	if err != nil {
		u.release(w.row)
		return Result{}, err
	}
	cp, err := w.state()
	if err != nil {
		u.release(w.row)
		return Result{}, err
	}
	if err := w.save(keep, cp, true); err != nil {
		return Result{}, err
	}
	return Result{Upload: w.row.upload()}, readErr
}

// lease takes an upload for one request: it must be going on, at offset,
// and not held by another request.
func (u *Uploads) lease(ctx context.Context, id string, offset int64) (uploadRow, error) {
	now := u.now()
	db := u.db.WithContext(ctx)
	res := db.Model(&uploadRow{}).
		Where("id = ? AND status = 'active' AND expires_at > ? AND received = ? AND (lease_until IS NULL OR lease_until < ?)",
			id, now, offset, now).
		Updates(map[string]any{"lease_until": now.Add(u.limits.Lease), "version": gorm.Expr("version + 1")})
	if res.Error != nil {
		return uploadRow{}, fmt.Errorf("evidence: lease upload: %w", res.Error)
	}
	var row uploadRow
	if err := db.Where("id = ?", id).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return uploadRow{}, ErrUploadGone
		}
		return uploadRow{}, fmt.Errorf("evidence: lease upload: %w", err)
	}
	if res.RowsAffected == 0 {
		switch {
		case row.Status != "active" || !row.ExpiresAt.After(now):
			return uploadRow{}, ErrUploadGone
		case row.Received != offset:
			return uploadRow{}, ErrOffsetMismatch
		}
		return uploadRow{}, ErrUploadBusy
	}
	return row, nil
}

// release gives the lease back without changing the upload.
func (u *Uploads) release(row uploadRow) {
	_ = u.db.Model(&uploadRow{}).Where("id = ? AND version = ?", row.ID, row.Version).Update("lease_until", nil).Error
}

// writer is one request's pipeline: hashing and sealing the plaintext,
// cutting the sealed stream into parts. One part at a time is stored in the
// background while the request goes on filling the next, so receiving and
// storing overlap.
type writer struct {
	u           *Uploads
	row         uploadRow
	key         DataKey
	hasher      *MultiHasher
	sealer      *SealWriter
	buf         bytes.Buffer    // sealed bytes not yet in a part
	partBuf     []byte          // the bytes of the part being stored
	mem         partMemory      // of buf and partBuf, given back when the request ends
	storing     chan partStored // the part being stored; nil when none
	checkpoints bool
	storeErr    error

	mu    sync.Mutex // over the upload's row (and row.Version) and parts, which the storing part updates
	parts []Part     // the parts stored

	// On a store that writes a part in pieces (partOpener), the parts cut
	// are appended to one store part, committed at each durable point.
	opener  partOpener
	pmu     sync.Mutex  // over the fields below; taken before mu
	open    PartWriter  // the store part being appended to; nil when none
	pending *checkpoint // the state after the last part appended, once it is durable
	syncErr error       // of a durable point the timer made
	timer   *time.Timer // makes the pending state durable SyncInterval after it began
	armed   bool        // the timer is set
	ended   bool        // the request is over: the timer does nothing
}

// partStored is how storing a part ended: the store's error, or that of
// keeping the state after it.
type partStored struct{ storeErr, err error }

// checkpoint is an upload's state at a part boundary: what a request that
// resumes it needs, with the parts stored up to there.
type checkpoint struct {
	received             int64
	tail                 []byte // sealed bytes after the last part
	hashState, sealState []byte
}

func (u *Uploads) resume(ctx context.Context, row uploadRow) (*writer, error) {
	key, err := u.keys.DataKeyByID(ctx, row.DataKeyID)
	if err != nil {
		return nil, err
	}
	w := &writer{u: u, row: row, key: key, checkpoints: true}
	w.opener, _ = u.store.(partOpener)
	if err := json.Unmarshal([]byte(row.Parts), &w.parts); err != nil {
		return nil, fmt.Errorf("evidence: upload %s parts: %w", row.ID, err)
	}
	if row.HashState == nil {
		w.hasher = NewMultiHasher()
	} else if w.hasher, err = ResumeMultiHasher(row.HashState); err != nil {
		return nil, err
	}
	if row.SealState == nil {
		w.sealer, err = NewSealWriter(&w.buf, key, row.ObjectKey, 0)
	} else {
		w.sealer, err = ResumeSealWriter(&w.buf, key, row.ObjectKey, row.SealState)
	}
	if err != nil {
		w.hasher.Close()
		return nil, err
	}
	// The sealer holds &w.buf, and writes to it only once fed.
	w.buf = *bytes.NewBuffer(w.mem.take(w.bufferSize(len(row.Tail))))
	w.buf.Write(row.Tail)
	return w, nil
}

// bufferSize is the most sealed bytes the request buffers, when it holds
// held bytes not yet in a part: a part and the chunk that fills it, or less
// when less of the content is left. Held and left only shrink as parts are
// cut, so the two buffers made at the start fit to the end of the request,
// and never grow by doubling, which would hold (and clear) up to twice a
// part's memory for each request.
func (w *writer) bufferSize(held int) int {
	chunk := int64(w.sealer.ChunkSize())
	left := w.row.Length - w.row.Received
	left += (left/chunk + 1) * sealTagSize
	return int(min(int64(w.u.limits.PartSize)+chunk+sealTagSize, int64(held)+left) + SealHeaderSize) //nolint:gosec // at most a part
}

// take reads body in whole chunks into the pipeline. It reports whether
// the content is complete; a partial chunk at the end of a request that is
// not the end of the content is dropped, for the client to send again.
func (w *writer) take(ctx context.Context, body io.Reader) (final bool, err error) {
	chunk := make([]byte, w.sealer.ChunkSize())
	for {
		n, rerr := io.ReadFull(body, chunk)
		got := w.row.Received + int64(n)
		if got > w.row.Length {
			return false, ErrTooLarge
		}
		whole := n == len(chunk)
		if whole || (n > 0 && got == w.row.Length) {
			if err := w.feed(ctx, chunk[:n]); err != nil {
				return false, err
			}
		}
		switch {
		case w.row.Received == w.row.Length:
			// Bytes past the declared length are refused, not ignored.
			if rerr == nil {
				var one [1]byte
				if m, _ := io.ReadFull(body, one[:]); m > 0 {
					return false, ErrTooLarge
				}
			}
			return true, nil
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			return false, nil
		case rerr != nil:
			return false, rerr
		}
	}
}

// feed hashes and seals one whole chunk (or the last one), storing parts
// as they fill.
func (w *writer) feed(ctx context.Context, p []byte) error {
	if _, err := w.hasher.Write(p); err != nil {
		return err
	}
	if _, err := w.sealer.Write(p); err != nil {
		return err
	}
	w.row.Received += int64(len(p))
	if w.buf.Len() < w.u.limits.PartSize || w.row.Received == w.row.Length {
		return w.renewLease(ctx)
	}
	// Each part takes the quota it needs before it is stored.
	w.mu.Lock()
	row := w.row // the storing part, and the timer, update its version
	w.mu.Unlock()
	if err := w.u.holdQuota(ctx, row); err != nil {
		return err
	}
	if err := w.cutPart(w.u.limits.PartSize); err != nil {
		return err
	}
	if !w.checkpoints {
		w.storePart(ctx, nil)
		return w.renewLease(ctx)
	}
	// Keep the state at each part boundary once the part is stored:
	// suspend the sealer (which flushes the chunk it holds back), take the
	// state, and resume it at once.
	if err := w.suspend(); err != nil {
		return err
	}
	cp, err := w.state()
	if err != nil {
		return err
	}
	w.storePart(ctx, &cp)
	sealer, err := ResumeSealWriter(&w.buf, w.key, w.row.ObjectKey, w.row.SealState)
	if err != nil {
		return err
	}
	w.sealer = sealer
	return nil
}

// cutPart makes the first n buffered sealed bytes partBuf, once the part
// before is stored. The two buffers trade places rather than the part being
// copied: the buffer that held the stored part takes what is left after
// the n bytes (less than a chunk and its tag) and fills on.
func (w *writer) cutPart(n int) error {
	if err := w.awaitPart(); err != nil {
		return err
	}
	filled := w.buf.Bytes()
	rest := filled[n:]
	spare := w.partBuf[:0]
	if need := w.bufferSize(len(rest)); cap(spare) < need {
		w.mem.give(spare) // not reached (see bufferSize), but never hold a third
		spare = w.mem.take(need)
	}
	w.buf = *bytes.NewBuffer(append(spare, rest...))
	w.partBuf = filled[:n]
	return nil
}

// cutLast makes all the buffered sealed bytes partBuf, when no more follow
// in this request.
func (w *writer) cutLast() error {
	if err := w.awaitPart(); err != nil {
		return err
	}
	w.partBuf = w.buf.Bytes()
	w.buf = bytes.Buffer{}
	return nil
}

// freeParts gives the part buffers back once no part is being stored, and
// throws away what was appended to a store part and not made durable.
func (w *writer) freeParts() {
	_ = w.awaitPart()
	w.stopTimer()
	w.pmu.Lock()
	if w.open != nil {
		w.open.Discard()
		w.open = nil
	}
	w.pmu.Unlock()
	w.mem.free()
}

// storePart stores partBuf as the next part in the background, then adds
// it to the parts and keeps the state cp (when given) of the boundary
// after it; on a partOpener, it appends partBuf to the store part, and cp
// is kept once that is durable.
func (w *writer) storePart(ctx context.Context, cp *checkpoint) {
	if w.opener != nil {
		w.appendPart(ctx, cp)
		return
	}
	store, key, upload, number, data := w.u.store, w.row.ObjectKey, w.row.StoreUpload, len(w.parts)+1, w.partBuf
	stored := make(chan partStored, 1)
	go func() {
		r := &partReader{data: data}
		part, err := store.PutPart(ctx, key, upload, number, r, int64(len(data)))
		_ = r.Close() // the buffer is the next part's once this returns
		if err != nil {
			stored <- partStored{storeErr: err}
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.parts = append(w.parts, part)
		if cp != nil {
			err = w.saveLocked(ctx, *cp, false)
		}
		stored <- partStored{err: err}
	}()
	w.storing = stored
}

// awaitPart waits until the part being stored, if any, is stored and the
// state after it kept.
func (w *writer) awaitPart() error {
	if w.storing == nil {
		return nil
	}
	r := <-w.storing
	w.storing = nil
	if r.storeErr != nil {
		w.storeErr = r.storeErr
		return r.storeErr
	}
	return r.err
}

// putPart stores all the buffered sealed bytes as the next part, and waits
// for it. No more bytes follow in this request.
func (w *writer) putPart(ctx context.Context) error {
	if err := w.cutLast(); err != nil {
		return err
	}
	w.storePart(ctx, nil)
	return w.awaitPart()
}

// suspend stops the sealer at the chunk boundary of what it was fed.
func (w *writer) suspend() error {
	state, err := w.sealer.Suspend()
	if err != nil {
		return err
	}
	w.row.SealState = state
	return nil
}

// state is the upload's state now, at a chunk boundary (after suspend).
func (w *writer) state() (checkpoint, error) {
	hashState, err := w.hasher.MarshalBinary()
	if err != nil {
		return checkpoint{}, err
	}
	return checkpoint{received: w.row.Received, tail: bytes.Clone(w.buf.Bytes()), hashState: hashState,
		sealState: w.row.SealState}, nil
}

// save writes the upload's state at cp, with the parts stored so far;
// done also gives the lease back.
func (w *writer) save(ctx context.Context, cp checkpoint, done bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.saveLocked(ctx, cp, done)
}

func (w *writer) saveLocked(ctx context.Context, cp checkpoint, done bool) error {
	parts, err := json.Marshal(w.parts)
	if err != nil {
		return err
	}
	until := w.u.now().Add(w.u.limits.Lease)
	var lease any = until
	if done {
		lease = nil
	}
	res := w.u.db.WithContext(ctx).Model(&uploadRow{}).Where("id = ? AND version = ?", w.row.ID, w.row.Version).
		Updates(map[string]any{"received": cp.received, "parts": string(parts), "tail": cp.tail,
			"hash_state": cp.hashState, "seal_state": cp.sealState, "lease_until": lease, "active_at": w.u.now(),
			"version": w.row.Version + 1})
	if res.Error != nil {
		return fmt.Errorf("evidence: save upload: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrUploadBusy // the lease ran out and another request took the upload
	}
	w.row.Version++
	w.row.LeaseUntil = &until
	return nil
}

// renewLease extends this request's hold on the upload when it runs low.
func (w *writer) renewLease(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.row.LeaseUntil != nil && w.row.LeaseUntil.Sub(w.u.now()) > w.u.limits.Lease/2 {
		return nil
	}
	until := w.u.now().Add(w.u.limits.Lease)
	res := w.u.db.WithContext(ctx).Model(&uploadRow{}).Where("id = ? AND version = ?", w.row.ID, w.row.Version).
		Updates(map[string]any{"lease_until": until, "version": w.row.Version + 1})
	if res.Error != nil {
		return fmt.Errorf("evidence: renew lease: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrUploadBusy
	}
	w.row.Version++
	w.row.LeaseUntil = &until
	return nil
}

// finish seals the last chunk, stores the last part, and accepts the
// content only when it matches the hashes declared at registration.
func (u *Uploads) finish(ctx context.Context, w *writer) (Result, error) {
	if err := w.sealer.Close(); err != nil {
		u.release(w.row)
		return Result{}, err
	}
	if w.buf.Len() > 0 || w.storedNothing() {
		if err := w.putPart(ctx); err != nil {
			u.release(w.row)
			return Result{}, err
		}
	}
	if err := w.settle(ctx); err != nil {
		u.release(w.row)
		return Result{}, err
	}
	sums := w.hasher.Sums()
	var it itemRow
	if err := u.db.WithContext(ctx).Where("id = ?", w.row.ItemID).Take(&it).Error; err != nil {
		u.release(w.row)
		return Result{}, fmt.Errorf("evidence: finish upload: %w", err)
	}
	if mismatch := compareDeclared(it, sums); mismatch != nil {
		return Result{}, u.reject(ctx, w, mismatch)
	}
	info, err := u.store.CompleteMultipart(ctx, w.row.ObjectKey, w.row.StoreUpload, w.parts)
	if err != nil {
		u.release(w.row)
		return Result{}, err
	}
	now := u.now()
	var out Item
	err = u.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&itemRow{}).Where("id = ? AND content_status <> 'received'", it.ID).Updates(map[string]any{
			"content_status": "received", "size": sums.Size, "sha256": sums.SHA256, "sha1": sums.SHA1, "md5": sums.MD5,
			"object_key": w.row.ObjectKey, "object_version": info.VersionID, "key_id": w.row.DataKeyID, "received_at": now,
			"original_filename": w.row.Filename})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return conflict("the item's content was received already by another upload")
		}
		if err := recordChange(ctx, tx, "evidence.content.received", it.ID, it.CaseID); err != nil {
			return err
		}
		if err := tx.Model(&uploadRow{}).Where("id = ?", w.row.ID).Updates(map[string]any{"status": "completed",
			"received": w.row.Received, "tail": nil, "hash_state": nil, "seal_state": nil, "lease_until": nil}).Error; err != nil {
			return err
		}
		if err := recordOwn(tx, it.ID, &Event{Type: EventReceived, ActorUserID: w.row.CreatedBy,
			ActorAgencyID: agencyOf(tx, w.row.CreatedBy), Notes: "content received: " + sums.SHA256,
			Details:    Details{SHA256: sums.SHA256, SHA1: sums.SHA1, MD5: sums.MD5, Size: &sums.Size},
			OccurredAt: now, RecordedAt: now}); err != nil {
			return err
		}
		return tx.Where("id = ?", it.ID).Take(&it).Error
	})
	if err != nil {
		u.release(w.row)
		return Result{}, fmt.Errorf("evidence: finish upload: %w", err)
	}
	out = it.item()
	w.row.Status = "completed"
	return Result{Upload: w.row.upload(), Item: &out}, nil
}

// reject discards content that does not match its declared hash and puts
// the rejection on the item's custody record.
func (u *Uploads) reject(ctx context.Context, w *writer, mismatch *HashMismatchError) error {
	if err := u.store.AbortMultipart(ctx, w.row.ObjectKey, w.row.StoreUpload); err != nil {
		u.release(w.row)
		return err
	}
	now := u.now()
	err := u.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := recordChange(ctx, tx, "evidence.content.rejected", w.row.ItemID, w.row.CaseID); err != nil {
			return err
		}
		if err := tx.Model(&uploadRow{}).Where("id = ?", w.row.ID).Updates(map[string]any{"status": "rejected",
			"tail": nil, "hash_state": nil, "seal_state": nil, "lease_until": nil}).Error; err != nil {
			return err
		}
		return recordOwn(tx, w.row.ItemID, &Event{Type: EventContentRejected, ActorUserID: w.row.CreatedBy,
			ActorAgencyID: agencyOf(tx, w.row.CreatedBy), Details: Details{Reason: mismatch.Error(), SHA256: w.hasher.Sums().SHA256},
			OccurredAt: now, RecordedAt: now})
	})
	if err != nil {
		return fmt.Errorf("evidence: reject upload: %w", err)
	}
	return mismatch
}

func compareDeclared(it itemRow, sums Sums) *HashMismatchError {
	for _, c := range []struct{ alg, declared, got string }{
		{"SHA-256", it.DeclaredSHA256, sums.SHA256}, {"SHA-1", it.DeclaredSHA1, sums.SHA1}, {"MD5", it.DeclaredMD5, sums.MD5},
	} {
		if c.declared != "" && c.declared != c.got {
			return &HashMismatchError{Algorithm: c.alg, Declared: c.declared, Received: c.got}
		}
	}
	return nil
}

func agencyOf(tx *gorm.DB, userID string) string {
	var agencyID string
	_ = tx.Table("users").Select("agency_id").Where("id = ?", userID).Scan(&agencyID).Error
	return agencyID
}
