package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/bevis-ir/bevis/audit"
	"github.com/bevis-ir/bevis/internal/db"
)

// nodeName names this process among the cluster's nodes, in the leases
// table and in /metrics: its host, its process ID and a random tag, so two
// processes never share one, even in containers that all run as PID 1.
func nodeName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "bevis"
	}
	var tag [3]byte
	_, _ = rand.Read(tag[:]) // never fails
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(tag[:]))
}

// clusterCollectors are the /metrics series of what this node does for
// the cluster: which jobs it leads, who holds each lease, and the audit
// entries waiting to be sealed.
func clusterCollectors(gdb *gorm.DB, node string, seq *audit.Sequencer, jobs evidenceJobs, log *slog.Logger) []prometheus.Collector {
	leader := func(job string, leads func() bool) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "bevis_leader",
			Help:        "1 when this node leads the job (audit_sequencer, evidence_verification, expiry), else 0.",
			ConstLabels: prometheus.Labels{"job": job},
		}, func() float64 {
			if leads() {
				return 1
			}
			return 0
		})
	}
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "bevis_node_info",
			Help:        "The name this node goes by in the leases table and in bevis_lease_holder.",
			ConstLabels: prometheus.Labels{"node": node},
		}, func() float64 { return 1 }),
		leader("audit_sequencer", seq.Leading),
		leader(leaseVerification, jobs.verification.held.Load),
		leader(leaseExpiry, jobs.expiry.held.Load),
		&clusterState{db: gdb, log: log},
	}
}

// clusterState reads, at each scrape, the state every node shares: the
// lease holders and the audit backlog.
type clusterState struct {
	db  *gorm.DB
	log *slog.Logger
}

var (
	leaseHolderDesc = prometheus.NewDesc("bevis_lease_holder",
		"Seconds until the lease expires, by lease and the node holding it (renewed while it holds it).",
		[]string{"lease", "holder"}, nil)
	unsealedDesc = prometheus.NewDesc("bevis_audit_unsealed_entries",
		"Audit entries recorded but not yet sealed into the chain.", nil, nil)
	unsealedAgeDesc = prometheus.NewDesc("bevis_audit_oldest_unsealed_age_seconds",
		"Age of the oldest audit entry waiting to be sealed (0 when none waits).", nil, nil)
)

func (s *clusterState) Describe(ch chan<- *prometheus.Desc) {
	ch <- leaseHolderDesc
	ch <- unsealedDesc
	ch <- unsealedAgeDesc
}

// Collect leaves out what the database cannot tell now; the scrape still
// answers with every other series.
func (s *clusterState) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if holders, err := db.LeaseHolders(ctx, s.db); err != nil {
		s.log.Warn("metrics: lease holders", "err", err)
	} else {
		now := time.Now()
		for _, h := range holders {
			ch <- prometheus.MustNewConstMetric(leaseHolderDesc, prometheus.GaugeValue,
				max(h.ExpiresAt.Sub(now).Seconds(), 0), h.Name, h.Holder)
		}
	}
	backlog, err := audit.Unsealed(ctx, s.db)
	if err != nil {
		s.log.Warn("metrics: audit backlog", "err", err)
		return
	}
	age := 0.0
	if !backlog.Oldest.IsZero() {
		age = max(time.Since(backlog.Oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(unsealedDesc, prometheus.GaugeValue, float64(backlog.Entries))
	ch <- prometheus.MustNewConstMetric(unsealedAgeDesc, prometheus.GaugeValue, age)
}
