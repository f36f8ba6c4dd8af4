package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// mib is Kafka's perf tools' megabyte: 1024 × 1024 bytes.
const mib = 1024 * 1024

// Histogram bounds: 1 µs to 1 hour at 3 significant digits. A latency above
// the top is clamped to it (and still counted) rather than dropped.
const (
	histMinMicros = 1
	histMaxMicros = int64(time.Hour / time.Microsecond)
)

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinMicros, histMaxMicros, 3)
}

// recorder accumulates latencies and sizes of completed operations: an HDR
// histogram for percentiles, exact sum and max for the average and maximum,
// and a window that the progress reporter drains every interval.
type recorder struct {
	mu sync.Mutex // guards the following
	// Totals since the start.
	hist     *hdrhistogram.Histogram
	count    int64
	bytes    int64
	sumLat   time.Duration
	maxLat   time.Duration
	errors   int64
	firstErr error
	last     time.Time // completion time of the latest operation
	// The current reporting window.
	wCount  int64
	wBytes  int64
	wSumLat time.Duration
	wMaxLat time.Duration
}

func newRecorder() *recorder { return &recorder{hist: newHist()} }

// record adds one completed operation of n bytes that took lat.
func (r *recorder) record(lat time.Duration, n int, now time.Time) {
	us := min(max(lat.Microseconds(), histMinMicros), histMaxMicros)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hist.RecordValue(us) //nolint:errcheck // clamped into range above
	r.count++
	r.bytes += int64(n)
	r.sumLat += lat
	r.maxLat = max(r.maxLat, lat)
	r.wCount++
	r.wBytes += int64(n)
	r.wSumLat += lat
	r.wMaxLat = max(r.wMaxLat, lat)
	if now.After(r.last) {
		r.last = now
	}
}

// fail counts one failed operation, keeping the first error.
func (r *recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors++
	if r.firstErr == nil {
		r.firstErr = err
	}
}

// done returns how many operations completed, failed or not.
func (r *recorder) done() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count + r.errors
}

