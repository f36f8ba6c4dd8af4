package zkstore

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The AdminServer: HTTP on admin.serverAddress:admin.serverPort, commands
// under admin.commandURL (default /commands). Like ZooKeeper's Jetty
// AdminServer every answer is HTTP 200 with pretty-printed JSON carrying
// "command" and "error", even for an unknown command.

type adminCommand struct {
	name    string
	aliases []string
	run     func(s *Server) []kv
}

func (s *Server) adminCommands() []adminCommand {
	return []adminCommand{
		{"ruok", nil, func(*Server) []kv { return nil }},
		{"is_read_only", []string{"isro"}, func(*Server) []kv { return []kv{{"read_only", false}} }},
		{"server_stats", []string{"srvr"}, func(s *Server) []kv { return s.adminServerStats(false) }},
		{"stats", []string{"stat"}, func(s *Server) []kv { return s.adminServerStats(true) }},
		{"monitor", []string{"mntr"}, func(s *Server) []kv { return s.monitor() }},
		{"configuration", []string{"conf", "config"}, (*Server).adminConf},
		{"connections", []string{"cons"}, func(s *Server) []kv {
			return []kv{{"connections", s.adminConnections()}, {"secure_connections", []any{}}}
		}},
		{"connection_stat_reset", []string{"crst"}, func(s *Server) []kv {
			for _, c := range s.connList() {
				c.resetStats()
			}
			return nil
		}},
		{"stat_reset", []string{"srst"}, func(s *Server) []kv { s.stats.reset(); return nil }},
		{"dirs", nil, func(s *Server) []kv {
			return []kv{{"datadir_size", dirSize(s.logDir)}, {"logdir_size", dirSize(s.snapDir)}}
		}},
		{"environment", []string{"env", "envi"}, func(s *Server) []kv {
			var out []kv
			for _, e := range s.environment() {
				out = append(out, kv{e[0], e[1]})
			}
			return out
		}},
		{"watch_summary", []string{"wchs"}, func(s *Server) []kv {
			s.wmu.Lock()
			conns, paths, total := s.watches.DataWatchSummary()
			s.wmu.Unlock()
			return []kv{{"num_connections", conns}, {"num_paths", paths}, {"num_total_watches", total}}
		}},
		{"watches", []string{"wchc"}, func(s *Server) []kv {
			var m []kv
			for _, e := range s.watchesBySession() {
				m = append(m, kv{strconv.FormatInt(e.id, 10), e.paths})
			}
			return []kv{{"session_id_to_watched_paths", m}}
		}},
		{"watches_by_path", []string{"wchp"}, func(s *Server) []kv {
			var m []kv
			for _, e := range s.watchesByPath() {
				m = append(m, kv{e.path, e.ids})
			}
			return []kv{{"path_to_session_ids", m}}
		}},
		{"dump", nil, func(s *Server) []kv {
			s.mu.RLock()
			var eph []kv
			ids := make([]int64, 0, len(s.tree.ephemerals))
			for id := range s.tree.ephemerals {
				ids = append(ids, id)
			}
			sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
			for _, id := range ids {
				eph = append(eph, kv{strconv.FormatInt(id, 10), s.tree.Ephemerals(id)})
			}
			s.mu.RUnlock()
			s.smu.Lock()
			var exp []kv
			for _, b := range s.tracker.Buckets() {
				exp = append(exp, kv{strconv.FormatInt(b.ExpireAt, 10), b.IDs})
			}
			s.smu.Unlock()
			return []kv{{"expiry_time_to_session_ids", exp}, {"session_id_to_ephemeral_paths", eph}}
		}},
	}
}

func (s *Server) adminServerStats(withClients bool) []kv {
	lmin, lavg, lmax := s.stats.latency()
	zxid, nodes := s.snapshotCounts()
	stats := []kv{
		{"packets_sent", s.stats.packetsSent.Load()},
		{"packets_received", s.stats.packetsReceived.Load()},
		{"fsync_threshold_exceed_count", 0},
		{"client_response_stats", []kv{{"last_buffer_size", -1}, {"min_buffer_size", -1}, {"max_buffer_size", -1}}},
		{"provider_null", false},
		{"data_dir_size", dirSize(s.snapDir)},
		{"log_dir_size", dirSize(s.logDir)},
		{"server_state", "standalone"},
		{"last_processed_zxid", zxid},
		{"outstanding_requests", s.stats.outstanding.Load()},
		{"avg_latency", rawJSON(javaDouble(lavg))},
		{"max_latency", lmax},
		{"min_latency", lmin},
		{"num_alive_client_connections", len(s.connList())},
		{"uptime", time.Since(s.started).Milliseconds()},
		{"auth_failed_count", s.stats.authFailed.Load()},
		{"non_mtlsremote_conn_count", 0},
		{"non_mtlslocal_conn_count", 0},
	}
	out := []kv{
		{"version", Version},
		{"read_only", false},
		{"server_stats", stats},
		{"client_response", []kv{{"last_buffer_size", -1}, {"min_buffer_size", -1}, {"max_buffer_size", -1}}},
		{"node_count", nodes},
	}
	if withClients {
		out = append(out, kv{"connections", s.adminConnections()}, kv{"secure_connections", []any{}})
	}
	return out
}

