package zkstore

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Four-letter words (NIOServerCnxn.checkFourLetterWord): the first four
// bytes of a fresh connection name the command; the server writes plain
// text and closes. Commands outside 4lw.commands.whitelist (default srvr
// only) get ZooKeeper's refusal line.

// Version is the version string the server reports. Its form satisfies
// go-zookeeper's srvr parser ("built on MM/DD/YYYY HH:MM TZ") and kazoo's
// envi parser ("zookeeper.version=3.8.0...").
const Version = "3.8.0-gregor, built on 01/01/2026 00:00 GMT"

func (s *Server) fourLetterAllowed(w string) bool {
	return s.set.fourLetterAll || s.set.fourLetter[w]
}

func (s *Server) fourLetter(nc net.Conn, w string) {
	nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if !s.fourLetterAllowed(w) {
		io.WriteString(nc, w+" is not executed because it is not in the whitelist.\n")
		return
	}
	io.WriteString(nc, s.fourLetterOutput(w))
}

// fourLetterOutput renders one command's reply exactly as ZooKeeper 3.8.
func (s *Server) fourLetterOutput(w string) string {
	var b strings.Builder
	switch w {
	case "ruok":
		return "imok"
	case "isro":
		return "rw"
	case "srvr":
		s.writeSrvr(&b, false)
	case "stat":
		s.writeSrvr(&b, true)
	case "cons":
		for _, c := range s.connList() {
			c.writeInfo(&b, true)
			b.WriteString("\n")
		}
		b.WriteString("\n")
	case "crst":
		for _, c := range s.connList() {
			c.resetStats()
		}
		b.WriteString("Connection stats reset.\n")
	case "srst":
		s.stats.reset()
		b.WriteString("Server stats reset.\n")
	case "conf":
		s.writeConf(&b)
	case "envi":
		b.WriteString("Environment:\n")
		for _, kv := range s.environment() {
			fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
		}
	case "dirs":
		fmt.Fprintf(&b, "datadir_size: %d\nlogdir_size: %d\n", dirSize(s.logDir), dirSize(s.snapDir))
	case "mntr":
		for _, kv := range s.monitor() {
			fmt.Fprintf(&b, "zk_%s\t%v\n", kv.k, kv.v)
		}
	case "wchs":
		s.wmu.Lock()
		conns, paths, total := s.watches.DataWatchSummary()
		s.wmu.Unlock()
		fmt.Fprintf(&b, "%d connections watching %d paths\nTotal watches:%d\n", conns, paths, total)
	case "wchc":
		// WatchesReport: a HashMap of session id to a HashSet of paths,
		// in Java iteration order, then a blank line.
		for _, e := range s.watchesBySession() {
			fmt.Fprintf(&b, "0x%x\n", e.id)
			javaOrderStrings(e.paths)
			for _, p := range e.paths {
				fmt.Fprintf(&b, "\t%s\n", p)
			}
		}
		b.WriteString("\n")
	case "wchp":
		for _, e := range s.watchesByPath() {
			fmt.Fprintf(&b, "%s\n", e.path)
			javaOrderLongs(e.ids)
			for _, id := range e.ids {
				fmt.Fprintf(&b, "\t0x%x\n", id)
			}
		}
		b.WriteString("\n")
	case "dump":
		s.writeDump(&b)
	case "gtmk":
		// ZooTrace's default text trace mask; tracing itself is not
		// implemented, so the mask only round-trips through stmk.
		b.WriteString(strconv.FormatInt(s.traceMask.Load(), 10))
	case "stmk":
		b.WriteString(strconv.FormatInt(s.traceMask.Load(), 10))
	case "hash":
		b.WriteString("")
	}
	return b.String()
}