func (r *recorder) failures() (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errors, r.firstErr
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// windowLine drains the window and formats Kafka's producer-perf-test
// progress line:
//
//	%d records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.
func (r *recorder) windowLine(elapsed time.Duration) string {
	r.mu.Lock()
	n, b, sum, mx := r.wCount, r.wBytes, r.wSumLat, r.wMaxLat
	r.wCount, r.wBytes, r.wSumLat, r.wMaxLat = 0, 0, 0, 0
	r.mu.Unlock()
	sec := max(elapsed.Seconds(), 1e-9)
	avg := 0.0
	if n > 0 {
		avg = ms(sum) / float64(n)
	}
	return fmt.Sprintf("%d records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, %.1f ms max latency.",
		n, float64(n)/sec, float64(b)/mib/sec, avg, ms(mx))
}

// windowConsumeLine drains the window into a consumer progress line.
func (r *recorder) windowConsumeLine(elapsed time.Duration) string {
	r.mu.Lock()
	n, b := r.wCount, r.wBytes
	r.wCount, r.wBytes, r.wSumLat, r.wMaxLat = 0, 0, 0, 0
	r.mu.Unlock()
	sec := max(elapsed.Seconds(), 1e-9)
	return fmt.Sprintf("%d records received, %.1f records/sec (%.2f MB/sec).", n, float64(n)/sec, float64(b)/mib/sec)
}

// windowOpsLine drains the window into a ZooKeeper progress line.
func (r *recorder) windowOpsLine(elapsed time.Duration) string {
	r.mu.Lock()
	n, sum, mx := r.wCount, r.wSumLat, r.wMaxLat
	r.wCount, r.wBytes, r.wSumLat, r.wMaxLat = 0, 0, 0, 0
	r.mu.Unlock()
	sec := max(elapsed.Seconds(), 1e-9)
	avg := 0.0
	if n > 0 {
		avg = ms(sum) / float64(n)
	}
	return fmt.Sprintf("%d ops, %.1f ops/sec, %.3f ms avg latency, %.3f ms max latency.", n, float64(n)/sec, avg, ms(mx))
}

// summary is the final result of a run, and the stable --json shape.
type summary struct {
	Records       int64     `json:"records"`
	Bytes         int64     `json:"bytes"`
	Errors        int64     `json:"errors"`
	ElapsedSec    float64   `json:"elapsed_sec"`
	RecordsPerSec float64   `json:"records_per_sec"`
	MBPerSec      float64   `json:"mb_per_sec"` // MB = 1024 × 1024 bytes, as Kafka's tools
	Latency       latencyMs `json:"latency_ms"`
	FirstError    string    `json:"first_error,omitempty"`
	latencyMicros [4]int64  // p50, p95, p99, p99.9 in µs, for the Kafka line
	maxLat        time.Duration
	avgLat        time.Duration
}

// latencyMs are latency statistics in milliseconds.
type latencyMs struct {
	Avg  float64 `json:"avg"`
	Max  float64 `json:"max"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
}

// summarize computes the totals over elapsed.
func (r *recorder) summarize(elapsed time.Duration) summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	sec := max(elapsed.Seconds(), 1e-9)
	s := summary{
		Records:       r.count,
		Bytes:         r.bytes,
		Errors:        r.errors,
		ElapsedSec:    elapsed.Seconds(),
		RecordsPerSec: float64(r.count) / sec,
		MBPerSec:      float64(r.bytes) / mib / sec,
		maxLat:        r.maxLat,
	}
	if r.firstErr != nil {
		s.FirstError = r.firstErr.Error()
	}
	if r.count > 0 {
		s.avgLat = r.sumLat / time.Duration(r.count)
		// HDR reports a bucket's upper edge; never let a percentile exceed
		// the exact maximum.
		maxUs := r.maxLat.Microseconds()
		for i, q := range []float64{50, 95, 99, 99.9} {
			s.latencyMicros[i] = min(r.hist.ValueAtQuantile(q), maxUs)
		}
	}
	s.Latency = latencyMs{
		Avg: ms(s.avgLat), Max: ms(s.maxLat),
		P50: float64(s.latencyMicros[0]) / 1000, P95: float64(s.latencyMicros[1]) / 1000,
		P99: float64(s.latencyMicros[2]) / 1000, P999: float64(s.latencyMicros[3]) / 1000,
	}
	return s
}

// kafkaLine formats Kafka's producer-perf-test summary line exactly:
//
//	%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.
//
// Percentiles are whole milliseconds (truncated), as Kafka prints them.
func (s summary) kafkaLine() string {
	p := s.latencyMicros
	return fmt.Sprintf("%d records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, %.2f ms max latency, %d ms 50th, %d ms 95th, %d ms 99th, %d ms 99.9th.",
		s.Records, s.RecordsPerSec, s.MBPerSec, ms(s.avgLat), ms(s.maxLat), p[0]/1000, p[1]/1000, p[2]/1000, p[3]/1000)
}

// progress prints a window line every interval and, when w is a terminal,
// redraws a progress bar in between. total is the expected number of
// operations (0 when the run is bounded by time, with deadline set).
type progress struct {
	w        io.Writer
	tty      bool
	interval time.Duration
	rec      *recorder
	total    int64
	start    time.Time
	deadline time.Time
	line     func(window time.Duration) string

	stop chan struct{}
	wg   sync.WaitGroup
}

// line formats one window's progress line; nil means Kafka's producer line.
func startProgress(w io.Writer, tty bool, interval time.Duration, rec *recorder, total int64, start, deadline time.Time,
	line func(window time.Duration) string) *progress {
	if line == nil {
		line = rec.windowLine
	}
	p := &progress{w: w, tty: tty, interval: interval, rec: rec, total: total, start: start, deadline: deadline, line: line, stop: make(chan struct{})}
	if interval <= 0 {
		return p
	}
	p.wg.Add(1)
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer p.wg.Done()
	window := time.NewTicker(p.interval)
	defer window.Stop()
	var bar <-chan time.Time
	if p.tty {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		bar = t.C
	}
	last := p.start
	for {
		select {
		case <-p.stop:
			if p.tty {
				fmt.Fprint(p.w, "\r\033[K")
			}
			return
		case now := <-window.C:
			line := p.line(now.Sub(last))
			last = now
			if p.tty {
				fmt.Fprint(p.w, "\r\033[K")
			}
			fmt.Fprintln(p.w, line)
		case now := <-bar:
			fmt.Fprint(p.w, "\r\033[K"+p.bar(now))
		}
	}
}

// bar renders "[=====>     ]  42%  12345/30000" (or elapsed/duration).
func (p *progress) bar(now time.Time) string {
	const width = 30
	done := p.rec.done()
	frac := 0.0
	label := ""
	switch {
	case p.total > 0:
		frac = float64(done) / float64(p.total)
		label = fmt.Sprintf("%d/%d", done, p.total)
	case !p.deadline.IsZero():
		frac = now.Sub(p.start).Seconds() / p.deadline.Sub(p.start).Seconds()
		label = fmt.Sprintf("%d done, %s left", done, max(p.deadline.Sub(now), 0).Round(time.Second))
	}
	frac = min(max(frac, 0), 1)
	n := int(frac * width)
	b := strings.Repeat("=", n)
	if n < width {
		b += ">" + strings.Repeat(" ", width-n-1)
	}
	return fmt.Sprintf("[%s] %3.0f%%  %s", b, frac*100, label)
}

func (p *progress) close() {
	close(p.stop)
	p.wg.Wait()
}
