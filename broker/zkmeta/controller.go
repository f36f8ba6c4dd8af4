package zkmeta

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// Fence proves controllership: every controller write is a multi whose
// first op checks /controller_epoch's zkVersion against EpochZkVersion.
type Fence struct {
	Epoch          int32 // the controller epoch (content of /controller_epoch)
	EpochZkVersion int32 // its znode version when this controller was elected
	// Session is the ZooKeeper session that won the election. Once that
	// session has expired the fence is dead even before another broker
	// bumps the epoch (Kafka's controller resigns on session expiry). 0
	// disables the check.
	Session int64
}

// Leadership is the outcome of an election round as one broker sees it.
type Leadership struct {
	// Controller is the active controller's broker id, -1 when none.
	Controller int32
	// Self is true when this broker is the controller; Fence is then
	// valid for controller writes.
	Self  bool
	Fence Fence
}

// ControllerID reads /controller; -1 when no controller is elected.
func (c *Client) ControllerID(ctx context.Context) (int32, error) {
	id := int32(-1)
	err := c.retry(ctx, func() error {
		data, _, err := c.conn.Get(c.abs("/controller"))
		if errors.Is(err, zk.ErrNoNode) {
			id = -1
			return nil
		}
		if err != nil {
			return zkErr("get", "/controller", err)
		}
		id, err = decodeController(data)
		return err
	})
	return id, err
}

// ControllerEpoch reads /controller_epoch: the epoch and its zkVersion
// (0, -1 when it does not exist yet).
func (c *Client) ControllerEpoch(ctx context.Context) (Fence, error) {
	var f Fence
	err := c.retry(ctx, func() error {
		var err error
		f, err = c.readEpoch()
		return err
	})
	return f, err
}

func (c *Client) readEpoch() (Fence, error) {
	data, st, err := c.conn.Get(c.abs("/controller_epoch"))
	if errors.Is(err, zk.ErrNoNode) {
		return Fence{Epoch: 0, EpochZkVersion: -1}, nil
	}
	if err != nil {
		return Fence{}, zkErr("get", "/controller_epoch", err)
	}
	n, perr := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 32)
	if perr != nil {
		return Fence{}, fmt.Errorf("%w: /controller_epoch %q", ErrCorrupt, data)
	}
	return Fence{Epoch: int32(n), EpochZkVersion: st.Version}, nil
}

// TryElect runs one election attempt for brokerID, as Kafka's
// registerControllerAndIncrementControllerEpoch: read /controller_epoch
// (creating it as "0" if missing), then one multi of
// Create(/controller, EPHEMERAL) + SetData(/controller_epoch, epoch+1,
// expected zkVersion). It returns who is controller afterwards.
func (c *Client) TryElect(ctx context.Context, brokerID int32) (Leadership, error) {
	for attempt := 0; attempt < 20; attempt++ {
		var l Leadership
		var again bool
		err := c.retry(ctx, func() error {
			var err error
			l, again, err = c.tryElectOnce(brokerID)
			return err
		})
		if err != nil {
			return Leadership{}, err
		}
		if !again {
			return l, nil
		}
	}
	return Leadership{}, fmt.Errorf("%w: election kept racing", ErrConflict)
}

func (c *Client) tryElectOnce(brokerID int32) (Leadership, bool, error) {
	if data, st, err := c.conn.Get(c.abs("/controller")); err == nil {
		id, derr := decodeController(data)
		if derr != nil {
			return Leadership{}, false, derr
		}
		if id == brokerID && st.EphemeralOwner == c.conn.SessionID() {
			// Already ours (a retried election).
			f, err := c.readEpoch()
			f.Session = st.EphemeralOwner
			return Leadership{Controller: id, Self: true, Fence: f}, false, err
		}
		return Leadership{Controller: id}, false, nil
	} else if !errors.Is(err, zk.ErrNoNode) {
		return Leadership{}, false, zkErr("get", "/controller", err)
	}
	cur, err := c.readEpoch()
	if err != nil {
		return Leadership{}, false, err
	}
	if cur.EpochZkVersion < 0 {
		_, err := c.conn.Create(c.abs("/controller_epoch"), []byte("0"), zk.FlagPersistent, openACL)
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return Leadership{}, false, zkErr("create", "/controller_epoch", err)
		}
		return Leadership{}, true, nil
	}
	next := cur.Epoch + 1
	session := c.conn.SessionID()
	res, err := c.conn.Multi(
		&zk.CreateRequest{Path: c.abs("/controller"), Data: encodeController(brokerID, time.Now().UnixMilli()), Acl: openACL, Flags: zk.FlagEphemeral},
		&zk.SetDataRequest{Path: c.abs("/controller_epoch"), Data: []byte(strconv.Itoa(int(next))), Version: cur.EpochZkVersion},
	)
	if err == nil {
		return Leadership{Controller: brokerID, Self: true, Fence: Fence{Epoch: next, EpochZkVersion: res[1].Stat.Version, Session: session}}, false, nil
	}
	if transient(err) {
		return Leadership{}, false, err
	}
	// Lost the race: either /controller exists or the epoch moved. Look
	// again.
	return Leadership{}, true, nil
}

