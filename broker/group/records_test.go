package group

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestPartitionFor(t *testing.T) {
	// Expected values were computed with OpenJDK's String.hashCode and
	// Kafka's Utils.abs (MIN_VALUE -> 0) on this machine, then % 50.
	for _, tc := range []struct {
		group string
		parts int32
		want  int32
	}{
		{"", 50, 0},
		{"a", 50, 97 % 50},
		{"my-group", 50, 12},                   // hashCode -1906497762
		{"console-consumer-12345", 50, 6},      // 158455506
		{"franz-go-group", 50, 40},             // -1570052090
		{"Ünïcödé-グループ", 50, 36},               // 557422286
		{"\U0001F600", 50, 49},                 // 1772899: two UTF-16 units
		{"abcdefghijklmnopqrstuvwxyz", 50, 27}, // 958031277
		{"polygenelubricants", 50, 0},          // Integer.MIN_VALUE
		{"Aa", 50, 2112 % 50},                  // "Aa" and "BB" collide in Java
		{"BB", 50, 2112 % 50},
		{"console-consumer-1", 1, 0},
	} {
		if got := PartitionFor(tc.group, tc.parts); got != tc.want {
			t.Errorf("PartitionFor(%q, %d) = %d, want %d", tc.group, tc.parts, got, tc.want)
		}
		if tc.parts == 50 && isASCII(tc.group) {
			if got := javaAbsHash(tc.group) % 50; got != tc.want {
				t.Errorf("independent hash of %q = %d, want %d", tc.group, got, tc.want)
			}
		}
	}
}

// javaAbsHash is an independent, int64-based statement of
// Utils.abs(String.hashCode) for ASCII strings.
func javaAbsHash(s string) int32 {
	var h int64
	for i := 0; i < len(s); i++ {
		h = (31*h + int64(s[i])) & 0xffffffff
	}
	v := int32(uint32(h))
	if v == -1<<31 {
		return 0
	}
	if v < 0 {
		return -v
	}
	return v
}