// javaDouble formats like Java's Double.toString after ZooKeeper's
// rounding to 4 decimals ("0.0", "2.7778").
func javaDouble(v float64) string {
	v = float64(int64(v*10000+0.5)) / 10000
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func (s *Server) snapshotCounts() (zxid int64, nodes int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tree.lastZxid, s.tree.NodeCount()
}

func (s *Server) writeSrvr(b *strings.Builder, withClients bool) {
	fmt.Fprintf(b, "Zookeeper version: %s\n", Version)
	if withClients {
		b.WriteString("Clients:\n")
		for _, c := range s.connList() {
			c.writeInfo(b, false)
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	lmin, lavg, lmax := s.stats.latency()
	zxid, nodes := s.snapshotCounts()
	fmt.Fprintf(b, "Latency min/avg/max: %d/%s/%d\n", lmin, javaDouble(lavg), lmax)
	fmt.Fprintf(b, "Received: %d\n", s.stats.packetsReceived.Load())
	fmt.Fprintf(b, "Sent: %d\n", s.stats.packetsSent.Load())
	fmt.Fprintf(b, "Connections: %d\n", len(s.connList()))
	fmt.Fprintf(b, "Outstanding: %d\n", s.stats.outstanding.Load())
	fmt.Fprintf(b, "Zxid: 0x%x\n", zxid)
	b.WriteString("Mode: standalone\n")
	fmt.Fprintf(b, "Node count: %d\n", nodes)
}

func (s *Server) connList() []*conn {
	s.cmu.Lock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	s.cmu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].est.Before(out[j].est) })
	return out
}

func javaAddr(a string) string { return "/" + a }

// writeInfo renders a connection as stat (brief) or cons (full) show it.
func (c *conn) writeInfo(b *strings.Builder, full bool) {
	interest := 0
	if c.sessionID.Load() != 0 {
		interest = 1
	}
	fmt.Fprintf(b, " %s[%d](queued=%d,recved=%d,sent=%d", javaAddr(c.remote), interest, len(c.out), c.recved.Load(), c.sent.Load())
	if full && c.sessionID.Load() != 0 {
		c.statMu.Lock()
		avg := int64(0)
		if c.latCnt > 0 {
			avg = c.latSum / c.latCnt
		}
		lop := c.lastOp
		if lop == "" {
			lop = "NA"
		}
		fmt.Fprintf(b, ",sid=0x%x,lop=%s,est=%d,to=%d,lcxid=0x%x,lzxid=0x%x,lresp=%d,llat=%d,minlat=%d,avglat=%d,maxlat=%d",
			c.sessionID.Load(), lop, c.est.UnixMilli(), c.timeout, c.lastCxid, c.lastZxid, c.lastResp, c.lastLat, c.latMin, avg, c.latMax)
		c.statMu.Unlock()
	}
	b.WriteString(")")
}

func (c *conn) resetStats() {
	c.recved.Store(0)
	c.sent.Store(0)
	c.statMu.Lock()
	c.lastOp, c.lastCxid, c.lastZxid, c.lastResp, c.lastLat = "NA", 0, 0, 0, 0
	c.latMin, c.latMax, c.latSum, c.latCnt = 0, 0, 0, 0
	c.statMu.Unlock()
}

func (s *Server) listenPort() int {
	if a, ok := s.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return s.set.clientPort
}

// confEntries are conf's lines in ZooKeeper's order (standalone).
func (s *Server) confEntries() [][2]string {
	return [][2]string{
		{"clientPort", strconv.Itoa(s.listenPort())},
		{"secureClientPort", "-1"},
		{"dataDir", s.snapDir},
		{"dataDirSize", strconv.FormatInt(dirSize(s.snapDir), 10)},
		{"dataLogDir", s.logDir},
		{"dataLogSize", strconv.FormatInt(dirSize(s.logDir), 10)},
		{"tickTime", strconv.Itoa(s.set.tickTime)},
		{"maxClientCnxns", strconv.Itoa(s.set.maxClientCnxns)},
		{"minSessionTimeout", strconv.Itoa(s.set.minSessionTimeout)},
		{"maxSessionTimeout", strconv.Itoa(s.set.maxSessionTimeout)},
		{"clientPortListenBacklog", "-1"},
		{"serverId", "0"},
	}
}

