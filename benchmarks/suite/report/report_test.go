package report

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestNewStat(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name          string
		runs          []float64
		med, min, max float64
		n             int
	}{
		{"empty", nil, 0, 0, 0, 0},
		{"one", []float64{5}, 5, 5, 5, 1},
		{"odd", []float64{3, 1, 2}, 2, 1, 3, 3},
		{"even takes the mean of the middle two", []float64{4, 1, 3, 2}, 2.5, 1, 4, 4},
		{"failed runs (NaN, Inf) are dropped", []float64{nan, 7, math.Inf(1), 9, 8}, 8, 7, 9, 3},
		{"all failed", []float64{nan}, 0, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewStat(tc.runs)
			if s.Median != tc.med || s.Min != tc.min || s.Max != tc.max || len(s.Runs) != tc.n {
				t.Fatalf("NewStat(%v) = %+v, want median %v [%v..%v] over %d", tc.runs, s, tc.med, tc.min, tc.max, tc.n)
			}
			if s.Valid() != (tc.n > 0) {
				t.Fatalf("Valid() = %v", s.Valid())
			}
		})
	}
	// The runs keep their measured order; NewStat must not sort the input.
	in := []float64{3, 1, 2}
	if s := NewStat(in); !slices.Equal(in, []float64{3, 1, 2}) || !slices.Equal(s.Runs, []float64{3, 1, 2}) {
		t.Fatalf("input or runs reordered: %v %v", in, s.Runs)
	}
}

func TestRatio(t *testing.T) {
	a, b := NewStat([]float64{10, 20, 30}), NewStat([]float64{40, 40, 40})
	tests := []struct {
		name string
		a, b Stat
		want float64
	}{
		{"medians", a, b, 0.5},
		{"no figure", Stat{}, b, 0},
		{"no reference", a, Stat{}, 0},
		{"zero reference", a, NewStat([]float64{0}), 0},
	}
	for _, tc := range tests {
		if got := Ratio(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Ratio = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		x    float64
		want string
	}{{0, "0"}, {12345.6, "12346"}, {123.4, "123"}, {12.34, "12.3"}, {1.234, "1.23"}, {0.1234, "0.123"}, {0.001234, "0.0012"}}
	for _, tc := range tests {
		if got := FormatFloat(tc.x); got != tc.want {
			t.Errorf("FormatFloat(%v) = %q, want %q", tc.x, got, tc.want)
		}
	}
	if got := FormatStat(NewStat([]float64{2, 1, 3})); got != "2.00 [1.00..3.00]" {
		t.Errorf("FormatStat = %q", got)
	}
	if got := FormatStat(NewStat([]float64{2})); got != "2.00" {
		t.Errorf("FormatStat of one run = %q", got)
	}
}

func golden(t *testing.T) *Results {
	t.Helper()
	r, err := Load(filepath.Join("testdata", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGoals(t *testing.T) {
	want := map[string]string{
		"Produce 1 KiB, acks=1, default flush vs NATS JetStream (equal durability)": "met",
		"Produce 1 KiB, acks=1, default flush vs loopback TCP":                      "not met",
		"Consume from the page cache (1 MiB records) vs loopback TCP (sendfile)":    "met",
		"Produce 15 MB records vs loopback TCP":                                     "met",
		"flush.messages=1, 64 producers (1 MiB) vs fio one fdatasync per MiB":       "not met",
		"End-to-end p99 at 50% of max throughput (1 KiB)":                           "met",
		"zkstore create, 32 clients vs Apache ZooKeeper":                            "unavailable: not measured in this run",
		"zkstore set, 32 clients vs Apache ZooKeeper":                               "met",
		"zkstore get, 32 clients vs Apache ZooKeeper":                               "unavailable: not measured in this run",
		"Broker RSS with 1,000 idle partitions":                                     "not met",
	}
	goals := Goals(golden(t))
	if len(goals) != len(want) {
		t.Fatalf("%d goals, want %d", len(goals), len(want))
	}
	for _, g := range goals {
		if w, ok := want[g.Goal]; !ok || g.Status != w {
			t.Errorf("%s: status %q, want %q", g.Goal, g.Status, w)
		}
	}
}

// TestSectionsGolden renders every generated section from the golden
// results.json and compares with testdata/sections.golden.md.
func TestSectionsGolden(t *testing.T) {
	res := golden(t)
	secs := Sections(res)
	secs["charts"] = RenderCharts(res, "benchmarks/results/x")
	secs["profiles"] = RenderProfiles(res, "benchmarks/results/x")
	var b strings.Builder
	for _, name := range append(SectionNames(), "charts", "profiles") {
		b.WriteString("## " + name + "\n" + secs[name] + "\n")
	}
	path := filepath.Join("testdata", "sections.golden.md")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("sections differ from %s (run with -update after checking):\n%s", path, b.String())
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	res := golden(t)
	path := filepath.Join(t.TempDir(), "results.json")
	if err := res.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Cases) != len(res.Cases) || back.Case(IDProduce1KiB).Metrics[MMBps].Median != 160 {
		t.Fatalf("round trip lost data: %+v", back.Case(IDProduce1KiB))
	}
}

func TestReplace(t *testing.T) {
	doc := "# Title\nhand-written\n<!-- suite:begin a -->\nold a\n<!-- suite:end a -->\nmiddle\n<!-- suite:begin b -->\n<!-- suite:end b -->\ntail\n"
	got, missing, err := Replace(doc, map[string]string{"a": "new a", "b": "| t |\n", "c": "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := "# Title\nhand-written\n<!-- suite:begin a -->\nnew a\n<!-- suite:end a -->\nmiddle\n<!-- suite:begin b -->\n| t |\n<!-- suite:end b -->\ntail\n"
	if got != want {
		t.Fatalf("Replace:\n%s\nwant:\n%s", got, want)
	}
	if !slices.Equal(missing, []string{"c"}) {
		t.Fatalf("missing = %v", missing)
	}
	// Idempotent: the same sections again change nothing.
	again, _, err := Replace(got, map[string]string{"a": "new a", "b": "| t |\n"})
	if err != nil || again != got {
		t.Fatalf("second Replace changed the document: %v\n%s", err, again)
	}
	for _, bad := range []string{
		"<!-- suite:begin a -->\nno end\n",
		"<!-- suite:end a -->\n<!-- suite:begin a -->\n",
		"<!-- suite:begin a -->\n<!-- suite:end a -->\n<!-- suite:begin a -->\n<!-- suite:end a -->\n",
	} {
		if out, _, err := Replace(bad, map[string]string{"a": "x"}); err == nil {
			t.Errorf("Replace(%q) = %q, want an error", bad, out)
		}
	}
}

// TestPerformanceMDMarkers checks that the repository's PERFORMANCE.md has
// balanced markers for every section the suite generates.
func TestPerformanceMDMarkers(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "PERFORMANCE.md"))
	if err != nil {
		t.Fatal(err)
	}
	secs := map[string]string{"charts": "", "profiles": ""}
	for _, n := range SectionNames() {
		secs[n] = ""
	}
	_, missing, err := Replace(string(doc), secs)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Fatalf("PERFORMANCE.md has no markers for %v", missing)
	}
}
