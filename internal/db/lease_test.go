package db_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bevis-ir/bevis/internal/db"
	"github.com/bevis-ir/bevis/internal/testenv"
)

func TestLease_OneHolderAtATimeUntilItExpiresOrIsReleased(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			const ttl = 500 * time.Millisecond
			a := db.NewLease(d.DB, "job", "node-a", ttl)
			b := db.NewLease(d.DB, "job", "node-b", ttl)
			other := db.NewLease(d.DB, "other-job", "node-b", ttl)
			must := func(l *db.Lease, want bool, what string) {
				t.Helper()
				got, err := l.Acquire(ctx)
				if err != nil || got != want {
					t.Fatalf("%s: %v, %v; want %v", what, got, err, want)
				}
			}
			must(a, true, "a takes the free lease")
			must(b, false, "b while a holds it")
			must(other, true, "another lease is another job")
			must(a, true, "a renews")
			holders, err := db.LeaseHolders(ctx, d.DB)
			if err != nil || len(holders) != 2 || holders[0].Holder != "node-a" || holders[0].Name != "job" {
				t.Fatalf("holders %+v, %v", holders, err)
			}
			time.Sleep(ttl + 100*time.Millisecond)
			must(b, true, "b takes it once a stopped renewing")
			must(a, false, "a after b took it")
			if err := b.Release(ctx); err != nil {
				t.Fatal(err)
			}
			must(a, true, "a takes it at once after b released it")
		})
	}
}

func TestLease_NodesRacingForItGetOneHolder(t *testing.T) {
	for _, d := range testenv.Databases(t) {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			var mu sync.Mutex
			held := 0
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					got, err := db.NewLease(d.DB, "job", "node-"+string(rune('a'+i)), time.Minute).Acquire(ctx)
					if err != nil {
						t.Error(err)
					}
					if got {
						mu.Lock()
						held++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if held != 1 {
				t.Fatalf("%d nodes hold the lease, want 1", held)
			}
		})
	}
}
