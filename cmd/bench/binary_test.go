package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gregorlog/gregor/internal/kafkatest"
)

// TestMain lets the test binary act as the real bench executable when
// BENCH_BE_MAIN=1, so tests see the process's own exit status and stdio.
func TestMain(m *testing.M) {
	if os.Getenv("BENCH_BE_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func execBench(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "BENCH_BE_MAIN=1")
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

// TestBinary runs the executable: a real produce, a usage error and a
// failure, checking exit statuses and that only the result is on stdout.
func TestBinary(t *testing.T) {
	bs := kafkatest.Start(t)
	r := execBench(t, "produce", "--bootstrap-server", bs, "--topic", "bin", "--size", "1KiB", "--count", "50")
	if r.code != 0 || !kafkaSummary.MatchString(r.stdout) {
		t.Errorf("produce: %+v", r)
	}
	if r := execBench(t, "produce", "--bogus"); r.code != 2 || !strings.Contains(r.stderr, "unknown flag: --bogus") {
		t.Errorf("bad flag: %+v", r)
	}
	if r := execBench(t, "consume", "--bootstrap-server", bs, "--topic", "nope"); r.code != 1 || r.stdout != "" ||
		!strings.Contains(r.stderr, `Error: topic "nope" does not exist`) {
		t.Errorf("missing topic: %+v", r)
	}
}
