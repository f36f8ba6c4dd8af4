package engine

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gregorlog/gregor/engine/checkpoint"
)

// Names of files in a log dir root (Kafka's). Part of the on-disk format.
const (
	lockFileName            = ".lock"
	cleanShutdownFileName   = ".kafka_cleanshutdown"
	recoveryPointCheckpoint = "recovery-point-offset-checkpoint"
	logStartCheckpoint      = "log-start-offset-checkpoint"
	replicationCheckpoint   = "replication-offset-checkpoint"
	deleteDirSuffix         = "-delete"
	futureDirSuffix         = "-future"
	strayDirSuffix          = "-stray"
)

// Options are the non-Kafka knobs of Open.
type Options struct {
	// Clock defaults to the wall clock.
	Clock Clock
	// FS defaults to OSFS.
	FS FS
	// ManualHighWatermark stops appends from advancing the high watermark
	// to the log end offset; replication sets it with SetHighWatermark.
	ManualHighWatermark bool
	// DeferRetention keeps time and size retention off a log loaded by
	// Open until SetTopicConfig gives it its topic's configuration, so a
	// compacted topic is never judged by the broker-wide delete default
	// before its own cleanup.policy is known (the broker keeps topic
	// configs in ZooKeeper, not in the log dir). Logs made by CreateLog
	// have their configuration from the start.
	DeferRetention bool
	// Logf receives operational messages (recovery, truncation, offline
	// dirs). Defaults to discarding them.
	Logf func(format string, args ...any)
}

// TopicPartition names a partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return tp.Topic + "-" + strconv.Itoa(int(tp.Partition)) }

// Manager owns every log dir and every partition log in them.
type Manager struct {
	cfg   Config
	opts  Options
	vfs   FS
	cache *openCache
	dirs  []*logDir
	// deleter unlinks .deleted segments and -delete dirs after
	// file.delete.delay.ms on the manager's clock.
	deleter *deleter

	mu   sync.RWMutex // guards logs
	logs map[TopicPartition]*Log

	stop   chan struct{}
	wg     sync.WaitGroup
	closed atomic.Bool

	cleaners *cleanerManager // the log cleaner (cleaner_manager.go)

	// RecoveryStats of the last Open, for logs and benchmarks.
	RecoveryStats RecoveryStats
}

// RecoveryStats summarises what Open did.
type RecoveryStats struct {
	Logs              int
	CleanDirs         int
	SegmentsRecovered int
	BytesRecovered    int64
	BytesTruncated    int64
	Duration          time.Duration
}

// logDir is one entry of log.dirs.
type logDir struct {
	m    *Manager
	path string
	lock *os.File

	err atomic.Pointer[error] // sticky: the dir is offline

	cpMu sync.Mutex // serializes checkpoint writes for this dir
}

func (d *logDir) online() bool { return d.err.Load() == nil }

// fail takes the whole dir offline (Kafka's LogDirFailureChannel): every
// log in it stops, the others keep serving.
func (d *logDir) fail(err error) {
	if !d.err.CompareAndSwap(nil, &err) {
		return
	}
	d.m.logf("engine: log dir %s offline: %v", d.path, err)
	for _, l := range d.m.Logs() {
		if l.ld == d {
			l.failFromDir(err)
		}
	}
}

func (m *Manager) logf(format string, args ...any) {
	if m.opts.Logf != nil {
		m.opts.Logf(format, args...)
	}
}

