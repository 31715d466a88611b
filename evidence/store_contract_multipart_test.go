package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// The contract cases about multipart writes; the suite is in
// store_contract_test.go. reopen gives another store instance on the same
// backing storage, as another Bevis process would open it.
func testMultipartContract(t *testing.T, newStore func(t *testing.T) BlobStore, reopen func(t *testing.T, s BlobStore) BlobStore) {
	cases := []struct {
		name string
		run  func(t *testing.T, s BlobStore, reopen func() BlobStore)
	}{
		{"Multipart_PartsFromOtherInstances_CompleteOneObject", contractMultipartAcrossInstances},
		{"Multipart_Abort_LeavesNoObjectAndEndsTheUpload", contractMultipartAbort},
		{"Multipart_BadPartList_IsInvalidAndLeavesNoObject", contractMultipartBadParts},
		{"Multipart_UnknownUpload_IsNotFound", contractMultipartUnknownUpload},
		{"Multipart_CompleteOnTakenKey_IsRefusedAndKeepsTheOriginal", contractMultipartWriteOnce},
		{"Multipart_ConcurrentCompletes_StoreOneVersion", contractMultipartConcurrentCompletes},
		{"Multipart_LockFromStart_IsOnTheCompletedVersion", contractMultipartLock},
		{"Multipart_InvalidInputs_AreRefused", contractMultipartInvalidInputs},
		{"Multipart_SinglePart_MayBeSmallOrEmpty", contractMultipartSinglePart},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			tc.run(t, s, func() BlobStore { return reopen(t, s) })
		})
	}
}

// mpSize is three parts: two of MinPartSize and a shorter last one.
const mpSize = 2*MinPartSize + 12345

func mustStart(t testing.TB, s BlobStore, key string, opts PutOptions) string {
	t.Helper()
	id, err := s.StartMultipart(t.Context(), key, opts)
	if err != nil {
		t.Fatalf("StartMultipart %s: %v", key, err)
	}
	if id == "" {
		t.Fatal("StartMultipart returned an empty upload ID")
	}
	return id
}

func mustPutPart(t testing.TB, s BlobStore, key, id string, n int, data []byte) Part {
	t.Helper()
	p, err := s.PutPart(t.Context(), key, id, n, streamOf(data), int64(len(data)))
	if err != nil {
		t.Fatalf("PutPart %d: %v", n, err)
	}
	if p.Number != n || p.ETag == "" || p.Size != int64(len(data)) {
		t.Fatalf("PutPart %d = %+v, want number %d, an ETag, size %d", n, p, n, len(data))
	}
	return p
}

// putParts stores data as parts of MinPartSize (the last shorter) through s
// and returns them.
func putParts(t testing.TB, s BlobStore, key, id string, data []byte) []Part {
	t.Helper()
	var parts []Part
	for n, off := 1, 0; off < len(data) || n == 1; n, off = n+1, off+MinPartSize {
		end := min(off+MinPartSize, len(data))
		parts = append(parts, mustPutPart(t, s, key, id, n, data[off:end]))
	}
	return parts
}

func mustComplete(t testing.TB, s BlobStore, key, id string, parts []Part) ObjectInfo {
	t.Helper()
	info, err := s.CompleteMultipart(t.Context(), key, id, parts)
	if err != nil {
		t.Fatalf("CompleteMultipart %s: %v", key, err)
	}
	return info
}

