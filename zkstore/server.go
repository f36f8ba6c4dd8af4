package zkstore

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregorlog/gregor/zkstore/config"
)

// Option configures a Server beyond its zoo.cfg.
type Option func(*Server)

// WithClock injects the wall clock used for txn times, session deadlines
// and TTLs (tests drive expiry with a fake one).
func WithClock(c Clock) Option { return func(s *Server) { s.clock = c } }

// WithLogger sets the server's logger.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// writeReq is one write on its way through the commit pipeline.
type writeReq struct {
	session int64
	cxid    int32
	op      int32 // request opcode
	ops     []WriteOp
	multi   bool
	auth    *authSet
	timeout int32 // createSession

	// Set by the committer before done is closed.
	txn  Txn
	res  Result
	err  error // non-nil: not committed (server failed)
	done chan struct{}
}

// Server is a standalone zkstore server.
type Server struct {
	set   settings
	clock Clock
	log   *slog.Logger

	// mu guards the tree. The committer holds it exclusively to prepare
	// and apply a batch; reads hold it shared. Only the committer changes
	// the tree.
	mu   sync.RWMutex
	tree *DataTree
	// wmu guards watches; taken inside mu (lock order: mu, wmu, smu, cmu).
	wmu     sync.Mutex
	watches *WatchManager

	// smu guards the session tracker, owners and nextSessionID.
	smu           sync.Mutex
	tracker       *SessionTracker
	owners        map[int64]*conn
	nextSessionID int64
	secret        []byte

	reqCh    chan *writeReq
	txnlog   *TxnLog
	snapDir  string
	logDir   string
	fatalErr atomic.Pointer[error]
	// durable is the zxid up to which the log is fsynced; replies never
	// carry or reveal anything beyond it. durableCh is closed and replaced
	// (under durableMu) each time it advances.
	durable   atomic.Int64
	durableMu sync.Mutex
	durableCh chan struct{}
	// Committer-only state.
	sinceSnap   int
	snapRunning atomic.Bool
	snapWG      sync.WaitGroup
	lastSnap    atomic.Int64 // zxid of the last snapshot

	// cmu guards conns and perIP.
	cmu   sync.Mutex
	conns map[*conn]struct{}
	perIP map[string]int

	ln        net.Listener
	adminLn   net.Listener
	adminSrv  *http.Server
	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup // background loops
	cwg       sync.WaitGroup // connections
	started   time.Time

	stats     serverStats
	traceMask atomic.Int64 // gtmk/stmk; ZooTrace's default 306
}

// NewServer builds a server from a parsed zoo.cfg and recovers its state
// from dataDir/dataLogDir; Start begins serving.
func NewServer(cfg *config.Config, opts ...Option) (*Server, error) {
	set, err := settingsFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	return newServer(set, opts...)
}

func newServer(set settings, opts ...Option) (*Server, error) {
	s := &Server{
		set:     set,
		clock:   realClock{},
		log:     slog.Default(),
		watches: NewWatchManager(),
		owners:  make(map[int64]*conn),
		reqCh:   make(chan *writeReq, 4096),
		conns:   make(map[*conn]struct{}),
		perIP:   make(map[string]int),
		stop:    make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	s.stats.reset()
	s.traceMask.Store(306)
	s.tracker = NewSessionTracker(int64(set.tickTime))
	s.snapDir = filepath.Join(set.dataDir, "version-2")
	s.logDir = filepath.Join(set.dataLogDir, "version-2")
	for _, d := range []string{s.snapDir, s.logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("zkstore: %w", err)
		}
	}
	if err := s.loadSecret(); err != nil {
		return nil, err
	}
	if err := s.recover(); err != nil {
		return nil, err
	}
	s.txnlog = NewTxnLog(s.logDir, set.preAllocSize, set.forceSync)
	s.durableCh = make(chan struct{})
	s.durable.Store(s.tree.lastZxid)
	nowMs := s.nowMs()
	s.nextSessionID = initialSessionID(set.serverID, nowMs)
	for id, to := range s.tree.sessions {
		// Recovered sessions get a full timeout from now, as ZooKeeper
		// re-touches every session when it starts serving.
		s.tracker.Add(id, int64(to), nowMs)
		if id >= s.nextSessionID {
			s.nextSessionID = id + 1
		}
	}
	return s, nil
}

