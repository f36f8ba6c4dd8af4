// Package checkpoint reads and writes Kafka's small text state files, byte
// for byte as Kafka 3.8 writes them, so a log directory can move between
// Gregor and Kafka.
//
// # Offset checkpoints (CheckpointFile.java, OffsetCheckpointFile.scala)
//
// recovery-point-offset-checkpoint, replication-offset-checkpoint,
// log-start-offset-checkpoint and cleaner-offset-checkpoint:
//
//	0\n                       version line (CurrentVersion; must never change)
//	2\n                       entry count
//	my-topic 0 1234\n         topic SP partition SP offset, one per entry
//	my-topic 1 987\n
//
// # Leader epoch checkpoint (LeaderEpochCheckpointFile.java), per partition
//
//	0\n
//	<count>\n
//	<epoch> <startOffset>\n   ...
//
// # meta.properties (ZooKeeper-mode v0), per log dir root
//
// A Java properties file: "#" and "#<date>" comment lines, then
// version=0, broker.id=N, cluster.id=<base64url UUID>.
//
// # partition.metadata (PartitionMetadataFile.java), per partition dir
//
//	version: 0\n
//	topic_id: <base64url UUID, 22 characters>     (no trailing newline)
//
// Every file is replaced atomically: write <name>.tmp, fsync it, rename it
// over <name>, fsync the directory. Parsing is strict: anything Kafka would
// refuse wraps ErrCorrupt with the line number.
package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Format constants: part of Kafka's on-disk format, never change them.
const (
	CurrentVersion        = 0
	MetaPropertiesFile    = "meta.properties"
	PartitionMetadataFile = "partition.metadata"
	tmpSuffix             = ".tmp"
)

// ErrCorrupt is wrapped by every parse error.
var ErrCorrupt = errors.New("checkpoint: corrupt")

// Entry is one line of an offset checkpoint.
type Entry struct {
	Topic     string
	Partition int32
	Offset    int64
}

// EpochEntry is one line of a leader-epoch-checkpoint.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// WriteFileAtomic replaces path with data: it writes path+".tmp", fsyncs
// it, renames it over path and fsyncs the directory, so a crash leaves
// either the old or the new file, never a torn one.
func WriteFileAtomic(path string, data []byte) error {
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("checkpoint: write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("checkpoint: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("checkpoint: fsync dir %s: %w", dir, err)
	}
	return nil
}

// Encode renders entries in the offset checkpoint format.
func Encode(entries []Entry) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", CurrentVersion, len(entries))
	for _, e := range entries {
		if e.Topic == "" || strings.ContainsAny(e.Topic, " \t\r\n") {
			return nil, fmt.Errorf("checkpoint: topic %q cannot be written", e.Topic)
		}
		fmt.Fprintf(&b, "%s %d %d\n", e.Topic, e.Partition, e.Offset)
	}
	return b.Bytes(), nil
}

// Write atomically replaces the offset checkpoint at path.
func Write(path string, entries []Entry) error {
	data, err := Encode(entries)
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, data)
}

// Read parses the offset checkpoint at path. A missing file returns an
// error satisfying errors.Is(err, fs.ErrNotExist).
func Read(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	entries, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return entries, nil
}

// Parse decodes an offset checkpoint.
func Parse(data []byte) ([]Entry, error) {
	var out []Entry
	err := parseLines(data, 3, func(line int, f []string) error {
		p, err := strconv.ParseInt(f[1], 10, 32)
		if err != nil || p < 0 {
			return fmt.Errorf("%w: line %d: bad partition %q", ErrCorrupt, line, f[1])
		}
		off, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return fmt.Errorf("%w: line %d: bad offset %q", ErrCorrupt, line, f[2])
		}
		out = append(out, Entry{Topic: f[0], Partition: int32(p), Offset: off})
		return nil
	})
	return out, err
}

