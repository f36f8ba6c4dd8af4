package zkmeta

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gregorlog/gregor/broker/config"
)

func TestDecodeBrokerInfoVersions(t *testing.T) {
	tests := []struct {
		name string
		data string
		want BrokerInfo
	}{
		{"v1 host and port only", `{"version":1,"host":"h","port":9092,"jmx_port":-1,"timestamp":"7"}`,
			BrokerInfo{ID: 3, Version: 1, JMXPort: -1, Timestamp: 7, Endpoints: []config.Listener{{Name: "PLAINTEXT", Host: "h", Port: 9092, SecurityProtocol: "PLAINTEXT"}}}},
		{"v2 endpoints named by protocol", `{"version":2,"host":"h","port":9092,"endpoints":["SSL://h:9093"],"jmx_port":9999,"timestamp":"1"}`,
			BrokerInfo{ID: 3, Version: 2, JMXPort: 9999, Timestamp: 1, Endpoints: []config.Listener{{Name: "SSL", Host: "h", Port: 9093, SecurityProtocol: "SSL"}}}},
		{"v4 with map and rack", `{"listener_security_protocol_map":{"IN":"SASL_PLAINTEXT"},"endpoints":["IN://[fe80::1]:1"],"rack":"r","jmx_port":-1,"host":null,"port":-1,"version":4,"timestamp":"2"}`,
			BrokerInfo{ID: 3, Version: 4, JMXPort: -1, Timestamp: 2, Rack: "r", Endpoints: []config.Listener{{Name: "IN", Host: "fe80::1", Port: 1, SecurityProtocol: "SASL_PLAINTEXT"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeBrokerInfo(3, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{``, `{`, `{"version":5,"endpoints":["nohost"]}`, `{"version":5,"endpoints":["P://h:x"]}`, `{"version":1}`, `{"version":5,"endpoints":["P://h:1"],"timestamp":"x"}`} {
		if _, err := decodeBrokerInfo(1, []byte(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%q: %v, want ErrCorrupt", bad, err)
		}
	}
}

func TestEncodeBrokerInfoRoundTrip(t *testing.T) {
	in := BrokerInfo{ID: 9, JMXPort: -1, Timestamp: 123, Rack: "rack-1", Endpoints: []config.Listener{
		{Name: "EXTERNAL", Host: "b.example", Port: 19092, SecurityProtocol: "SASL_SSL"},
		{Name: "PLAINTEXT", Host: "10.1.2.3", Port: 9092, SecurityProtocol: "PLAINTEXT"},
	}}
	data := encodeBrokerInfo(in)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	// host/port come from the first PLAINTEXT endpoint, not the first one.
	if m["host"] != "10.1.2.3" || m["port"] != float64(9092) || m["version"] != float64(5) || m["timestamp"] != "123" {
		t.Errorf("encoded %s", data)
	}
	out, err := decodeBrokerInfo(9, data)
	if err != nil {
		t.Fatal(err)
	}
	in.Version = 5
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip %+v\nwant %+v", out, in)
	}
}

func TestTopicAndStateCodecs(t *testing.T) {
	a, err := decodeTopic("t", []byte(`{"version":1,"partitions":{"1":[2,3],"0":[1]}}`))
	if err != nil || a.TopicID != "" || !reflect.DeepEqual(a.Partitions, map[int32][]int32{0: {1}, 1: {2, 3}}) {
		t.Errorf("v1 topic = %+v, %v", a, err)
	}
	for _, bad := range []string{`{"partitions":{"x":[1]}}`, `{"partitions":{"-1":[1]}}`, `[]`} {
		if _, err := decodeTopic("t", []byte(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	s := PartitionState{ControllerEpoch: 3, Leader: -1, LeaderEpoch: 7, ISR: nil, LeaderRecoveryState: 1}
	var m map[string]any
	_ = json.Unmarshal(encodePartitionState(s), &m)
	if m["leader_recovery_state"] != float64(1) || m["isr"] == nil {
		t.Errorf("encoded state %v", m)
	}
	got, err := decodePartitionState(encodePartitionState(s))
	s.ISR = []int32{}
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Errorf("state round trip %+v, %v", got, err)
	}
	if _, err := decodePartitionState([]byte(`{"leader":1}`)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("incomplete state: %v", err)
	}
}

func TestSmallCodecs(t *testing.T) {
	if id, err := decodeController([]byte("5")); err != nil || id != 5 {
		t.Errorf("bare controller id: %d %v", id, err)
	}
	if id, err := decodeController(encodeController(4, 1)); err != nil || id != 4 {
		t.Errorf("controller: %d %v", id, err)
	}
	if e, err := decodeChange([]byte(`{"version":1,"entity_type":"topics","entity_name":"t"}`)); err != nil || e != "topics/t" {
		t.Errorf("v1 change: %q %v", e, err)
	}
	if e, err := decodeChange(encodeChange("brokers/<default>")); err != nil || e != "brokers/<default>" {
		t.Errorf("v2 change: %q %v", e, err)
	}
	if m, err := decodeEntityConfig(nil); err != nil || len(m) != 0 {
		t.Errorf("empty entity config: %v %v", m, err)
	}
	if id, err := decodeClusterID(encodeClusterID("abc")); err != nil || id != "abc" {
		t.Errorf("cluster id: %q %v", id, err)
	}
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		u := NewUUID()
		if len(u) != 22 || strings.HasPrefix(u, "-") || strings.ContainsAny(u, "+/=") || seen[u] {
			t.Fatalf("bad uuid %q", u)
		}
		seen[u] = true
	}
}

func TestValidateTopicName(t *testing.T) {
	for _, ok := range []string{"a", "orders.v2", "__consumer_offsets", "A-b_c.d", strings.Repeat("x", 249)} {
		if err := ValidateTopicName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a b", "a/b", "ä", strings.Repeat("x", 250)} {
		if err := ValidateTopicName(bad); !errors.Is(err, ErrInvalidTopic) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCheckAssignment(t *testing.T) {
	good := map[int32][]int32{0: {1, 2}, 1: {2, 1}}
	if err := checkAssignment(good, 0); err != nil {
		t.Error(err)
	}
	for _, bad := range []map[int32][]int32{nil, {1: {1}}, {0: {}}, {0: {1, 1}}, {0: {-1}}, {0: {1}, 2: {1}}} {
		if err := checkAssignment(bad, 0); !errors.Is(err, ErrInvalidAssignment) {
			t.Errorf("%v accepted", bad)
		}
	}
	if err := checkAssignment(map[int32][]int32{3: {1}}, 3); err != nil {
		t.Error(err)
	}
}

// FuzzDecode feeds arbitrary znode data to every decoder: none may panic,
// failures are ErrCorrupt, and what decodes re-encodes to something that
// decodes to the same value.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://h:9092"],"jmx_port":-1,"port":9092,"host":"h","version":5,"timestamp":"1"}`))
	f.Add([]byte(`{"version":3,"partitions":{"0":[1,2]},"adding_replicas":{},"removing_replicas":{},"topic_id":"x"}`))
	f.Add([]byte(`{"controller_epoch":3,"leader":1,"version":1,"leader_epoch":7,"isr":[1,2,3]}`))
	f.Add([]byte(`{"version":2,"brokerid":1,"timestamp":"1","kraftControllerEpoch":-1}`))
	f.Add([]byte(`{"version":1,"config":{"a":"b"}}`))
	f.Add([]byte(`{"version":2,"entity_path":"topics/t"}`))
	f.Add([]byte(`{"version":"1","id":"abc"}`))
	f.Add([]byte(`{"version":1,"broker":0,"block_start":"0","block_end":"999"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(what string, err error) {
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: untyped error %v", what, err)
			}
		}
		if b, err := decodeBrokerInfo(1, data); err == nil {
			b2, err := decodeBrokerInfo(1, encodeBrokerInfo(b))
			if err != nil || !slices.Equal(b2.Endpoints, b.Endpoints) || b2.Rack != b.Rack {
				t.Fatalf("broker info round trip: %+v -> %+v, %v", b, b2, err)
			}
		} else {
			check("broker", err)
		}
		if a, err := decodeTopic("t", data); err == nil {
			a2, err := decodeTopic("t", encodeTopic(a))
			if err != nil || len(a2.Partitions) != len(a.Partitions) || a2.TopicID != a.TopicID {
				t.Fatalf("topic round trip: %+v -> %+v, %v", a, a2, err)
			}
		} else {
			check("topic", err)
		}
		if s, err := decodePartitionState(data); err == nil {
			s2, err := decodePartitionState(encodePartitionState(s))
			if err != nil || s2.Leader != s.Leader || s2.LeaderEpoch != s.LeaderEpoch || !slices.Equal(s2.ISR, s.ISR) && len(s.ISR) > 0 {
				t.Fatalf("state round trip: %+v -> %+v, %v", s, s2, err)
			}
		} else {
			check("state", err)
		}
		_, err := decodeController(data)
		check("controller", err)
		if m, err := decodeEntityConfig(data); err == nil {
			m2, err := decodeEntityConfig(encodeEntityConfig(m))
			if err != nil || !reflect.DeepEqual(m, m2) {
				t.Fatalf("config round trip: %v -> %v, %v", m, m2, err)
			}
		} else {
			check("config", err)
		}
		_, err = decodeChange(data)
		check("change", err)
		_, err = decodeClusterID(data)
		check("cluster id", err)
		if b, err := decodeProducerIDBlock(data); err == nil {
			if b2, err := decodeProducerIDBlock(encodeProducerIDBlock(b)); err != nil || b2 != b {
				t.Fatalf("producer id block round trip: %+v -> %+v, %v", b, b2, err)
			}
		} else {
			check("producer id block", err)
		}
	})
}
