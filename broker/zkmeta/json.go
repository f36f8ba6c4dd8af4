package zkmeta

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/gregorlog/gregor/broker/config"
)

// The JSON shapes below are Kafka's (ZkData.scala@3.8.0) and are contracts
// with every Kafka tool that reads ZooKeeper: never change field names or
// version numbers. Kafka writes JSON from Scala maps, so key order is not
// significant and readers must not rely on it.

const (
	brokerInfoVersion     = 5 // /brokers/ids/<id>
	topicVersion          = 3 // /brokers/topics/<t>
	partitionStateVersion = 1 // .../partitions/<p>/state
	controllerVersion     = 2 // /controller
	entityConfigVersion   = 1 // /config/<type>/<name>
	changeNotifyVersion   = 2 // /config/changes/config_change_*
	clusterIDVersion      = "1"
)

// BrokerInfo is a broker's registration at /brokers/ids/<id>.
type BrokerInfo struct {
	ID int32
	// Endpoints are the advertised listeners, with security protocols.
	Endpoints []config.Listener
	Rack      string // "" when unset (then no "rack" field is written)
	JMXPort   int32  // -1 when none
	// Timestamp is the registration time in Unix milliseconds (0: now).
	Timestamp int64
	// Version is the JSON version read back (5 when written by us).
	Version int
	// Epoch is the registration znode's czxid (Kafka's broker epoch);
	// set when read back or registered.
	Epoch int64
}

// encodeBrokerInfo renders the v5 registration:
//
//	{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},
//	 "endpoints":["PLAINTEXT://host:9092"],"jmx_port":-1,"port":9092,
//	 "host":"host","version":5,"timestamp":"1700000000000","rack":"r1"}
//
// host/port are the first PLAINTEXT endpoint's, else null/-1.
func encodeBrokerInfo(b BrokerInfo) []byte {
	eps := make([]string, len(b.Endpoints))
	proto := map[string]string{}
	var host any
	port := -1
	for i, e := range b.Endpoints {
		eps[i] = e.String()
		proto[e.Name] = e.SecurityProtocol
		if host == nil && e.SecurityProtocol == "PLAINTEXT" {
			host, port = e.Host, e.Port
		}
	}
	m := map[string]any{
		"features":                       map[string]any{},
		"listener_security_protocol_map": proto,
		"endpoints":                      eps,
		"jmx_port":                       b.JMXPort,
		"port":                           port,
		"host":                           host,
		"version":                        brokerInfoVersion,
		"timestamp":                      strconv.FormatInt(b.Timestamp, 10),
	}
	if b.Rack != "" {
		m["rack"] = b.Rack
	}
	out, _ := json.Marshal(m)
	return out
}

