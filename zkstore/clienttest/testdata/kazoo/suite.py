# kazoo 2.8 suite for clienttest: run as `python3 suite.py HOST:PORT ROOT`.
# Prints one "name: value" line per check; kazoo_test.go compares them with
# testdata/kazoo/expected.txt. Every path lives under ROOT.
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import (BadVersionError, NoAuthError, NodeExistsError,
                              NoNodeError, NotEmptyError, RolledBackError,
                              NoChildrenForEphemeralsError)
from kazoo.security import make_digest_acl, make_acl

hosts, root = sys.argv[1], sys.argv[2]


def out(name, value):
    print("%s: %s" % (name, value), flush=True)


def err_name(fn):
    try:
        fn()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the class name is the result
        return type(e).__name__


zk = KazooClient(hosts=hosts, timeout=10)
zk.start(timeout=15)
other = KazooClient(hosts=hosts, timeout=10)
other.start(timeout=15)

zk.ensure_path(root + "/a/b")
out("ensure_path", zk.exists(root + "/a/b") is not None)

# create / get / set / delete with versions
p = zk.create(root + "/n", b"v0")
out("create", p[len(root):])
data, st = zk.get(root + "/n")
out("get", "%s version=%d len=%d" % (data.decode(), st.version, st.dataLength))
st = zk.set(root + "/n", b"v1", version=0)
out("set", "version=%d" % st.version)
out("set_stale", err_name(lambda: zk.set(root + "/n", b"v2", version=0)))
out("create_exists", err_name(lambda: zk.create(root + "/n")))
out("create_no_parent", err_name(lambda: zk.create(root + "/x/y")))
out("get_missing", err_name(lambda: zk.get(root + "/missing")))
path, st = zk.create(root + "/withstat", b"abc", include_data=True)
out("create2", "%s version=%d len=%d" % (path[len(root):], st.version, st.dataLength))

# sequence and ephemeral nodes
s0 = zk.create(root + "/seq/item-", b"", sequence=True, makepath=True)
s1 = zk.create(root + "/seq/item-", b"", sequence=True)
out("sequence", "%s %s" % (s0[len(root):], s1[len(root):]))
e = zk.create(root + "/eph", b"e", ephemeral=True)
st = zk.exists(e)
out("ephemeral_owner_is_session", st.ephemeralOwner == zk.client_id[0])
out("ephemeral_child", err_name(lambda: zk.create(root + "/eph/kid")))
es = zk.create(root + "/seq/eph-", b"", ephemeral=True, sequence=True)
out("ephemeral_sequence", es[len(root):])

# children
out("children", sorted(zk.get_children(root + "/seq")))
kids, st = zk.get_children(root + "/seq", include_data=True)
out("children2", "%d numChildren=%d" % (len(kids), st.numChildren))
out("delete_not_empty", err_name(lambda: zk.delete(root + "/seq")))

# watches: data, exists, children, fired by another client
events = []
cond = threading.Condition()


def record(ev):
    with cond:
        events.append("%s %s" % (ev.type, ev.path[len(root):]))
        cond.notify_all()


def wait_events(n):
    with cond:
        ok = cond.wait_for(lambda: len(events) >= n, timeout=10)
    return ok


zk.get(root + "/n", watch=record)
zk.exists(root + "/later", watch=record)
zk.get_children(root + "/a", watch=record)
other.set(root + "/n", b"changed")
other.create(root + "/later")
other.create(root + "/a/c")
out("watches_fired", wait_events(3))
out("watch_events", sorted(events))

# transactions
t = zk.transaction()
t.create(root + "/t1", b"1")
t.check(root + "/n", 2)
t.set_data(root + "/t1", b"2")
t.delete(root + "/t1")
out("txn_ok", [r[len(root):] if isinstance(r, str) else r if isinstance(r, bool) else type(r).__name__
               for r in t.commit()])
t = zk.transaction()
t.create(root + "/t2", b"1")
t.check(root + "/n", 42)
out("txn_fail", [type(r).__name__ for r in t.commit()])
out("txn_rolled_back", zk.exists(root + "/t2") is None)

# ACLs and auth
acl = make_digest_acl("kz", "pw", all=True)
zk.create(root + "/secure", b"s", acl=[acl])
out("noauth_get", err_name(lambda: other.get(root + "/secure")))
other.add_auth("digest", "kz:pw")
out("auth_get", other.get(root + "/secure")[0].decode())
acls, st = other.get_acls(root + "/secure")
out("get_acls", "%s:%s perms=%d" % (acls[0].id.scheme, acls[0].id.id, acls[0].perms))
other.set_acls(root + "/secure", [make_acl("world", "anyone", read=True)])
out("world_read_after_set_acls", zk.get(root + "/secure")[0].decode())
out("write_denied", err_name(lambda: zk.set(root + "/secure", b"x")))

# exists, sync, recursive delete
out("exists_missing", zk.exists(root + "/nope"))
zk.sync(root)
zk.delete(root + "/a", recursive=True)
out("recursive_delete", zk.exists(root + "/a") is None)

# closing a session removes its ephemerals
zk.stop()
zk.close()
out("ephemeral_gone_after_close", other.exists(e) is None)
other.delete(root, recursive=True)
other.stop()
other.close()
out("done", True)