// Open locks and loads every log dir: meta.properties, the clean-shutdown
// marker and the checkpoints, then every partition, recovering those that
// need it with num.recovery.threads.per.data.dir workers per dir. A dir
// that fails to load is marked offline; Open fails only if all do.
func Open(cfg Config, opts Options) (*Manager, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.FS == nil {
		opts.FS = OSFS{}
	}
	m := &Manager{
		cfg:     cfg,
		opts:    opts,
		vfs:     opts.FS,
		cache:   newOpenCache(cfg.MaxOpenSegments),
		deleter: newDeleter(opts.Clock),
		logs:    make(map[TopicPartition]*Log),
		stop:    make(chan struct{}),
	}
	start := time.Now()
	var wg sync.WaitGroup
	var statsMu sync.Mutex
	errs := make([]error, len(cfg.Dirs))
	for i, p := range cfg.Dirs {
		d := &logDir{m: m, path: p}
		m.dirs = append(m.dirs, d)
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := m.loadDir(d)
			statsMu.Lock()
			m.RecoveryStats.add(st)
			statsMu.Unlock()
			if err != nil {
				errs[i] = err
				d.fail(err) // also stops the logs it loaded before failing
			}
		}()
	}
	wg.Wait()
	m.RecoveryStats.Duration = time.Since(start)
	online := 0
	for _, d := range m.dirs {
		if d.online() {
			online++
		}
	}
	if online == 0 {
		m.releaseLocks()
		return nil, fmt.Errorf("%w: %w", ErrNoOnlineDir, errors.Join(errs...))
	}
	m.startBackground()
	m.cleaners = newCleanerManager(m)
	m.cleaners.start()
	return m, nil
}

func (s *RecoveryStats) add(o RecoveryStats) {
	s.Logs += o.Logs
	s.CleanDirs += o.CleanDirs
	s.SegmentsRecovered += o.SegmentsRecovered
	s.BytesRecovered += o.BytesRecovered
	s.BytesTruncated += o.BytesTruncated
}

func (m *Manager) releaseLocks() {
	for _, d := range m.dirs {
		if d.lock != nil {
			d.lock.Close()
			d.lock = nil
		}
	}
}

// loadDir loads one log dir.
func (m *Manager) loadDir(d *logDir) (RecoveryStats, error) {
	var st RecoveryStats
	if err := m.vfs.MkdirAll(d.path); err != nil {
		return st, err
	}
	lk, err := lockDir(d.path)
	if err != nil {
		return st, err
	}
	d.lock = lk
	if err := m.ensureMeta(d.path); err != nil {
		return st, err
	}
	marker := filepath.Join(d.path, cleanShutdownFileName)
	_, err = m.vfs.Stat(marker)
	clean := err == nil
	if clean {
		st.CleanDirs++
	}
	rps, err := readCheckpoint(filepath.Join(d.path, recoveryPointCheckpoint))
	if err != nil {
		return st, err
	}
	lss, err := readCheckpoint(filepath.Join(d.path, logStartCheckpoint))
	if err != nil {
		return st, err
	}
	hws, err := readCheckpoint(filepath.Join(d.path, replicationCheckpoint))
	if err != nil {
		return st, err
	}
	entries, err := m.vfs.ReadDir(d.path)
	if err != nil {
		return st, err
	}
	var tps []TopicPartition
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name := e.Name()
		if strings.HasSuffix(name, deleteDirSuffix) {
			// A deletion that did not finish before the last shutdown.
			m.vfs.RemoveAll(filepath.Join(d.path, name))
			continue
		}
		if strings.HasSuffix(name, futureDirSuffix) || strings.HasSuffix(name, strayDirSuffix) {
			continue
		}
		tp, ok := parseLogDirName(name)
		if !ok {
			continue
		}
		tps = append(tps, tp)
	}
	type result struct {
		l   *Log
		st  RecoveryStats
		err error
	}
	work := make(chan TopicPartition)
	results := make(chan result)
	for w := 0; w < m.cfg.RecoveryThreadsPerDataDir; w++ {
		go func() {
			for tp := range work {
				var r result
				r.l, r.st, r.err = m.loadLog(d, tp, clean, rps, lss, hws)
				if r.err != nil {
					r.err = fmt.Errorf("engine: loading %s in %s: %w", tp, d.path, r.err)
				}
				results <- r
			}
		}()
	}
	go func() {
		for _, tp := range tps {
			work <- tp
		}
		close(work)
	}()
	var firstErr error
	for range tps {
		r := <-results
		st.add(r.st)
		if r.err != nil {
			if firstErr == nil {
				firstErr = r.err
			}
			continue
		}
		m.mu.Lock()
		m.logs[TopicPartition{r.l.topic, r.l.partition}] = r.l
		m.mu.Unlock()
	}
	if firstErr != nil {
		return st, firstErr
	}
	// Kafka deletes the marker at start: from now on a crash is unclean.
	if clean {
		if err := m.vfs.Remove(marker); err != nil {
			return st, err
		}
		if err := m.vfs.SyncDir(d.path); err != nil {
			return st, err
		}
	}
	if err := d.writeCheckpoints(true, true, true); err != nil {
		return st, err
	}
	return st, nil
}

