// Package report holds the benchmark suite's results and everything that is
// pure about them: medians and ranges of repeated runs, ratios to a limit or
// a peer, the goals of issue 8 evaluated against a run, the Markdown tables
// of PERFORMANCE.md, and the replacement of those tables between marker
// comments. It runs nothing; the suite (package main beside it) measures and
// fills a Results.
//
// results.json is the marshalled Results; its field names are a contract for
// anyone comparing runs, so rename nothing.
package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
)

// ErrReport prefixes every error of this package.
var ErrReport = errors.New("report")

// Stat is one figure measured over repeated runs.
// Invariant: Min <= Median <= Max when Runs is not empty.
type Stat struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Runs   []float64 `json:"runs"`
}

// NewStat summarises runs: the median (mean of the middle two for an even
// count) and the range. NaNs (failed runs) are dropped; no runs at all give
// the zero Stat.
func NewStat(runs []float64) Stat {
	var xs []float64
	for _, r := range runs {
		if !math.IsNaN(r) && !math.IsInf(r, 0) {
			xs = append(xs, r)
		}
	}
	if len(xs) == 0 {
		return Stat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Stat{Median: med, Min: s[0], Max: s[n-1], Runs: xs}
}

// Valid reports whether the Stat holds at least one run.
func (s Stat) Valid() bool { return len(s.Runs) > 0 }

// Ratio is a/b of the medians; 0 when either is missing or b is 0. Runs of
// a figure and its reference are taken in the same suite run, so the ratio
// of medians compares like with like.
func Ratio(a, b Stat) float64 {
	if !a.Valid() || !b.Valid() || b.Median == 0 {
		return 0
	}
	return a.Median / b.Median
}

// Limit names, the keys of Results.Limits. Bandwidths are MB/s (10^6 bytes).
const (
	LimitDiskBuffered  = "disk_buffered"  // fio sequential write, bs=1M, buffered
	LimitDiskFdatasync = "disk_fdatasync" // fio sequential write, bs=1M, fdatasync=1
	LimitTCP           = "tcp"            // iperf3 loopback, one stream
	LimitTCPSendfile   = "tcp_sendfile"   // iperf3 -Z loopback, one stream
)

// Ratio references beyond the limits.
const (
	RefNATS      = "nats"      // the same workload on NATS JetStream
	RefZooKeeper = "zookeeper" // the same workload on Apache ZooKeeper
	RefCopy      = "copy"      // the fetch path's copy mode
)

// Metric names, the keys of Case.Metrics.
const (
	MMBps        = "mb_per_sec" // 10^6 bytes per second
	MRecPerSec   = "records_per_sec"
	MOpsPerSec   = "ops_per_sec"
	MRSSMB       = "rss_mb" // VmRSS, 2^20 bytes
	MP50         = "p50_ms"
	MP99         = "p99_ms"
	MP999        = "p999_ms"
	MCPUPerGB    = "cpu_s_per_gb"
	MRebalanceMs = "rebalance_ms"
	MSegments    = "segments"
)

// Case is one measured configuration.
type Case struct {
	ID     string            `json:"id"`    // unique in a run, e.g. "size/1KiB/gregor"
	Sweep  string            `json:"sweep"` // the table it belongs to
	Target string            `json:"target"`
	Params map[string]string `json:"params"`
	// Metrics are medians over the runs with their range.
	Metrics map[string]Stat `json:"metrics"`
	// Ratios are this case's main figure over a limit or a peer measured in
	// the same run, by reference name (a Limit* or Ref* constant).
	Ratios map[string]float64 `json:"ratios,omitempty"`
	// Unavailable says why the case could not be measured (a missing API,
	// a tool that failed); Metrics are then empty.
	Unavailable string `json:"unavailable,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	CPUs   int               `json:"cpus"`
	Kernel string            `json:"kernel"`
	Go     string            `json:"go"`
	Load   string            `json:"load_avg"` // /proc/loadavg at the start
	Note   string            `json:"note,omitempty"`
	Tools  map[string]string `json:"tools"` // tool -> version line
}

// Results is a whole suite run, the content of results.json.
type Results struct {
	Started     string          `json:"started"` // RFC 3339 UTC
	Profile     string          `json:"profile"` // quick or full
	Runs        int             `json:"runs"`    // repetitions per figure
	DurationSec float64         `json:"duration_sec"`
	Machine     Machine         `json:"machine"`
	Limits      map[string]Stat `json:"limits"`
	Cases       []Case          `json:"cases"`
	Profiles    []string        `json:"profiles,omitempty"` // pprof files next to results.json
	Charts      []string        `json:"charts,omitempty"`   // PNG files next to results.json
}

// Case returns the case with id, or nil.
func (r *Results) Case(id string) *Case {
	for i := range r.Cases {
		if r.Cases[i].ID == id {
			return &r.Cases[i]
		}
	}
	return nil
}

// Sweep returns the cases of one sweep in the order they were measured.
func (r *Results) Sweep(name string) []Case {
	var out []Case
	for _, c := range r.Cases {
		if c.Sweep == name {
			out = append(out, c)
		}
	}
	return out
}

// Load reads results.json.
func Load(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrReport, err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrReport, path, err)
	}
	return &r, nil
}

// Save writes results.json, indented.
func (r *Results) Save(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrReport, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("%w: %w", ErrReport, err)
	}
	return nil
}
