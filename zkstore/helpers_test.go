package zkstore

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// fakeClock is an injected clock tests advance by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func testSettings(t testing.TB) settings {
	set := defaultSettings()
	dir := t.TempDir()
	set.dataDir = dir
	set.dataLogDir = dir
	set.clientAddr = "127.0.0.1:0"
	set.preAllocSize = 1 << 20
	set.fourLetterAll = true
	return set
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startTestServer(t testing.TB, set settings, opts ...Option) *Server {
	t.Helper()
	opts = append([]Option{WithLogger(quietLogger())}, opts...)
	s, err := newServer(set, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func connect(t testing.TB, s *Server) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	c, ev, err := zk.Connect([]string{s.Addr().String()}, 10*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	deadline := time.After(10 * time.Second)
	for c.State() != zk.StateHasSession {
		select {
		case <-ev:
		case <-deadline:
			t.Fatalf("no session; state %v", c.State())
		}
	}
	return c, ev
}
