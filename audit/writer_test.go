package audit

import (
	"slices"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/testenv"
)

// TestWriter_ABatchCommitsWhole: a batch that fits in one INSERT (sent
// without a transaction) and one of several INSERTs (in one) both commit
// every entry or none: an entry the database refuses in the batch's last
// INSERT fails every caller of the batch and stores nothing of it.
func TestWriter_ABatchCommitsWhole(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			refuse := map[string][]string{
				"sqlite": {`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries WHEN NEW.resource_id = 'refused'
					BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`},
				"postgres": {`CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
					BEGIN IF NEW.resource_id = 'refused' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`,
					`CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION refuse_audit()`},
			}[d.Name]
			for _, stmt := range refuse {
				if err := d.DB.Exec(stmt).Error; err != nil {
					t.Fatal(err)
				}
			}
			stored := func() []string {
				var ids []string
				if err := d.DB.Table("audit_entries").Order("resource_id").Pluck("resource_id", &ids).Error; err != nil {
					t.Fatal(err)
				}
				return ids
			}
			for _, n := range []int{3, insertChunk + 8} {
				w := NewWriter(d.DB, WriterOptions{Committers: 1, Linger: time.Minute, MaxBatch: n})
				// One batch of n entries, queued in order, so that the
				// refused one (if any) is the batch's last.
				record := func(batch string, refused bool) []error {
					pend := make([]*pending, n)
					for i := range n {
						e := entry(i)
						e.ResourceID = batch + "-" + e.ResourceID
						if refused && i == n-1 {
							e.ResourceID = "refused"
						}
						r, err := normalize(e, time.Now())
						if err != nil {
							t.Fatal(err)
						}
						pend[i] = &pending{row: r, done: make(chan error, 1)}
						w.queue <- pend[i]
					}
					errs := make([]error, n)
					for i, p := range pend {
						errs[i] = <-p.done
					}
					return errs
				}
				before := stored()
				for i, err := range record("failed", true) {
					if err == nil {
						t.Errorf("batch of %d with a refused entry: entry %d committed", n, i)
					}
				}
				if got := stored(); !slices.Equal(got, before) {
					t.Fatalf("batch of %d with a refused entry stored %d entries", n, len(got)-len(before))
				}
				for i, err := range record(time.Now().Format("150405.000000000"), false) {
					if err != nil {
						t.Errorf("batch of %d: entry %d: %v", n, i, err)
					}
				}
				if got := len(stored()) - len(before); got != n {
					t.Errorf("batch of %d stored %d entries", n, got)
				}
				w.Close()
			}
		})
	}
}
