package api

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"github.com/bevis-ir/bevis/access"
	"github.com/bevis-ir/bevis/alerts"
	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/evidence"
)

// putContent receives an item's content in one streamed request, for curl
// and scripts: `curl -T image.dd -H 'Authorization: Bearer …' …/content`.
// The body is hashed and sealed as it arrives and never held in memory.
// It is all or nothing: a body cut short leaves nothing, and the request
// can simply be sent again.
func (s *server) putContent(c *fiber.Ctx) error {
	it, err := s.itemWork(c)
	if err != nil {
		return err
	}
	length := int64(c.Request().Header.ContentLength())
	if length < 0 {
		return newProblem(fiber.StatusLengthRequired, "length_required",
			"Send Content-Length: the content's size is checked before it is stored.")
	}
	ctx := c.UserContext()
	up, err := s.Uploads.Create(ctx, principal(c), it, length, c.Query("filename"))
	if err != nil {
		return err
	}
	res, err := s.Uploads.Write(ctx, up.ID, 0, c.Context().RequestBodyStream(), nil)
	if err == nil && res.Item == nil {
		err = newProblem(fiber.StatusBadRequest, "body_incomplete", "The body ended before Content-Length bytes.")
	}
	if err != nil {
		var mismatch *evidence.HashMismatchError
		if !errors.As(err, &mismatch) {
			_ = s.Uploads.Abort(context.WithoutCancel(ctx), up.ID)
		}
		return err
	}
	return s.sendItem(c, fiber.StatusCreated, *res.Item)
}

// The tus 1.0 resumable upload protocol (core, creation, termination and
// checksum), so that tus-js-client and other tus clients work unchanged.
const (
	tusVersion    = "1.0.0"
	tusExtensions = "creation,termination,checksum"
	tusChecksums  = "sha1,sha256"
)

func tusHeaders(c *fiber.Ctx) {
	c.Set("Tus-Resumable", tusVersion)
	c.Set(fiber.HeaderCacheControl, "no-store")
}

// tusCheck refuses a request of another protocol version.
func tusCheck(c *fiber.Ctx) error {
	tusHeaders(c)
	if c.Get("Tus-Resumable") != tusVersion {
		c.Set("Tus-Version", tusVersion)
		return newProblem(fiber.StatusPreconditionFailed, "tus_version", "Send Tus-Resumable: 1.0.0.")
	}
	return nil
}

func (s *server) tusOptions(c *fiber.Ctx) error {
	tusHeaders(c)
	c.Set("Tus-Version", tusVersion)
	c.Set("Tus-Extension", tusExtensions)
	c.Set("Tus-Checksum-Algorithm", tusChecksums)
	c.Set("Tus-Max-Size", strconv.FormatInt(s.Config.UploadMaxSize, 10))
	return c.SendStatus(fiber.StatusNoContent)
}

// createUpload starts a resumable upload of an item's content (tus
// creation): Upload-Length is required, Upload-Metadata may name the file.
func (s *server) createUpload(c *fiber.Ctx) error {
	it, err := s.itemWork(c)
	if err != nil {
		return err
	}
	if err := tusCheck(c); err != nil {
		return err
	}
	length, err := strconv.ParseInt(c.Get("Upload-Length"), 10, 64)
	if err != nil || length < 0 {
		return newProblem(fiber.StatusBadRequest, "invalid_upload_length", "Send Upload-Length: the content's size in bytes.")
	}
	filename, err := tusFilename(c.Get("Upload-Metadata"))
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	up, err := s.Uploads.Create(ctx, principal(c), it, length, filename)
	if err != nil {
		return err
	}
	if length == 0 {
		if _, err := s.Uploads.Write(ctx, up.ID, 0, strings.NewReader(""), nil); err != nil {
			return err
		}
	}
	c.Location("/api/v1/uploads/" + up.ID)
	c.Set("Upload-Expires", up.ExpiresAt.UTC().Format(http.TimeFormat))
	return c.SendStatus(fiber.StatusCreated)
}

// tusFilename reads the filename (or name) from Upload-Metadata, a list of
// "key base64value" pairs. The name is kept as data and never names
// anything, but it must be text: a value that is not base64 of a valid
// name is evidence.ErrInvalidFilename.
func tusFilename(meta string) (string, error) {
	for _, pair := range strings.Split(meta, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(pair), " ")
		if k != "filename" && k != "name" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil || !evidence.ValidFilename(string(b)) {
			return "", evidence.ErrInvalidFilename
		}
		return string(b), nil
	}
	return "", nil
}