func (m *Manager) ensureMeta(dir string) error {
	mp, err := checkpoint.ReadMeta(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return checkpoint.WriteMeta(dir, checkpoint.MetaProperties{Version: 0, BrokerID: m.cfg.BrokerID, ClusterID: m.cfg.ClusterID})
	}
	if err != nil {
		return err
	}
	if mp.BrokerID != m.cfg.BrokerID {
		return fmt.Errorf("%w: %s/meta.properties has broker.id %d, configured %d", ErrInvalidConfig, dir, mp.BrokerID, m.cfg.BrokerID)
	}
	if m.cfg.ClusterID != "" && mp.ClusterID != "" && mp.ClusterID != m.cfg.ClusterID {
		return fmt.Errorf("%w: %s/meta.properties has cluster.id %s, configured %s", ErrInvalidConfig, dir, mp.ClusterID, m.cfg.ClusterID)
	}
	return nil
}

func readCheckpoint(path string) (map[TopicPartition]int64, error) {
	es, err := checkpoint.Read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[TopicPartition]int64{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[TopicPartition]int64, len(es))
	for _, e := range es {
		out[TopicPartition{e.Topic, e.Partition}] = e.Offset
	}
	return out, nil
}

// parseLogDirName splits "<topic>-<partition>".
func parseLogDirName(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || strconv.FormatInt(p, 10) != name[i+1:] {
		return TopicPartition{}, false
	}
	return TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}

func (m *Manager) newLog(d *logDir, tp TopicPartition, lc logConfig) *Log {
	l := &Log{
		topic:     tp.Topic,
		partition: tp.Partition,
		dir:       filepath.Join(d.path, tp.String()),
		ld:        d,
		deleter:   m.deleter,
		vfs:       m.vfs,
		clock:     m.opts.Clock,
		cache:     m.cache,
		manualHW:  m.opts.ManualHighWatermark,
	}
	l.configured.Store(!m.opts.DeferRetention)
	l.flushIdle = sync.NewCond(&l.flushMu)
	l.cfg.Store(&lc)
	ch := make(chan struct{})
	l.hwCh.Store(&ch)
	l.lastFlushMs.Store(m.opts.Clock.Now().UnixMilli())
	return l
}