func (s *Server) loadSecret() error {
	p := filepath.Join(s.snapDir, "session.secret")
	b, err := os.ReadFile(p)
	if err == nil && len(b) == 32 {
		s.secret = b
		return nil
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("zkstore: %w", err)
	}
	if f, err := os.Open(tmp); err == nil {
		f.Sync()
		f.Close()
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("zkstore: %w", err)
	}
	s.secret = b
	return syncDir(s.snapDir)
}

// recover loads the newest valid snapshot and replays the log after it.
func (s *Server) recover() error {
	t, snapPath, err := loadLatestSnapshot(s.snapDir)
	if err != nil {
		return fmt.Errorf("zkstore: loading snapshot: %w", err)
	}
	snapZxid := t.lastZxid
	last, truncated, err := replayLogs(s.logDir, snapZxid, func(txn *Txn) { t.Apply(txn) })
	if err != nil {
		return fmt.Errorf("zkstore: replaying txn log: %w", err)
	}
	if truncated {
		s.log.Warn("zkstore: truncated a torn txn-log tail", "lastZxid", fmt.Sprintf("0x%x", last))
	}
	s.tree = t
	s.lastSnap.Store(snapZxid)
	if snapPath == "" || last > snapZxid {
		// Start from a snapshot of the recovered state so the logs before
		// it can be purged, as ZooKeeper snapshots at load time.
		if _, err := writeSnapshot(s.snapDir, t.captureSnapshot()); err != nil {
			return fmt.Errorf("zkstore: writing snapshot: %w", err)
		}
		s.lastSnap.Store(last)
	}
	return nil
}

func (s *Server) nowMs() int64 { return s.clock.Now().UnixMilli() }

// Start binds the client port (and the AdminServer when enabled) and
// starts serving.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.set.clientAddr)
	if err != nil {
		return fmt.Errorf("zkstore: listen %s: %w", s.set.clientAddr, err)
	}
	s.ln = ln
	s.started = time.Now()
	if s.set.adminEnable {
		if err := s.startAdmin(); err != nil {
			ln.Close()
			return err
		}
	}
	s.wg.Add(3)
	go s.commitLoop()
	go s.tickLoop()
	go s.acceptLoop()
	if s.set.purgeInterval > 0 {
		s.wg.Add(1)
		go s.purgeLoop()
	}
	return nil
}

// Addr returns the client listener's address.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// AdminAddr returns the AdminServer's address, or nil when disabled.
func (s *Server) AdminAddr() net.Addr {
	if s.adminLn == nil {
		return nil
	}
	return s.adminLn.Addr()
}

// Close stops accepting, lets connections finish the requests they already
// sent, commits and syncs the log, and stops.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.ln != nil {
			s.ln.Close()
		}
		if s.adminSrv != nil {
			s.adminSrv.Close()
		}
		s.cmu.Lock()
		for c := range s.conns {
			c.shutdownRead()
		}
		s.cmu.Unlock()
		done := make(chan struct{})
		go func() { s.cwg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			s.cmu.Lock()
			for c := range s.conns {
				c.close()
			}
			s.cmu.Unlock()
			<-done
		}
		close(s.stop)
		s.wg.Wait()
		if s.txnlog != nil {
			err = s.txnlog.Close()
		}
		s.snapWG.Wait()
	})
	return err
}

// fatal stops the server after a failed log write or fsync: the in-memory
// tree may now be ahead of the log, so nothing more is served.
func (s *Server) fatal(err error) {
	if !s.fatalErr.CompareAndSwap(nil, &err) {
		return
	}
	s.log.Error("zkstore: fatal txn-log error; stopping service", "err", err)
	if s.ln != nil {
		s.ln.Close()
	}
	s.cmu.Lock()
	for c := range s.conns {
		c.close()
	}
	s.cmu.Unlock()
}

