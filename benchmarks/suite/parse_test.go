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
		{"BenchmarkFetchPath-2   \t      20\t 266791365 ns/op\t1729.34 MB/s\t         0.2269 copy-cpu-s/GB\t         0.7704 copy/sendfile\t         0.2946 sendfile-cpu-s/GB",
			"BenchmarkFetchPath", "sendfile-cpu-s/GB", 0.2946, true},
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

func TestParseLimits(t *testing.T) {
	fio := []byte("note: both iodepth >= 1 and synchronous I/O engine are selected\n" +
		`{"fio version": "fio-3.33", "jobs": [{"jobname": "seqwrite", "write": {"bw_bytes": 378078107, "iops": 360.5}}]}`)
	if v, err := parseFio(fio); err != nil || v < 378.07 || v > 378.08 {
		t.Fatalf("parseFio = %v, %v", v, err)
	}
	if _, err := parseFio([]byte(`{"jobs": []}`)); err == nil {
		t.Fatal("fio output without jobs accepted")
	}
	ip := []byte(`{"start": {}, "end": {"sum_sent": {"bits_per_second": 8.1e9}, "sum_received": {"bits_per_second": 8e9}}}`)
	if v, err := parseIperf3(ip); err != nil || v != 1000 {
		t.Fatalf("parseIperf3 = %v, %v", v, err)
	}
	if _, err := parseIperf3([]byte(`{"error": "unable to connect to server"}`)); err == nil {
		t.Fatal("iperf3 error accepted")
	}
}
