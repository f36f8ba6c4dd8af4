package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// column is one column of a sweep's table: a parameter, a metric (median
// [min..max]) or a ratio.
type column struct {
	kind  byte // 'p' param, 'm' metric, 'r' ratio
	key   string
	title string
}

func p(key, title string) column { return column{'p', key, title} }
func m(key, title string) column { return column{'m', key, title} }
func r(key, title string) column { return column{'r', key, title} }

// Table describes how one sweep renders.
type tableSpec struct {
	section string // marker name in PERFORMANCE.md
	sweep   string
	cols    []column
}

var tableSpecs = []tableSpec{
	{"sizes", "size", []column{p("size", "record size"), p("target", "system"), m(MRecPerSec, "records/s"), m(MMBps, "MB/s"),
		r(LimitTCP, "x TCP"), r(LimitDiskBuffered, "x fio buffered"), r(RefNATS, "x NATS")}},
	{"consume", "consume", []column{p("size", "record size"), m(MRecPerSec, "records/s"), m(MMBps, "MB/s"), r(LimitTCPSendfile, "x TCP sendfile"), r(LimitTCP, "x TCP")}},
	{"flush", "flush", []column{p("size", "record size"), p("flush", "flush"), p("acks", "acks"), p("producers", "producers"), p("target", "system"),
		m(MRecPerSec, "records/s"), m(MMBps, "MB/s"), r(LimitDiskFdatasync, "x fio fdatasync"), r(LimitDiskBuffered, "x fio buffered"), r(RefNATS, "x NATS")}},
	{"segments", "segments", []column{p("config", "configuration"), m(MMBps, "produce MB/s"), m(MSegments, "segments at end"), r(LimitDiskBuffered, "x fio buffered")}},
	{"partitions", "partitions", []column{p("partitions", "partitions"), p("producers", "producers"), m(MMBps, "MB/s"), m(MRSSMB, "broker RSS MiB"), r(LimitTCP, "x TCP")}},
	{"latency", "latency", []column{p("load", "load"), p("rate", "offered records/s"), p("target", "system"), m(MRecPerSec, "received/s"), m(MP50, "p50 ms"), m(MP99, "p99 ms"), m(MP999, "p99.9 ms")}},
	{"fetch", "fetch", []column{p("path", "fetch path"), m(MCPUPerGB, "broker CPU-s/GB"), m(MMBps, "MB/s"), r(RefCopy, "x copy")}},
	{"groups", "groups", []column{p("what", "measurement"), m(MOpsPerSec, "commits/s"), m(MRebalanceMs, "rebalance ms")}},
	{"zk", "zk", []column{p("op", "op"), p("clients", "clients"), p("target", "system"), m(MOpsPerSec, "ops/s"), m(MP50, "p50 ms"), m(MP99, "p99 ms"), r(RefZooKeeper, "x ZooKeeper")}},
}

// Sections renders every generated part of PERFORMANCE.md by marker name:
// "run" (when and where), "summary" (the goals), "limits", and one table per
// sweep. A sweep with no cases renders a line saying so.
func Sections(res *Results) map[string]string {
	out := map[string]string{
		"run":     renderRun(res),
		"summary": renderSummary(res),
		"limits":  renderLimits(res),
	}
	for _, t := range tableSpecs {
		out[t.section] = renderTable(res, t)
	}
	return out
}

// SectionNames lists the marker names Sections fills, in document order.
func SectionNames() []string {
	names := []string{"run", "summary", "limits"}
	for _, t := range tableSpecs {
		names = append(names, t.section)
	}
	return names
}

func renderRun(res *Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run: %s, profile `%s`, runs per figure: %d, %.0f min. Machine: %d CPUs, Linux %s, %s, load average at start %s.",
		res.Started, res.Profile, res.Runs, res.DurationSec/60, res.Machine.CPUs, res.Machine.Kernel, res.Machine.Go, res.Machine.Load)
	if res.Machine.Note != "" {
		fmt.Fprintf(&b, " Note: %s", strings.TrimSuffix(res.Machine.Note, "."))
		b.WriteString(".")
	}
	b.WriteString("\n")
	if len(res.Machine.Tools) > 0 {
		keys := sortedKeys(res.Machine.Tools)
		b.WriteString("Tools: ")
		for i, k := range keys {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s (%s)", k, res.Machine.Tools[k])
		}
		b.WriteString(".\n")
	}
	return b.String()
}

