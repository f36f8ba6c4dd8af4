package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrUnreachable is wrapped by connection failures, so callers (and tests)
// can tell "nobody answered" from a broker-side error.
var ErrUnreachable = errors.New("cli: server unreachable")

// unreachable carries a readable message and matches ErrUnreachable.
type unreachable struct{ msg string }

func (e *unreachable) Error() string        { return e.msg }
func (e *unreachable) Is(target error) bool { return target == ErrUnreachable }

// DefaultTimeout bounds how long a tool waits for a server before it gives
// up with a clear message instead of hanging.
const DefaultTimeout = 30 * time.Second

// SplitServers turns "a:1,b:2" into its addresses, rejecting empty input.
func SplitServers(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, Usagef("no server address given")
	}
	return out, nil
}

// KafkaClient returns a kgo client for bootstrap after checking, within
// timeout, that some broker answers a Metadata request. Every request the
// client retries is bounded by timeout too, so no command hangs on a dead
// broker.
func KafkaClient(ctx context.Context, bootstrap string, timeout time.Duration, opts ...kgo.Opt) (*kgo.Client, error) {
	if strings.TrimSpace(bootstrap) == "" {
		return nil, Usagef("missing required option --bootstrap-server")
	}
	seeds, err := SplitServers(bootstrap)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dial := min(timeout, 10*time.Second)
	base := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.DialTimeout(dial),
		kgo.RetryTimeout(timeout),
		kgo.ClientID("gregor-cli"),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, Usagef("invalid client configuration: %v", err)
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// Ping tries each seed once; retry until the deadline so a broker that
	// is still starting is found, but a dead one is reported in time.
	var perr error
	for {
		if perr = cl.Ping(pctx); perr == nil {
			return cl, nil
		}
		select {
		case <-pctx.Done():
			cl.Close()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &unreachable{fmt.Sprintf("cannot reach Kafka broker at %s within %v: %v", bootstrap, timeout, perr)}
		case <-time.After(250 * time.Millisecond):
		}
	}
}

type nopZKLogger struct{}

func (nopZKLogger) Printf(string, ...any) {}

// ZKConnect opens a ZooKeeper session with servers ("host:port,...") and
// waits up to timeout for it to be established. sessionTimeout is what the
// client asks the server for (zkCli.sh's -timeout).
func ZKConnect(ctx context.Context, servers string, sessionTimeout, timeout time.Duration) (*zk.Conn, error) {
	addrs, err := SplitServers(servers)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	conn, events, err := zk.Connect(addrs, sessionTimeout, zk.WithLogger(nopZKLogger{}), zk.WithLogInfo(false))
	if err != nil {
		return nil, Usagef("invalid ZooKeeper address %q: %v", servers, err)
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				// Keep draining events so the library never blocks on them.
				go func() {
					for range events { //nolint:revive // drain
					}
				}()
				return conn, nil
			}
			if ev.State == zk.StateAuthFailed {
				conn.Close()
				return nil, fmt.Errorf("ZooKeeper at %s: authentication failed", servers)
			}
		case <-deadline.C:
			conn.Close()
			return nil, &unreachable{fmt.Sprintf("cannot connect to ZooKeeper at %s within %v", servers, timeout)}
		case <-ctx.Done():
			conn.Close()
			return nil, ctx.Err()
		}
	}
}