func contractMultipartAcrossInstances(t *testing.T, s BlobStore, reopen func() BlobStore) {
	ctx := t.Context()
	data := testBytes(mpSize)
	key := newTestKey()
	id := mustStart(t, s, key, PutOptions{})

	// Each part from another instance, and part 2 stored twice: first
	// with other bytes, then replaced.
	p1 := mustPutPart(t, s, key, id, 1, data[:MinPartSize])
	second := reopen()
	wrong := mustPutPart(t, second, key, id, 2, bytes.Repeat([]byte("x"), MinPartSize))
	p2 := mustPutPart(t, reopen(), key, id, 2, data[MinPartSize:2*MinPartSize])
	if p2.ETag == wrong.ETag {
		t.Fatalf("parts with different bytes have the same ETag %q", p2.ETag)
	}
	p3 := mustPutPart(t, second, key, id, 3, data[2*MinPartSize:])
	assertNoObject(t, s, key) // nothing visible before completion

	last := reopen()
	before := time.Now()
	info := mustComplete(t, last, key, id, []Part{p1, p2, p3})
	if info.Key != key || info.VersionID == "" || info.Size != mpSize || info.Retention != nil || info.LegalHold {
		t.Fatalf("CompleteMultipart info = %+v, want key %s, a version ID, size %d, no lock", info, key, mpSize)
	}
	if info.ModTime.Before(before.Add(-2 * time.Second)) {
		t.Errorf("ModTime %s is before the completion (%s)", info.ModTime, before)
	}
	assertOneVersion(t, s, key, info)
	stat, err := s.Stat(ctx, key, info.VersionID)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	assertSameInfo(t, stat, info)

	for _, tc := range []struct {
		name           string
		offset, length int64
	}{
		{"whole", 0, -1},
		{"across_first_boundary", MinPartSize - 10, 20},
		{"across_second_boundary", 2*MinPartSize - 1, 2},
		{"first_byte_of_second_part", MinPartSize, 1},
		{"spanning_all_parts", 100, mpSize - 200},
		{"last_byte", mpSize - 1, 1},
		{"to_end_from_second_part", MinPartSize + 7, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			end := int64(len(data))
			if tc.length != -1 {
				end = tc.offset + tc.length
			}
			assertSameBytes(t, mustGet(t, reopen(), key, info.VersionID, tc.offset, tc.length), data[tc.offset:end])
		})
	}

	t.Run("the_upload_is_finished", func(t *testing.T) {
		if _, err := s.PutPart(ctx, key, id, 4, strings.NewReader("x"), 1); !errors.Is(err, ErrUploadNotFound) {
			t.Errorf("PutPart after completion error = %v, want ErrUploadNotFound", err)
		}
		if _, err := s.CompleteMultipart(ctx, key, id, []Part{p1, p2, p3}); !errors.Is(err, ErrUploadNotFound) {
			t.Errorf("second CompleteMultipart error = %v, want ErrUploadNotFound", err)
		}
		if err := s.AbortMultipart(ctx, key, id); err != nil {
			t.Errorf("AbortMultipart after completion: %v", err)
		}
		assertOneVersion(t, s, key, info)
	})
}

func contractMultipartAbort(t *testing.T, s BlobStore, reopen func() BlobStore) {
	ctx := t.Context()
	key := newTestKey()
	id := mustStart(t, s, key, PutOptions{})
	data := testBytes(MinPartSize + 1000)
	parts := putParts(t, s, key, id, data)

	if err := reopen().AbortMultipart(ctx, key, id); err != nil {
		t.Fatalf("AbortMultipart: %v", err)
	}
	assertNoObject(t, s, key)
	if err := s.AbortMultipart(ctx, key, id); err != nil {
		t.Errorf("second AbortMultipart: %v", err)
	}
	if _, err := s.PutPart(ctx, key, id, 3, strings.NewReader("x"), 1); !errors.Is(err, ErrUploadNotFound) {
		t.Errorf("PutPart after abort error = %v, want ErrUploadNotFound", err)
	}
	if _, err := s.CompleteMultipart(ctx, key, id, parts); !errors.Is(err, ErrUploadNotFound) {
		t.Errorf("CompleteMultipart after abort error = %v, want ErrUploadNotFound", err)
	}
	assertNoObject(t, s, key)

	// The key stays free for a new write.
	info := mustPut(t, s, key, data, int64(len(data)), PutOptions{})
	assertOneVersion(t, s, key, info)
}

