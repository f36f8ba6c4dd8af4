package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets the test binary act as the real gregor executable: with
// GREGOR_BE_MAIN=1 it runs main, so tests can check what the process
// itself does (exit status through os.Exit, real stdio).
func TestMain(m *testing.M) {
	if os.Getenv("GREGOR_BE_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// execGregor runs the test binary as the gregor executable.
func execGregor(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "GREGOR_BE_MAIN=1")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errw strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errw
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errw.String(), code}
}

// TestBinaryExitCodes checks the process exit status for success, a
// failure and a usage error.
func TestBinaryExitCodes(t *testing.T) {
	if r := execGregor(t, "", "topics", "--help"); r.code != 0 || !strings.Contains(r.stdout, "kafka-topics.sh") {
		t.Errorf("--help: %+v", r)
	}
	if r := execGregor(t, "", "topics", "--bogus"); r.code != 2 || !strings.Contains(r.stderr, "unknown flag: --bogus") {
		t.Errorf("bad flag: %+v", r)
	}
	dead := deadAddr(t)
	if r := execGregor(t, "", "get-offsets", "--bootstrap-server", dead, "--timeout", "1s"); r.code != 1 ||
		!strings.Contains(r.stderr, "cannot reach Kafka broker at "+dead) || r.stdout != "" {
		t.Errorf("unreachable: %+v", r)
	}
}