// loadLog loads one partition dir, recovering it after an unclean
// shutdown (kafka-protocol.md §9.7).
func (m *Manager) loadLog(d *logDir, tp TopicPartition, clean bool, rps, lss, hws map[TopicPartition]int64) (*Log, RecoveryStats, error) {
	st := RecoveryStats{Logs: 1}
	lc, err := resolve(&m.cfg, TopicConfig{})
	if err != nil {
		return nil, st, err
	}
	l := m.newLog(d, tp, lc)
	entries, err := m.vfs.ReadDir(l.dir)
	if err != nil {
		return nil, st, err
	}
	if hasLogSwap(entries) {
		// Finish an interrupted log cleaner swap first.
		if err := completeSwaps(m.vfs, l.dir, m.logf); err != nil {
			return nil, st, err
		}
		if entries, err = m.vfs.ReadDir(l.dir); err != nil {
			return nil, st, err
		}
	}
	var segs []*segment
	hasIndex := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, deletedSuffix), strings.HasSuffix(name, cleanedSuffix),
			strings.HasSuffix(name, swapSuffix), strings.HasSuffix(name, ".tmp"):
			// Leftovers of deletion, compaction or a checkpoint write.
			m.vfs.Remove(filepath.Join(l.dir, name))
		case strings.HasSuffix(name, indexSuffix), strings.HasSuffix(name, timeIndexSuffix):
			hasIndex[name] = true
		}
	}
	for _, e := range entries {
		base, ok := parseSegmentName(e.Name(), logSuffix)
		if !ok {
			continue
		}
		s := newSegment(l.dir, base, m.vfs, m.cache, lc.indexMaxBytes)
		info, err := e.Info()
		if err != nil {
			return nil, st, err
		}
		s.size.Store(info.Size())
		segs = append(segs, s)
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].base < segs[j].base })
	nowMs := m.opts.Clock.Now().UnixMilli()
	if len(segs) == 0 {
		s, err := createSegment(l.dir, lss[tp], m.vfs, m.cache, lc.indexMaxBytes, 0, 0)
		if err != nil {
			return nil, st, err
		}
		segs = append(segs, s)
	}
	// Per-segment index state: trust the trimmed file length (Kafka);
	// anything odd is rebuilt by recovery.
	needsRecovery := make([]bool, len(segs))
	for i, s := range segs {
		if i+1 < len(segs) {
			s.next.Store(segs[i+1].base)
		}
		for _, ix := range []*index{s.offIdx.index, s.timeIdx.index} {
			info, err := m.vfs.Stat(ix.path)
			if err != nil || info.Size()%int64(ix.entrySize) != 0 || info.Size() > int64(ix.maxEntries*ix.entrySize) {
				needsRecovery[i] = true
				continue
			}
			ix.entries.Store(int32(info.Size() / int64(ix.entrySize)))
		}
		if !hasIndex[filepath.Base(s.offIdx.path)] || !hasIndex[filepath.Base(s.timeIdx.path)] {
			needsRecovery[i] = true
		}
	}
	last := len(segs) - 1
	segs[last].writable.Store(true)
	segs[last].createdMs = nowMs
	if !clean {
		// Recover from the segment holding the recovery point onwards.
		rp, ok := rps[tp]
		if !ok {
			rp = 0
		}
		from := sort.Search(len(segs), func(i int) bool { return segs[i].base > rp }) - 1
		if from < 0 {
			from = 0
		}
		for i := from; i <= last; i++ {
			needsRecovery[i] = true
		}
	}
	for i := 0; i <= last; i++ {
		if !needsRecovery[i] {
			continue
		}
		s := segs[i]
		res, err := s.recover(lc.indexIntervalBytes)
		if err != nil {
			return nil, st, err
		}
		st.SegmentsRecovered++
		st.BytesRecovered += res.validBytes
		st.BytesTruncated += res.truncatedBytes
		if res.truncatedBytes > 0 {
			m.logf("engine: %s: truncated %d invalid bytes at position %d of %s", tp, res.truncatedBytes, res.validBytes, s.logPath)
		}
		if res.truncatedBytes > 0 && i < last {
			// Kafka deletes everything after a corrupt segment.
			for _, later := range segs[i+1:] {
				for _, p := range []string{later.logPath, later.offIdx.path, later.timeIdx.path} {
					m.vfs.Remove(p)
				}
				st.BytesTruncated += later.size.Load()
			}
			segs = segs[:i+1]
			last = i
			s.createdMs = nowMs
		}
		if i < last {
			if err := s.seal(); err != nil {
				return nil, st, err
			}
		}
	}
	act := segs[last]
	act.writable.Store(true)
	if !needsRecovery[last] {
		if err := act.loadActiveState(); err != nil {
			m.logf("engine: %s: rebuilding %s: %v", tp, act.logPath, err)
			res, err := act.recover(lc.indexIntervalBytes)
			if err != nil {
				return nil, st, err
			}
			st.SegmentsRecovered++
			st.BytesRecovered += res.validBytes
			st.BytesTruncated += res.truncatedBytes
		}
	}
	l.segs.Store(&segs)
	leo := act.next.Load()
	ls := max(lss[tp], segs[0].base)
	if ls > leo {
		// The log start checkpoint is past everything on disk: start
		// empty at the checkpointed offset (Kafka's truncateFullyAndStartAt).
		for _, s := range segs {
			s.markDeleted()
			s.removeDeleted()
		}
		ns, err := createSegment(l.dir, ls, m.vfs, m.cache, lc.indexMaxBytes, nowMs, 0)
		if err != nil {
			return nil, st, err
		}
		segs = []*segment{ns}
		l.segs.Store(&segs)
		leo = ls
	}
	l.leo.Store(leo)
	l.logStart.Store(ls)
	if clean {
		l.recoveryPoint.Store(leo)
	} else {
		l.recoveryPoint.Store(min(rps[tp], leo))
	}
	hw := leo
	if m.opts.ManualHighWatermark {
		hw = hws[tp]
	}
	l.hw.Store(min(max(hw, ls), leo))
	return l, st, nil
}