// Resign deletes /controller if this session holds it.
func (c *Client) Resign(ctx context.Context) error {
	return c.retry(ctx, func() error {
		_, st, err := c.conn.Get(c.abs("/controller"))
		if errors.Is(err, zk.ErrNoNode) {
			return nil
		}
		if err != nil {
			return zkErr("get", "/controller", err)
		}
		if st.EphemeralOwner != c.conn.SessionID() {
			return nil
		}
		if err := c.conn.Delete(c.abs("/controller"), st.Version); err != nil && !errors.Is(err, zk.ErrNoNode) && !errors.Is(err, zk.ErrBadVersion) {
			return zkErr("delete", "/controller", err)
		}
		return nil
	})
}

// Campaign runs the controller election for brokerID until ctx ends: it
// elects, watches /controller and re-elects when it disappears or when the
// session is replaced after expiry. Each change of controller (or of this
// broker's epoch) is sent on the returned channel; the channel is closed
// when ctx ends or the client closes. Read it promptly: the campaign waits
// for each send. Ending ctx stops campaigning but keeps /controller if this
// broker holds it; call Resign (or Close) to step down.
func (c *Client) Campaign(ctx context.Context, brokerID int32) <-chan Leadership {
	out := make(chan Leadership, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		close(out)
		return out
	}
	c.wg.Add(1) // under mu, so never after Close started waiting
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		defer close(out)
		last := Leadership{Controller: -2}
		emit := func(l Leadership) bool {
			if l == last {
				return true
			}
			last = l
			select {
			case out <- l:
				return true
			case <-ctx.Done():
			case <-c.done:
			}
			return false
		}
	elect:
		for {
			if c.waitSession(ctx) != nil {
				return
			}
			session := c.sessionWatch()
			l, err := c.TryElect(ctx, brokerID)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, ErrClosed) {
					return
				}
				c.log.Warn("controller election failed; retrying", "err", err)
				if !sleepCtx(ctx, c.done, 200*time.Millisecond) {
					return
				}
				continue
			}
			if !emit(l) {
				return
			}
			// Watch /controller; re-elect on deletion or a new session.
			for {
				ok, _, ch, err := c.conn.ExistsW(c.abs("/controller"))
				if err != nil {
					if !sleepCtx(ctx, c.done, 100*time.Millisecond) {
						return
					}
					break
				}
				if !ok {
					break
				}
				select {
				case ev := <-ch:
					if ev.Type == zk.EventNodeDeleted || ev.Type == zk.EventNotWatching {
						continue elect
					}
					continue // data change or a watch re-armed by go-zookeeper
				case <-session:
					if last.Self && !emit(Leadership{Controller: -1}) {
						return
					}
					continue elect
				case <-ctx.Done():
					return
				case <-c.done:
					return
				}
			}
		}
	}()
	return out
}

func sleepCtx(ctx context.Context, done <-chan struct{}, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	case <-done:
		return false
	}
}

// fencedMulti runs ops after a CheckOp on /controller_epoch. It returns
// ErrFenced when the check fails, and otherwise the failing op's error.
func (c *Client) fencedMulti(ctx context.Context, f Fence, ops ...any) ([]zk.MultiResponse, error) {
	all := make([]any, 0, len(ops)+1)
	all = append(all, &zk.CheckVersionRequest{Path: c.abs("/controller_epoch"), Version: f.EpochZkVersion})
	all = append(all, ops...)
	var res []zk.MultiResponse
	errSessionGone := errors.New("session gone")
	err := c.retry(ctx, func() error {
		if f.Session != 0 && c.conn.SessionID() != f.Session {
			return errSessionGone
		}
		var err error
		res, err = c.conn.Multi(all...)
		return err
	})
	if errors.Is(err, errSessionGone) {
		return nil, fmt.Errorf("%w: the session that won epoch %d (0x%x) has expired", ErrFenced, f.Epoch, f.Session)
	}
	if err == nil {
		return res[1:], nil
	}
	if len(res) > 0 && (errors.Is(res[0].Error, zk.ErrBadVersion) || errors.Is(res[0].Error, zk.ErrNoNode)) {
		return nil, fmt.Errorf("%w: epoch %d (zkVersion %d) is no longer current", ErrFenced, f.Epoch, f.EpochZkVersion)
	}
	for i := 1; i < len(res); i++ {
		if e := res[i].Error; e != nil && !isRuntimeInconsistency(e) {
			return nil, &multiError{op: i - 1, err: e}
		}
	}
	return nil, zkErr("multi", "", err)
}

// multiError carries the index (among the caller's ops) of the op that
// failed.
type multiError struct {
	op  int
	err error
}

func (m *multiError) Error() string {
	return fmt.Sprintf("%v: multi op %d: %v", ErrZooKeeper, m.op, m.err)
}
func (m *multiError) Unwrap() []error { return []error{ErrZooKeeper, m.err} }

// isRuntimeInconsistency: ZooKeeper marks the ops of a failed multi other
// than the failing one with -2 (RUNTIMEINCONSISTENCY), which go-zookeeper
// has no sentinel for.
func isRuntimeInconsistency(err error) bool { return err.Error() == "unknown error: -2" }