// Err returns the fatal error that stopped the server, if any.
func (s *Server) Err() error {
	if p := s.fatalErr.Load(); p != nil {
		return *p
	}
	return nil
}

// submit queues a write for the committer. It fails fast once the server
// has stopped.
func (s *Server) submit(r *writeReq) bool {
	r.done = make(chan struct{})
	if s.Err() != nil {
		r.err = s.Err()
		close(r.done)
		return false
	}
	select {
	case s.reqCh <- r:
		return true
	case <-s.stop:
		r.err = ErrClosed
		close(r.done)
		return false
	}
}

// commitLoop is the single writer. For every batch of queued writes (from
// all connections) it prepares and applies each under the tree lock and
// matches the changes against the watches, appends them to the log, then
// releases the lock and writes and fdatasyncs the batch once (group
// commit). Only after the fsync does it queue the watch events, advance
// the durable zxid and complete the requests. Reads run concurrently with
// the fsync but their replies wait for the durable zxid to cover what they
// saw (see waitDurable), so no client ever sees a change, or a zxid, that
// is not on disk.
func (s *Server) commitLoop() {
	defer s.wg.Done()
	batch := make([]*writeReq, 0, 256)
	var evs []Event
	var payload []byte
	// Sessions seen in this and the previous batch: an estimate of how
	// many writers are active, so a batch can wait briefly for the ones
	// whose previous reply just went out (see below).
	cur, prev := make(map[int64]struct{}), make(map[int64]struct{})
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		var first *writeReq
		select {
		case first = <-s.reqCh:
		case <-s.stop:
			// Drain what was submitted before stop.
			select {
			case first = <-s.reqCh:
			default:
				return
			}
		}
		batch = append(batch[:0], first)
	drain:
		for len(batch) < 1000 {
			select {
			case r := <-s.reqCh:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		// Closed-loop clients send their next write only after the
		// previous reply, which leaves every other batch with half of
		// them. When fewer writers are here than were active over the last
		// two batches, wait a moment (bounded by the recent fsync time)
		// for the rest, so one fsync covers them all.
		if s.set.forceSync {
			active := len(prev)
			for k := range cur {
				if _, ok := prev[k]; !ok {
					active++
				}
			}
			if len(batch) < min(active, 1000) {
				w0 := nanotime()
				linger.Reset(s.lingerTime())
			wait:
				for len(batch) < min(active, 1000) {
					select {
					case r := <-s.reqCh:
						batch = append(batch, r)
					case <-linger.C:
						break wait
					case <-s.stop:
						break wait
					}
				}
				if !linger.Stop() {
					select {
					case <-linger.C:
					default:
					}
				}
				s.stats.lingerNanos.Add(nanotime() - w0)
			}
			prev, cur = cur, prev
			clear(cur)
			for _, r := range batch {
				cur[r.session] = struct{}{}
			}
		}
		evs = evs[:0]
		a0 := nanotime()
		now := s.nowMs()
		s.mu.Lock()
		for _, r := range batch {
			zxid := s.tree.lastZxid + 1
			r.txn = Txn{TxnHeader: TxnHeader{SessionID: r.session, Cxid: r.cxid, Zxid: zxid, Time: now}}
			switch r.op {
			case OpCreateSession:
				r.txn.Type, r.txn.Body = OpCreateSession, &CreateSessionTxn{Timeout: r.timeout}
			case OpCloseSession:
				r.txn.Type, r.txn.Body = OpCloseSession, &CloseSessionTxn{}
			default:
				c := &prepCtx{session: r.session, auth: r.auth, zxid: zxid, extended: s.set.extendedTypes}
				r.txn.Type, r.txn.Body = s.tree.prepare(c, r.ops, r.multi)
			}
			payload = AppendTxn(payload[:0], &r.txn)
			s.txnlog.Append(zxid, payload)
			var e []Event
			r.res, e = s.tree.Apply(&r.txn)
			evs = append(evs, e...)
		}
		// Match watches at apply time, under the tree lock, so a read that
		// already saw a change cannot register a watch that this change
		// then fires.
		var fired []Fired
		if len(evs) > 0 {
			s.wmu.Lock()
			fired = s.watches.Trigger(evs)
			s.wmu.Unlock()
		}
		last := s.tree.lastZxid
		s.mu.Unlock()

		start := nanotime()
		s.stats.applyNanos.Add(start - a0)
		err := s.txnlog.Commit()
		s.stats.observeFsync(nanotime() - start)
		s.stats.commitNanos.Add(nanotime() - start)
		s.stats.batches.Add(1)
		var snap *snapState
		if err == nil {
			s.sinceSnap += len(batch)
			if s.sinceSnap >= s.set.snapCount && !s.snapRunning.Load() {
				// Only this goroutine changes the tree, so it is still at
				// last; the log rolls at the same point.
				s.mu.RLock()
				snap = s.tree.captureSnapshot()
				s.mu.RUnlock()
				err = s.txnlog.Roll()
				s.sinceSnap = 0
			}
		}
		if err != nil {
			s.fatal(err)
			for _, r := range batch {
				r.err = err
				close(r.done)
			}
			continue
		}
		for _, f := range fired {
			f.W.(*conn).queueEvent(f.Ev)
		}
		s.stats.commits.Add(int64(len(batch)))
		s.setDurable(last)
		for _, r := range batch {
			close(r.done)
		}
		if snap != nil {
			s.snapRunning.Store(true)
			s.snapWG.Add(1)
			go s.writeSnapshot(snap)
		}
	}
}

// lingerTime bounds how long a batch waits for more writers: about the
// recent average fsync, between 50µs and 2ms.
func (s *Server) lingerTime() time.Duration {
	s.stats.mu.Lock()
	var avg time.Duration
	if s.stats.fsyncCnt > 0 {
		avg = time.Duration(s.stats.fsyncSum / s.stats.fsyncCnt)
	}
	s.stats.mu.Unlock()
	return min(max(avg, 50*time.Microsecond), 2*time.Millisecond)
}

// setDurable publishes that every txn up to zxid is on disk.
func (s *Server) setDurable(zxid int64) {
	s.durableMu.Lock()
	s.durable.Store(zxid)
	close(s.durableCh)
	s.durableCh = make(chan struct{})
	s.durableMu.Unlock()
}

// waitDurable blocks until every txn up to zxid is on disk, or closed is
// closed (false).
func (s *Server) waitDurable(zxid int64, closed <-chan struct{}) bool {
	for {
		if s.durable.Load() >= zxid {
			return true
		}
		s.durableMu.Lock()
		ch := s.durableCh
		done := s.durable.Load() >= zxid
		s.durableMu.Unlock()
		if done {
			return true
		}
		select {
		case <-ch:
		case <-closed:
			return false
		}
	}
}

func (s *Server) writeSnapshot(snap *snapState) {
	defer s.snapWG.Done()
	defer s.snapRunning.Store(false)
	if _, err := writeSnapshot(s.snapDir, snap); err != nil {
		// A failed snapshot loses nothing (the log still holds every txn);
		// the next one is retried after another snapCount txns.
		s.log.Error("zkstore: snapshot failed", "zxid", snap.zxid, "err", err)
		return
	}
	s.lastSnap.Store(snap.zxid)
	s.stats.snapshots.Add(1)
}

// tickLoop expires sessions and sweeps containers and TTL nodes.
func (s *Server) tickLoop() {
	defer s.wg.Done()
	period := time.Duration(s.set.tickTime) * time.Millisecond / 2
	if period <= 0 {
		period = time.Second
	}
	t := time.NewTicker(period)
	defer t.Stop()
	lastSweep := time.Now()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.expireSessions()
		if time.Since(lastSweep) >= s.set.containerInterval {
			lastSweep = time.Now()
			s.sweepContainers()
		}
	}
}