// checkpointLogStart rewrites log-start-offset-checkpoint now.
func (d *logDir) checkpointLogStart() error { return d.writeCheckpoints(false, true, false) }

// writeCheckpoints writes the chosen checkpoint files for every online
// log of the dir, atomically (tmp, fsync, rename, dir fsync).
func (d *logDir) writeCheckpoints(rp, ls, hw bool) error {
	if !d.online() {
		return *d.err.Load()
	}
	d.cpMu.Lock()
	defer d.cpMu.Unlock()
	var rps, lss, hws []checkpoint.Entry
	for _, l := range d.m.Logs() {
		if l.ld != d || l.Offline() {
			continue
		}
		rps = append(rps, checkpoint.Entry{Topic: l.topic, Partition: l.partition, Offset: l.recoveryPoint.Load()})
		hws = append(hws, checkpoint.Entry{Topic: l.topic, Partition: l.partition, Offset: l.hw.Load()})
		// Kafka lists only logs whose start moved past the first segment.
		if s := l.logStart.Load(); s > l.segments()[0].base {
			lss = append(lss, checkpoint.Entry{Topic: l.topic, Partition: l.partition, Offset: s})
		}
	}
	for _, c := range []struct {
		on   bool
		name string
		es   []checkpoint.Entry
	}{{rp, recoveryPointCheckpoint, rps}, {ls, logStartCheckpoint, lss}, {hw, replicationCheckpoint, hws}} {
		if !c.on {
			continue
		}
		sortEntries(c.es)
		if err := checkpoint.Write(filepath.Join(d.path, c.name), c.es); err != nil {
			d.fail(err)
			return err
		}
	}
	return nil
}

func sortEntries(es []checkpoint.Entry) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].Topic != es[j].Topic {
			return es[i].Topic < es[j].Topic
		}
		return es[i].Partition < es[j].Partition
	})
}

// startBackground runs the time-based flusher, the checkpoint writers,
// the retention pass and the delayed file deleter.
func (m *Manager) startBackground() {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.deleter.loop(m.stop)
	}()
	tick := func(ms int64, fn func()) {
		if ms <= 0 || ms >= NoLimit/int64(time.Millisecond) {
			return
		}
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			t := time.NewTicker(time.Duration(ms) * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-m.stop:
					return
				case <-t.C:
					fn()
				}
			}
		}()
	}
	// flush.ms is checked at least every second even when
	// log.flush.scheduler.interval.ms is Long.MAX, so that a per-topic
	// flush.ms works without also tuning the scheduler.
	tick(min(m.cfg.FlushSchedulerIntervalMs, 1000), m.flushDirtyLogs)
	tick(m.cfg.FlushOffsetCheckpointIntervalMs, func() { m.checkpointAll(true, false, false) })
	tick(m.cfg.FlushStartOffsetCheckpointIntervalMs, func() { m.checkpointAll(false, true, false) })
	tick(m.cfg.HighWatermarkCheckpointIntervalMs, func() { m.checkpointAll(false, false, true) })
	tick(m.cfg.RetentionCheckIntervalMs, m.retentionTick)
}

// flushDirtyLogs is Kafka's flushDirtyLogs: fsync every log whose oldest
// unflushed data is older than its flush.ms.
func (m *Manager) flushDirtyLogs() {
	now := m.opts.Clock.Now().UnixMilli()
	for _, l := range m.Logs() {
		cfg := l.cfg.Load()
		if cfg.flushMs >= NoLimit || l.Offline() || l.leo.Load() <= l.recoveryPoint.Load() {
			continue
		}
		if now-l.lastFlushMs.Load() >= cfg.flushMs {
			l.requestFlush(l.leo.Load(), nil)
		}
	}
}

func (m *Manager) checkpointAll(rp, ls, hw bool) {
	for _, d := range m.dirs {
		if d.online() {
			if err := d.writeCheckpoints(rp, ls, hw); err != nil {
				m.logf("engine: checkpoint in %s: %v", d.path, err)
			}
		}
	}
}

