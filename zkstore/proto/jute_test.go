package proto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestPrimitives(t *testing.T) {
	var e Encoder
	e.Int(-2)
	e.Long(0x0102030405060708)
	e.Bool(true)
	e.Bool(false)
	e.Buffer(nil)
	e.Buffer([]byte{})
	e.Buffer([]byte("ab"))
	e.String("/p")
	e.Strings(nil)
	e.Strings([]string{"x"})
	want := []byte{
		0xff, 0xff, 0xff, 0xfe,
		1, 2, 3, 4, 5, 6, 7, 8,
		1, 0,
		0xff, 0xff, 0xff, 0xff,
		0, 0, 0, 0,
		0, 0, 0, 2, 'a', 'b',
		0, 0, 0, 2, '/', 'p',
		0xff, 0xff, 0xff, 0xff,
		0, 0, 0, 1, 0, 0, 0, 1, 'x',
	}
	if !bytes.Equal(e.B, want) {
		t.Fatalf("encoding\n got %x\nwant %x", e.B, want)
	}
	d := NewDecoder(e.B)
	if d.Int() != -2 || d.Long() != 0x0102030405060708 || !d.Bool() || d.Bool() {
		t.Fatal("fixed fields")
	}
	if b := d.Buffer(); b != nil {
		t.Fatalf("null buffer: %v", b)
	}
	if b := d.Buffer(); b == nil || len(b) != 0 {
		t.Fatalf("empty buffer: %v", b)
	}
	if b := d.Buffer(); string(b) != "ab" {
		t.Fatalf("buffer: %q", b)
	}
	if s := d.String(); s != "/p" {
		t.Fatalf("string: %q", s)
	}
	if v := d.Strings(); v != nil {
		t.Fatalf("null vector: %v", v)
	}
	if v := d.Strings(); len(v) != 1 || v[0] != "x" {
		t.Fatalf("vector: %v", v)
	}
	if d.Err() != nil || d.Remaining() != 0 {
		t.Fatalf("err %v remaining %d", d.Err(), d.Remaining())
	}
	// A sticky error: everything after returns zero values.
	if d.Int() != 0 || !errors.Is(d.Err(), ErrShort) || d.Long() != 0 || d.String() != "" {
		t.Fatalf("after end: %v", d.Err())
	}
}

func TestHostileLengths(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		read func(d *Decoder)
		want error
	}{
		{"negative buffer", []byte{0xff, 0xff, 0xff, 0xfe}, func(d *Decoder) { d.Buffer() }, ErrBadLength},
		{"buffer past end", []byte{0, 0, 0, 5, 1, 2}, func(d *Decoder) { d.Buffer() }, ErrBadLength},
		{"huge buffer", []byte{0x7f, 0xff, 0xff, 0xff}, func(d *Decoder) { d.Buffer() }, ErrBadLength},
		{"string above maxbuffer", append([]byte{0, 0x10, 0, 0}, make([]byte, 0x100000)...), func(d *Decoder) { _ = d.String() }, ErrBadLength},
		{"huge vector", []byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0}, func(d *Decoder) { d.Strings() }, ErrBadLength},
		{"vector count beyond bytes", []byte{0, 0, 0, 3, 0, 0, 0, 0}, func(d *Decoder) { d.Strings() }, ErrBadLength},
		{"acl vector beyond bytes", []byte{0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, func(d *Decoder) { decodeACLs(d) }, ErrBadLength},
		{"short int", []byte{1, 2, 3}, func(d *Decoder) { d.Int() }, ErrShort},
		{"multi without end", []byte{0, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, '/', 0xff, 0xff, 0xff, 0xff}, func(d *Decoder) { new(MultiRequest).Decode(d) }, ErrShort},
	}
	for _, c := range cases {
		d := NewDecoder(c.in)
		c.read(d)
		if !errors.Is(d.Err(), c.want) {
			t.Errorf("%s: got %v, want %v", c.name, d.Err(), c.want)
		}
	}
	// A string of exactly jute.maxbuffer bytes is accepted.
	in := append([]byte{0, 0x0f, 0xff, 0xff}, bytes.Repeat([]byte{'a'}, DefaultMaxBuffer)...)
	d := NewDecoder(in)
	if s := d.String(); len(s) != DefaultMaxBuffer || d.Err() != nil {
		t.Fatalf("max string: %d %v", len(s), d.Err())
	}
}