func (s *Server) adminConnections() []any {
	var out []any
	for _, c := range s.connList() {
		c.statMu.Lock()
		avg := int64(0)
		if c.latCnt > 0 {
			avg = c.latSum / c.latCnt
		}
		host, port, _ := net.SplitHostPort(c.remote)
		out = append(out, []kv{
			{"remote_socket_address", host + ":" + port},
			{"interest_ops", map[bool]int{true: 1, false: 0}[c.sessionID.Load() != 0]},
			{"outstanding_requests", len(c.out)},
			{"packets_received", c.recved.Load()},
			{"packets_sent", c.sent.Load()},
			{"session_id", fmt.Sprintf("0x%x", c.sessionID.Load())},
			{"last_operation", c.lastOp},
			{"established", c.est.UTC().Format("Mon Jan 02 15:04:05 MST 2006")},
			{"session_timeout", c.timeout},
			{"last_cxid", fmt.Sprintf("0x%x", c.lastCxid)},
			{"last_zxid", fmt.Sprintf("0x%x", c.lastZxid)},
			{"last_response_time", c.lastResp},
			{"last_latency", c.lastLat},
			{"min_latency", c.latMin},
			{"avg_latency", avg},
			{"max_latency", c.latMax},
		})
		c.statMu.Unlock()
	}
	if out == nil {
		out = []any{}
	}
	return out
}

func (s *Server) adminConf() []kv {
	e := s.confEntries()
	num := func(i int) any { v, _ := strconv.ParseInt(e[i][1], 10, 64); return v }
	return []kv{
		{"client_port", num(0)},
		{"data_dir", s.snapDir},
		{"data_dir_size", num(3)},
		{"data_log_dir", s.logDir},
		{"data_log_size", num(5)},
		{"tick_time", s.set.tickTime},
		{"max_client_cnxns", s.set.maxClientCnxns},
		{"min_session_timeout", s.set.minSessionTimeout},
		{"max_session_timeout", s.set.maxSessionTimeout},
		{"server_id", 0},
		{"client_port_listen_backlog", -1},
	}
}

func (s *Server) startAdmin() error {
	ln, err := net.Listen("tcp", s.set.adminAddr)
	if err != nil {
		return fmt.Errorf("zkstore: admin server listen %s: %w", s.set.adminAddr, err)
	}
	s.adminLn = ln
	mux := http.NewServeMux()
	base := strings.TrimRight(s.set.adminURL, "/")
	if base == "" {
		base = "/commands"
	}
	mux.HandleFunc(base, s.adminIndex)
	mux.HandleFunc(base+"/", s.adminIndex)
	s.adminSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second}
	go s.adminSrv.Serve(ln)
	return nil
}

func (s *Server) adminIndex(w http.ResponseWriter, r *http.Request) {
	base := strings.TrimRight(s.set.adminURL, "/")
	name := strings.Trim(strings.TrimPrefix(r.URL.Path, base), "/")
	cmds := s.adminCommands()
	if name == "" {
		w.Header().Set("Content-Type", "text/html")
		var b strings.Builder
		b.WriteString("<html>\n<body>\n<h1>Commands</h1>\n")
		names := make([]string, 0, len(cmds))
		for _, c := range cmds {
			names = append(names, c.name)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "<a href=\"%s/%s\">%s</a><br/>\n", base, n, n)
		}
		b.WriteString("</body>\n</html>\n")
		w.Write([]byte(b.String()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	for _, c := range cmds {
		match := c.name == name
		for _, a := range c.aliases {
			match = match || a == name
		}
		if !match {
			continue
		}
		out := append(c.run(s), kv{"command", c.name}, kv{"error", nil})
		w.Write([]byte(jacksonJSON(out)))
		return
	}
	w.Write([]byte(jacksonJSON([]kv{{"command", name}, {"error", "Unknown command: " + name}})))
}