// CreateLog creates an empty partition log in the online dir holding the
// fewest partitions.
func (m *Manager) CreateLog(topic string, partition int32, tc TopicConfig) (*Log, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	if err := validTopic(topic); err != nil {
		return nil, err
	}
	if partition < 0 {
		return nil, fmt.Errorf("%w: partition %d", ErrInvalidConfig, partition)
	}
	lc, err := resolve(&m.cfg, tc)
	if err != nil {
		return nil, err
	}
	tp := TopicPartition{topic, partition}
	m.mu.Lock()
	l, d, err := m.createLogLocked(tp, lc)
	m.mu.Unlock()
	if err != nil && d != nil {
		// Take the dir offline outside m.mu: failing walks every log.
		d.fail(err)
		return nil, fmt.Errorf("%w: %w", ErrOffline, err)
	}
	return l, err
}

// createLogLocked places and creates the partition dir. An I/O error is
// returned together with the dir it happened in. m.mu must be held.
func (m *Manager) createLogLocked(tp TopicPartition, lc logConfig) (*Log, *logDir, error) {
	if _, ok := m.logs[tp]; ok {
		return nil, nil, fmt.Errorf("%w: %s", ErrLogExists, tp)
	}
	count := map[*logDir]int{}
	for _, l := range m.logs {
		count[l.ld]++
	}
	var d *logDir
	for _, c := range m.dirs {
		if c.online() && (d == nil || count[c] < count[d]) {
			d = c
		}
	}
	if d == nil {
		return nil, nil, ErrNoOnlineDir
	}
	l := m.newLog(d, tp, lc)
	l.configured.Store(true)
	if err := m.vfs.MkdirAll(l.dir); err != nil {
		return nil, d, err
	}
	s, err := createSegment(l.dir, 0, m.vfs, m.cache, lc.indexMaxBytes, 0, 0)
	if err != nil {
		return nil, d, err
	}
	if err := m.vfs.SyncDir(l.dir); err != nil {
		return nil, d, err
	}
	if err := m.vfs.SyncDir(d.path); err != nil {
		return nil, d, err
	}
	s.needsDirSync.Store(false)
	segs := []*segment{s}
	l.segs.Store(&segs)
	m.logs[tp] = l
	return l, nil, nil
}

// validTopic applies Kafka's topic name rules (Topic.validate).
func validTopic(t string) error {
	if t == "" || t == "." || t == ".." || len(t) > 249 {
		return fmt.Errorf("%w: topic name %q", ErrInvalidConfig, t)
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: topic name %q has %q", ErrInvalidConfig, t, c)
		}
	}
	return nil
}

// SetTopicConfig applies topic overrides to every partition of topic
// (AlterConfigs). Open loads logs with the broker defaults because topic
// configuration lives in the coordination service, not in the log dir:
// the broker calls this for each topic after Open. It returns the number
// of partitions updated.
func (m *Manager) SetTopicConfig(topic string, tc TopicConfig) (int, error) {
	lc, err := resolve(&m.cfg, tc)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range m.Logs() {
		if l.topic == topic {
			c := lc
			l.cfg.Store(&c)
			l.configured.Store(true)
			n++
		}
	}
	return n, nil
}

// TopicConfig returns the overrides the log runs with.
func (l *Log) TopicConfig() TopicConfig { return l.cfg.Load().topic }

// Config returns the broker configuration the manager runs with.
func (m *Manager) Config() Config { return m.cfg }

// Log returns a partition's log.
func (m *Manager) Log(topic string, partition int32) (*Log, error) {
	m.mu.RLock()
	l, ok := m.logs[TopicPartition{topic, partition}]
	m.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %s-%d", ErrUnknownLog, topic, partition)
	}
	return l, nil
}

// Logs returns every log, sorted by topic and partition.
func (m *Manager) Logs() []*Log {
	m.mu.RLock()
	out := make([]*Log, 0, len(m.logs))
	for _, l := range m.logs {
		out = append(out, l)
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].topic != out[j].topic {
			return out[i].topic < out[j].topic
		}
		return out[i].partition < out[j].partition
	})
	return out
}

