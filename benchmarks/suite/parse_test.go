package main

import "testing"

// TestParseBenchLine covers the go test -bench lines the fetch and zk
// sweeps read (the suite itself never runs under go test).
func TestParseBenchLine(t *testing.T) {
	tests := []struct {
		line   string
		name   string
		metric string
		want   float64
		ok     bool
	}{
		{"BenchmarkFetchPath/sendfile-2   \t      10\t 123456789 ns/op\t 543.21 MB/s\t         0.1910 broker-cpu-s/GB",
			"BenchmarkFetchPath/sendfile", "broker-cpu-s/GB", 0.191, true},
		{"BenchmarkZK/set/clients=32/zkstore-2   5000   88400 ns/op   1790 p50-µs   8900 p99-µs   11313 ops/s",
			"BenchmarkZK/set/clients=32/zkstore", "ops/s", 11313, true},
		{"BenchmarkX-2 10 bogus ns/op", "", "", 0, false},
		{"PASS", "", "", 0, false},
	}
	for _, tc := range tests {
		bl, ok := parseBenchLine(tc.line)
		if ok != tc.ok {
			t.Fatalf("parseBenchLine(%q) ok = %v", tc.line, ok)
		}
		if ok && (bl.name != tc.name || bl.metrics[tc.metric] != tc.want) {
			t.Errorf("parseBenchLine(%q) = %+v", tc.line, bl)
		}
	}
}

func TestParseOnly(t *testing.T) {
	if parseOnly("") != nil {
		t.Fatal("empty -only must select every sweep")
	}
	m := parseOnly("limits, size")
	if !m["limits"] || !m["size"] || m["flush"] {
		t.Fatalf("parseOnly = %v", m)
	}
}
