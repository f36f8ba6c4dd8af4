package main

import (
	"bytes"
	"fmt"
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
	t.Cleanup(func() { m.Close() })
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
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestProducerPromptOnTerminal checks the '>' prompt appears when stdin is
// a terminal (and, in TestConsoleProducerConsumer, not on a pipe).
func TestProducerPromptOnTerminal(t *testing.T) {
	bs := kafkatest.Start(t)
	mustRun(t, "", "topics", "--bootstrap-server", bs, "--create", "--topic", "tty")
	ptmx, tty := openPTY(t)
	// Typed lines, then ^D at the start of a line: end of input.
	if _, err := ptmx.Write([]byte("one\ntwo\n\x04")); err != nil {
		t.Fatal(err)
	}
	var out, errw bytes.Buffer
	code := run([]string{"console-producer", "--bootstrap-server", bs, "--topic", "tty"}, tty, &out, &errw)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errw.String())
	}
	if got := strings.Count(errw.String(), ">"); got != 3 {
		t.Errorf("want 3 prompts (two lines, then EOF), got %d in %q", got, errw.String())
	}
	r := mustRun(t, "", "console-consumer", "--bootstrap-server", bs, "--topic", "tty", "--from-beginning", "--max-messages", "2")
	if r.stdout != "one\ntwo\n" {
		t.Errorf("records: %q", r.stdout)
	}
}