// decodeBrokerInfo reads versions 1-5.
func decodeBrokerInfo(id int32, data []byte) (BrokerInfo, error) {
	var raw struct {
		Version   int               `json:"version"`
		Host      *string           `json:"host"`
		Port      int               `json:"port"`
		Endpoints []string          `json:"endpoints"`
		Proto     map[string]string `json:"listener_security_protocol_map"`
		JMXPort   int32             `json:"jmx_port"`
		Timestamp string            `json:"timestamp"`
		Rack      *string           `json:"rack"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return BrokerInfo{}, fmt.Errorf("%w: broker %d: %v", ErrCorrupt, id, err)
	}
	b := BrokerInfo{ID: id, Version: raw.Version, JMXPort: raw.JMXPort}
	if raw.Rack != nil {
		b.Rack = *raw.Rack
	}
	if raw.Timestamp != "" {
		ts, err := strconv.ParseInt(raw.Timestamp, 10, 64)
		if err != nil {
			return BrokerInfo{}, fmt.Errorf("%w: broker %d: timestamp %q", ErrCorrupt, id, raw.Timestamp)
		}
		b.Timestamp = ts
	}
	if raw.Version == 1 || len(raw.Endpoints) == 0 {
		if raw.Host == nil {
			return BrokerInfo{}, fmt.Errorf("%w: broker %d: no endpoints", ErrCorrupt, id)
		}
		b.Endpoints = []config.Listener{{Name: "PLAINTEXT", Host: *raw.Host, Port: raw.Port, SecurityProtocol: "PLAINTEXT"}}
		return b, nil
	}
	for _, e := range raw.Endpoints {
		name, addr, ok := strings.Cut(e, "://")
		if !ok {
			return BrokerInfo{}, fmt.Errorf("%w: broker %d: endpoint %q", ErrCorrupt, id, e)
		}
		h, p, err := net.SplitHostPort(addr)
		if err != nil {
			return BrokerInfo{}, fmt.Errorf("%w: broker %d: endpoint %q: %v", ErrCorrupt, id, e, err)
		}
		port, err := strconv.Atoi(p)
		if err != nil || port < 0 || port > 65535 {
			return BrokerInfo{}, fmt.Errorf("%w: broker %d: endpoint %q: bad port", ErrCorrupt, id, e)
		}
		proto := name // before v3 the name is the protocol
		if pr, ok := raw.Proto[name]; ok {
			proto = pr
		}
		b.Endpoints = append(b.Endpoints, config.Listener{Name: name, Host: h, Port: port, SecurityProtocol: proto})
	}
	return b, nil
}

// TopicAssignment is /brokers/topics/<t>.
type TopicAssignment struct {
	Topic string
	// TopicID is Kafka's Uuid as written in ZooKeeper (22 characters of
	// URL-safe base64 without padding); "" for v1/v2 topics.
	TopicID string
	// Partitions maps partition number to replica broker ids, preferred
	// leader first.
	Partitions map[int32][]int32
	// Adding and Removing hold in-progress reassignments (v2+).
	Adding, Removing map[int32][]int32
	// ZkVersion is the znode's version, for conditional updates.
	ZkVersion int32
}

func intKeyed(m map[int32][]int32) map[string][]int32 {
	out := make(map[string][]int32, len(m))
	for k, v := range m {
		if v == nil {
			v = []int32{}
		}
		out[strconv.Itoa(int(k))] = v
	}
	return out
}

func fromIntKeyed(m map[string][]int32) (map[int32][]int32, error) {
	out := make(map[int32][]int32, len(m))
	for k, v := range m {
		n, err := strconv.ParseInt(k, 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("partition %q", k)
		}
		out[int32(n)] = v
	}
	return out, nil
}

// encodeTopic renders v3:
//
//	{"version":3,"partitions":{"0":[1,2,3]},"adding_replicas":{},
//	 "removing_replicas":{},"topic_id":"..."}
func encodeTopic(a TopicAssignment) []byte {
	m := map[string]any{
		"version":           topicVersion,
		"partitions":        intKeyed(a.Partitions),
		"adding_replicas":   intKeyed(a.Adding),
		"removing_replicas": intKeyed(a.Removing),
		"topic_id":          a.TopicID,
	}
	out, _ := json.Marshal(m)
	return out
}

func decodeTopic(topic string, data []byte) (TopicAssignment, error) {
	var raw struct {
		Version    int                `json:"version"`
		Partitions map[string][]int32 `json:"partitions"`
		Adding     map[string][]int32 `json:"adding_replicas"`
		Removing   map[string][]int32 `json:"removing_replicas"`
		TopicID    string             `json:"topic_id"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return TopicAssignment{}, fmt.Errorf("%w: topic %s: %v", ErrCorrupt, topic, err)
	}
	a := TopicAssignment{Topic: topic, TopicID: raw.TopicID}
	var err error
	if a.Partitions, err = fromIntKeyed(raw.Partitions); err == nil {
		if a.Adding, err = fromIntKeyed(raw.Adding); err == nil {
			a.Removing, err = fromIntKeyed(raw.Removing)
		}
	}
	if err != nil {
		return TopicAssignment{}, fmt.Errorf("%w: topic %s: %v", ErrCorrupt, topic, err)
	}
	return a, nil
}

// PartitionState is /brokers/topics/<t>/partitions/<p>/state.
type PartitionState struct {
	ControllerEpoch int32
	Leader          int32 // -1 when none
	LeaderEpoch     int32
	ISR             []int32
	// LeaderRecoveryState is 1 while recovering (KIP-704); 0 is omitted.
	LeaderRecoveryState int8
	// ZkVersion is the znode's version (Kafka's partition epoch).
	ZkVersion int32
}

// encodePartitionState renders
//
//	{"controller_epoch":3,"leader":1,"version":1,"leader_epoch":7,"isr":[1,2,3]}
func encodePartitionState(s PartitionState) []byte {
	isr := s.ISR
	if isr == nil {
		isr = []int32{}
	}
	m := map[string]any{
		"controller_epoch": s.ControllerEpoch,
		"leader":           s.Leader,
		"version":          partitionStateVersion,
		"leader_epoch":     s.LeaderEpoch,
		"isr":              isr,
	}
	if s.LeaderRecoveryState != 0 {
		m["leader_recovery_state"] = s.LeaderRecoveryState
	}
	out, _ := json.Marshal(m)
	return out
}