// expireSessions closes every session whose deadline has passed by the
// injected clock: a closeSession txn deletes its ephemerals (firing
// watches), then its connection, if any, is closed.
func (s *Server) expireSessions() {
	s.smu.Lock()
	ids := s.tracker.Expired(s.nowMs())
	s.smu.Unlock()
	// Submit every close first so they share group commits.
	reqs := make([]*writeReq, 0, len(ids))
	for _, id := range ids {
		s.log.Info("zkstore: session expired", "session", fmt.Sprintf("0x%x", id))
		r := &writeReq{session: id, op: OpCloseSession}
		if !s.submit(r) {
			return
		}
		reqs = append(reqs, r)
	}
	for _, r := range reqs {
		select {
		case <-r.done:
		case <-s.stop: // the committer may be gone
			return
		}
		s.smu.Lock()
		c := s.owners[r.session]
		delete(s.owners, r.session)
		s.smu.Unlock()
		if c != nil {
			c.close()
		}
	}
}

// sweepContainers deletes empty containers and expired TTL nodes
// (ZooKeeper's ContainerManager), one deleteContainer txn each; a node
// that gained a child meanwhile fails preparation and stays.
func (s *Server) sweepContainers() {
	s.mu.RLock()
	paths := s.tree.ExpiredContainers(s.nowMs())
	s.mu.RUnlock()
	reqs := make([]*writeReq, 0, len(paths))
	for _, p := range paths {
		r := &writeReq{op: OpDeleteContainer, ops: []WriteOp{{Type: OpDeleteContainer, Path: p, Version: -1}}}
		if !s.submit(r) {
			return
		}
		reqs = append(reqs, r)
	}
	for _, r := range reqs {
		select {
		case <-r.done:
		case <-s.stop: // the committer may be gone
			return
		}
	}
}

