package group

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/scripts")

// TestScripts runs the step-by-step scenarios in testdata/scripts/*.txt and
// compares their transcripts with the .golden files (-update rewrites them).
//
// Script language, one command per line (# starts a comment):
//
//	config initial-delay=3s min-session=6s max-session=30m max-size=N retention=24h
//	join c=a [v=5] [group=g] [session=10s] [rebalance=30s] [protocols=range,roundrobin]
//	     [topics=t1,t2] [instance=i1] [member=ID|-]
//	sync c=a [gen=N] [assign=a:bytes;b:bytes] [member=ID]
//	heartbeat c=a [gen=N] [instance=i1] [member=ID]
//	leave c=a,b [v=3] [instances=i1]
//	commit c=a|- [group=g] [gen=N] [v=8] topic=t partitions=0,1 offset=N
//	fetch [group=g] [v=7|8] [groups=g,h] [topic=t partitions=0,1]
//	describe [groups=g,h]   list [v=4] [states=Stable]   deletegroups groups=g
//	offsetdelete [group=g] topic=t partitions=0
//	tick +5s                state [group=g]             lag [group=g] end=N
//	restart                 (reload every record emitted so far into a new coordinator)
//
// Clients are named; a client's member id and generation are remembered
// from its last JoinGroup answer, so commands need not repeat them.
func TestScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/scripts/*.txt")
	if len(files) == 0 {
		t.Fatal("no scripts")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			got := runScript(t, f)
			golden := strings.TrimSuffix(f, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("transcript differs from %s (run with -update and review the diff):\n%s", golden, got)
			}
		})
	}
}

type client struct {
	member string
	gen    int32
}

type harness struct {
	t       *testing.T
	cfg     Config
	c       *Coordinator
	now     time.Time
	clients map[string]*client
	seq     int
	log     []Record // every record emitted, in order
	out     strings.Builder
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, now: epoch, clients: map[string]*client{}}
	h.setConfig(nil)
	return h
}

func (h *harness) setConfig(args map[string]string) {
	n := 0
	h.cfg = Config{
		NumPartitions:         4,
		InitialRebalanceDelay: -1,
		NewUUID:               func() string { n++; return strconv.Itoa(n) },
	}
	for k, v := range args {
		switch k {
		case "initial-delay":
			h.cfg.InitialRebalanceDelay = dur(h.t, v)
		case "min-session":
			h.cfg.MinSessionTimeout = dur(h.t, v)
		case "max-session":
			h.cfg.MaxSessionTimeout = dur(h.t, v)
		case "max-size":
			h.cfg.MaxSize = atoi(h.t, v)
		case "retention":
			h.cfg.OffsetsRetention = dur(h.t, v)
		default:
			h.t.Fatalf("config: unknown %s", k)
		}
	}
	h.c = New(h.cfg)
	h.c.OwnAll()
}

func dur(t *testing.T, s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func runScript(t *testing.T, path string) string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := newHarness(t)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			h.out.WriteString(sc.Text() + "\n")
			continue
		}
		h.out.WriteString("> " + line + "\n")
		fields := strings.Fields(line)
		args := map[string]string{}
		for _, kv := range fields[1:] {
			k, v, _ := strings.Cut(kv, "=")
			args[k] = v
		}
		h.run(fields[0], args)
	}
	return h.out.String()
}

func (h *harness) printf(format string, a ...any) { fmt.Fprintf(&h.out, "  "+format+"\n", a...) }

func (h *harness) client(name string) *client {
	c := h.clients[name]
	if c == nil {
		c = &client{gen: -1}
		h.clients[name] = c
	}
	return c
}

func errName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	if e, ok := kerr.ErrorForCode(code).(*kerr.Error); ok {
		return e.Message
	}
	return strconv.Itoa(int(code))
}

func get(args map[string]string, k, def string) string {
	if v, ok := args[k]; ok {
		return v
	}
	return def
}

func (h *harness) memberArg(args map[string]string, c *client) string {
	m := get(args, "member", c.member)
	if m == "-" {
		return ""
	}
	return m
}

func (h *harness) genArg(args map[string]string, c *client) int32 {
	if v, ok := args["gen"]; ok {
		return int32(atoi(h.t, v))
	}
	return c.gen
}

func strp(s string) *string { return &s }

func (h *harness) handle(o Out) {
	if len(o.Records) > 0 {
		var parts []string
		for _, r := range o.Records {
			parts = append(parts, describeRecord(r))
		}
		h.printf("records: %s", strings.Join(parts, ", "))
	}
	h.log = append(h.log, o.Records...)
	for _, d := range o.Deliveries {
		name := d.To.(string)
		cname, _, _ := strings.Cut(name, "#")
		switch r := d.Resp.(type) {
		case *kmsg.JoinGroupResponse:
			c := h.client(cname)
			if r.MemberID != "" {
				c.member = r.MemberID
			}
			if r.ErrorCode == 0 {
				c.gen = r.Generation
			}
			var ms []string
			for _, m := range r.Members {
				s := m.MemberID
				if m.InstanceID != nil {
					s += "(" + *m.InstanceID + ")"
				}
				ms = append(ms, s)
			}
			proto := ""
			if r.Protocol != nil {
				proto = *r.Protocol
			}
			extra := ""
			if r.SkipAssignment {
				extra = " skip-assignment"
			}
			h.printf("-> %s join: %s gen=%d member=%s leader=%s proto=%s members=[%s]%s", name, errName(r.ErrorCode), r.Generation, r.MemberID, r.LeaderID, proto, strings.Join(ms, ","), extra)
		case *kmsg.SyncGroupResponse:
			h.printf("-> %s sync: %s assignment=%q", name, errName(r.ErrorCode), r.MemberAssignment)
		default:
			h.printf("-> %s %T", name, r)
		}
	}
}

func describeRecord(r Record) string {
	kind := "?"
	var k kmsg.GroupMetadataKey
	if r.Key[1] == 2 && k.ReadFrom(r.Key) == nil {
		kind = "group " + k.Group
		if r.Value != nil {
			var v kmsg.GroupMetadataValue
			if err := v.ReadFrom(r.Value); err == nil {
				kind += fmt.Sprintf("(gen=%d members=%d)", v.Generation, len(v.Members))
			}
		}
	} else {
		var ok kmsg.OffsetCommitKey
		if ok.ReadFrom(r.Key) == nil {
			kind = fmt.Sprintf("offset %s/%s/%d", ok.Group, ok.Topic, ok.Partition)
			if r.Value != nil {
				var v kmsg.OffsetCommitValue
				if v.ReadFrom(r.Value) == nil {
					kind += fmt.Sprintf("=%d", v.Offset)
				}
			}
		}
	}
	if r.Value == nil {
		kind += " tombstone"
	}
	return fmt.Sprintf("p%d %s", r.Partition, kind)
}

func (h *harness) waiter(name string) Waiter {
	h.seq++
	return fmt.Sprintf("%s#%d", name, h.seq)
}

func (h *harness) run(cmd string, args map[string]string) {
	group := get(args, "group", "g")
	switch cmd {
	case "config":
		h.setConfig(args)
		h.log = nil
	case "config-keep":
		// New settings for the next restart; the log and clients stay.
		log := h.log
		h.setConfig(args)
		h.log = log
	case "tick":
		for k := range args {
			if strings.HasPrefix(k, "+") {
				h.now = h.now.Add(dur(h.t, k[1:]))
			}
		}
		h.printf("now=+%s", h.now.Sub(epoch))
		h.handle(h.c.Tick(h.now))
	case "join":
		name := args["c"]
		c := h.client(name)
		req := kmsg.NewPtrJoinGroupRequest()
		req.Version = int16(atoi(h.t, get(args, "v", "5")))
		req.Group = group
		req.SessionTimeoutMillis = int32(dur(h.t, get(args, "session", "10s")).Milliseconds())
		req.RebalanceTimeoutMillis = int32(dur(h.t, get(args, "rebalance", "30s")).Milliseconds())
		req.MemberID = h.memberArg(args, c)
		if inst, ok := args["instance"]; ok {
			req.InstanceID = strp(inst)
		}
		req.ProtocolType = get(args, "type", "consumer")
		meta := kmsg.NewConsumerMemberMetadata()
		meta.Topics = strings.Split(get(args, "topics", "t"), ",")
		for _, p := range strings.Split(get(args, "protocols", "range"), ",") {
			jp := kmsg.NewJoinGroupRequestProtocol()
			jp.Name = p
			jp.Metadata = meta.AppendTo(nil)
			req.Protocols = append(req.Protocols, jp)
		}
		h.handle(h.c.JoinGroup(h.now, Caller{ClientID: name, ClientHost: "/127.0.0.1", Waiter: h.waiter(name)}, req))
	case "sync":
		name := args["c"]
		c := h.client(name)
		req := kmsg.NewPtrSyncGroupRequest()
		req.Version = int16(atoi(h.t, get(args, "v", "3")))
		req.Group = group
		req.Generation = h.genArg(args, c)
		req.MemberID = h.memberArg(args, c)
		if inst, ok := args["instance"]; ok {
			req.InstanceID = strp(inst)
		}
		if a, ok := args["assign"]; ok {
			for _, part := range strings.Split(a, ";") {
				who, bytes, _ := strings.Cut(part, ":")
				ga := kmsg.NewSyncGroupRequestGroupAssignment()
				ga.MemberID = h.client(who).member
				ga.MemberAssignment = []byte(bytes)
				req.GroupAssignment = append(req.GroupAssignment, ga)
			}
		}
		h.handle(h.c.SyncGroup(h.now, Caller{ClientID: name, Waiter: h.waiter(name)}, req))
	case "heartbeat":
		name := args["c"]
		c := h.client(name)
		req := kmsg.NewPtrHeartbeatRequest()
		req.Version = 3
		req.Group = group
		req.Generation = h.genArg(args, c)
		req.MemberID = h.memberArg(args, c)
		if inst, ok := args["instance"]; ok {
			req.InstanceID = strp(inst)
		}
		h.printf("heartbeat %s: %s", name, errName(h.c.Heartbeat(h.now, req).ErrorCode))
	case "leave":
		req := kmsg.NewPtrLeaveGroupRequest()
		req.Version = int16(atoi(h.t, get(args, "v", "3")))
		req.Group = group
		for _, name := range strings.Split(args["c"], ",") {
			if name == "" {
				continue
			}
			c := h.client(name)
			if req.Version < 3 {
				req.MemberID = h.memberArg(args, c)
				continue
			}
			m := kmsg.NewLeaveGroupRequestMember()
			m.MemberID = h.memberArg(args, c)
			req.Members = append(req.Members, m)
		}
		if is, ok := args["instances"]; ok {
			for _, inst := range strings.Split(is, ",") {
				m := kmsg.NewLeaveGroupRequestMember()
				m.InstanceID = strp(inst)
				req.Members = append(req.Members, m)
			}
		}
		r, o := h.c.LeaveGroup(h.now, req)
		var ms []string
		for _, m := range r.Members {
			id := m.MemberID
			if m.InstanceID != nil {
				id += "(" + *m.InstanceID + ")"
			}
			ms = append(ms, id+":"+errName(m.ErrorCode))
		}
		h.printf("leave: %s members=[%s]", errName(r.ErrorCode), strings.Join(ms, " "))
		h.handle(o)
	case "commit":
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version = int16(atoi(h.t, get(args, "v", "8")))
		req.Group = group
		if name := args["c"]; name != "-" {
			c := h.client(name)
			req.MemberID = h.memberArg(args, c)
			req.Generation = h.genArg(args, c)
		} else {
			req.Generation = -1
		}
		if inst, ok := args["instance"]; ok {
			req.InstanceID = strp(inst)
		}
		if r, ok := args["retention"]; ok {
			req.RetentionTimeMillis = dur(h.t, r).Milliseconds()
		}
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = get(args, "topic", "t")
		for _, p := range strings.Split(get(args, "partitions", "0"), ",") {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition = int32(atoi(h.t, p))
			rp.Offset = int64(atoi(h.t, get(args, "offset", "0")))
			rp.Metadata = strp(get(args, "metadata", ""))
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		r, o := h.c.OffsetCommit(h.now, req)
		var ps []string
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				ps = append(ps, fmt.Sprintf("%s/%d:%s", t.Topic, p.Partition, errName(p.ErrorCode)))
			}
		}
		h.printf("commit: %s", strings.Join(ps, " "))
		h.handle(o)
	case "fetch":
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = int16(atoi(h.t, get(args, "v", "7")))
		var topics []kmsg.OffsetFetchRequestTopic
		if topic, ok := args["topic"]; ok {
			ft := kmsg.NewOffsetFetchRequestTopic()
			ft.Topic = topic
			for _, p := range strings.Split(get(args, "partitions", "0"), ",") {
				ft.Partitions = append(ft.Partitions, int32(atoi(h.t, p)))
			}
			topics = append(topics, ft)
		}
		if req.Version >= 8 {
			for _, g := range strings.Split(get(args, "groups", group), ",") {
				rg := kmsg.NewOffsetFetchRequestGroup()
				rg.Group = g
				for _, t := range topics {
					rg.Topics = append(rg.Topics, kmsg.OffsetFetchRequestGroupTopic{Topic: t.Topic, Partitions: t.Partitions})
				}
				req.Groups = append(req.Groups, rg)
			}
		} else {
			req.Group = group
			req.Topics = topics
		}
		r := h.c.OffsetFetch(h.now, req)
		print := func(g string, code int16, ts []kmsg.OffsetFetchResponseTopic) {
			var ps []string
			for _, t := range ts {
				for _, p := range t.Partitions {
					ps = append(ps, fmt.Sprintf("%s/%d=%d", t.Topic, p.Partition, p.Offset))
				}
			}
			h.printf("fetch %s: %s [%s]", g, errName(code), strings.Join(ps, " "))
		}
		if req.Version >= 8 {
			for _, g := range r.Groups {
				var ts []kmsg.OffsetFetchResponseTopic
				for _, t := range g.Topics {
					ft := kmsg.OffsetFetchResponseTopic{Topic: t.Topic}
					for _, p := range t.Partitions {
						ft.Partitions = append(ft.Partitions, kmsg.OffsetFetchResponseTopicPartition{Partition: p.Partition, Offset: p.Offset})
					}
					ts = append(ts, ft)
				}
				print(g.Group, g.ErrorCode, ts)
			}
		} else {
			print(group, r.ErrorCode, r.Topics)
		}
	case "describe":
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Version = 5
		req.Groups = strings.Split(get(args, "groups", group), ",")
		for _, g := range h.c.DescribeGroups(h.now, req).Groups {
			var ms []string
			for _, m := range g.Members {
				s := m.MemberID
				if m.InstanceID != nil {
					s += "(" + *m.InstanceID + ")"
				}
				if len(m.MemberAssignment) > 0 {
					s += fmt.Sprintf("=%q", m.MemberAssignment)
				}
				ms = append(ms, s)
			}
			h.printf("describe %s: %s state=%s type=%s proto=%s members=[%s]", g.Group, errName(g.ErrorCode), g.State, g.ProtocolType, g.Protocol, strings.Join(ms, " "))
		}
	case "list":
		req := kmsg.NewPtrListGroupsRequest()
		req.Version = int16(atoi(h.t, get(args, "v", "4")))
		if s, ok := args["states"]; ok {
			req.StatesFilter = strings.Split(s, ",")
		}
		r := h.c.ListGroups(h.now, req)
		var gs []string
		for _, g := range r.Groups {
			gs = append(gs, g.Group+":"+g.GroupState)
		}
		h.printf("list: %s [%s]", errName(r.ErrorCode), strings.Join(gs, " "))
	case "deletegroups":
		req := kmsg.NewPtrDeleteGroupsRequest()
		req.Version = 2
		req.Groups = strings.Split(get(args, "groups", group), ",")
		r, o := h.c.DeleteGroups(h.now, req)
		var gs []string
		for _, g := range r.Groups {
			gs = append(gs, g.Group+":"+errName(g.ErrorCode))
		}
		h.printf("deletegroups: %s", strings.Join(gs, " "))
		h.handle(o)
	case "offsetdelete":
		req := kmsg.NewPtrOffsetDeleteRequest()
		req.Group = group
		rt := kmsg.NewOffsetDeleteRequestTopic()
		rt.Topic = get(args, "topic", "t")
		for _, p := range strings.Split(get(args, "partitions", "0"), ",") {
			rp := kmsg.NewOffsetDeleteRequestTopicPartition()
			rp.Partition = int32(atoi(h.t, p))
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		r, o := h.c.OffsetDelete(h.now, req)
		var ps []string
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				ps = append(ps, fmt.Sprintf("%s/%d:%s", t.Topic, p.Partition, errName(p.ErrorCode)))
			}
		}
		h.printf("offsetdelete: %s [%s]", errName(r.ErrorCode), strings.Join(ps, " "))
		h.handle(o)
	case "state":
		g := h.c.Group(group)
		if g == nil {
			h.printf("state %s: none", group)
			return
		}
		h.printf("state %s: %s gen=%d proto=%s leader=%s members=[%s] offsets=%d", group, g.State(), g.Generation(), g.Protocol(), g.Leader(), strings.Join(g.Members(), ","), len(g.offsets))
	case "lag":
		end := int64(atoi(h.t, args["end"]))
		for _, l := range h.c.GroupLag(group, func(string, int32) (int64, bool) { return end, true }) {
			h.printf("lag %s/%d committed=%d end=%d lag=%d", l.Topic, l.Partition, l.Committed, l.LogEnd, l.Lag)
		}
	case "restart":
		h.c = New(h.cfg)
		for p := int32(0); p < h.cfg.NumPartitions; p++ {
			if err := h.c.BeginLoad(p); err != nil {
				h.t.Fatal(err)
			}
		}
		for _, r := range h.log {
			if err := h.c.LoadRecord(r.Partition, r.Key, r.Value); err != nil {
				h.t.Fatal(err)
			}
		}
		for p := int32(0); p < h.cfg.NumPartitions; p++ {
			if err := h.c.FinishLoad(h.now, p); err != nil {
				h.t.Fatal(err)
			}
		}
		h.printf("reloaded %d records: groups=%v", len(h.log), h.c.Groups())
	default:
		h.t.Fatalf("unknown command %q", cmd)
	}
	_ = sort.Strings
}
