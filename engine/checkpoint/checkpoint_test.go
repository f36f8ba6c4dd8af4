package checkpoint

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func golden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGoldenOffsetCheckpoint(t *testing.T) {
	data := golden(t, "recovery-point-offset-checkpoint")
	got, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{{"my-topic", 0, 1234}, {"my-topic", 1, 987}, {"__consumer_offsets", 49, 0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	enc, err := Encode(want)
	if err != nil || !bytes.Equal(enc, data) {
		t.Fatalf("Encode differs from Kafka's file:\n%q\n%q", enc, data)
	}
	// Kafka's CheckpointReadBuffer reads an empty file, or a file with
	// only the version line, as no entries.
	for _, in := range [][]byte{golden(t, "empty-checkpoint"), nil, []byte("0\n")} {
		empty, err := Parse(in)
		if err != nil || len(empty) != 0 {
			t.Fatalf("%q: %v %v", in, empty, err)
		}
	}
}

func TestGoldenLeaderEpochs(t *testing.T) {
	data := golden(t, "leader-epoch-checkpoint")
	got, err := ParseLeaderEpochs(data)
	want := []EpochEntry{{0, 0}, {2, 150}, {5, 7320}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v %v", got, err)
	}
	if enc := EncodeLeaderEpochs(want); !bytes.Equal(enc, data) {
		t.Fatalf("encode: %q", enc)
	}
}

func TestGoldenMetaAndPartitionMetadata(t *testing.T) {
	m, err := ReadMeta("testdata")
	if err != nil {
		t.Fatal(err)
	}
	want := MetaProperties{Version: 0, BrokerID: 1, ClusterID: "Rz0hJzd8QXmTFYWPKzqBzg"}
	if m != want {
		t.Fatalf("meta %+v", m)
	}
	at := time.Date(2026, 11, 21, 23, 10, 42, 0, time.UTC)
	if enc := EncodeMeta(want, at); !bytes.Equal(enc, golden(t, "meta.properties")) {
		t.Fatalf("EncodeMeta: %q", enc)
	}
	id, err := ReadPartitionMetadata("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if id != [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15} {
		t.Fatalf("id %v", id)
	}
	if enc := EncodePartitionMetadata(id); !bytes.Equal(enc, golden(t, "partition.metadata")) {
		t.Fatalf("EncodePartitionMetadata: %q", enc)
	}
}

func TestRoundTripFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "replication-offset-checkpoint")
	if _, err := Read(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	entries := []Entry{{"a", 0, 1}, {"b.c_d-e", 7, 1 << 40}}
	if err := Write(p, entries); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, entries[:1]); err != nil { // replace
		t.Fatal(err)
	}
	got, err := Read(p)
	if err != nil || !reflect.DeepEqual(got, entries[:1]) {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := os.Stat(p + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("temp file left behind: %v", err)
	}
	ep := filepath.Join(dir, "leader-epoch-checkpoint")
	if err := WriteLeaderEpochs(ep, nil); err != nil {
		t.Fatal(err)
	}
	if e, err := ReadLeaderEpochs(ep); err != nil || len(e) != 0 {
		t.Fatalf("%v %v", e, err)
	}
	if err := WriteMeta(dir, MetaProperties{BrokerID: 3, ClusterID: "x"}); err != nil {
		t.Fatal(err)
	}
	if m, err := ReadMeta(dir); err != nil || m.BrokerID != 3 || m.ClusterID != "x" {
		t.Fatalf("%+v %v", m, err)
	}
	if err := WriteMeta(dir, MetaProperties{Version: 1}); err == nil {
		t.Fatal("version 1 written")
	}
	id := [16]byte{0xff, 0xfe, 3}
	// Kafka accepts a later version (downgrade), padded base64, extra
	// whitespace and a trailing newline.
	for _, in := range []string{"version: 1\ntopic_id: AAECAwQFBgcICQoLDA0ODw", "version:\t0\ntopic_id:   AAECAwQFBgcICQoLDA0ODw==\n"} {
		if got, err := ParsePartitionMetadata([]byte(in)); err != nil || got != [16]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15} {
			t.Fatalf("%q: %v %v", in, got, err)
		}
	}
	if err := WritePartitionMetadata(dir, id); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadPartitionMetadata(dir); err != nil || got != id {
		t.Fatalf("%v %v", got, err)
	}
	if err := Write(p, []Entry{{"bad topic", 0, 0}}); err == nil {
		t.Fatal("topic with a space written")
	}
	if _, err := ReadMeta(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
}

func TestMalformed(t *testing.T) {
	cases := map[string]string{
		"bad version":        "1\n0\n",
		"text version":       "x\n0\n",
		"padded version":     " 0\n0\n",
		"padded count":       "0\n 1\nt 0 1\n",
		"leading space":      "0\n1\n t 0 1\n",
		"blank entry":        "0\n1\n\n",
		"negative count":     "0\n-1\n",
		"too few entries":    "0\n2\nt 0 1\n",
		"too many entries":   "0\n1\nt 0 1\nt 1 2\n",
		"two fields":         "0\n1\nt 0\n",
		"four fields":        "0\n1\nt 0 1 2\n",
		"bad partition":      "0\n1\nt x 1\n",
		"negative partition": "0\n1\nt -1 1\n",
		"partition overflow": "0\n1\nt 3000000000 1\n",
		"bad offset":         "0\n1\nt 0 1.5\n",
	}
	for name, in := range cases {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, in := range map[string]string{"fields": "0\n1\n1 2 3\n", "epoch": "0\n1\nx 2\n", "offset": "0\n1\n1 y\n"} {
		if _, err := ParseLeaderEpochs([]byte(in)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("epochs %s: %v", name, err)
		}
	}
	for name, in := range map[string]string{"no version": "broker.id=1\n", "v1": "version=1\nbroker.id=1\n", "no id": "version=0\n", "bad id": "version=0\nbroker.id=x\n", "garbage": "version=0\nbroker.id=1\njunk\n"} {
		if _, err := ParseMeta([]byte(in)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("meta %s: %v", name, err)
		}
	}
	for name, in := range map[string]string{"empty": "", "negative version": "version: -1\ntopic_id: AAECAwQFBgcICQoLDA0ODw\n", "short id": "version: 0\ntopic_id: AAEC\n", "no id line": "version: 0\n", "no space": "version:0\ntopic_id: AAECAwQFBgcICQoLDA0ODw", "zero id": "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA", "wrong key": "version: 0\ntopicid: AAECAwQFBgcICQoLDA0ODw"} {
		if _, err := ParsePartitionMetadata([]byte(in)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("partition.metadata %s: %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"recovery-point-offset-checkpoint", "empty-checkpoint", "leader-epoch-checkpoint"} {
		if b, err := os.ReadFile(filepath.Join("testdata", n)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("0\n1\nt 0 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		// Whatever parses re-encodes and parses to the same entries.
		enc, err := Encode(entries)
		if err != nil {
			t.Fatalf("parsed entries do not encode: %v", err)
		}
		again, err := Parse(enc)
		if err != nil || !reflect.DeepEqual(again, entries) && len(entries) > 0 {
			t.Fatalf("re-parse: %v %+v vs %+v", err, again, entries)
		}
		ParseLeaderEpochs(data)
		ParseMeta(data)
		ParsePartitionMetadata(data)
	})
}
