package clienttest

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gregorlog/gregor/internal/testutil"
)

// zkCliStep is one zkCli.sh invocation: a one-shot command (or, with
// stdin, an interactive session for commands that need one session, like
// addauth followed by a read) and regexps its output must match.
type zkCliStep struct {
	args  []string
	stdin string
	want  []string // regexps, all must match
	not   []string // regexps that must not match
}

// TestZkCli drives Debian's zkCli.sh 3.8 against each server with the
// commands operators type: create (-e, -s), ls, get, set, stat, delete,
// deleteall, getAcl/setAcl, addauth, whoami.
func TestZkCli(t *testing.T) {
	cli := testutil.ZkCli(t)
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			t.Parallel()
			r := fmt.Sprintf("/zkcli-%d", rand.Uint32())
			digest := "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=" // u:p
			steps := []zkCliStep{
				{args: []string{"create", r, "root"}, want: []string{"Created " + r}},
				{args: []string{"create", r + "/zc", "data"}, want: []string{"Created " + r + "/zc"}},
				{args: []string{"create", r + "/zc", "again"}, want: []string{"Node already exists: " + r + "/zc"}},
				{args: []string{"create", "-e", r + "/zc/eph", "e"}, want: []string{"Created " + r + "/zc/eph"}},
				{args: []string{"create", "-s", r + "/zc/s-", "s"}, want: []string{"Created " + r + `/zc/s-\d{10}\b`}},
				// A one-shot zkCli exits without closeSession, so eph lives
				// on until its session expires.
				{args: []string{"ls", r + "/zc"}, want: []string{`\[eph, s-\d{10}\]`}},
				{args: []string{"get", r + "/zc"}, want: []string{`(?m)^data$`}},
				{args: []string{"set", r + "/zc", "newdata"}},
				{args: []string{"get", r + "/zc"}, want: []string{`(?m)^newdata$`}},
				{args: []string{"set", "-v", "7", r + "/zc", "stale"}, want: []string{"version No is not valid : " + r + "/zc"}},
				{args: []string{"stat", r + "/zc"}, want: []string{`(?m)^cZxid = 0x[0-9a-f]+$`, `(?m)^dataVersion = 1$`, `(?m)^dataLength = 7$`, `(?m)^numChildren = 2$`, `(?m)^ephemeralOwner = 0x0$`}},
				{args: []string{"get", r + "/missing"}, want: []string{"Node does not exist: " + r + "/missing"}},
				{args: []string{"delete", r + "/zc"}, want: []string{"Node not empty: " + r + "/zc"}},
				{args: []string{"getAcl", r}, want: []string{`'world,'anyone`, `: cdrwa`}},
				{args: []string{"create", r + "/acl", "secret"}, want: []string{"Created " + r + "/acl"}},
				{args: []string{"setAcl", r + "/acl", "digest:" + digest + ":cdrwa"}},
				{args: []string{"get", r + "/acl"}, want: []string{"Insufficient permission : " + r + "/acl"}},
				{stdin: "addauth digest u:p\nget " + r + "/acl\ngetAcl " + r + "/acl\nwhoami\nquit\n",
					want: []string{`(?m)^secret$`, `'digest,'` + regexp.QuoteMeta(digest), `(?m)^digest: u$`, `(?m)^ip: 127\.0\.0\.1$`}},
				// Watches, containers and the newer commands, in one session.
				{stdin: "addWatch -m PERSISTENT_RECURSIVE " + r + "/zc\ncreate " + r + "/zc/w wdata\n" +
					"create " + r + "/zc/w/a\ncreate -c " + r + "/zc/cont\ncreate -e " + r + "/zc/mine\ngetEphemerals " + r + "/zc\n" +
					"getAllChildrenNumber " + r + "/zc/w\nsync " + r + "/zc\nremovewatches " + r + "/zc -a\nquit\n",
					want: []string{
						`WatchedEvent state:SyncConnected type:NodeCreated path:` + r + `/zc/w`,
						`Created ` + r + `/zc/cont`,
						`\[` + r + `/zc/mine\]`,
						`(?m)^1$`,
						`Sync is OK`,
						`WatchedEvent state:SyncConnected type:PersistentWatchRemoved path:` + r + `/zc\n`,
					}},
				{args: []string{"deleteall", r + "/zc"}},
				{args: []string{"ls", r}, want: []string{`\[acl\]`}},
				{stdin: "addauth digest u:p\ndelete " + r + "/acl\nquit\n"},
				{args: []string{"delete", r}},
				{args: []string{"stat", r}, want: []string{"Node does not exist: " + r}},
			}
			for i, st := range steps {
				args := append([]string{"-server", tg.addr}, st.args...)
				cmd := exec.Command(cli, args...)
				if st.stdin != "" {
					cmd = exec.Command(cli, "-server", tg.addr)
					cmd.Stdin = strings.NewReader(st.stdin)
				}
				start := time.Now()
				outb, err := cmd.CombinedOutput()
				t.Logf("step %d %v %q: %v", i, st.args, st.stdin, time.Since(start).Round(time.Millisecond))
				out := string(outb)
				if err != nil && st.stdin == "" && len(st.want) == 0 {
					t.Fatalf("step %d %v: %v\n%s", i, st.args, err, out)
				}
				for _, w := range st.want {
					if !regexp.MustCompile(w).MatchString(out) {
						t.Fatalf("step %d %v %q: output lacks %q:\n%s", i, st.args, st.stdin, w, out)
					}
				}
				for _, w := range st.not {
					if regexp.MustCompile(w).MatchString(out) {
						t.Fatalf("step %d %v: output has %q:\n%s", i, st.args, w, out)
					}
				}
			}
		})
	}
}
