package zkstore

import (
	"bytes"
	"errors"
	"sort"
	"testing"

	"github.com/go-zookeeper/zk"
)

func TestBasicOps(t *testing.T) {
	s := startTestServer(t, testSettings(t))
	c, _ := connect(t, s)
	acl := zk.WorldACL(zk.PermAll)
	p, err := c.Create("/a", []byte("hello"), 0, acl)
	if err != nil || p != "/a" {
		t.Fatalf("create: %q %v", p, err)
	}
	data, st, err := c.Get("/a")
	if err != nil || !bytes.Equal(data, []byte("hello")) {
		t.Fatalf("get: %q %v", data, err)
	}
	if st.Version != 0 || st.DataLength != 5 || st.Czxid != st.Mzxid {
		t.Fatalf("stat %+v", st)
	}
	st2, err := c.Set("/a", []byte("x"), 0)
	if err != nil || st2.Version != 1 {
		t.Fatalf("set: %+v %v", st2, err)
	}
	if _, err := c.Set("/a", []byte("y"), 0); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("stale set: %v", err)
	}
	ok, _, err := c.Exists("/nope")
	if err != nil || ok {
		t.Fatalf("exists: %v %v", ok, err)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.Create("/a/s-", nil, zk.FlagSequence, acl); err != nil {
			t.Fatal(err)
		}
	}
	kids, st, err := c.Children("/a")
	if err != nil || len(kids) != 3 || st.NumChildren != 3 {
		t.Fatalf("children %v %+v %v", kids, st, err)
	}
	sort.Strings(kids) // ZooKeeper's (HashSet) order otherwise
	if kids[0] != "s-0000000000" || kids[2] != "s-0000000002" {
		t.Fatalf("sequential names %v", kids)
	}
	if err := c.Delete("/a", -1); !errors.Is(err, zk.ErrNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	for _, k := range kids {
		if err := c.Delete("/a/"+k, -1); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Delete("/a", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync("/"); err != nil {
		t.Fatal(err)
	}
}
