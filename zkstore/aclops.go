package zkstore

import (
	"sort"

	"github.com/gregorlog/gregor/zkstore/proto"
)

// getACL (6), setACL (7), auth (100) and whoAmI (107).
//
// getACL needs READ or ADMIN; without ADMIN digest hashes are masked.
// setACL needs ADMIN and checks the version against aversion. Auth is
// handled as soon as it is read, outside the pipeline, as ZooKeeper does:
// it answers with zxid 0, and an unknown scheme is AuthFailed and closes.

func init() {
	writeHandlers[OpSetACL] = func(rec proto.Record) ([]WriteOp, bool, Code) {
		r := rec.(*proto.SetACLRequest)
		return []WriteOp{{Type: OpSetACL, Path: r.Path, ACL: fromProtoACL(r.ACL), Version: r.Version}}, false, CodeOK
	}
	readHandlers[OpGetACL] = func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
		p := rec.(*proto.PathRequest).Path
		s := c.s
		s.mu.RLock()
		defer s.mu.RUnlock()
		_, st, acl, ok := s.tree.Get(p)
		if !ok {
			return s.tree.lastZxid, CodeNoNode, nil
		}
		a := c.auth.Load()
		if !checkACL(acl, PermRead|PermAdmin, a) {
			return s.tree.lastZxid, CodeNoAuth, nil
		}
		if !checkACL(acl, PermAdmin, a) {
			acl = maskDigests(acl)
		}
		return s.tree.lastZxid, CodeOK, &proto.GetACLResponse{ACL: toProtoACL(acl), Stat: proto.Stat(st)}
	}
	readHandlers[OpWhoAmI] = func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
		a := c.auth.Load()
		out := make([]proto.ClientInfo, 0, len(a.ids))
		for _, id := range javaSetOrder(a.ids) {
			user := id.ID
			if id.Scheme == "digest" {
				user, _, _ = cutColon(user)
			}
			out = append(out, proto.ClientInfo{AuthScheme: id.Scheme, User: user})
		}
		return c.curZxid(), CodeOK, &proto.WhoAmIResponse{ClientInfo: out}
	}
}

func cutColon(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// handleAuth adds an identity to the connection right away; the reply
// (zxid 0) still goes out in FIFO order.
func (c *conn) handleAuth(p *pending, ap *proto.AuthPacket) *pending {
	old := c.auth.Load()
	next := &authSet{ids: append([]AuthID(nil), old.ids...), super: old.super}
	switch ap.Scheme {
	case "digest":
		// Like DigestAuthenticationProvider, any bytes are accepted: the
		// user is what precedes the first ':' (or the whole string).
		id := DigestID(string(ap.Auth))
		if sd := c.s.set.superDigest; sd != "" && id == sd {
			next.super = true
			next.ids = appendID(next.ids, AuthID{Scheme: "super", ID: ""})
		}
		next.ids = appendID(next.ids, AuthID{Scheme: "digest", ID: id})
	case "ip":
		// Apache ZooKeeper 3.8 drops the connection without a reply.
		c.s.stats.authFailed.Add(1)
		p.noReply = true
		return p
	default:
		return c.authFailed(p)
	}
	c.auth.Store(next)
	p.zxid, p.code = 0, CodeOK
	return p
}

func appendID(ids []AuthID, id AuthID) []AuthID {
	for _, x := range ids {
		if x == id {
			return ids
		}
	}
	return append(ids, id)
}

func (c *conn) authFailed(p *pending) *pending {
	c.s.stats.authFailed.Add(1)
	p.zxid, p.code = 0, CodeAuthFailed
	p.closeAfter = true
	return p
}

// javaStringHash is java.lang.String.hashCode over UTF-16 code units.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xd800+(r>>10))
			h = 31*h + int32(0xdc00+(r&0x3ff))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

// javaSetOrder orders a connection's identities as ZooKeeper's authInfo,
// a HashSet of jute Id records, iterates them (whoAmI shows that order):
// by HashMap bucket of the Id's hashCode, insertion order within a bucket.
func javaSetOrder(ids []AuthID) []AuthID {
	table := uint32(16)
	for uint32(len(ids)) > table*3/4 {
		table *= 2
	}
	bucket := func(id AuthID) uint32 {
		h := int32(17)
		h = 37*h + javaStringHash(id.Scheme)
		h = 37*h + javaStringHash(id.ID)
		u := uint32(h)
		return (u ^ u>>16) & (table - 1)
	}
	out := append([]AuthID(nil), ids...)
	sort.SliceStable(out, func(i, j int) bool { return bucket(out[i]) < bucket(out[j]) })
	return out
}

// javaTable is the table size of a default HashMap/HashSet holding n
// entries (16, doubled while n exceeds 3/4 of it).
func javaTable(n int) uint32 {
	t := uint32(16)
	for uint32(n) > t*3/4 {
		t *= 2
	}
	return t
}

func javaBucket(h int32, table uint32) uint32 {
	u := uint32(h)
	return (u ^ u>>16) & (table - 1)
}

// javaLongHash is java.lang.Long.hashCode.
func javaLongHash(v int64) int32 { return int32(v ^ int64(uint64(v)>>32)) }

// javaOrderStrings sorts names as a default HashSet<String> iterates them
// (ties, whose insertion order is unknown here, by name).
func javaOrderStrings(names []string) {
	table := javaTable(len(names))
	sort.Slice(names, func(i, j int) bool {
		bi, bj := javaBucket(javaStringHash(names[i]), table), javaBucket(javaStringHash(names[j]), table)
		if bi != bj {
			return bi < bj
		}
		return names[i] < names[j]
	})
}

// javaOrderLongs sorts ids as a default HashSet<Long> iterates them.
func javaOrderLongs(ids []int64) {
	table := javaTable(len(ids))
	sort.Slice(ids, func(i, j int) bool {
		bi, bj := javaBucket(javaLongHash(ids[i]), table), javaBucket(javaLongHash(ids[j]), table)
		if bi != bj {
			return bi < bj
		}
		return ids[i] < ids[j]
	})
}
