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
	lingerStart int64
	synced      atomic.Int64 // batches the syncer has finished
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

// commitBatch is a group of applied writes on its way to the disk: the
// committer fills it, the syncer writes and fdatasyncs it as one commit.
type commitBatch struct {
	reqs  []*writeReq
	recs  []byte // encoded log records of reqs, in zxid order
	first int64  // zxid of reqs[0]
	last  int64  // zxid of the last req
	fired []Fired
	// snap, when set, was captured at last: the log rolls after this
	// batch and the snapshot is written once the batch is durable.
	snap     *snapState
	lingered bool // waited once for more writers
}

// commitLoop is the single writer of the tree. It takes the queued writes
// (from all connections) in batches, prepares and applies each under the
// tree lock, matches the changes against the watches and encodes their
// log records into the pending commitBatch. The syncer (syncLoop) writes
// and fdatasyncs one batch at a time; while it does, the committer keeps
// applying the writes that arrive into the next batch, which the syncer
// takes as soon as its fsync returns (pipelined group commit, as
// ZooKeeper's PrepRequestProcessor runs ahead of its SyncRequestProcessor).
// Only after a batch's fsync does the syncer queue its watch events,
// advance the durable zxid and complete its requests, batch by batch in
// zxid order. Reads run concurrently but their replies wait for the
// durable zxid to cover what they saw (see waitDurable), so no client
// ever sees a change, or a zxid, that is not on disk.
func (s *Server) commitLoop() {
	defer s.wg.Done()
	syncCh := make(chan *commitBatch)
	free := make(chan *commitBatch, 2)
	s.wg.Add(1)
	go s.syncLoop(syncCh, free)
	defer close(syncCh)
	newBatch := func() *commitBatch {
		select {
		case b := <-free:
			return b
		default:
			return &commitBatch{}
		}
	}
	in := make([]*writeReq, 0, 256)
	var pend *commitBatch
	var evs []Event
	var payload []byte
	// Sessions seen in this and the previous batch: an estimate of how
	// many writers are active, so a batch the idle syncer would take can
	// wait briefly for the ones whose previous reply just went out.
	cur, prev := make(map[int64]struct{}), make(map[int64]struct{})
	pendSess := make(map[int64]struct{})
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	var lingerC <-chan time.Time
	stopC := s.stop
	handed := int64(0) // batches given to the syncer; it counts s.synced
	for {
		var first *writeReq
		if pend != nil && pend.snap != nil {
			// The log rolls after this batch: nothing joins it.
			syncCh <- pend
			handed++
			prev, cur, pendSess = cur, pendSess, prev
			clear(pendSess)
			pend = nil
			continue
		}
		// Offer the pending batch to the syncer. A batch the idle syncer
		// would take at once lingers first (bounded by the recent fsync
		// time) while fewer writers are in it than were active over the
		// last two batches: closed-loop clients send their next write
		// only after the previous reply, so one fsync then covers them
		// all. A busy syncer takes the batch when its fsync returns, and
		// the writes arriving meanwhile join it, so nothing lingers then.
		var offer chan *commitBatch
		rc := s.reqCh
		if pend != nil {
			offer = syncCh
			active := len(prev)
			for k := range cur {
				if _, ok := prev[k]; !ok {
					active++
				}
			}
			want := min(active, 1000)
			if lingerC == nil && !pend.lingered && s.set.forceSync && stopC != nil &&
				handed == s.synced.Load() && len(pend.reqs) < want {
				pend.lingered = true
				linger.Reset(s.lingerTime())
				lingerC = linger.C
				s.lingerStart = nanotime()
			}
			if lingerC != nil {
				if len(pend.reqs) >= want {
					s.endLinger(linger, &lingerC)
				} else {
					offer = nil
				}
			}
			if len(pend.reqs) >= 1000 {
				rc = nil
			}
		}
		if stopC == nil {
			// Stopping: drain what was submitted before stop, then hand
			// over the last batch.
			select {
			case first = <-s.reqCh:
			default:
				if pend != nil {
					syncCh <- pend
				}
				return
			}
		} else {
			select {
			case offer <- pend:
				// pend belongs to the syncer now; its sessions were
				// noted in pendSess as it filled.
				handed++
				prev, cur, pendSess = cur, pendSess, prev
				clear(pendSess)
				pend = nil
				continue
			case <-lingerC:
				lingerC = nil
				s.stats.lingerNanos.Add(nanotime() - s.lingerStart)
				continue
			case first = <-rc:
			case <-stopC:
				stopC = nil
				s.endLinger(linger, &lingerC)
				continue
			}
		}
		in = append(in[:0], first)
	drain:
		for len(in) < 1000 {
			select {
			case r := <-s.reqCh:
				in = append(in, r)
			default:
				break drain
			}
		}
		if pend == nil {
			pend = newBatch()
		}
		evs = evs[:0]
		a0 := nanotime()
		now := s.nowMs()
		s.mu.Lock()
		for _, r := range in {
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
			pend.recs = appendRecord(pend.recs, payload)
			if len(pend.reqs) == 0 {
				pend.first = zxid
			}
			pend.reqs = append(pend.reqs, r)
			pendSess[r.session] = struct{}{}
			var e []Event
			r.res, e = s.tree.Apply(&r.txn)
			evs = append(evs, e...)
		}
		// Match watches at apply time, under the tree lock, so a read that
		// already saw a change cannot register a watch that this change
		// then fires.
		if len(evs) > 0 {
			s.wmu.Lock()
			pend.fired = append(pend.fired, s.watches.Trigger(evs)...)
			s.wmu.Unlock()
		}
		pend.last = s.tree.lastZxid
		s.sinceSnap += len(in)
		if s.sinceSnap >= s.set.snapCount && !s.snapRunning.Load() {
			// The tree is at pend.last; the log rolls at the same point.
			pend.snap = s.tree.captureSnapshot()
			s.snapRunning.Store(true)
			s.sinceSnap = 0
		}
		s.mu.Unlock()
		s.stats.applyNanos.Add(nanotime() - a0)
	}
}