// upload loads a resumable upload of the route for its creator, who must
// still be allowed to write its item.
func (s *server) upload(c *fiber.Ctx) (evidence.Upload, error) {
	up, err := s.caseUpload(c)
	if err != nil {
		return evidence.Upload{}, err
	}
	if up.CreatedBy != principal(c).UserID {
		return evidence.Upload{}, evidence.ErrUploadGone
	}
	return up, tusCheck(c)
}

// caseUpload loads the upload of the route for a caller who may write its
// case. To someone who cannot see its item, the upload does not exist,
// whatever they ask of it.
func (s *server) caseUpload(c *fiber.Ctx) (evidence.Upload, error) {
	up, err := s.Uploads.Get(c.UserContext(), c.Params("uploadId"))
	if err != nil {
		return evidence.Upload{}, err
	}
	it, err := s.Items.Item(c.UserContext(), up.ItemID)
	if err != nil {
		return evidence.Upload{}, err
	}
	auditCase(c, up.CaseID)
	_, err = s.authorizeSeen(c, access.ActionCaseWrite, up.CaseID, func(markings []access.TLP) error {
		if !slices.Contains(markings, it.TLP) {
			return evidence.ErrUploadGone
		}
		return nil
	})
	return up, err
}

func (s *server) headUpload(c *fiber.Ctx) error {
	up, err := s.upload(c)
	if err != nil {
		return err
	}
	c.Set("Upload-Offset", strconv.FormatInt(up.Received, 10))
	c.Set("Upload-Length", strconv.FormatInt(up.Length, 10))
	return c.SendStatus(fiber.StatusOK)
}

// patchUpload takes the next bytes of a resumable upload. Upload-Offset
// answers how far the content is stored: on a lost connection the client
// asks with HEAD and goes on from there.
func (s *server) patchUpload(c *fiber.Ctx) error {
	up, err := s.upload(c)
	if err != nil {
		return err
	}
	if err := s.Cases.EnsureOpen(c.UserContext(), up.CaseID); err != nil {
		return err
	}
	if c.Get(fiber.HeaderContentType) != "application/offset+octet-stream" {
		return newProblem(fiber.StatusUnsupportedMediaType, "unsupported_media_type",
			"Send the bytes as application/offset+octet-stream.")
	}
	offset, err := strconv.ParseInt(c.Get("Upload-Offset"), 10, 64)
	if err != nil || offset < 0 {
		return newProblem(fiber.StatusBadRequest, "invalid_upload_offset", "Send Upload-Offset.")
	}
	sum, err := tusChecksum(c.Get("Upload-Checksum"))
	if err != nil {
		return err
	}
	res, err := s.Uploads.Write(c.UserContext(), up.ID, offset, c.Context().RequestBodyStream(), sum)
	if err != nil {
		return err
	}
	c.Set("Upload-Offset", strconv.FormatInt(res.Upload.Received, 10))
	return c.SendStatus(fiber.StatusNoContent)
}

func tusChecksum(h string) (*evidence.Checksum, error) {
	if h == "" {
		return nil, nil
	}
	alg, value, _ := strings.Cut(h, " ")
	sum, err := base64.StdEncoding.DecodeString(value)
	want := map[string]int{"sha1": 20, "sha256": 32}[alg]
	if want == 0 {
		return nil, newProblem(fiber.StatusBadRequest, "checksum_algorithm", "Upload-Checksum must use sha1 or sha256.")
	}
	if err != nil || len(sum) != want {
		return nil, newProblem(fiber.StatusBadRequest, "invalid_checksum", "Upload-Checksum is not a base64 digest.")
	}
	return &evidence.Checksum{Algorithm: alg, Sum: sum}, nil
}

