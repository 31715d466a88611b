package evidence

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/access"
)

// An unfinished upload holds case quota for what it has received plus an
// allowance of a few parts, not for the length it declared: otherwise a
// writer could fill a case's quota with declarations of a terabyte that
// never come. An upload takes more of the quota as its bytes arrive, at
// each part boundary, and stops with ErrQuotaExceeded when the case has no
// room left for it; what it stored until then stays, to go on from later.

// UploadAllowanceParts is the allowance an unfinished upload holds beyond
// what it received, in parts (BEVIS_S3_PART_SIZE, 16 MiB by default).
const UploadAllowanceParts = 4

// StaleUploadAfter is how long an unfinished upload may receive nothing,
// held by no request, before it is stale: a lead of the case may discard
// it, and a new upload of its item replaces it whoever started it. An
// upload in progress is discarded only by the person who started it.
const StaleUploadAfter = time.Hour

// ErrUploadInProgress refuses to discard an upload someone else has in
// progress: by starting another upload of its item, or as a lead.
var ErrUploadInProgress = errors.New("evidence: another person's upload of the item is in progress")

func (u *Uploads) allowance() int64 { return UploadAllowanceParts * int64(u.limits.PartSize) }

// held is what an upload of length bytes that has received received bytes
// holds of its case's quota.
func (u *Uploads) held(length, received int64) int64 { return min(length, received+u.allowance()) }

// stale reports whether the upload has been left: no request holds it, and
// it has received nothing for StaleUploadAfter.
func (r uploadRow) stale(now time.Time) bool {
	active := r.CreatedAt
	if r.ActiveAt != nil {
		active = *r.ActiveAt
	}
	return (r.LeaseUntil == nil || r.LeaseUntil.Before(now)) && active.Before(now.Add(-StaleUploadAfter))
}

// quotaUsed is what a case's received content and its unfinished uploads
// hold, leaving out the uploads of the item exceptItem (which the asking
// upload replaces) and the upload exceptUpload (the one asking).
func (u *Uploads) quotaUsed(ctx context.Context, caseID, exceptItem, exceptUpload string) (received, pending int64, err error) {
	var used struct{ Received, Pending int64 }
	allowance := u.allowance()
	err = u.db.WithContext(ctx).Raw(`
		SELECT (SELECT COALESCE(SUM(size), 0) FROM evidence_items WHERE case_id = ? AND content_status = 'received') AS received,
		       (SELECT COALESCE(SUM(CASE WHEN length < received + ? THEN length ELSE received + ? END), 0) FROM evidence_uploads
		         WHERE case_id = ? AND status = 'active' AND expires_at > ? AND item_id <> ? AND id <> ?) AS pending`,
		caseID, allowance, allowance, caseID, u.now(), exceptItem, exceptUpload).Scan(&used).Error
	if err != nil {
		return 0, 0, fmt.Errorf("evidence: quota: %w", err)
	}
	return used.Received, used.Pending, nil
}

// checkQuota refuses a new upload of length bytes for an item that could
// never fit the case's quota beside what the case holds, or for which the
// case has no room now.
func (u *Uploads) checkQuota(ctx context.Context, it Item, length int64) error {
	if u.limits.CaseQuota <= 0 {
		return nil
	}
	received, pending, err := u.quotaUsed(ctx, it.CaseID, it.ID, "")
	if err != nil {
		return err
	}
	if received+length > u.limits.CaseQuota || received+pending+u.held(length, 0) > u.limits.CaseQuota {
		return ErrQuotaExceeded
	}
	return nil
}

// holdQuota refuses to let an upload that has received row.Received bytes
// hold more than its case has room for.
func (u *Uploads) holdQuota(ctx context.Context, row uploadRow) error {
	if u.limits.CaseQuota <= 0 {
		return nil
	}
	received, pending, err := u.quotaUsed(ctx, row.CaseID, "", row.ID)
	if err != nil {
		return err
	}
	if received+pending+u.held(row.Length, row.Received) > u.limits.CaseQuota {
		return ErrQuotaExceeded
	}
	return nil
}

// replaceable checks the unfinished uploads of an item that a new upload
// by p would replace: p's own, and stale ones, but never another person's
// upload in progress.
func replaceable(p access.Principal, uploads []uploadRow, now time.Time) error {
	for _, r := range uploads {
		if r.CreatedBy != p.UserID && r.ExpiresAt.After(now) && !r.stale(now) {
			return ErrUploadInProgress
		}
	}
	return nil
}

// AbortStale discards an unfinished upload only when it is stale; one in
// progress is ErrUploadInProgress. It is how a lead clears uploads others
// left.
func (u *Uploads) AbortStale(ctx context.Context, id string) error {
	return u.abort(ctx, id, true)
}

// CaseUploads lists the unfinished uploads of a case's items marked within
// markings, oldest first: every one, or only those createdBy started when
// it is not empty.
func (u *Uploads) CaseUploads(ctx context.Context, caseID string, markings []access.TLP, createdBy string) ([]Upload, error) {
	q := u.db.WithContext(ctx).Model(&uploadRow{}).Omit("tail", "hash_state", "seal_state").
		Where("case_id = ? AND status = 'active' AND expires_at > ?", caseID, u.now()).
		Where("item_id IN (?)", u.db.Model(&itemRow{}).Select("id").Where("case_id = ? AND tlp IN ?", caseID, markings))
	if createdBy != "" {
		q = q.Where("created_by = ?", createdBy)
	}
	var rows []uploadRow
	if err := q.Order("created_at, id").Limit(1000).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("evidence: uploads of a case: %w", err)
	}
	now := u.now()
	out := make([]Upload, len(rows))
	for i, r := range rows {
		out[i] = r.upload()
		out[i].Held, out[i].Stale = u.held(r.Length, r.Received), r.stale(now)
	}
	return out, nil
}

// abort discards an unfinished upload and its stored parts; onlyStale
// leaves one in progress alone.
func (u *Uploads) abort(ctx context.Context, id string, onlyStale bool) error {
	var row uploadRow
	db := u.db.WithContext(ctx)
	err := db.Select("id", "object_key", "store_upload").Where("id = ? AND status = 'active'", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrUploadGone
	}
	if err != nil {
		return fmt.Errorf("evidence: abort upload: %w", err)
	}
	q := db.Model(&uploadRow{}).Where("id = ? AND status = 'active'", id)
	if onlyStale {
		now := u.now()
		q = q.Where("(lease_until IS NULL OR lease_until < ?) AND COALESCE(active_at, created_at) < ?", now, now.Add(-StaleUploadAfter))
	}
	res := q.Updates(map[string]any{"status": "aborted", "tail": nil})
	switch {
	case res.Error != nil:
		return fmt.Errorf("evidence: abort upload: %w", res.Error)
	case res.RowsAffected == 0 && onlyStale:
		return ErrUploadInProgress
	case res.RowsAffected == 0:
		return ErrUploadGone
	}
	return u.store.AbortMultipart(ctx, row.ObjectKey, row.StoreUpload)
}