func (s *Server) writeConf(b *strings.Builder) {
	for _, kv := range s.confEntries() {
		fmt.Fprintf(b, "%s=%s\n", kv[0], kv[1])
	}
}

// dirSize sums the sizes of the regular files in dir.
func dirSize(dir string) int64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

func (s *Server) environment() [][2]string {
	host, _ := os.Hostname()
	exe, _ := os.Executable()
	wd, _ := os.Getwd()
	uname := "unknown"
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		uname = unix.ByteSliceToString(u.Release[:])
	}
	userName, home := "", ""
	if cu, err := user.Current(); err == nil {
		userName, home = cu.Username, cu.HomeDir
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	mb := func(v uint64) string { return strconv.FormatUint(v>>20, 10) + "MB" }
	return [][2]string{
		{"zookeeper.version", Version},
		{"host.name", host},
		{"java.version", runtime.Version()},
		{"java.vendor", "Gregor zkstore (Go)"},
		{"java.home", runtime.GOROOT()},
		{"java.class.path", exe},
		{"java.library.path", filepath.Dir(exe)},
		{"java.io.tmpdir", os.TempDir()},
		{"java.compiler", "<NA>"},
		{"os.name", strings.ToUpper(runtime.GOOS[:1]) + runtime.GOOS[1:]},
		{"os.arch", runtime.GOARCH},
		{"os.version", uname},
		{"user.name", userName},
		{"user.home", home},
		{"user.dir", wd},
		{"os.memory.free", mb(ms.HeapIdle)},
		{"os.memory.max", mb(ms.Sys)},
		{"os.memory.total", mb(ms.HeapSys)},
	}
}

type kv struct {
	k string
	v any
}

func openFDs() (int, int) {
	ents, _ := os.ReadDir("/proc/self/fd")
	var rl unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
	return len(ents), int(rl.Cur)
}

// monitor returns mntr's core keys (without the zk_ prefix) in a fixed
// order; the AdminServer's monitor command uses the same list.
func (s *Server) monitor() []kv {
	lmin, lavg, lmax := s.stats.latency()
	s.mu.RLock()
	nodes, eph, dataSize := s.tree.NodeCount(), s.tree.EphemeralCount(), s.tree.ApproximateDataSize()
	sessions := len(s.tree.sessions)
	s.mu.RUnlock()
	s.wmu.Lock()
	watchCount := s.watches.Count()
	s.wmu.Unlock()
	fds, maxFDs := openFDs()
	s.stats.mu.Lock()
	fcnt, fsum, fmin, fmax := s.stats.fsyncCnt, s.stats.fsyncSum, s.stats.fsyncMin, s.stats.fsyncMax
	s.stats.mu.Unlock()
	favg := 0.0
	if fcnt > 0 {
		favg = float64(fsum) / float64(fcnt) / 1e6
	}
	return []kv{
		{"version", Version},
		{"server_state", "standalone"},
		{"ephemerals_count", eph},
		{"num_alive_connections", len(s.connList())},
		{"avg_latency", rawJSON(javaDouble(lavg))},
		{"min_latency", lmin},
		{"max_latency", lmax},
		{"outstanding_requests", s.stats.outstanding.Load()},
		{"znode_count", nodes},
		{"global_sessions", sessions},
		{"local_sessions", 0},
		{"watch_count", watchCount},
		{"approximate_data_size", dataSize},
		{"packets_received", s.stats.packetsReceived.Load()},
		{"packets_sent", s.stats.packetsSent.Load()},
		{"open_file_descriptor_count", fds},
		{"max_file_descriptor_count", maxFDs},
		{"auth_failed_count", s.stats.authFailed.Load()},
		{"uptime", time.Since(s.started).Milliseconds()},
		{"last_client_response_size", -1},
		{"max_client_response_size", -1},
		{"min_client_response_size", -1},
		{"non_mtls_remote_conn_count", 0},
		{"non_mtls_local_conn_count", 0},
		{"connection_drop_probability", rawJSON("0.0")},
		{"commit_count", s.stats.commits.Load()},
		{"snap_count", s.stats.snapshots.Load()},
		{"connection_rejected", s.stats.rejected.Load()},
		{"unrecoverable_error_count", map[bool]int{true: 1, false: 0}[s.Err() != nil]},
		{"avg_fsynctime", rawJSON(javaDouble(favg))},
		{"min_fsynctime", fmin / 1e6},
		{"max_fsynctime", fmax / 1e6},
		{"cnt_fsynctime", fcnt},
		{"sum_fsynctime", fsum / 1e6},
	}
}