// deleteUpload discards an unfinished upload: its creator's at any time, a
// lead of the case others' once they are stale.
func (s *server) deleteUpload(c *fiber.Ctx) error {
	up, err := s.caseUpload(c)
	if err != nil {
		return err
	}
	mine := up.CreatedBy == principal(c).UserID
	if !mine && s.authorize(c, access.ActionEvidenceGovern, access.Resource{CaseID: up.CaseID}) != nil {
		return evidence.ErrUploadGone // another writer's upload is none of theirs
	}
	if err := tusCheck(c); err != nil {
		return err
	}
	if mine {
		err = s.Uploads.Abort(c.UserContext(), up.ID)
	} else {
		err = s.Uploads.AbortStale(c.UserContext(), up.ID)
	}
	if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// getContent sends an item's content as a download, never to be shown
// inline, with Range support and the SHA-256 as Repr-Digest.
func (s *server) getContent(c *fiber.Ctx) error {
	it, err := s.item(c, access.ActionEvidenceDownload)
	if err != nil {
		return err
	}
	if it.ContentStatus != "received" {
		return evidence.ErrNoContent
	}
	// A disposed item's content is gone for good: 410, and the attempt on
	// the record (the audit trail records every failed download).
	if err := s.Content.Available(c.UserContext(), it); err != nil {
		return err
	}
	offset, length, partial, err := byteRange(c.Get(fiber.HeaderRange), it.Size)
	if err != nil {
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes */%d", it.Size))
		return err
	}
	// The download reserves its bytes against the exfiltration hard limit
	// before any byte is sent, and gives back what it does not send.
	ctx, p := c.UserContext(), principal(c)
	actor := audit.Actor{UserID: p.UserID, AgencyID: p.AgencyID, TokenID: p.TokenID}
	reservation, err := s.Alerts.ReserveDownload(ctx, actor, it.CaseID, it.ID, length)
	if err != nil {
		return err
	}
	settle := s.settler(reservation, requestID(c))
	r, err := s.Content.Open(ctx, it, offset, length)
	if err != nil {
		settle(0)
		// Missing, or changed where the range starts: on the record, and a
		// 409 before any byte.
		return s.Content.ReadFailed(ctx, p, it, offset, length, err)
	}
	// The download goes on the record (in auditTrail) before its first byte.
	c.Locals(localAuditRange, &audit.ByteRange{Offset: offset, Length: length})
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, attachment(it))
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	if digest, err := hex.DecodeString(it.Computed.SHA256); err == nil {
		c.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(digest)+":")
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if partial {
		c.Set(fiber.HeaderContentRange, fmt.Sprintf("bytes %d-%d/%d", offset, offset+length-1, it.Size))
		c.Status(fiber.StatusPartialContent)
	}
	status := strconv.Itoa(c.Response().StatusCode())
	failCtx := context.WithoutCancel(ctx) // c is not ours once the handler returns
	watched := &watchedBody{rc: r, failed: func(err error) {
		s.downloadFailed(failCtx, p, it, offset, length, status, err)
	}}
	return c.SendStream(&meteredBody{ReadCloser: watched, settle: settle}, int(length))
}

// downloadFailed records a download that failed after its first byte (the
// server then cuts the connection, so the client sees the body end short
// of Content-Length): when the content failed authentication, the finding
// goes on the custody record and raises an alert, and the download, on the
// record as begun, is recorded as failed.
func (s *server) downloadFailed(ctx context.Context, p access.Principal, it evidence.Item, offset, length int64, status string, err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var integrity *evidence.IntegrityError
	if ferr := s.Content.ReadFailed(ctx, p, it, offset, length, err); !errors.As(ferr, &integrity) {
		return // not the content's fault: the client went away, or the store
	}
	s.Log.Error("download cut short: the stored content failed authentication", "item", it.ID,
		"result", integrity.Result, "err", err, "request_id", audit.RequestIDFrom(ctx))
	rerr := s.Audit.Record(ctx, audit.Entry{Action: "evidence.download", Outcome: audit.Failed, ResourceType: "evidence",
		ResourceID: it.ID, CaseID: it.CaseID, Detail: map[string]string{"status": status, "cut_short": "content_" + integrity.Result}})
	if rerr != nil {
		s.Log.Error("failed download not recorded", "err", rerr, "item", it.ID, "request_id", audit.RequestIDFrom(ctx))
	}
}

// watchedBody is a download's body that tells failed of the first error
// reading it (or, through WriteTo, writing it on), once.
type watchedBody struct {
	rc     io.ReadCloser
	failed func(error)
	once   sync.Once
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.check(err)
	return n, err
}

// WriteTo keeps the sealed reader's own WriteTo, which hands each
// authenticated group of chunks on in one write.
func (b *watchedBody) WriteTo(w io.Writer) (int64, error) {
	wt, ok := b.rc.(io.WriterTo)
	if !ok {
		return io.Copy(w, struct{ io.Reader }{b})
	}
	n, err := wt.WriteTo(w)
	b.check(err)
	return n, err
}

