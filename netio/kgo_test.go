package netio

import (
	"context"
	"encoding/json"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gregorlog/gregor/internal/testutil"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kmsgHandler answers ApiVersions and Metadata with kmsg, enough for a real
// client to connect, and closes the connection on anything else, as Kafka
// does for keys it does not serve.
func kmsgHandler(t *testing.T, addr func() net.Addr) Handler {
	return HandlerFunc(func(_ context.Context, r *Request) Reply {
		req := kmsg.RequestForKey(r.APIKey)
		if req == nil || r.APIVersion > req.MaxVersion() {
			return CloseConn(nil)
		}
		req.SetVersion(r.APIVersion)
		if err := req.ReadFrom(r.Body); err != nil {
			return CloseConn(err)
		}
		var resp kmsg.Response
		switch q := req.(type) {
		case *kmsg.ApiVersionsRequest:
			rs := q.ResponseKind().(*kmsg.ApiVersionsResponse)
			rs.ApiKeys = []kmsg.ApiVersionsResponseApiKey{{ApiKey: 18, MinVersion: 0, MaxVersion: 3}, {ApiKey: 3, MinVersion: 0, MaxVersion: 12}}
			resp = rs
		case *kmsg.MetadataRequest:
			rs := q.ResponseKind().(*kmsg.MetadataResponse)
			host, port, _ := net.SplitHostPort(addr().String())
			p, _ := strconv.Atoi(port)
			rs.Brokers = []kmsg.MetadataResponseBroker{{NodeID: 1, Host: host, Port: int32(p)}}
			rs.ControllerID = 1
			resp = rs
		default:
			return CloseConn(nil)
		}
		resp.SetVersion(r.APIVersion)
		// Alternate immediate and deferred replies so a real client's
		// pipelined requests exercise both paths.
		out := resp.AppendTo(r.AppendResponseHeader(nil))
		if r.Seq%2 == 0 {
			return Respond(new(Response).AddBytes(out))
		}
		reply, p := Defer()
		go p.Respond(new(Response).AddBytes(out))
		return reply
	})
}

// TestRealClient drives netio with franz-go: its ApiVersions handshake
// (flexible request, v0 response header) and concurrent Metadata requests.
func TestRealClient(t *testing.T) {
	var s *Server
	var mu sync.Mutex
	addr := func() net.Addr { mu.Lock(); defer mu.Unlock(); return s.Addrs()[0] }
	cfg := DefaultConfig()
	var err error
	mu.Lock()
	s, err = Listen(cfg, kmsgHandler(t, addr))
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Addrs()[0].String()), kgo.RetryTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
			if err == nil && (len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 1) {
				err = errFor(resp)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.Metrics().Requests.Load() < 21 {
		t.Fatalf("only %d requests seen", s.Metrics().Requests.Load())
	}
}

type badMetadata struct{ r *kmsg.MetadataResponse }

func (b badMetadata) Error() string { return "unexpected metadata response" }

func errFor(r *kmsg.MetadataResponse) error { return badMetadata{r} }

// TestKcat lists metadata with kcat (librdkafka 2.0.2): a second real
// client with its own ApiVersions and Metadata versions.
func TestKcat(t *testing.T) {
	kcat := testutil.RequireTool(t, "kcat", "/usr/bin/kcat")
	var s *Server
	ready := make(chan struct{})
	addr := func() net.Addr { <-ready; return s.Addrs()[0] }
	var err error
	s, err = Listen(DefaultConfig(), kmsgHandler(t, addr))
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, kcat, "-b", s.Addrs()[0].String(), "-L", "-J").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat: %v\n%s", err, out)
	}
	var md struct {
		Brokers []struct {
			ID   int32  `json:"id"`
			Name string `json:"name"`
		} `json:"brokers"`
	}
	if err := json.Unmarshal(out, &md); err != nil {
		t.Fatalf("kcat output %q: %v", out, err)
	}
	if len(md.Brokers) != 1 || md.Brokers[0].ID != 1 || md.Brokers[0].Name != s.Addrs()[0].String() {
		t.Fatalf("kcat saw %+v", md)
	}
}
