package main

import "time"

// profile is how much of the sweep a run covers and how long each load
// runs. Every loop of the suite is bounded by these counts and durations,
// and no new case starts after maxTotal.
type profile struct {
	name     string
	runs     int
	dur      time.Duration // one produce/consume/NATS load run
	maxTotal time.Duration

	sizes          []sizeSpec
	flushSizes     []sizeSpec
	flushProducers []int
	acks           []string
	partitions     []int
	latencyLoads   []float64 // fractions of the maximum throughput

	fioBuffered, fioSync int64         // bytes fio writes per run
	iperfDur             time.Duration // one iperf3 run
	segmentsTarget       int           // segments in the "log of many segments" case
	fillMax              time.Duration // bound on filling that log
	fetchBenchtime       string        // go test -benchtime for BenchmarkFetchPath
	zkBenchtime          string        // go test -benchtime for BenchmarkZK
}

type sizeSpec struct {
	name  string
	bytes int
}

var (
	s100B  = sizeSpec{"100B", 100}
	s1KiB  = sizeSpec{"1KiB", 1024}
	s64KiB = sizeSpec{"64KiB", 64 << 10}
	s1MiB  = sizeSpec{"1MiB", 1 << 20}
	s15MB  = sizeSpec{"15MB", 15_000_000}
)

func fullProfile() profile {
	return profile{
		name: "full", runs: 3, dur: 10 * time.Second, maxTotal: 3 * time.Hour,
		sizes:          []sizeSpec{s100B, s1KiB, s64KiB, s1MiB, s15MB},
		flushSizes:     []sizeSpec{s1KiB, s1MiB},
		flushProducers: []int{1, 8, 64},
		acks:           []string{"1", "all"},
		partitions:     []int{1, 8, 64, 1000},
		latencyLoads:   []float64{0.25, 0.50, 0.75},
		fioBuffered:    2 << 30, fioSync: 512 << 20, iperfDur: 10 * time.Second,
		segmentsTarget: 10000, fillMax: 10 * time.Minute,
		fetchBenchtime: "10x", zkBenchtime: "20000x",
	}
}

// quickProfile keeps every sweep but fewer points and 3 s runs, so the
// whole suite takes about 10-15 minutes on 2 shared cores.
func quickProfile() profile {
	return profile{
		name: "quick", runs: 3, dur: 3 * time.Second, maxTotal: 30 * time.Minute,
		sizes:          []sizeSpec{s100B, s1KiB, s64KiB, s1MiB, s15MB},
		flushSizes:     []sizeSpec{s1KiB},
		flushProducers: []int{1, 64},
		acks:           []string{"1", "all"},
		partitions:     []int{1, 8, 64, 1000},
		latencyLoads:   []float64{0.25, 0.50, 0.75},
		fioBuffered:    512 << 20, fioSync: 128 << 20, iperfDur: 3 * time.Second,
		segmentsTarget: 10000, fillMax: 3 * time.Minute,
		fetchBenchtime: "4x", zkBenchtime: "5000x",
	}
}