func decodePartitionState(data []byte) (PartitionState, error) {
	var raw struct {
		ControllerEpoch *int32  `json:"controller_epoch"`
		Leader          *int32  `json:"leader"`
		LeaderEpoch     *int32  `json:"leader_epoch"`
		ISR             []int32 `json:"isr"`
		Recovery        int8    `json:"leader_recovery_state"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return PartitionState{}, fmt.Errorf("%w: partition state: %v", ErrCorrupt, err)
	}
	if raw.ControllerEpoch == nil || raw.Leader == nil || raw.LeaderEpoch == nil {
		return PartitionState{}, fmt.Errorf("%w: partition state lacks controller_epoch, leader or leader_epoch", ErrCorrupt)
	}
	return PartitionState{ControllerEpoch: *raw.ControllerEpoch, Leader: *raw.Leader, LeaderEpoch: *raw.LeaderEpoch, ISR: raw.ISR, LeaderRecoveryState: raw.Recovery}, nil
}

// encodeController renders
// {"version":2,"brokerid":1,"timestamp":"1700000000000","kraftControllerEpoch":-1}.
func encodeController(id int32, ts int64) []byte {
	out, _ := json.Marshal(map[string]any{
		"version":              controllerVersion,
		"brokerid":             id,
		"timestamp":            strconv.FormatInt(ts, 10),
		"kraftControllerEpoch": -1,
	})
	return out
}

func decodeController(data []byte) (int32, error) {
	var raw struct {
		BrokerID *int32 `json:"brokerid"`
	}
	if err := json.Unmarshal(data, &raw); err != nil || raw.BrokerID == nil {
		// Kafka 0.8 wrote the bare id.
		if n, perr := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 32); perr == nil {
			return int32(n), nil
		}
		return -1, fmt.Errorf("%w: /controller %q", ErrCorrupt, data)
	}
	return *raw.BrokerID, nil
}

// encodeEntityConfig renders {"version":1,"config":{"k":"v"}}.
func encodeEntityConfig(cfg map[string]string) []byte {
	if cfg == nil {
		cfg = map[string]string{}
	}
	out, _ := json.Marshal(map[string]any{"version": entityConfigVersion, "config": cfg})
	return out
}

func decodeEntityConfig(data []byte) (map[string]string, error) {
	if len(data) == 0 {
		return map[string]string{}, nil
	}
	var raw struct {
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: entity config: %v", ErrCorrupt, err)
	}
	if raw.Config == nil {
		raw.Config = map[string]string{}
	}
	return raw.Config, nil
}

// encodeChange renders {"version":2,"entity_path":"topics/my-topic"}.
func encodeChange(entityPath string) []byte {
	out, _ := json.Marshal(map[string]any{"version": changeNotifyVersion, "entity_path": entityPath})
	return out
}

func decodeChange(data []byte) (string, error) {
	var raw struct {
		Version    int    `json:"version"`
		EntityPath string `json:"entity_path"`
		EntityType string `json:"entity_type"` // version 1
		EntityName string `json:"entity_name"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return "", fmt.Errorf("%w: config change: %v", ErrCorrupt, err)
	}
	if raw.EntityPath == "" && raw.EntityType != "" {
		return raw.EntityType + "/" + raw.EntityName, nil
	}
	if raw.EntityPath == "" {
		return "", fmt.Errorf("%w: config change without entity_path", ErrCorrupt)
	}
	return raw.EntityPath, nil
}

// encodeClusterID renders {"version":"1","id":"..."} (the version is a
// string in Kafka's format).
func encodeClusterID(id string) []byte {
	out, _ := json.Marshal(map[string]any{"version": clusterIDVersion, "id": id})
	return out
}

func decodeClusterID(data []byte) (string, error) {
	var raw struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(data, &raw); err != nil || raw.ID == "" {
		return "", fmt.Errorf("%w: /cluster/id %q", ErrCorrupt, data)
	}
	return raw.ID, nil
}

// NewUUID returns a random Kafka Uuid in its string form: 16 random bytes
// as URL-safe base64 without padding (22 characters). Like Kafka's
// Uuid.randomUuid it never returns the zero or metadata-topic ids, nor a
// string starting with '-' (which command lines would take for a flag).
func NewUUID() string {
	for {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			panic("zkmeta: crypto/rand: " + err.Error())
		}
		if b == [16]byte{} || b == [16]byte{15: 1} {
			continue
		}
		s := base64.RawURLEncoding.EncodeToString(b[:])
		if !strings.HasPrefix(s, "-") {
			return s
		}
	}
}

func sortedPartitions(m map[int32][]int32) []int32 {
	ps := make([]int32, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}