// parseLines checks the version and count lines and hands each entry's
// fields (exactly nFields, split on whitespace like Kafka's "\\s+") to fn.
// Version and count must be bare decimal integers, as Integer.parseInt wants.
func parseLines(data []byte, nFields int, fn func(line int, fields []string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		return strings.TrimSuffix(sc.Text(), "\r"), true
	}
	// Like CheckpointReadBuffer, an empty file, or one holding only the
	// version line, reads as no entries.
	v, ok := next()
	if !ok {
		return nil
	}
	if ver, err := strconv.Atoi(v); err != nil || ver != CurrentVersion {
		return fmt.Errorf("%w: line 1: unrecognised version %q", ErrCorrupt, v)
	}
	c, ok := next()
	if !ok {
		return nil
	}
	count, err := strconv.Atoi(c)
	if err != nil || count < 0 {
		return fmt.Errorf("%w: line 2: bad entry count %q", ErrCorrupt, c)
	}
	for i := 0; i < count; i++ {
		l, ok := next()
		if !ok {
			return fmt.Errorf("%w: expected %d entries, found only %d", ErrCorrupt, count, i)
		}
		f := strings.Fields(l)
		// Kafka splits on "\\s+": leading whitespace makes an empty
		// first field, so the line is malformed.
		if len(f) != nFields || unicode.IsSpace(rune(l[0])) {
			return fmt.Errorf("%w: line %d: malformed entry %q", ErrCorrupt, i+3, l)
		}
		if err := fn(i+3, f); err != nil {
			return err
		}
	}
	if l, ok := next(); ok {
		return fmt.Errorf("%w: expected %d entries, found more: %q", ErrCorrupt, count, l)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return nil
}

// EncodeLeaderEpochs renders a leader-epoch-checkpoint.
func EncodeLeaderEpochs(e []EpochEntry) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", CurrentVersion, len(e))
	for _, x := range e {
		fmt.Fprintf(&b, "%d %d\n", x.Epoch, x.StartOffset)
	}
	return b.Bytes()
}

// WriteLeaderEpochs atomically replaces the leader-epoch-checkpoint at path.
func WriteLeaderEpochs(path string, e []EpochEntry) error {
	return WriteFileAtomic(path, EncodeLeaderEpochs(e))
}

// ReadLeaderEpochs parses the leader-epoch-checkpoint at path.
func ReadLeaderEpochs(path string) ([]EpochEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	e, err := ParseLeaderEpochs(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

// ParseLeaderEpochs decodes a leader-epoch-checkpoint.
func ParseLeaderEpochs(data []byte) ([]EpochEntry, error) {
	var out []EpochEntry
	err := parseLines(data, 2, func(line int, f []string) error {
		ep, err := strconv.ParseInt(f[0], 10, 32)
		if err != nil {
			return fmt.Errorf("%w: line %d: bad epoch %q", ErrCorrupt, line, f[0])
		}
		off, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return fmt.Errorf("%w: line %d: bad start offset %q", ErrCorrupt, line, f[1])
		}
		out = append(out, EpochEntry{Epoch: int32(ep), StartOffset: off})
		return nil
	})
	return out, err
}

// MetaProperties is a ZooKeeper-mode (version 0) meta.properties.
type MetaProperties struct {
	Version   int
	BrokerID  int32
	ClusterID string
}

// EncodeMeta renders m like java.util.Properties.store: an empty comment,
// a date comment, then the keys.
func EncodeMeta(m MetaProperties, now time.Time) []byte {
	var b bytes.Buffer
	b.WriteString("#\n#" + now.UTC().Format("Mon Jan 02 15:04:05 MST 2006") + "\n")
	if m.ClusterID != "" {
		fmt.Fprintf(&b, "cluster.id=%s\n", m.ClusterID)
	}
	fmt.Fprintf(&b, "version=%d\nbroker.id=%d\n", m.Version, m.BrokerID)
	return b.Bytes()
}

// WriteMeta atomically writes dir/meta.properties.
func WriteMeta(dir string, m MetaProperties) error {
	if m.Version != 0 {
		return fmt.Errorf("checkpoint: meta.properties version %d not supported (ZooKeeper mode is version 0)", m.Version)
	}
	return WriteFileAtomic(filepath.Join(dir, MetaPropertiesFile), EncodeMeta(m, time.Now()))
}

// ReadMeta reads dir/meta.properties. A missing file satisfies
// errors.Is(err, fs.ErrNotExist).
func ReadMeta(dir string) (MetaProperties, error) {
	p := filepath.Join(dir, MetaPropertiesFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return MetaProperties{}, fmt.Errorf("checkpoint: %w", err)
	}
	m, err := ParseMeta(data)
	if err != nil {
		return m, fmt.Errorf("%s: %w", p, err)
	}
	return m, nil
}

// ParseMeta decodes a v0 meta.properties. Unknown keys are ignored, as
// Kafka does; version and broker.id are required.
func ParseMeta(data []byte) (MetaProperties, error) {
	props, err := parseProperties(data)
	if err != nil {
		return MetaProperties{}, err
	}
	var m MetaProperties
	v, ok := props["version"]
	if !ok {
		return m, fmt.Errorf("%w: meta.properties has no version", ErrCorrupt)
	}
	if m.Version, err = strconv.Atoi(v); err != nil {
		return m, fmt.Errorf("%w: meta.properties version %q", ErrCorrupt, v)
	}
	if m.Version != 0 {
		return m, fmt.Errorf("%w: meta.properties version %d (only ZooKeeper-mode version 0 is supported)", ErrCorrupt, m.Version)
	}
	id, ok := props["broker.id"]
	if !ok {
		return m, fmt.Errorf("%w: meta.properties has no broker.id", ErrCorrupt)
	}
	bid, err := strconv.ParseInt(id, 10, 32)
	if err != nil || bid < 0 {
		return m, fmt.Errorf("%w: meta.properties broker.id %q", ErrCorrupt, id)
	}
	m.BrokerID = int32(bid)
	m.ClusterID = props["cluster.id"]
	return m, nil
}

// parseProperties handles the subset of java.util.Properties Kafka writes:
// comment lines (# or !), blank lines and key=value or key:value lines.
func parseProperties(data []byte) (map[string]string, error) {
	props := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k := strings.IndexAny(line, "=:")
		if k <= 0 {
			return nil, fmt.Errorf("%w: line %d: not key=value: %q", ErrCorrupt, i+1, line)
		}
		props[strings.TrimSpace(line[:k])] = strings.TrimSpace(line[k+1:])
	}
	return props, nil
}