func contractMultipartBadParts(t *testing.T, s BlobStore, reopen func() BlobStore) {
	key := newTestKey()
	id := mustStart(t, s, key, PutOptions{})
	data := testBytes(mpSize)
	good := putParts(t, s, key, id, data)
	p1, p2, p3 := good[0], good[1], good[2]

	// A second upload of the key whose middle part is too small.
	smallID := mustStart(t, s, key, PutOptions{})
	s1 := mustPutPart(t, s, key, smallID, 1, data[:MinPartSize])
	s2 := mustPutPart(t, s, key, smallID, 2, data[MinPartSize:2*MinPartSize-1])
	s3 := mustPutPart(t, s, key, smallID, 3, data[2*MinPartSize-1:])

	withETag := func(p Part, etag string) Part { p.ETag = etag; return p }
	withSize := func(p Part, size int64) Part { p.Size = size; return p }
	withNumber := func(p Part, n int) Part { p.Number = n; return p }
	for _, tc := range []struct {
		name  string
		id    string
		parts []Part
	}{
		{"no_parts", id, nil},
		{"missing_middle_part", id, []Part{p1, p3}},
		{"missing_first_part", id, []Part{p2, p3}},
		{"reordered", id, []Part{p2, p1, p3}},
		{"part_listed_twice", id, []Part{p1, p1, p3}},
		{"renumbered_part", id, []Part{p1, withNumber(p3, 2)}},
		{"part_never_stored", id, []Part{p1, p2, p3, withNumber(p3, 4)}},
		{"wrong_etag", id, []Part{p1, withETag(p2, p1.ETag), p3}},
		{"made_up_etag", id, []Part{p1, withETag(p2, strings.Repeat("0", len(p2.ETag))), p3}},
		{"no_etag", id, []Part{p1, withETag(p2, ""), p3}},
		{"wrong_size", id, []Part{p1, p2, withSize(p3, p3.Size-1)}},
		{"wrong_size_of_middle_part", id, []Part{p1, withSize(p2, p2.Size+1), p3}},
		{"too_small_middle_part", smallID, []Part{s1, s2, s3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CompleteMultipart(t.Context(), key, tc.id, tc.parts)
			if !errors.Is(err, ErrInvalidPart) {
				t.Fatalf("CompleteMultipart error = %v, want ErrInvalidPart", err)
			}
			assertNoObject(t, s, key)
		})
	}

	// A refused list leaves the upload as it was: the right list completes it.
	info := mustComplete(t, reopen(), key, id, good)
	assertSameBytes(t, mustGet(t, s, key, info.VersionID, 0, -1), data)
	assertOneVersion(t, s, key, info)
	if err := s.AbortMultipart(t.Context(), key, smallID); err != nil {
		t.Fatalf("AbortMultipart: %v", err)
	}
}

func contractMultipartUnknownUpload(t *testing.T, s BlobStore, _ func() BlobStore) {
	ctx := t.Context()
	key := newTestKey()
	otherKey := newTestKey()
	otherID := mustStart(t, s, otherKey, PutOptions{})
	p := mustPutPart(t, s, otherKey, otherID, 1, []byte("other"))
	for _, tc := range []struct{ name, id string }{
		{"made_up", strings.ReplaceAll(newMadeUpVersion(), "-", "")},
		{"made_up_uuid", newMadeUpVersion()},
		{"of_another_key", otherID},
		{"empty", ""},
		{"path", "../../" + otherID},
		{"non_printable", "a\nb"},
		{"dot_dot", ".."},
		{"slash", "a/b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.PutPart(ctx, key, tc.id, 1, strings.NewReader("x"), 1); !errors.Is(err, ErrUploadNotFound) {
				t.Errorf("PutPart error = %v, want ErrUploadNotFound", err)
			}
			if _, err := s.CompleteMultipart(ctx, key, tc.id, []Part{p}); !errors.Is(err, ErrUploadNotFound) {
				t.Errorf("CompleteMultipart error = %v, want ErrUploadNotFound", err)
			}
			if err := s.AbortMultipart(ctx, key, tc.id); err != nil {
				t.Errorf("AbortMultipart error = %v, want nil", err)
			}
			assertNoObject(t, s, key)
		})
	}
	// None of that touched the other key's upload.
	info := mustComplete(t, s, otherKey, otherID, []Part{p})
	assertSameBytes(t, mustGet(t, s, otherKey, info.VersionID, 0, -1), []byte("other"))
}

func contractMultipartWriteOnce(t *testing.T, s BlobStore, reopen func() BlobStore) {
	for _, tc := range []struct {
		name        string
		takenBefore bool // the key was taken before StartMultipart, or during the upload
	}{
		{"taken_before_start", true},
		{"taken_during_upload", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := newTestKey()
			original := testBytes(1000)
			var first ObjectInfo
			if tc.takenBefore {
				first = mustPut(t, s, key, original, int64(len(original)), PutOptions{})
			}
			id := mustStart(t, s, key, PutOptions{})
			parts := putParts(t, s, key, id, testBytes(MinPartSize+10))
			if !tc.takenBefore {
				first = mustPut(t, reopen(), key, original, int64(len(original)), PutOptions{})
			}
			if _, err := s.CompleteMultipart(t.Context(), key, id, parts); !errors.Is(err, ErrObjectExists) {
				t.Fatalf("CompleteMultipart error = %v, want ErrObjectExists", err)
			}
			assertSameBytes(t, mustGet(t, s, key, first.VersionID, 0, -1), original)
			assertOneVersion(t, s, key, first)
			if err := s.AbortMultipart(t.Context(), key, id); err != nil {
				t.Fatalf("AbortMultipart: %v", err)
			}
			assertOneVersion(t, s, key, first)
		})
	}
}