// TestRecordGoldenBytes pins the bytes of each record kind: these are
// Kafka's schemas and must never change.
func TestRecordGoldenBytes(t *testing.T) {
	commit := time.UnixMilli(0x0102030405)
	g := newGroup(New(Config{NumPartitions: 1}), "g", commit)
	g.protocolType, g.protocol, g.generation, g.leader = "consumer", "range", 7, "m-1"
	g.add(&member{id: "m-1", instanceID: "i", clientID: "c", clientHost: "/h", session: 10 * time.Second,
		rebalance: 30 * time.Second, protocols: []protocol{{"range", []byte{0xAA}}}, assignment: []byte{0xBB}})
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"offset key", OffsetKey("g", "t", 3), "0001" + "00016" + "7" + "000174" + "00000003"},
		{"group key", GroupKey("g"), "0002" + "000167"},
		{"offset value v3", offsetValue(offset{offset: 42, leaderEpoch: 5, metadata: "m", commitTime: commit}),
			"0003" + "000000000000002a" + "00000005" + "00016d" + "0000000102030405"},
		{"offset value v1", offsetValue(offset{offset: 42, leaderEpoch: -1, commitTime: commit, expireTime: commit.Add(time.Millisecond)}),
			"0001" + "000000000000002a" + "0000" + "0000000102030405" + "0000000102030406"},
		{"group value v3", g.groupValue(),
			"0003" + "0008" + hex.EncodeToString([]byte("consumer")) + "00000007" +
				"0005" + hex.EncodeToString([]byte("range")) + "0003" + hex.EncodeToString([]byte("m-1")) +
				"0000000102030405" + "00000001" +
				"0003" + hex.EncodeToString([]byte("m-1")) + "000169" + "000163" + "00022f68" +
				"00007530" + "00002710" + "00000001aa" + "00000001bb"},
	} {
		if got := hex.EncodeToString(tc.got); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// TestRecordRoundTrip decodes what the coordinator writes with kmsg, as a
// tool reading __consumer_offsets would.
func TestRecordRoundTrip(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	for _, off := range []offset{
		{offset: 0, leaderEpoch: -1, commitTime: now},
		{offset: 1 << 40, leaderEpoch: 9, metadata: "meta", commitTime: now},
		{offset: 5, leaderEpoch: -1, metadata: "", commitTime: now, expireTime: now.Add(time.Hour)},
	} {
		r := offsetRecord(7, "grp", topicPartition{"topic", 11}, off)
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(r.Key); err != nil || k.Group != "grp" || k.Topic != "topic" || k.Partition != 11 || k.Version != 1 {
			t.Fatalf("key %+v %v", k, err)
		}
		var v kmsg.OffsetCommitValue
		if err := v.ReadFrom(r.Value); err != nil {
			t.Fatal(err)
		}
		if v.Offset != off.offset || v.Metadata != off.metadata || v.CommitTimestamp != now.UnixMilli() {
			t.Fatalf("value %+v for %+v", v, off)
		}
		if v.Version == 3 && v.LeaderEpoch != off.leaderEpoch {
			t.Fatalf("epoch %d", v.LeaderEpoch)
		}
		if v.Version == 1 && v.ExpireTimestamp != off.expireTime.UnixMilli() {
			t.Fatalf("expire %d", v.ExpireTimestamp)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	c := New(Config{NumPartitions: 2})
	if err := c.LoadRecord(0, GroupKey("g"), nil); !errors.Is(err, ErrNotLoading) {
		t.Fatalf("got %v", err)
	}
	if err := c.BeginLoad(5); !errors.Is(err, ErrBadPartition) {
		t.Fatalf("got %v", err)
	}
	if err := c.BeginLoad(0); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2][]byte{
		{{0}, nil},
		{{0, 9, 0, 0}, nil},
		{{0, 1, 0, 5, 'a'}, nil},
		{GroupKey("g"), {0, 3, 1}},
		{OffsetKey("g", "t", 0), {0, 3}},
	} {
		if err := c.LoadRecord(0, bad[0], bad[1]); !errors.Is(err, ErrBadRecord) {
			t.Errorf("LoadRecord(%x, %x) = %v, want ErrBadRecord", bad[0], bad[1], err)
		}
	}
	// While loading, the partition's groups are COORDINATOR_LOAD_IN_PROGRESS;
	// the other partition is not ours.
	req := kmsg.NewPtrDescribeGroupsRequest()
	for _, id := range []string{"a", "b", "c", "d"} {
		req.Groups = []string{id}
		code := c.DescribeGroups(time.Now(), req).Groups[0].ErrorCode
		want := int16(16) // NOT_COORDINATOR
		if c.PartitionFor(id) == 0 {
			want = 14 // COORDINATOR_LOAD_IN_PROGRESS
		}
		if code != want {
			t.Errorf("group %s: code %d want %d", id, code, want)
		}
	}
}

// FuzzLoadRecords feeds arbitrary records to the loader: it must never
// panic, and whatever it accepts must serve requests and re-encode to
// records that load to the same offsets.
func FuzzLoadRecords(f *testing.F) {
	now := time.UnixMilli(1_700_000_000_000)
	g := newGroup(New(Config{NumPartitions: 1}), "g", now)
	g.protocolType, g.protocol, g.generation, g.leader = "consumer", "range", 3, "m"
	g.add(&member{id: "m", clientID: "c", session: 10 * time.Second, protocols: []protocol{{"range", nil}}})
	f.Add(GroupKey("g"), g.groupValue(), OffsetKey("g", "t", 0), offsetValue(offset{offset: 3, commitTime: now}))
	f.Add(GroupKey("g"), []byte(nil), OffsetKey("g", "t", 0), []byte(nil))
	f.Add([]byte{0, 0, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 0}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []byte{0, 2}, []byte{0, 1})
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 []byte) {
		c := New(Config{NumPartitions: 1})
		if err := c.BeginLoad(0); err != nil {
			t.Fatal(err)
		}
		for _, kv := range [][2][]byte{{k1, v1}, {k2, v2}} {
			if err := c.LoadRecord(0, kv[0], kv[1]); err != nil && !errors.Is(err, ErrBadRecord) {
				t.Fatalf("unexpected error class: %v", err)
			}
		}
		if err := c.FinishLoad(now, 0); err != nil {
			t.Fatal(err)
		}
		for _, id := range c.Groups() {
			if err := c.groups[id].checkErr(); err != nil {
				t.Fatalf("loaded group %q: %v", id, err)
			}
			// Every loaded member can heartbeat and rejoin; a newcomer can join.
			// (The empty group id is legal only for offset APIs.)
			g := c.groups[id]
			if id == "" {
				continue
			}
			for _, mid := range g.Members() {
				hb := kmsg.NewPtrHeartbeatRequest()
				hb.Group, hb.MemberID, hb.Generation = id, mid, g.generation
				if code := c.Heartbeat(now, hb).ErrorCode; code != 0 {
					t.Fatalf("loaded member %q heartbeat: %d", mid, code)
				}
			}
			jr := kmsg.NewPtrJoinGroupRequest()
			jr.Version = 3
			jr.Group = id
			jr.SessionTimeoutMillis = 10_000
			jr.ProtocolType = g.protocolType
			jr.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: g.protocol}}
			c.JoinGroup(now, Caller{ClientID: "fuzz", Waiter: 0}, jr)
			if err := c.groups[id].checkErr(); err != nil {
				t.Fatalf("after join %q: %v", id, err)
			}
		}
		c.Tick(now.Add(time.Hour))
		// Reload what the loaded groups would write: offsets must match.
		c2 := New(Config{NumPartitions: 1})
		if err := c2.BeginLoad(0); err != nil {
			t.Fatal(err)
		}
		for _, id := range c.Groups() {
			g := c.groups[id]
			if err := c2.LoadRecord(0, GroupKey(id), g.groupValue()); err != nil {
				t.Fatalf("re-encoded group does not load: %v", err)
			}
			for tp, off := range g.offsets {
				r := offsetRecord(0, id, tp, off)
				if err := c2.LoadRecord(0, r.Key, r.Value); err != nil {
					t.Fatal(err)
				}
			}
			d := kmsg.NewPtrDescribeGroupsRequest()
			d.Groups = []string{id}
			c.DescribeGroups(now, d)
		}
		if err := c2.FinishLoad(now, 0); err != nil {
			t.Fatal(err)
		}
		for _, id := range c.Groups() {
			g1, g2 := c.groups[id], c2.groups[id]
			if g2 == nil || len(g1.offsets) != len(g2.offsets) {
				t.Fatalf("group %q lost on reload", id)
			}
			for tp, o1 := range g1.offsets {
				o2 := g2.offsets[tp]
				if o1.offset != o2.offset || o1.metadata != o2.metadata || !bytes.Equal([]byte(o1.metadata), []byte(o2.metadata)) {
					t.Fatalf("offset %v: %+v != %+v", tp, o1, o2)
				}
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
