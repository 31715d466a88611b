package evidence

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The contract cases about retention and legal hold; the suite is in
// store_contract_test.go.

func contractGovernanceRetention(t *testing.T, s BlobStore) {
	ctx := t.Context()
	key := newTestKey()
	// A fraction of a second is rounded up: never less protection than asked.
	asked := time.Now().Add(30*time.Second + 400*time.Millisecond)
	info := mustPut(t, s, key, []byte("evidence"), -1, PutOptions{Retention: &Retention{Mode: Governance, Until: asked}})
	wantUntil := asked.Truncate(time.Second).Add(time.Second)
	assertRetention(t, s, key, info.VersionID, Governance, wantUntil)
	if info.Retention == nil || !info.Retention.Until.Equal(wantUntil) {
		t.Errorf("Put info retention = %+v, want GOVERNANCE until %s", info.Retention, wantUntil)
	}

	for _, step := range []struct {
		name  string
		until time.Time
	}{
		{"extended", wantUntil.Add(time.Minute)},
		{"shortened", wantUntil.Add(-20 * time.Second)},
	} {
		if err := s.SetRetention(ctx, key, info.VersionID, Retention{Mode: Governance, Until: step.until}); err != nil {
			t.Fatalf("SetRetention %s: %v", step.name, err)
		}
		assertRetention(t, s, key, info.VersionID, Governance, step.until)
	}
}

func contractComplianceRetention(t *testing.T, s BlobStore) {
	ctx := t.Context()
	now := time.Now().Truncate(time.Second)

	t.Run("set_at_put", func(t *testing.T) {
		key := newTestKey()
		until := now.Add(time.Minute)
		info := mustPut(t, s, key, []byte("evidence"), 8, PutOptions{Retention: &Retention{Mode: Compliance, Until: until}})
		assertRetention(t, s, key, info.VersionID, Compliance, until)
	})

	key := newTestKey()
	info := mustPut(t, s, key, []byte("evidence"), 8, PutOptions{Retention: &Retention{Mode: Governance, Until: now.Add(30 * time.Second)}})
	inForce := now.Add(90 * time.Second)
	for _, step := range []struct {
		name    string
		ret     Retention
		wantErr error
	}{
		{"raised_from_governance", Retention{Compliance, now.Add(60 * time.Second)}, nil},
		{"extended", Retention{Compliance, inForce}, nil},
		{"kept_equal", Retention{Compliance, inForce}, nil},
		{"shortened", Retention{Compliance, inForce.Add(-30 * time.Second)}, ErrRetentionShortened},
		{"weakened_to_governance", Retention{Governance, inForce.Add(time.Hour)}, ErrRetentionShortened},
	} {
		t.Run(step.name, func(t *testing.T) {
			err := s.SetRetention(ctx, key, info.VersionID, step.ret)
			if !errors.Is(err, step.wantErr) {
				t.Fatalf("SetRetention(%s until %s) error = %v, want %v", step.ret.Mode, step.ret.Until, err, step.wantErr)
			}
		})
	}
	assertRetention(t, s, key, info.VersionID, Compliance, inForce)
}

func contractInvalidRetention(t *testing.T, s BlobStore) {
	key := newTestKey()
	info := mustPut(t, s, key, []byte("x"), 1, PutOptions{})
	for _, tc := range []struct {
		name string
		ret  Retention
	}{
		{"unknown_mode", Retention{Mode: "FOREVER", Until: time.Now().Add(time.Hour)}},
		{"no_mode", Retention{Until: time.Now().Add(time.Hour)}},
		{"past_date", Retention{Mode: Governance, Until: time.Now().Add(-time.Hour)}},
		{"zero_date", Retention{Mode: Compliance}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.SetRetention(t.Context(), key, info.VersionID, tc.ret); !errors.Is(err, ErrInvalidRetention) {
				t.Errorf("SetRetention error = %v, want ErrInvalidRetention", err)
			}
			newKey := newTestKey()
			_, err := s.Put(t.Context(), newKey, strings.NewReader("x"), 1, PutOptions{Retention: &tc.ret})
			if !errors.Is(err, ErrInvalidRetention) {
				t.Errorf("Put error = %v, want ErrInvalidRetention", err)
			}
			assertNoObject(t, s, newKey)
		})
	}
}

func contractLockOnBigPut(t *testing.T, s BlobStore) {
	until := time.Now().Add(time.Minute).Truncate(time.Second)
	for _, knownSize := range []bool{true, false} {
		t.Run(fmt.Sprintf("known_size=%v", knownSize), func(t *testing.T) {
			data := testBytes(bigSize)
			key := newTestKey()
			opts := PutOptions{LegalHold: true, Retention: &Retention{Mode: Governance, Until: until}}
			info := mustPut(t, s, key, data, sizeArg(data, knownSize), opts)
			assertRetention(t, s, key, info.VersionID, Governance, until)
			assertLegalHold(t, s, key, info.VersionID, true)
		})
	}
}

func contractLegalHold(t *testing.T, s BlobStore) {
	key := newTestKey()
	info := mustPut(t, s, key, []byte("evidence"), 8, PutOptions{LegalHold: true})
	if !info.LegalHold {
		t.Errorf("Put info LegalHold = false, want true")
	}
	assertLegalHold(t, s, key, info.VersionID, true)
	for _, on := range []bool{false, false, true, true, false} {
		if err := s.SetLegalHold(t.Context(), key, info.VersionID, on); err != nil {
			t.Fatalf("SetLegalHold(%v): %v", on, err)
		}
		assertLegalHold(t, s, key, info.VersionID, on)
	}
}

func assertRetention(t testing.TB, s BlobStore, key, version string, mode RetentionMode, until time.Time) {
	t.Helper()
	info, err := s.Stat(t.Context(), key, version)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Retention == nil || info.Retention.Mode != mode || !info.Retention.Until.Equal(until) {
		t.Fatalf("retention = %+v, want %s until %s", info.Retention, mode, until.UTC())
	}
}

func assertLegalHold(t testing.TB, s BlobStore, key, version string, on bool) {
	t.Helper()
	info, err := s.Stat(t.Context(), key, version)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.LegalHold != on {
		t.Fatalf("LegalHold = %v, want %v", info.LegalHold, on)
	}
}