func contractMultipartLock(t *testing.T, s BlobStore, reopen func() BlobStore) {
	until := time.Now().Add(time.Minute).Truncate(time.Second)
	for _, tc := range []struct {
		name string
		opts PutOptions
	}{
		{"governance_and_legal_hold", PutOptions{LegalHold: true, Retention: &Retention{Mode: Governance, Until: until}}},
		{"compliance", PutOptions{Retention: &Retention{Mode: Compliance, Until: until}}},
		{"legal_hold_only", PutOptions{LegalHold: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := newTestKey()
			id := mustStart(t, s, key, tc.opts)
			data := testBytes(MinPartSize + 100)
			parts := putParts(t, reopen(), key, id, data)
			info := mustComplete(t, reopen(), key, id, parts)
			if info.LegalHold != tc.opts.LegalHold || (info.Retention == nil) != (tc.opts.Retention == nil) {
				t.Errorf("CompleteMultipart info = %+v (retention %+v), want legal hold %v, retention %+v", info, info.Retention, tc.opts.LegalHold, tc.opts.Retention)
			}
			if r := tc.opts.Retention; r != nil {
				assertRetention(t, s, key, info.VersionID, r.Mode, r.Until)
			}
			assertLegalHold(t, s, key, info.VersionID, tc.opts.LegalHold)
			assertSameBytes(t, mustGet(t, s, key, info.VersionID, 0, -1), data)
		})
	}
}

func contractMultipartInvalidInputs(t *testing.T, s BlobStore, _ func() BlobStore) {
	ctx := t.Context()
	key := newTestKey()
	id := mustStart(t, s, key, PutOptions{})

	t.Run("invalid_keys", func(t *testing.T) {
		for _, bad := range []string{"", "_reserved.bin", "a/../b.bin", "Upper.bin", "no-dot"} {
			if _, err := s.StartMultipart(ctx, bad, PutOptions{}); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("StartMultipart(%q) error = %v, want ErrInvalidKey", bad, err)
			}
			if _, err := s.PutPart(ctx, bad, id, 1, strings.NewReader("x"), 1); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("PutPart(%q) error = %v, want ErrInvalidKey", bad, err)
			}
			if _, err := s.CompleteMultipart(ctx, bad, id, []Part{{1, "e", 1}}); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("CompleteMultipart(%q) error = %v, want ErrInvalidKey", bad, err)
			}
			if err := s.AbortMultipart(ctx, bad, id); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("AbortMultipart(%q) error = %v, want ErrInvalidKey", bad, err)
			}
		}
	})
	t.Run("invalid_retention", func(t *testing.T) {
		for _, r := range []Retention{
			{Mode: "FOREVER", Until: time.Now().Add(time.Hour)},
			{Mode: Governance, Until: time.Now().Add(-time.Hour)},
		} {
			if _, err := s.StartMultipart(ctx, newTestKey(), PutOptions{Retention: &r}); !errors.Is(err, ErrInvalidRetention) {
				t.Errorf("StartMultipart(retention %+v) error = %v, want ErrInvalidRetention", r, err)
			}
		}
	})
	t.Run("part_numbers_and_sizes_out_of_range", func(t *testing.T) {
		for _, tc := range []struct {
			n    int
			size int64
		}{{0, 1}, {-1, 1}, {MaxParts + 1, 1}, {1, -1}, {1, MaxPartSize + 1}} {
			if _, err := s.PutPart(ctx, key, id, tc.n, strings.NewReader("x"), tc.size); !errors.Is(err, ErrInvalidPart) {
				t.Errorf("PutPart(n %d, size %d) error = %v, want ErrInvalidPart", tc.n, tc.size, err)
			}
		}
	})
	t.Run("short_stream_is_a_size_mismatch", func(t *testing.T) {
		_, err := s.PutPart(ctx, key, id, 1, strings.NewReader("short"), 100)
		if !errors.Is(err, ErrSizeMismatch) {
			t.Fatalf("PutPart error = %v, want ErrSizeMismatch", err)
		}
	})
	t.Run("failing_reader_is_reported", func(t *testing.T) {
		r := &brokenReader{r: bytes.NewReader(testBytes(MinPartSize)), left: 1 << 20, err: errReader}
		if _, err := s.PutPart(ctx, key, id, 1, r, MinPartSize); !errors.Is(err, errReader) {
			t.Fatalf("PutPart error = %v, want the reader's error", err)
		}
	})
	t.Run("cancelled_part", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		r := &brokenReader{r: bytes.NewReader(testBytes(MinPartSize)), left: 1 << 20, onFail: cancel}
		if _, err := s.PutPart(cctx, key, id, 1, r, MinPartSize); !errors.Is(err, context.Canceled) {
			t.Fatalf("PutPart error = %v, want context.Canceled", err)
		}
	})
	t.Run("long_stream_stores_declared_size", func(t *testing.T) {
		data := testBytes(3000)
		p, err := s.PutPart(ctx, key, id, 1, bytes.NewReader(data), 1000)
		if err != nil {
			t.Fatalf("PutPart: %v", err)
		}
		if p.Size != 1000 {
			t.Fatalf("part size = %d, want 1000", p.Size)
		}
		info := mustComplete(t, s, key, id, []Part{p})
		assertSameBytes(t, mustGet(t, s, key, info.VersionID, 0, -1), data[:1000])
	})
	assertOneVersion(t, s, key, mustStatOnly(t, s, key))
}