func (s *Server) endLinger(linger *time.Timer, lingerC *<-chan time.Time) {
	if *lingerC == nil {
		return
	}
	*lingerC = nil
	s.stats.lingerNanos.Add(nanotime() - s.lingerStart)
	if !linger.Stop() {
		select {
		case <-linger.C:
		default:
		}
	}
}

// syncLoop writes and fdatasyncs each batch the committer hands over,
// then publishes it: watch events, the durable zxid, the replies.
func (s *Server) syncLoop(in <-chan *commitBatch, free chan<- *commitBatch) {
	defer s.wg.Done()
	for b := range in {
		start := nanotime()
		err := s.txnlog.AppendRecords(b.first, b.recs, len(b.reqs))
		if err == nil {
			err = s.txnlog.Commit()
		}
		d := nanotime() - start
		s.stats.observeFsync(d)
		s.stats.commitNanos.Add(d)
		s.stats.batches.Add(1)
		if err == nil && b.snap != nil {
			err = s.txnlog.Roll()
		}
		if err != nil {
			s.fatal(err)
			for _, r := range b.reqs {
				r.err = err
				close(r.done)
			}
		} else {
			for _, f := range b.fired {
				f.W.(*conn).queueEvent(f.Ev)
			}
			s.stats.commits.Add(int64(len(b.reqs)))
			s.setDurable(b.last)
			for _, r := range b.reqs {
				close(r.done)
			}
			if b.snap != nil {
				s.snapWG.Add(1)
				go s.writeSnapshot(b.snap)
			}
		}
		clear(b.reqs)
		clear(b.fired)
		b.reqs, b.recs, b.fired, b.snap, b.lingered = b.reqs[:0], b.recs[:0], b.fired[:0], nil, false
		s.synced.Add(1)
		select {
		case free <- b:
		default:
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