// DeleteLog removes a partition: the log stops, its dir is renamed to
// "<topic>-<partition>.<uuid>-delete" at once and removed after
// file.delete.delay.ms (or at the next start).
func (m *Manager) DeleteLog(topic string, partition int32) error {
	tp := TopicPartition{topic, partition}
	m.mu.Lock()
	l, ok := m.logs[tp]
	if ok {
		delete(m.logs, tp)
	}
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownLog, tp)
	}
	l.closed.Store(true)
	l.mu.Lock()
	l.notify()
	l.waitFlushIdle()
	for _, s := range l.segments() {
		m.cache.remove(s)
		s.closeFiles()
	}
	l.mu.Unlock()
	var id [16]byte
	rand.Read(id[:])
	name := tp.String()
	suffix := "." + hex.EncodeToString(id[:]) + deleteDirSuffix
	if len(name)+len(suffix) > 255 {
		name = name[:255-len(suffix)]
	}
	dst := filepath.Join(l.ld.path, name+suffix)
	if err := m.vfs.Rename(l.dir, dst); err != nil {
		l.ld.fail(err)
		return fmt.Errorf("%w: %w", ErrOffline, err)
	}
	if err := m.vfs.SyncDir(l.ld.path); err != nil {
		l.ld.fail(err)
		return fmt.Errorf("%w: %w", ErrOffline, err)
	}
	m.deleter.schedule(m.opts.Clock.Now().UnixMilli(), l.cfg.Load().fileDeleteDelayMs, func() { m.vfs.RemoveAll(dst) })
	l.ld.writeCheckpoints(true, true, true)
	return nil
}

// DirInfo describes a log dir for DescribeLogDirs.
type DirInfo struct {
	Path        string
	Online      bool
	Err         error // why it is offline
	TotalBytes  int64 // file system size (KIP-827), -1 if unknown
	UsableBytes int64 // free space for us, -1 if unknown
	Partitions  []PartitionInfo
}

// PartitionInfo is one partition's entry in DescribeLogDirs.
type PartitionInfo struct {
	Topic     string
	Partition int32
	Size      int64
	OffsetLag int64 // leo - hw
}

// Dirs describes every log dir.
func (m *Manager) Dirs() []DirInfo {
	logs := m.Logs()
	out := make([]DirInfo, len(m.dirs))
	for i, d := range m.dirs {
		di := DirInfo{Path: d.path, Online: d.online(), TotalBytes: -1, UsableBytes: -1}
		if e := d.err.Load(); e != nil {
			di.Err = *e
		}
		var sfs unix.Statfs_t
		if unix.Statfs(d.path, &sfs) == nil {
			di.TotalBytes = int64(sfs.Blocks) * int64(sfs.Bsize)
			di.UsableBytes = int64(sfs.Bavail) * int64(sfs.Bsize)
		}
		if di.Online {
			for _, l := range logs {
				if l.ld == d {
					di.Partitions = append(di.Partitions, PartitionInfo{Topic: l.topic, Partition: l.partition, Size: l.Size(), OffsetLag: l.leo.Load() - l.hw.Load()})
				}
			}
		}
		out[i] = di
	}
	return out
}

// Close stops the background work, flushes and closes every log, writes
// the checkpoints and, in every dir where all of that succeeded, the
// clean-shutdown marker, then releases the dir locks.
func (m *Manager) Close() error {
	if !m.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(m.stop)
	m.wg.Wait()
	var errs []error
	for _, l := range m.Logs() {
		if err := l.close(); err != nil {
			errs = append(errs, err)
			if l.ld.online() {
				l.ld.fail(err)
			}
		}
	}
	for _, d := range m.dirs {
		if !d.online() {
			continue
		}
		if err := d.writeCheckpoints(true, true, true); err != nil {
			errs = append(errs, err)
			continue
		}
		marker := filepath.Join(d.path, cleanShutdownFileName)
		if err := checkpoint.WriteFileAtomic(marker, []byte(`{"version":0,"brokerEpoch":-1}`)); err != nil {
			errs = append(errs, err)
		}
	}
	m.releaseLocks()
	return errors.Join(errs...)
}