type sessionWatches struct {
	id    int64
	paths []string
}

func (s *Server) watchesBySession() []sessionWatches {
	s.wmu.Lock()
	m := s.watches.DataWatchesByWatcher()
	s.wmu.Unlock()
	out := make([]sessionWatches, 0, len(m))
	for w, paths := range m {
		if len(paths) > 0 {
			out = append(out, sessionWatches{id: w.SessionID(), paths: paths})
		}
	}
	table := javaTable(len(out))
	sort.Slice(out, func(i, j int) bool {
		bi, bj := javaBucket(javaLongHash(out[i].id), table), javaBucket(javaLongHash(out[j].id), table)
		if bi != bj {
			return bi < bj
		}
		return out[i].id < out[j].id
	})
	return out
}

type pathWatches struct {
	path string
	ids  []int64
}

func (s *Server) watchesByPath() []pathWatches {
	s.wmu.Lock()
	m := s.watches.DataWatchesByPath()
	s.wmu.Unlock()
	out := make([]pathWatches, 0, len(m))
	for p, ws := range m {
		e := pathWatches{path: p}
		for _, w := range ws {
			e.ids = append(e.ids, w.SessionID())
		}
		sort.Slice(e.ids, func(i, j int) bool { return e.ids[i] < e.ids[j] })
		out = append(out, e)
	}
	table := javaTable(len(out))
	sort.Slice(out, func(i, j int) bool {
		bi, bj := javaBucket(javaStringHash(out[i].path), table), javaBucket(javaStringHash(out[j].path), table)
		if bi != bj {
			return bi < bj
		}
		return out[i].path < out[j].path
	})
	return out
}

func javaDate(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("Mon Jan 02 15:04:05 MST 2006")
}

func (s *Server) writeDump(b *strings.Builder) {
	s.smu.Lock()
	buckets := s.tracker.Buckets()
	n := s.tracker.Len()
	s.smu.Unlock()
	b.WriteString("SessionTracker dump:\n")
	fmt.Fprintf(b, "Session Sets (%d)/(%d):\n", len(buckets), n)
	for _, bk := range buckets {
		fmt.Fprintf(b, "%d expire at %s:\n", len(bk.IDs), javaDate(bk.ExpireAt))
		for _, id := range bk.IDs {
			fmt.Fprintf(b, "\t0x%x\n", id)
		}
	}
	b.WriteString("ephemeral nodes dump:\n")
	s.mu.RLock()
	ids := make([]int64, 0, len(s.tree.ephemerals))
	for id := range s.tree.ephemerals {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	fmt.Fprintf(b, "Sessions with Ephemerals (%d):\n", len(ids))
	for _, id := range ids {
		fmt.Fprintf(b, "0x%x:\n", id)
		for _, p := range s.tree.Ephemerals(id) {
			fmt.Fprintf(b, "\t%s\n", p)
		}
	}
	s.mu.RUnlock()
	b.WriteString("Connections dump:\n")
	conns := s.connList()
	fmt.Fprintf(b, "Connections Sets (1)/(%d):\n", len(conns))
	fmt.Fprintf(b, "%d expire at %s:\n", len(conns), javaDate(s.nowMs()))
	for _, c := range conns {
		fmt.Fprintf(b, "\tip: %s sessionId: 0x%x\n", javaAddr(c.remote), c.sessionID.Load())
	}
}