// EncodePartitionMetadata renders partition.metadata for topicID.
func EncodePartitionMetadata(topicID [16]byte) []byte {
	// PartitionMetadata.encode: no newline after the id.
	return []byte("version: 0\ntopic_id: " + base64.RawURLEncoding.EncodeToString(topicID[:]))
}

// WritePartitionMetadata atomically writes dir/partition.metadata.
func WritePartitionMetadata(dir string, topicID [16]byte) error {
	return WriteFileAtomic(filepath.Join(dir, PartitionMetadataFile), EncodePartitionMetadata(topicID))
}

// ReadPartitionMetadata reads the topic id from dir/partition.metadata.
func ReadPartitionMetadata(dir string) ([16]byte, error) {
	p := filepath.Join(dir, PartitionMetadataFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return [16]byte{}, fmt.Errorf("checkpoint: %w", err)
	}
	id, err := ParsePartitionMetadata(data)
	if err != nil {
		return id, fmt.Errorf("%s: %w", p, err)
	}
	return id, nil
}

// ParsePartitionMetadata decodes partition.metadata like Kafka's
// PartitionMetadataReadBuffer: "version:<spaces><n>" with n >= 0 (later
// versions are accepted for downgrades), then "topic_id:<spaces><uuid>" with
// a non-zero base64url UUID. Lines after the second are ignored.
func ParsePartitionMetadata(data []byte) ([16]byte, error) {
	var id [16]byte
	lines := strings.SplitN(string(data), "\n", 3)
	if len(lines) < 2 {
		return id, fmt.Errorf("%w: partition.metadata has %d lines, want 2", ErrCorrupt, len(lines))
	}
	v, ok := metadataValue(lines[0], "version")
	if !ok {
		return id, fmt.Errorf("%w: partition.metadata: malformed line %q", ErrCorrupt, lines[0])
	}
	if ver, err := strconv.Atoi(v); err != nil || ver < 0 {
		return id, fmt.Errorf("%w: partition.metadata: bad version %q", ErrCorrupt, v)
	}
	t, ok := metadataValue(lines[1], "topic_id")
	if !ok {
		return id, fmt.Errorf("%w: partition.metadata: malformed line %q", ErrCorrupt, lines[1])
	}
	raw, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		raw, err = base64.URLEncoding.DecodeString(t)
	}
	if err != nil || len(raw) != 16 {
		return id, fmt.Errorf("%w: partition.metadata: bad topic id %q", ErrCorrupt, t)
	}
	copy(id[:], raw)
	if id == ([16]byte{}) {
		return id, fmt.Errorf("%w: partition.metadata: zero topic id", ErrCorrupt)
	}
	return id, nil
}

// metadataValue splits "key:<one or more spaces>value" (Kafka's ":\\s+").
func metadataValue(line, key string) (string, bool) {
	line = strings.TrimSuffix(line, "\r")
	rest, ok := strings.CutPrefix(line, key+":")
	if !ok || rest == "" || !unicode.IsSpace(rune(rest[0])) {
		return "", false
	}
	return strings.TrimLeftFunc(rest, unicode.IsSpace), true
}
