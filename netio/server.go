package netio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
)

// Server accepts Kafka connections on its listeners and dispatches
// requests to a Handler.
type Server struct {
	cfg     Config
	h       Handler
	lns     []net.Listener
	names   []string
	ctx     context.Context
	cancel  context.CancelFunc
	ioSem   chan struct{} // IOThreads tokens: one per running Handle call
	connSem chan struct{} // MaxConnections tokens; nil = unlimited
	metrics Metrics
	nextID  atomic.Uint64
	wg      sync.WaitGroup // accept loops and connections

	mu     sync.Mutex // guards the following
	perIP  map[string]int
	conns  map[*conn]struct{}
	closed bool
}

// Listen binds every listener of cfg and starts serving with h. Port 0
// binds a free port; Addrs reports the bound addresses.
func Listen(cfg Config, h Handler) (*Server, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrConfig)
	}
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, h: h, ctx: ctx, cancel: cancel,
		ioSem: make(chan struct{}, cfg.IOThreads),
		perIP: map[string]int{}, conns: map[*conn]struct{}{},
	}
	if cfg.MaxConnections > 0 {
		s.connSem = make(chan struct{}, cfg.MaxConnections)
	}
	for _, l := range cfg.Listeners {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(l.Host, strconv.Itoa(l.Port)))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("netio: listener %s: %w", l.Name, err)
		}
		s.lns = append(s.lns, ln)
		s.names = append(s.names, l.Name)
	}
	for i, ln := range s.lns {
		for range cfg.NetworkThreads {
			s.wg.Add(1)
			go s.acceptLoop(ln, s.names[i])
		}
	}
	return s, nil
}

// Addrs returns the bound address of each listener, in Config order.
func (s *Server) Addrs() []net.Addr {
	out := make([]net.Addr, len(s.lns))
	for i, ln := range s.lns {
		out[i] = ln.Addr()
	}
	return out
}

// Addr returns the bound address of the named listener, or nil.
func (s *Server) Addr(name string) net.Addr {
	for i, n := range s.names {
		if n == name {
			return s.lns[i].Addr()
		}
	}
	return nil
}

// Metrics returns the server's live counters.
func (s *Server) Metrics() *Metrics { return &s.metrics }

// Close stops accepting, closes every connection, cancels the contexts
// handed to Handle and waits for netio's goroutines to finish. Deferred
// replies resolved afterwards are released, not written.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.cancel()
	for _, ln := range s.lns {
		ln.Close()
	}
	for _, c := range conns {
		c.kill()
	}
	s.wg.Wait()
	return nil
}

func (s *Server) acceptLoop(ln net.Listener, name string) {
	defer s.wg.Done()
	for {
		if s.connSem != nil {
			// Like Kafka's acceptor: at max.connections, stop accepting
			// until a connection closes; new ones wait in the backlog.
			select {
			case s.connSem <- struct{}{}:
			case <-s.ctx.Done():
				return
			}
		}
		nc, err := ln.Accept()
		if err != nil {
			s.releaseConnSlot()
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.cfg.Logger.Warn("netio: accept failed", "listener", name, "err", err)
			continue
		}
		s.startConn(nc, name)
	}
}

func (s *Server) releaseConnSlot() {
	if s.connSem != nil {
		<-s.connSem
	}
}

func (s *Server) startConn(nc net.Conn, listener string) {
	ip := nc.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	s.mu.Lock()
	if s.closed || (s.cfg.MaxConnectionsPerIP > 0 && s.perIP[ip] >= s.cfg.MaxConnectionsPerIP) {
		closed := s.closed
		s.mu.Unlock()
		nc.Close()
		s.releaseConnSlot()
		if !closed {
			s.metrics.ConnectionsRejected.Add(1)
			s.cfg.Logger.Info("netio: too many connections from address", "ip", ip, "max", s.cfg.MaxConnectionsPerIP)
		}
		return
	}
	s.perIP[ip]++
	c := newConn(s, nc, listener, ip)
	s.conns[c] = struct{}{}
	s.wg.Add(2)
	s.mu.Unlock()
	s.metrics.ConnectionsAccepted.Add(1)
	s.metrics.ConnectionsActive.Add(1)
	go c.readLoop()
	go c.writeLoop()
}

func (s *Server) connDone(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if s.perIP[c.ip]--; s.perIP[c.ip] <= 0 {
		delete(s.perIP, c.ip)
	}
	s.mu.Unlock()
	s.metrics.ConnectionsActive.Add(-1)
	s.releaseConnSlot()
}

func tuneSocket(nc net.Conn, cfg *Config) syscall.RawConn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	if cfg.SendBufferBytes > 0 {
		tc.SetWriteBuffer(cfg.SendBufferBytes)
	}
	if cfg.ReceiveBufferBytes > 0 {
		tc.SetReadBuffer(cfg.ReceiveBufferBytes)
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}