func renderSummary(res *Results) string {
	var b strings.Builder
	b.WriteString("| goal | figure (median [min..max]) | ratio | target | status |\n| --- | --- | --- | --- | --- |\n")
	for _, g := range Goals(res) {
		ratio := ""
		if g.Figure != "" && strings.HasPrefix(g.Target, ">=") {
			ratio = FormatRatio(g.Ratio)
		}
		status := g.Status
		if status == "met" || status == "not met" {
			status = "**" + status + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", g.Goal, cell(g.Figure), cell(ratio), g.Target, status)
	}
	return b.String()
}

func renderLimits(res *Results) string {
	rows := []struct{ key, what string }{
		{LimitDiskBuffered, "fio sequential write, bs=1M, buffered"},
		{LimitDiskFdatasync, "fio sequential write, bs=1M, fdatasync=1 (one fdatasync per MiB)"},
		{LimitTCP, "iperf3 loopback, 1 stream"},
		{LimitTCPSendfile, "iperf3 -Z (sendfile) loopback, 1 stream"},
	}
	var b strings.Builder
	b.WriteString("| limit | measured by | MB/s median [min..max] |\n| --- | --- | --- |\n")
	for _, row := range rows {
		st, ok := res.Limits[row.key]
		v := "unavailable"
		if ok && st.Valid() {
			v = FormatStat(st)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", row.key, row.what, v)
	}
	return b.String()
}

func renderTable(res *Results, t tableSpec) string {
	cases := res.Sweep(t.sweep)
	if len(cases) == 0 {
		return "Not measured in this run.\n"
	}
	// Drop ratio and metric columns no case fills, so a quick run's tables
	// carry no empty columns.
	var cols []column
	for _, c := range t.cols {
		used := c.kind == 'p'
		for _, cs := range cases {
			switch c.kind {
			case 'm':
				used = used || cs.Metrics[c.key].Valid()
			case 'r':
				used = used || cs.Ratios[c.key] != 0
			}
		}
		if used {
			cols = append(cols, c)
		}
	}
	note := slices.ContainsFunc(cases, func(c Case) bool { return c.Unavailable != "" })
	var b strings.Builder
	b.WriteString("|")
	for _, c := range cols {
		b.WriteString(" " + c.title + " |")
	}
	if note {
		b.WriteString(" note |")
	}
	b.WriteString("\n|")
	for range len(cols) + boolInt(note) {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, cs := range cases {
		b.WriteString("|")
		for _, c := range cols {
			v := ""
			switch c.kind {
			case 'p':
				v = cs.Params[c.key]
			case 'm':
				if st := cs.Metrics[c.key]; st.Valid() {
					v = FormatStat(st)
				}
			case 'r':
				if x := cs.Ratios[c.key]; x != 0 {
					v = FormatRatio(x)
				}
			}
			b.WriteString(" " + cell(v) + " |")
		}
		if note {
			b.WriteString(" " + cell(cs.Unavailable) + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

// FormatStat renders "median [min..max]", or just the median for one run.
func FormatStat(s Stat) string {
	if !s.Valid() {
		return ""
	}
	if len(s.Runs) == 1 || s.Min == s.Max {
		return FormatFloat(s.Median)
	}
	return fmt.Sprintf("%s [%s..%s]", FormatFloat(s.Median), FormatFloat(s.Min), FormatFloat(s.Max))
}

// FormatFloat prints about three significant digits, without exponents
// and with thousands unseparated: 12345, 123, 12.3, 1.23, 0.123, 0.0123.
func FormatFloat(x float64) string {
	a := math.Abs(x)
	switch {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", x)
	case a >= 10:
		return fmt.Sprintf("%.1f", x)
	case a >= 1:
		return fmt.Sprintf("%.2f", x)
	case a >= 0.01:
		return fmt.Sprintf("%.3f", x)
	}
	return fmt.Sprintf("%.2g", x)
}

// FormatRatio prints a ratio with two decimals (three below 0.01).
func FormatRatio(x float64) string {
	switch a := math.Abs(x); {
	case a >= 10:
		return fmt.Sprintf("%.1f", x)
	case a >= 0.01 || a == 0:
		return fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%.3f", x)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// RenderCharts links the run's PNG charts, relative to PERFORMANCE.md (dir
// is the results directory relative to it).
func RenderCharts(res *Results, dir string) string {
	if len(res.Charts) == 0 {
		return "No charts in this run.\n"
	}
	var b strings.Builder
	for _, c := range res.Charts {
		name := strings.TrimSuffix(c, ".png")
		fmt.Fprintf(&b, "![%s](%s/%s)\n", name, dir, c)
	}
	return b.String()
}

// RenderProfiles lists the run's pprof files with the command that opens
// them.
func RenderProfiles(res *Results, dir string) string {
	if len(res.Profiles) == 0 {
		return "No profiles in this run.\n"
	}
	var b strings.Builder
	for _, p := range res.Profiles {
		fmt.Fprintf(&b, "- `%s/%s` (`go tool pprof -top %s/%s`)\n", dir, p, dir, p)
	}
	return b.String()
}
