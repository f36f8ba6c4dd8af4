package clienttest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gregorlog/gregor/internal/testutil"
)

// TestKazoo runs testdata/kazoo/suite.py (python3-kazoo 2.8, Debian's
// /usr/bin/python3) against each server and compares its printed results
// with testdata/kazoo/expected.txt.
func TestKazoo(t *testing.T) {
	py := testutil.DebianPython(t, "kazoo")
	want, err := os.ReadFile("testdata/kazoo/expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			root := fmt.Sprintf("/kazoo-%d", rand.Uint32())
			cmd := exec.Command(py, "testdata/kazoo/suite.py", tg.addr, root)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("kazoo suite against %s: %v\n%s", tg.name, err, out)
			}
			got := resultLines(string(out))
			if got != string(want) {
				t.Fatalf("kazoo against %s (- expected, + got):\n%s\nfull output:\n%s", tg.name, diffLines(string(want), got), out)
			}
		})
	}
}

// resultLines keeps the "name: value" lines, dropping kazoo's log noise.
func resultLines(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, ": "); i > 0 && !strings.ContainsAny(l[:i], " \t") {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
