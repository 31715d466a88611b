package evidence

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// ProbePrefix is where the lock probe writes its canaries: Bevis's own
// prefix, never evidence ("cases/") nor audit checkpoints ("audit/").
const ProbePrefix = "bevis-probe/"

// probeLock is how long a canary is locked: long enough that only a
// shortened lock or a bypass could let it go during the probe.
const probeLock = 24 * time.Hour

// ProbeResult is what the lock probe found Bevis's own credentials able to
// do to a locked object. Each weakness is a way an insider holding those
// credentials could destroy evidence or audit checkpoints.
type ProbeResult struct {
	Canary     string   // the prefix of this probe's canaries
	Weaknesses []string // what succeeded and must not have
}

// Weak reports whether the probe found any weakness.
func (r ProbeResult) Weak() bool { return len(r.Weaknesses) > 0 }

func (r ProbeResult) String() string {
	if !r.Weak() {
		return "Bevis's credentials could neither shorten a lock, delete a locked version nor lift a legal hold"
	}
	return strings.Join(r.Weaknesses, "; ")
}

// ProbeLocks tries, with Bevis's own credentials, what an insider holding
// them would try on two small canaries it writes under ProbePrefix, each
// locked (GOVERNANCE) for a day: to shorten the lock with the governance
// bypass, to delete the locked version with the bypass, and to lift a
// legal hold. Each that succeeds is a weakness of the store's policy. The
// canaries are left in place (a lifecycle rule on the prefix may expire
// them; the one with the legal hold stays until someone allowed to lifts
// it). An error means the probe could not be carried out (the store is
// unreachable, or Bevis may not write its canaries), not that the store
// is weak.
func (s *S3Store) ProbeLocks(ctx context.Context) (ProbeResult, error) {
	var tag [6]byte
	_, _ = rand.Read(tag[:]) // crypto/rand.Read never fails
	now := time.Now().UTC()
	res := ProbeResult{Canary: ProbePrefix + now.Format("20060102t150405") + "-" + hex.EncodeToString(tag[:]) + "/"}
	locked := &Retention{Mode: Governance, Until: now.Add(probeLock)}
	canary := []byte("Bevis lock probe canary, " + now.Format(time.RFC3339) + ": never evidence.\n")

	key := res.Canary + "retention.txt"
	info, err := s.Put(ctx, key, strings.NewReader(string(canary)), int64(len(canary)), PutOptions{Retention: locked})
	if err != nil {
		return res, fmt.Errorf("evidence: lock probe: write canary %s: %w", key, err)
	}
	mode, soon := minio.Governance, time.Now().UTC().Add(2*time.Second).Truncate(time.Second)
	err = s.client.PutObjectRetention(ctx, s.bucket, key, minio.PutObjectRetentionOptions{
		GovernanceBypass: true, Mode: &mode, RetainUntilDate: &soon, VersionID: info.VersionID})
	if err == nil {
		res.Weaknesses = append(res.Weaknesses, "the lock of a locked object can be shortened (governance bypass)")
	} else if probeUnreachable(ctx, err) {
		return res, s.translate(ctx, "lock probe", err)
	}
	err = s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true})
	if err == nil {
		res.Weaknesses = append(res.Weaknesses, "a locked version can be deleted (governance bypass)")
	} else if probeUnreachable(ctx, err) {
		return res, s.translate(ctx, "lock probe", err)
	}

	key = res.Canary + "legal-hold.txt"
	info, err = s.Put(ctx, key, strings.NewReader(string(canary)), int64(len(canary)), PutOptions{Retention: locked, LegalHold: true})
	if err != nil {
		return res, fmt.Errorf("evidence: lock probe: write canary %s: %w", key, err)
	}
	off := minio.LegalHoldDisabled
	err = s.client.PutObjectLegalHold(ctx, s.bucket, key, minio.PutObjectLegalHoldOptions{VersionID: info.VersionID, Status: &off})
	if err == nil {
		res.Weaknesses = append(res.Weaknesses, "a legal hold can be lifted")
	} else if probeUnreachable(ctx, err) {
		return res, s.translate(ctx, "lock probe", err)
	}
	return res, nil
}

// probeUnreachable tells a refusal (the answer the probe hopes for) from
// a server that could not be reached or failed, which proves nothing.
func probeUnreachable(ctx context.Context, err error) bool {
	var resp minio.ErrorResponse
	if ctx.Err() != nil || !errors.As(err, &resp) {
		return true
	}
	return resp.StatusCode >= 500
}

// ForeignWrites lists the keys under prefix that Bevis, which writes one
// version per key and deletes none, cannot have left as they are: keys with
// more than one version, or with a delete marker. It is how written-once
// keys outside any item (the audit checkpoints) are checked.
func (s *S3Store) ForeignWrites(ctx context.Context, prefix string) ([]string, error) {
	type seen struct{ versions, markers int }
	keys := map[string]*seen{}
	var order []string
	for oi := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, WithVersions: true, Recursive: true}) {
		if oi.Err != nil {
			return nil, s.translate(ctx, "list versions under "+prefix, oi.Err)
		}
		k := keys[oi.Key]
		if k == nil {
			k = &seen{}
			keys[oi.Key] = k
			order = append(order, oi.Key)
		}
		if oi.IsDeleteMarker {
			k.markers++
		} else {
			k.versions++
		}
	}
	var out []string
	for _, key := range order {
		k := keys[key]
		if k.versions > 1 || k.markers > 0 {
			out = append(out, fmt.Sprintf("%s: %d versions and %d delete markers, where Bevis wrote one version", key, k.versions, k.markers))
		}
	}
	return out, nil
}
