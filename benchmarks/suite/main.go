// Command suite runs Gregor's benchmark suite (issue 8) and writes its
// results: results.json, PNG charts and CPU/allocation profiles in -out,
// and the generated tables of PERFORMANCE.md (between its
// `<!-- suite:begin NAME -->` / `<!-- suite:end NAME -->` markers).
//
//	go run ./benchmarks/suite -out benchmarks/results/$(date -u +%F) [-quick]
//
// It runs from the repository root, as root (it installs fio, iperf3 and
// nats-server from Debian when they are missing), and only on loopback.
// Each run first measures this machine's limits (fio sequential writes,
// iperf3 loopback TCP), then Gregor's broker (built from cmd/broker, run
// as its own process with a temporary log dir) driven by the bench tool
// (built from cmd/bench, --json), and the peers on the same machine: NATS
// JetStream (Debian's nats-server, file store) and, through
// benchmarks/zk, Apache ZooKeeper 3.8. Every figure is a median of -runs
// runs with its range, and a ratio to a limit or peer of the same run.
//
// See benchmarks/README.md for what each sweep measures and why the
// comparisons are fair. The suite is not a test: `go test ./...` never
// runs it (only the pure report package has tests).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/gregorlog/gregor/benchmarks/suite/report"
)

func main() {
	var (
		out      = flag.String("out", "", "directory for results.json, charts and profiles (default benchmarks/results/<UTC date>)")
		quick    = flag.Bool("quick", false, "reduced sweep with short runs (about 10-15 minutes on 2 cores)")
		runs     = flag.Int("runs", 3, "runs per figure (at least 3 for a median with a range)")
		only     = flag.String("only", "", "comma-separated sweeps to run (default all): limits,size,flush,segments,partitions,latency,fetch,groups,zk")
		perf     = flag.String("performance", "PERFORMANCE.md", "PERFORMANCE.md to regenerate (\"\" to leave it alone)")
		dur      = flag.Duration("duration", 0, "override the length of each load run (development)")
		note     = flag.String("note", "", "a note on the machine's state, recorded with the results")
		maxTotal = flag.Duration("max", 0, "stop starting new cases after this long (default: 30m quick, 3h full)")
		from     = flag.String("from", "", "measure nothing: redraw the charts and regenerate PERFORMANCE.md from this results.json")
	)
	flag.Parse()
	if *from != "" {
		if err := rerender(*from, *perf); err != nil {
			fmt.Fprintf(os.Stderr, "suite: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*out, *quick, *runs, *only, *perf, *dur, *note, *maxTotal); err != nil {
		fmt.Fprintf(os.Stderr, "suite: %v\n", err)
		os.Exit(1)
	}
}

func run(out string, quick bool, runs int, only, perf string, dur time.Duration, note string, maxTotal time.Duration) error {
	if _, err := os.Stat("go.mod"); err != nil {
		return fmt.Errorf("run the suite from the repository root (no go.mod here)")
	}
	if runs < 1 {
		return fmt.Errorf("-runs must be at least 1")
	}
	prof := fullProfile()
	if quick {
		prof = quickProfile()
	}
	prof.runs = runs
	if dur > 0 {
		prof.dur = dur
	}
	if maxTotal > 0 {
		prof.maxTotal = maxTotal
	}
	if out == "" {
		out = filepath.Join("benchmarks", "results", time.Now().UTC().Format("2006-01-02"))
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	start := time.Now()
	toolVersions, err := ensureTools(ctx, logf)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "gregor-suite-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	logf("building cmd/broker and cmd/bench")
	bins, err := buildBinaries(ctx, ".", tmp)
	if err != nil {
		return err
	}
	res := &report.Results{
		Started: start.UTC().Format(time.RFC3339),
		Profile: prof.name,
		Runs:    prof.runs,
		Machine: machine(toolVersions, note),
		Limits:  map[string]report.Stat{},
	}
	s := &suite{ctx: ctx, p: prof, bins: bins, tmp: tmp, out: out, res: res, logf: logf, start: start}
	s.runAll(parseOnly(only))
	res.DurationSec = time.Since(start).Seconds()

	charts, err := writeCharts(res, out)
	if err != nil {
		logf("charts: %v", err)
	}
	res.Charts = charts
	if err := res.Save(filepath.Join(out, "results.json")); err != nil {
		return err
	}
	logf("wrote %s", filepath.Join(out, "results.json"))
	if perf != "" {
		if err := regenerate(perf, res, out); err != nil {
			return err
		}
		logf("regenerated the tables of %s", perf)
	}
	for _, g := range report.Goals(res) {
		logf("goal: %s: %s (%s %s)", g.Goal, g.Status, g.Figure, g.Target)
	}
	return ctx.Err()
}

// rerender redraws the charts of a saved run next to its results.json
// and regenerates PERFORMANCE.md from it.
func rerender(path, perf string) error {
	res, err := report.Load(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if res.Charts, err = writeCharts(res, dir); err != nil {
		return err
	}
	if err := res.Save(path); err != nil {
		return err
	}
	if perf == "" {
		return nil
	}
	return regenerate(perf, res, dir)
}

// regenerate rewrites the generated sections of the PERFORMANCE.md at path.
func regenerate(path string, res *report.Results, out string) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sections := report.Sections(res)
	rel, err := filepath.Rel(filepath.Dir(path), out)
	if err != nil {
		rel = out
	}
	sections["charts"] = report.RenderCharts(res, filepath.ToSlash(rel))
	sections["profiles"] = report.RenderProfiles(res, filepath.ToSlash(rel))
	newDoc, missing, err := report.Replace(string(doc), sections)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "suite: %s has no markers for: %s\n", path, strings.Join(missing, ", "))
	}
	return os.WriteFile(path, []byte(newDoc), 0o644)
}

func parseOnly(s string) map[string]bool {
	if s == "" {
		return nil
	}
	m := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		m[strings.TrimSpace(f)] = true
	}
	return m
}

func machine(toolVersions map[string]string, note string) report.Machine {
	m := report.Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), Tools: toolVersions, Note: note}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.Load = strings.Join(f[:3], " ")
		}
	}
	return m
}
