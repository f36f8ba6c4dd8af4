package zkstore

import (
	"crypto/sha1"
	"encoding/base64"
	"net"
	"strings"
)

// AuthID is one identity a connection holds (ZooKeeper's authInfo entry):
// every connection has ip:<client address>; auth packets add digest ids;
// the super digest adds super:.
type AuthID struct {
	Scheme string
	ID     string
}

// DigestID returns the digest ACL id for "user:password":
// user:base64(sha1("user:password")), as DigestAuthenticationProvider does.
func DigestID(userPass string) string {
	user, _, _ := strings.Cut(userPass, ":")
	sum := sha1.Sum([]byte(userPass))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// authSet is a connection's identities.
type authSet struct {
	ids   []AuthID
	super bool
}

// checkACL reports whether ids may perform perm on a node with acl
// (ZooKeeperServer.checkACL): super passes, an empty ACL passes, otherwise
// some entry granting perm must match one id.
func checkACL(acl []ACL, perm int32, a *authSet) bool {
	if a != nil && a.super {
		return true
	}
	if len(acl) == 0 {
		return true
	}
	for _, e := range acl {
		if e.Perms&perm == 0 {
			continue
		}
		if e.Scheme == "world" && e.ID == "anyone" {
			return true
		}
		if a == nil {
			continue
		}
		for _, id := range a.ids {
			if id.Scheme != e.Scheme {
				continue
			}
			switch e.Scheme {
			case "ip":
				if ipMatches(id.ID, e.ID) {
					return true
				}
			default:
				if id.ID == e.ID {
					return true
				}
			}
		}
	}
	return false
}

// ipMatches reports whether client address addr matches an ip ACL id
// "a.b.c.d" or "a.b.c.d/bits" (IPAuthenticationProvider.matches).
func ipMatches(addr, aclID string) bool {
	ip := net.ParseIP(addr)
	if ip == nil {
		return false
	}
	if strings.Contains(aclID, "/") {
		_, n, err := net.ParseCIDR(aclID)
		return err == nil && n.Contains(ip)
	}
	want := net.ParseIP(aclID)
	return want != nil && want.Equal(ip)
}

func validIPACL(id string) bool {
	if strings.Contains(id, "/") {
		_, _, err := net.ParseCIDR(id)
		return err == nil
	}
	return net.ParseIP(id) != nil
}

// fixupACL validates a requested ACL and expands the auth scheme into the
// caller's authenticated ids (PrepRequestProcessor.fixupACL). It fails
// (InvalidACL) on an empty list, an unknown scheme, a malformed id, or auth
// with no authenticated id.
func fixupACL(in []ACL, a *authSet) ([]ACL, bool) {
	if len(in) == 0 {
		return nil, false
	}
	out := make([]ACL, 0, len(in))
	add := func(e ACL) {
		for _, o := range out {
			if o == e {
				return
			}
		}
		out = append(out, e)
	}
	for _, e := range in {
		switch e.Scheme {
		case "world":
			if e.ID != "anyone" {
				return nil, false
			}
			add(e)
		case "auth":
			// Expands to the ids whose provider counts as authenticated
			// (digest only: ip is not, super has no provider), in the
			// order of ZooKeeper's authInfo set.
			found := false
			if a != nil {
				for _, id := range javaSetOrder(a.ids) {
					if id.Scheme == "digest" {
						add(ACL{Perms: e.Perms, Scheme: id.Scheme, ID: id.ID})
						found = true
					}
				}
			}
			if !found {
				return nil, false
			}
		case "digest":
			if !validDigestID(e.ID) {
				return nil, false
			}
			add(e)
		case "ip":
			if !validIPACL(e.ID) {
				return nil, false
			}
			add(e)
		default:
			return nil, false
		}
	}
	return internACL(out), true
}

// internACL returns the shared OpenACL slice for world:anyone:cdrwa, the
// ACL of nearly every node, so nodes do not each hold a copy.
func internACL(acl []ACL) []ACL {
	if len(acl) == 1 && acl[0] == OpenACL[0] {
		return OpenACL
	}
	return acl
}

// maskDigests hides digest hashes from callers without ADMIN on the node,
// as getACL does in 3.8 (digest ids shown as "user:x").
func maskDigests(acl []ACL) []ACL {
	out := make([]ACL, len(acl))
	for i, e := range acl {
		if e.Scheme == "digest" {
			if u, _, ok := strings.Cut(e.ID, ":"); ok {
				e.ID = u + ":x"
			}
		}
		out[i] = e
	}
	return out
}

// validDigestID is DigestAuthenticationProvider.isValid: id.split(":") has
// exactly two parts (Java's split drops trailing empty strings).
func validDigestID(id string) bool {
	parts := strings.Split(id, ":")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return len(parts) == 2
}