func TestFrame(t *testing.T) {
	b := AppendRequest(nil, RequestHeader{Xid: 1, Type: OpExists}, &PathWatchRequest{Path: "/a", Watch: true})
	body, err := ReadFrame(bytes.NewReader(b), nil, DefaultMaxBuffer)
	if err != nil || len(body) != len(b)-4 {
		t.Fatalf("ReadFrame: %v %d", err, len(body))
	}
	for _, bad := range [][]byte{{0xff, 0xff, 0xff, 0xff}, {0, 0x10, 0, 0}} {
		if _, err := ReadFrame(bytes.NewReader(bad), nil, DefaultMaxBuffer); !errors.Is(err, ErrBadLength) {
			t.Fatalf("len %x: %v", bad, err)
		}
	}
	if _, err := ReadFrame(bytes.NewReader([]byte{0, 0, 0, 9, 1}), nil, 0); err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("short frame: %v", err)
	}
	rep := AppendReply(nil, ReplyHeader{Xid: 3, Zxid: 0x13, Err: ErrBadVersion}, &StatResponse{})
	if len(rep) != 4+ReplyHeaderSize {
		t.Fatalf("error reply carries a body: %d bytes", len(rep))
	}
	n := AppendNotification(nil, WatcherEvent{Type: EventNodeDataChanged, State: StateSyncConnected, Path: "/t1"})
	want := []byte{0, 0, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
		0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 3, '/', 't', '1'}
	if !bytes.Equal(n, want) {
		t.Fatalf("notification\n got %x\nwant %x", n, want)
	}
}

func TestFourLetterWord(t *testing.T) {
	if w, ok := FourLetterWord(0x72756f6b); !ok || w != "ruok" {
		t.Fatalf("ruok: %q %v", w, ok)
	}
	if _, ok := FourLetterWord(45); ok {
		t.Fatal("45 is a frame length, not a 4lw")
	}
}

func TestNames(t *testing.T) {
	if ErrNoNode.String() != "NoNode" || ErrNoNode.Error() != "zk: NoNode (-101)" {
		t.Fatal(ErrNoNode.Error())
	}
	if OpGetChildren2.String() != "getChildren2" || EventNodeCreated.String() != "NodeCreated" || StateExpired.String() != "Expired" {
		t.Fatal("names")
	}
	var err error = ErrBadVersion
	if !errors.Is(err, ErrBadVersion) {
		t.Fatal("ErrCode as error")
	}
}

func TestConnectReadOnlyByte(t *testing.T) {
	base := ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)}
	b44 := Marshal(&base)
	if len(b44) != 44 {
		t.Fatalf("go-zookeeper form is %d bytes", len(b44))
	}
	r, err := DecodeConnectRequest(b44)
	if err != nil || r.HasReadOnly {
		t.Fatalf("44-byte request: %v %+v", err, r)
	}
	ro := base
	ro.HasReadOnly, ro.ReadOnly = true, true
	b45 := Marshal(&ro)
	r, err = DecodeConnectRequest(b45)
	if err != nil || len(b45) != 45 || !r.HasReadOnly || !r.ReadOnly {
		t.Fatalf("45-byte request: %v %+v", err, r)
	}
	resp := ConnectResponse{TimeOut: 10000, SessionID: 1, Passwd: make([]byte, 16), HasReadOnly: r.HasReadOnly}
	if n := len(Marshal(&resp)); n != 37 {
		t.Fatalf("response to a 45-byte request is %d bytes", n)
	}
	resp.HasReadOnly = false
	if n := len(Marshal(&resp)); n != 36 {
		t.Fatalf("response to a 44-byte request is %d bytes", n)
	}
}
