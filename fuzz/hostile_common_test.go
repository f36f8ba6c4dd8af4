package fuzz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gregorlog/gregor/internal/testutil"
)

// raiseNoFile lifts the soft RLIMIT_NOFILE to the hard limit (the idle
// connection floods need two descriptors per connection, both ends being
// in this process) and returns the limit now in force.
func raiseNoFile(t testing.TB) uint64 {
	t.Helper()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < lim.Max {
		old := lim.Cur
		lim.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: old, Max: lim.Max})
		})
	}
	return lim.Cur
}

// floodSize returns want, or fewer when the descriptor limit (two per
// connection plus headroom for the rest of the test) cannot hold want.
func floodSize(t testing.TB, want int) int {
	limit := raiseNoFile(t)
	const headroom = 512
	if room := (int(limit) - headroom) / 2; room < want {
		if room < 100 {
			t.Fatalf("RLIMIT_NOFILE %d leaves room for only %d connections", limit, room)
		}
		t.Logf("RLIMIT_NOFILE %d: flooding with %d connections instead of %d", limit, room, want)
		return room
	}
	return want
}

// heapInuse returns HeapInuse after a full collection.
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// dialFrom connects to addr from the loopback source address src
// (127.0.0.0/8 is all local on Linux), so per-IP limits can be exercised
// by distinct "clients".
func dialFrom(src, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	return d.Dial("tcp", addr)
}

// connSet owns the attack connections so every one is closed at the end.
type connSet struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (s *connSet) add(c net.Conn) net.Conn {
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
	return c
}

func (s *connSet) closeAll() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// errNotClosed is returned by closedByPeer when the server kept the
// connection open.
var errNotClosed = errors.New("server did not close the connection")

// closedByPeer reads from c until the server closes it, discarding at most
// maxBytes of replies, and returns how many bytes arrived. The deadline
// only bounds a broken server; a correct one closes well before it.
func closedByPeer(c net.Conn, maxBytes int, deadline time.Duration) (int, error) {
	c.SetReadDeadline(time.Now().Add(deadline))
	buf := make([]byte, 4096)
	got := 0
	for got <= maxBytes {
		n, err := c.Read(buf)
		got += n
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
				return got, nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return got, errNotClosed
			}
			return got, err
		}
	}
	return got, fmt.Errorf("server sent more than %d bytes", maxBytes)
}

// throughput runs op repeatedly for window and returns the completions.
// An op error stops the count and is returned.
func throughput(window time.Duration, op func() error) (int, error) {
	end := time.Now().Add(window)
	n := 0
	for time.Now().Before(end) {
		if err := op(); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// attackers runs hostile loops until stopped; each loop is bounded in
// count as well, so a broken stop cannot leave it running.
type attackers struct {
	ctx    context.Context
	cancel context.CancelFunc
	// sem lets two rounds run at once, whatever the number of loops: the
	// attack keeps every kind of bad input flowing without the attackers'
	// own CPU use (they share the process and its two cores with the
	// well-behaved client) drowning the ratio the test measures.
	sem    chan struct{}
	wg     sync.WaitGroup
	rounds atomic.Int64
	mu     sync.Mutex
	errs   []error
}

func newAttackers() *attackers {
	ctx, cancel := context.WithCancel(context.Background())
	return &attackers{ctx: ctx, cancel: cancel, sem: make(chan struct{}, 2)}
}

// loop runs round up to max times or until stop; an error from a round is
// recorded and ends that loop.
func (a *attackers) loop(name string, max int, round func(i int) error) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for i := 0; i < max && a.ctx.Err() == nil; i++ {
			select {
			case a.sem <- struct{}{}:
			case <-a.ctx.Done():
				return
			}
			err := round(i)
			<-a.sem
			if err != nil {
				a.mu.Lock()
				a.errs = append(a.errs, fmt.Errorf("%s round %d: %w", name, i, err))
				a.mu.Unlock()
				return
			}
			a.rounds.Add(1)
		}
	}()
}

// pause waits for the rounds in flight and holds back new ones; resume
// lets them run again.
func (a *attackers) pause() {
	for range cap(a.sem) {
		a.sem <- struct{}{}
	}
}

func (a *attackers) resume() {
	for range cap(a.sem) {
		<-a.sem
	}
}

// interleaved measures op's completions with the attack paused and
// running, in alternating slices, so a burst of load from elsewhere on
// the machine falls on both sides of the ratio instead of one. The
// attack must be running (not paused) on entry, and is on return.
func interleaved(a *attackers, slices int, slice time.Duration, op func() error) (quiet, attacked int, err error) {
	for range slices {
		a.pause()
		n, err := throughput(slice, op)
		a.resume()
		quiet += n
		if err != nil {
			return quiet, attacked, fmt.Errorf("quiet slice: %w", err)
		}
		n, err = throughput(slice, op)
		attacked += n
		if err != nil {
			return quiet, attacked, fmt.Errorf("attacked slice: %w", err)
		}
	}
	return quiet, attacked, nil
}

// stop ends every loop and returns their errors.
func (a *attackers) stop() []error {
	a.cancel()
	a.wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.errs
}

// checkThroughput compares a well-behaved client's completions during the
// attack with its quiet baseline: a ratio with a generous bound, so a noisy
// machine cannot fail it but a starved client (a server that serialises
// on an attacker, or stops serving) does.
func checkThroughput(t *testing.T, what string, quiet, attacked int) {
	t.Helper()
	const maxSlowdown = 50
	t.Logf("well-behaved client: %d ops quiet, %d ops %s (same total time)", quiet, attacked, what)
	if attacked == 0 || attacked*maxSlowdown < quiet {
		t.Errorf("well-behaved client starved %s: %d ops vs %d quiet (bound 1/%d)", what, attacked, quiet, maxSlowdown)
	}
}

// checkHeap fails if HeapInuse grew by more than slack since before.
func checkHeap(t *testing.T, what string, before uint64, slack uint64) {
	t.Helper()
	after := heapInuse()
	t.Logf("%s: HeapInuse %d MiB before, %d MiB after", what, before>>20, after>>20)
	if after > before+slack {
		t.Errorf("%s: HeapInuse grew from %d to %d bytes (bound +%d)", what, before, after, slack)
	}
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func readFull(c net.Conn, b []byte) (int, error) { return io.ReadFull(c, b) }

// peerClosed reports, without blocking, whether the server has closed c
// (the FIN has arrived: POLLRDHUP or POLLHUP).
func peerClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	raw.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN | unix.POLLRDHUP}}
		if n, err := unix.Poll(fds, 0); err == nil && n == 1 {
			closed = fds[0].Revents&(unix.POLLRDHUP|unix.POLLHUP|unix.POLLERR) != 0
		}
	})
	return closed
}

// countClosedPerSource polls until every source address in bySrc has
// exactly want connections closed by the server, and fails otherwise.
func countClosedPerSource(t *testing.T, bySrc map[string][]net.Conn, want int) {
	t.Helper()
	testutil.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		for src, conns := range bySrc {
			n := 0
			for _, c := range conns {
				if peerClosed(c) {
					n++
				}
			}
			if n != want {
				return fmt.Errorf("%s: server closed %d of its %d connections, want %d", src, n, len(conns), want)
			}
		}
		return nil
	})
}

// checkGoroutines polls until the goroutine count is back within slack of
// before: every attack connection's server-side goroutines have ended.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	const slack = 25 // client libraries' timers and reconnect loops come and go
	testutil.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		if n := runtime.NumGoroutine(); n > before+slack {
			return fmt.Errorf("%d goroutines, %d before the attack", n, before)
		}
		return nil
	})
}
