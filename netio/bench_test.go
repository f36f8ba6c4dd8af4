package netio

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// benchFileSize is the page-cached file each benchmark op sends in full.
const benchFileSize = 256 << 20

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// benchFileRegion sends a 256 MiB page-cached file as one file region per
// request over loopback to a reader that discards it, and reports MB/s and
// process CPU-seconds per GB (user+system, server and reader together).
func benchFileRegion(b *testing.B, zeroCopy bool) {
	p := filepath.Join(b.TempDir(), "segment.log")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	for range benchFileSize / len(chunk) {
		if _, err := f.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	// Warm the page cache.
	if _, err := io.Copy(io.Discard, io.NewSectionReader(f, 0, benchFileSize)); err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	h := HandlerFunc(func(_ context.Context, r *Request) Reply {
		return Respond(new(Response).AddBytes(r.AppendResponseHeader(nil)).AddFile(FileRegion{File: f, Offset: 0, Length: benchFileSize}))
	})
	cfg := DefaultConfig()
	cfg.ZeroCopy = zeroCopy
	cfg.SendBufferBytes, cfg.ReceiveBufferBytes = -1, -1
	s, err := Listen(cfg, h)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := frame(1, 11, 1, nil, nil, nil)
	sink := make([]byte, 1<<20)
	b.SetBytes(benchFileSize)
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		var sz [4]byte
		if _, err := io.ReadFull(c, sz[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, io.LimitReader(c, int64(binary.BigEndian.Uint32(sz[:]))), sink); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuSeconds() - cpu0
	gb := float64(b.N) * benchFileSize / 1e9
	b.ReportMetric(cpu/gb, "cpu-s/GB")
	m := s.Metrics()
	if zeroCopy && m.SendfileBytes.Load() == 0 || !zeroCopy && m.CopyBytes.Load() == 0 {
		b.Fatal("the intended path was not used")
	}
}

func BenchmarkFileRegionSendfile(b *testing.B) { benchFileRegion(b, true) }
func BenchmarkFileRegionCopy(b *testing.B)     { benchFileRegion(b, false) }

// benchLargeRequest sends frames of size bytes (a 15 MB produce, as `bench
// produce --size 15MB` does) over loopback to a handler that answers with
// the header alone, and reports MB/s of requests read and framed, and process CPU-seconds
// per GB (client and server together).
func benchLargeRequest(b *testing.B, size int) {
	h := HandlerFunc(func(_ context.Context, r *Request) Reply {
		if len(r.Frame) != size {
			return CloseConn(nil)
		}
		return Respond(new(Response).AddBytes(r.AppendResponseHeader(nil)))
	})
	cfg := DefaultConfig()
	cfg.SendBufferBytes, cfg.ReceiveBufferBytes = -1, -1
	s, err := Listen(cfg, h)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := frame(0, 9, 1, nil, nil, make([]byte, size-10))
	var resp [8]byte
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, resp[:]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric((cpuSeconds()-cpu0)/(float64(b.N)*float64(size)/1e9), "cpu-s/GB")
}

func BenchmarkLargeRequest15MB(b *testing.B) { benchLargeRequest(b, 15<<20) }
func BenchmarkSmallRequest1KB(b *testing.B)  { benchLargeRequest(b, 1<<10) }
