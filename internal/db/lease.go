package db

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Lease is a named lease in the leases table: background work that must
// run on one node of the cluster at a time runs only while its node holds
// the lease. It works alike on both dialects; on SQLite there is one node
// and it always gets the lease.
type Lease struct {
	db     *gorm.DB
	name   string
	holder string
	ttl    time.Duration
}

// NewLease returns the lease name as holder (a name unique to this
// process) would take it: for ttl at a time, renewed by each Acquire.
func NewLease(gdb *gorm.DB, name, holder string, ttl time.Duration) *Lease {
	return &Lease{db: gdb, name: name, holder: holder, ttl: ttl}
}

// Name is the lease's name.
func (l *Lease) Name() string { return l.name }

// Acquire takes the lease when it is free or expired, or renews it when
// this holder has it, and reports whether this holder has it now. Times
// are the database's, so the nodes' clocks need not agree.
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	now, err := l.now(ctx)
	if err != nil {
		return false, err
	}
	res := l.db.WithContext(ctx).Exec(`
		INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
			acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
		WHERE leases.holder = excluded.holder OR leases.expires_at < ?`,
		l.name, l.holder, now, now.Add(l.ttl), now)
	if res.Error != nil {
		return false, fmt.Errorf("db: lease %s: %w", l.name, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// Release gives the lease up at once, so another node need not wait for
// it to expire; it does nothing when this holder does not have it.
func (l *Lease) Release(ctx context.Context) error {
	err := l.db.WithContext(ctx).Exec("DELETE FROM leases WHERE name = ? AND holder = ?", l.name, l.holder).Error
	if err != nil {
		return fmt.Errorf("db: release lease %s: %w", l.name, err)
	}
	return nil
}

// LeaseHolder is who holds a lease, and until when.
type LeaseHolder struct {
	Name, Holder string
	ExpiresAt    time.Time
}

// LeaseHolders lists the leases held now, whoever holds them.
func LeaseHolders(ctx context.Context, gdb *gorm.DB) ([]LeaseHolder, error) {
	now, err := (&Lease{db: gdb}).now(ctx)
	if err != nil {
		return nil, err
	}
	var out []LeaseHolder
	if err := gdb.WithContext(ctx).Raw("SELECT name, holder, expires_at FROM leases WHERE expires_at >= ? ORDER BY name", now).
		Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("db: lease holders: %w", err)
	}
	return out, nil
}

// now is the database's time on PostgreSQL, where nodes share it, and this
// machine's on SQLite, where there is one node.
func (l *Lease) now(ctx context.Context) (time.Time, error) {
	if Dialect(l.db) != Postgres {
		return time.Now().UTC(), nil
	}
	var now time.Time
	if err := l.db.WithContext(ctx).Raw("SELECT now()").Scan(&now).Error; err != nil {
		return time.Time{}, fmt.Errorf("db: lease clock: %w", err)
	}
	return now.UTC(), nil
}