func (b *watchedBody) Close() error { return b.rc.Close() }

func (b *watchedBody) check(err error) {
	if err != nil && !errors.Is(err, io.EOF) {
		b.once.Do(func() { b.failed(err) })
	}
}

// meteredBody counts the bytes of a download as they are handed to the
// connection and, when fasthttp closes it (the response written, the
// client gone, or the body replaced by a problem), settles the download's
// reservation with that count.
type meteredBody struct {
	io.ReadCloser
	sent    int64
	settle  func(sent int64)
	settled bool
}

func (b *meteredBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.sent += int64(n)
	return n, err
}

// WriteTo keeps the inner body's WriteTo (the sealed reader's, which hands
// each authenticated group of chunks on in one write), and counts what it
// wrote.
func (b *meteredBody) WriteTo(w io.Writer) (int64, error) {
	wt, ok := b.ReadCloser.(io.WriterTo)
	if !ok {
		return io.Copy(w, struct{ io.Reader }{b})
	}
	n, err := wt.WriteTo(w)
	b.sent += n
	return n, err
}

func (b *meteredBody) Close() error {
	err := b.ReadCloser.Close()
	if !b.settled {
		b.settled = true
		b.settle(b.sent)
	}
	return err
}

// settler settles a reservation once the request is over: with a context
// of its own, since fasthttp closes the body after the handler returned.
// A reservation left unsettled keeps counting whole, so a failure here
// errs on the side of the limit.
func (s *server) settler(r *alerts.Reservation, requestID string) func(sent int64) {
	requestID = strings.Clone(requestID)
	return func(sent int64) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Settle(ctx, sent); err != nil {
			s.Log.Error("download not settled; it counts whole against the hard limit", "err", err, "request_id", requestID)
		}
	}
}

// byteRange reads one Range (bytes=a-b, a- or -n) against size. Several
// ranges, or none, get the whole content.
func byteRange(h string, size int64) (offset, length int64, partial bool, err error) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if h == "" || !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	unsatisfiable := newProblem(fiber.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable",
		"The range is not within the content.")
	first, last, _ := strings.Cut(strings.TrimSpace(spec), "-")
	switch first {
	case "":
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 || size == 0 {
			return 0, 0, false, unsatisfiable
		}
		n = min(n, size)
		return size - n, n, true, nil
	default:
		a, err := strconv.ParseInt(first, 10, 64)
		if err != nil || a < 0 || a >= size {
			return 0, 0, false, unsatisfiable
		}
		b := size - 1
		if last != "" {
			if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
				return 0, 0, false, unsatisfiable
			}
			b = min(b, size-1)
		}
		return a, b - a + 1, true, nil
	}
}

// attachment names the download after its exhibit number and original
// name, safely: control and bidirectional-override characters are dropped,
// the plain filename is ASCII only, and the full name goes percent-encoded
// in filename* (RFC 6266), so no name can inject a header or disguise
// itself.
func attachment(it evidence.Item) string {
	name := it.ExhibitNumber
	if clean := strings.Map(safeRune, it.Filename); strings.TrimSpace(clean) != "" {
		name += "-" + clean
	}
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '/' {
			return '_'
		}
		return r
	}, name)
	return fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, ascii, url.PathEscape(name))
}

// safeRune drops control characters, bidirectional controls and path
// separators from a name shown to people.
func safeRune(r rune) rune {
	if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '/' || r == '\\' || r == '\uFFFD' {
		return -1
	}
	return r
}

type verificationJSON struct {
	Result string           `json:"result"`
	SHA256 string           `json:"sha256,omitempty"`
	Event  custodyEventJSON `json:"event"`
}

// verifyItem re-reads an item's content now and records the result.
func (s *server) verifyItem(c *fiber.Ctx) error {
	it, err := s.item(c, access.ActionCaseWrite)
	if err != nil {
		return err
	}
	v, err := s.Content.Verify(c.UserContext(), principal(c), it)
	if err != nil {
		return err
	}
	out := verificationJSON{Result: v.Result, SHA256: v.SHA256, Event: toCustodyEventJSON(v.Event)}
	if err := s.nameAll(c.UserContext(), &out.Event); err != nil {
		return err
	}
	return c.JSON(out)
}
