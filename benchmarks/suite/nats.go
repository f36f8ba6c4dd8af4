package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// natsProc is one nats-server with JetStream's file store in a temporary
// directory, listening on a loopback port only.
type natsProc struct {
	cmd  *exec.Cmd
	dir  string
	url  string
	out  *lockedWriter
	done chan struct{}
}

// startNATS starts Debian's nats-server with -js and a file store under a
// new temporary directory. Its configuration leaves JetStream's durability
// at the default: messages are written to the file store (the OS page
// cache) and synced to disk in the background, like the broker's default
// flush (OS write-back). nats-server 2.9 (Debian 12) has no sync_interval
// setting, so a per-message fsync peer is not available there.
func startNATS(ctx context.Context, tmp string) (*natsProc, error) {
	dir, err := os.MkdirTemp(tmp, "nats-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("listen: 127.0.0.1:%d\nmax_payload: 16777216\nmax_pending: 268435456\njetstream {\n  store_dir: %q\n}\n", port, filepath.Join(dir, "js"))
	confPath := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p := &natsProc{dir: dir, url: fmt.Sprintf("nats://127.0.0.1:%d", port), done: make(chan struct{})}
	p.out = &lockedWriter{w: new(bytes.Buffer)}
	p.cmd = exec.Command("nats-server", "-c", confPath)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: nats-server: %w", errSuite, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		nc, err := nats.Connect(p.url, nats.Timeout(2*time.Second))
		if err == nil {
			nc.Close()
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%w: nats-server exited: %s", errSuite, tail(p.out.String()))
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%w: nats-server did not accept connections in 30s: %s", errSuite, tail(p.out.String()))
		}
	}
}

func (p *natsProc) stop() { stopProcess(p.cmd, p.done, os.Interrupt, 30*time.Second, p.dir) }

func (p *natsProc) rssMiB() (float64, error) { return procRSSMiB(p.cmd.Process.Pid) }

// natsProduce publishes size-byte random messages to a new file-store
// stream from producers connections for dur, each publisher keeping a
// bounded window of unacknowledged asynchronous publishes (the JetStream
// counterpart of a Kafka producer's in-flight batches), and returns the
// acknowledged throughput. Every message counts only once JetStream's
// publish ack (stored in the stream) arrived, as acks=1 does on the broker.
func natsProduce(ctx context.Context, url, stream string, size, producers int, dur time.Duration) (benchProduce, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return benchProduce{}, fmt.Errorf("%w: nats: %w", errSuite, err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		return benchProduce{}, err
	}
	if _, err := js.AddStream(&nats.StreamConfig{Name: stream, Subjects: []string{stream + ".>"}, Storage: nats.FileStorage,
		Replicas: 1, MaxMsgSize: -1, Discard: nats.DiscardOld}); err != nil {
		return benchProduce{}, fmt.Errorf("%w: nats add stream: %w", errSuite, err)
	}
	// The same payload pool shape as bench produce: distinct random values.
	n := max(2, min(1024, (4<<20)/size))
	pool := make([][]byte, n)
	rng := rand.NewChaCha8([32]byte{7})
	for i := range pool {
		pool[i] = make([]byte, size)
		rng.Read(pool[i])
	}
	// At least 5 in flight, as a Kafka producer pipelines 5 requests.
	window := max(5, min(4096, (32<<20)/size))
	var records, errs atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	deadline := start.Add(dur)
	var wg sync.WaitGroup
	for i := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc, err := nats.Connect(url)
			if err != nil {
				errs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			defer pc.Close()
			pjs, err := pc.JetStream(nats.PublishAsyncMaxPending(window))
			if err != nil {
				errs.Add(1)
				return
			}
			subj := fmt.Sprintf("%s.%d", stream, i)
			var futures []nats.PubAckFuture
			settle := func(keep int) {
				for len(futures) > keep {
					f := futures[0]
					futures = futures[1:]
					select {
					case <-f.Ok():
						records.Add(1)
					case err := <-f.Err():
						errs.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
					case <-time.After(30 * time.Second):
						errs.Add(1)
						firstErr.CompareAndSwap(nil, "publish ack timed out")
					}
				}
			}
			for j := 0; time.Now().Before(deadline) && ctx.Err() == nil; j++ {
				f, err := pjs.PublishAsync(subj, pool[(i*7919+j)%len(pool)])
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					break
				}
				futures = append(futures, f)
				if len(futures) >= window {
					settle(window / 2)
				}
			}
			settle(0)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	r := benchProduce{Records: records.Load(), Errors: errs.Load(), ElapsedSec: elapsed}
	r.Bytes = r.Records * int64(size)
	r.RecordsPerSec = float64(r.Records) / elapsed
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	js.DeleteStream(stream) //nolint:errcheck // frees the disk for the next run
	if r.Records == 0 {
		return r, fmt.Errorf("%w: nats produced nothing: %s", errSuite, r.FirstError)
	}
	return r, nil
}