// mustStatOnly returns the one version of key.
func mustStatOnly(t testing.TB, s BlobStore, key string) ObjectInfo {
	t.Helper()
	versions, err := s.Versions(t.Context(), key)
	if err != nil || len(versions) != 1 {
		t.Fatalf("Versions = %+v, %v; want exactly one", versions, err)
	}
	return versions[0]
}

func contractMultipartSinglePart(t *testing.T, s BlobStore, _ func() BlobStore) {
	for _, size := range []int{0, 1, 1000} {
		t.Run(fmt.Sprintf("%d_bytes", size), func(t *testing.T) {
			key := newTestKey()
			data := testBytes(size)
			id := mustStart(t, s, key, PutOptions{})
			info := mustComplete(t, s, key, id, putParts(t, s, key, id, data))
			if info.Size != int64(size) {
				t.Errorf("Size = %d, want %d", info.Size, size)
			}
			rc, err := s.Get(t.Context(), key, info.VersionID, 0, -1)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			assertSameBytes(t, got, data)
		})
	}
}

// Two nodes completing the same upload at once (a retried request racing
// the first): one version is stored, every success reports that version,
// and the others are told the key is taken or the upload is finished.
func contractMultipartConcurrentCompletes(t *testing.T, s BlobStore, reopen func() BlobStore) {
	const completers = 3
	key := newTestKey()
	data := testBytes(MinPartSize + 500)
	id := mustStart(t, s, key, PutOptions{})
	parts := putParts(t, s, key, id, data)
	var (
		wg    sync.WaitGroup
		infos [completers]ObjectInfo
		errs  [completers]error
	)
	for i := range completers {
		other := reopen()
		wg.Go(func() { infos[i], errs[i] = other.CompleteMultipart(t.Context(), key, id, parts) })
	}
	wg.Wait()
	var won *ObjectInfo
	for i, err := range errs {
		switch {
		case err == nil && won != nil && infos[i].VersionID != won.VersionID:
			t.Fatalf("completions reported versions %s and %s", won.VersionID, infos[i].VersionID)
		case err == nil:
			won = &infos[i]
		case !errors.Is(err, ErrObjectExists) && !errors.Is(err, ErrUploadNotFound):
			t.Fatalf("completion %d error = %v, want nil, ErrObjectExists or ErrUploadNotFound", i, err)
		}
	}
	if won == nil {
		t.Fatalf("no completion succeeded: %v", errs)
	}
	assertSameBytes(t, mustGet(t, s, key, won.VersionID, 0, -1), data)
	assertOneVersion(t, s, key, *won)
}
