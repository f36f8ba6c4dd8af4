package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gregorlog/gregor/internal/kafkatest"
)

// openPTY returns a pseudo-terminal's controlling side and its terminal.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the pty's terminal: %v", err)
	}
	return m, s
}

// TestProgressBarOnTerminal checks a progress bar is drawn when stderr is
// a terminal, next to the periodic Kafka-style lines, and that stdout keeps
// only the result.
func TestProgressBarOnTerminal(t *testing.T) {
	bs := kafkatest.Start(t)
	ptmx, tty := openPTY(t)
	defer ptmx.Close()
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(&screen, ptmx) //nolint:errcheck // ends with EIO once the terminal closes
	}()
	var out bytes.Buffer
	code := run([]string{"produce", "--bootstrap-server", bs, "--topic", "bar", "--size", "100", "--duration", "1200ms",
		"--rate", "100", "--report-interval", "500ms"}, strings.NewReader(""), &out, tty)
	tty.Close()
	<-done
	if code != 0 {
		t.Fatalf("exit %d; terminal:\n%s", code, screen.String())
	}
	s := screen.String()
	if !strings.Contains(s, "] ") || !strings.Contains(s, "% ") || !strings.Contains(s, "\r\x1b[K") {
		t.Errorf("no progress bar on the terminal: %q", s)
	}
	if !strings.Contains(s, "records sent, ") {
		t.Errorf("no progress line on the terminal: %q", s)
	}
	if !kafkaSummary.MatchString(out.String()) {
		t.Errorf("stdout: %q", out.String())
	}
}