func (s *Server) purgeLoop() {
	defer s.wg.Done()
	for {
		if _, err := s.Purge(); err != nil {
			s.log.Warn("zkstore: autopurge failed", "err", err)
		}
		select {
		case <-s.stop:
			return
		case <-time.After(s.set.purgeInterval):
		}
	}
}

// Purge removes snapshots beyond autopurge.snapRetainCount and the logs
// older than the oldest kept snapshot.
func (s *Server) Purge() ([]string, error) {
	return purge(s.snapDir, s.logDir, s.set.snapRetainCount)
}

// acceptLoop accepts client connections, enforcing maxClientCnxns per IP.
func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			select {
			case <-s.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		ip := remoteIP(nc)
		s.cmu.Lock()
		if s.set.maxClientCnxns > 0 && s.perIP[ip] >= s.set.maxClientCnxns {
			s.cmu.Unlock()
			s.stats.rejected.Add(1)
			s.log.Warn("zkstore: too many connections", "ip", ip, "max", s.set.maxClientCnxns)
			nc.Close()
			continue
		}
		if s.Err() != nil {
			s.cmu.Unlock()
			nc.Close()
			continue
		}
		c := newConn(s, nc, ip)
		s.perIP[ip]++
		s.conns[c] = struct{}{}
		s.cwg.Add(1)
		s.cmu.Unlock()
		go c.serve()
	}
}

func (s *Server) removeConn(c *conn) {
	s.cmu.Lock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.perIP[c.ip]--
		if s.perIP[c.ip] <= 0 {
			delete(s.perIP, c.ip)
		}
	}
	s.cmu.Unlock()
	s.wmu.Lock()
	s.watches.RemoveWatcher(c)
	s.wmu.Unlock()
	s.smu.Lock()
	if id := c.sessionID.Load(); id != 0 && s.owners[id] == c {
		delete(s.owners, id)
	}
	s.smu.Unlock()
	s.cwg.Done()
}

func remoteIP(nc net.Conn) string {
	if a, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, _ := net.SplitHostPort(nc.RemoteAddr().String())
	return host
}
