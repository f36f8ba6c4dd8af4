package zkmeta

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// EventKind says what changed.
type EventKind int

const (
	// BrokersChanged: the set of registered brokers; Names holds the ids.
	BrokersChanged EventKind = iota + 1
	// TopicsChanged: the set of topics; Names holds them.
	TopicsChanged
	// TopicChanged: one topic's assignment changed (partitions added or
	// reassigned); Name is the topic.
	TopicChanged
	// ConfigChanged: a /config/changes notification; Name is its
	// entity_path ("topics/t", "brokers/1", "brokers/<default>").
	ConfigChanged
	// DeletionsChanged: topics marked for deletion; Names holds them.
	DeletionsChanged
	// ControllerChanged: /controller changed; Controller is the new id
	// (-1 when none).
	ControllerChanged
)

func (k EventKind) String() string {
	switch k {
	case BrokersChanged:
		return "BrokersChanged"
	case TopicsChanged:
		return "TopicsChanged"
	case TopicChanged:
		return "TopicChanged"
	case ConfigChanged:
		return "ConfigChanged"
	case DeletionsChanged:
		return "DeletionsChanged"
	case ControllerChanged:
		return "ControllerChanged"
	}
	return "Unknown"
}

// Event is one metadata change. Set events (BrokersChanged, TopicsChanged,
// DeletionsChanged, ControllerChanged) carry the full current state, so a
// consumer never needs to diff: the first event of each kind is the state
// when watching began, and after a session is re-established each is sent
// again.
type Event struct {
	Kind       EventKind
	Names      []string
	Name       string
	Controller int32
}

// Watch starts watching Kafka's metadata paths and returns the event
// channel once every watch is set (waiting for a session if need be), so
// no change made after Watch returns is missed; the channel is closed when
// ctx ends or the client closes. Each watched path has its own goroutine
// that re-arms ZooKeeper's one-shot watch before reading; a slow reader
// delays (never loses) events. Config notifications that existed before Watch are not
// replayed, and notifications older than 15 minutes are purged, as Kafka
// does.
func (c *Client) Watch(ctx context.Context) <-chan Event {
	out := make(chan Event, 64)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	send := func(ev Event) bool {
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		case <-c.done:
			return false
		}
	}
	// armed counts watchers whose first watch is not set yet; Watch
	// returns only when it is zero, so no change after Watch returns can be
	// missed.
	var armed sync.WaitGroup
	spawnWatcher := func(counted bool, f func(ready func())) {
		wg.Add(1)
		ready := func() {}
		if counted {
			armed.Add(1)
			var once sync.Once
			ready = func() { once.Do(armed.Done) }
		}
		go func() { defer wg.Done(); defer ready(); f(ready) }()
	}
	spawn := func(f func(ready func())) { spawnWatcher(true, f) }
	// Per-topic assignment watchers, started as topics appear.
	var tmu sync.Mutex
	topicWatchers := map[string]bool{}
	// A topic that appears after the first TopicsChanged may change
	// before its watcher is armed: then the watcher's first look already
	// sees a modified znode (version > 0) and reports it.
	startTopic := func(t string, initial bool) {
		tmu.Lock()
		defer tmu.Unlock()
		if topicWatchers[t] {
			return
		}
		topicWatchers[t] = true
		// Only the initial topics' watchers hold up Watch's return (and
		// touch armed, which must not grow once Wait may have returned).
		spawnWatcher(initial, func(ready func()) {
			defer func() { tmu.Lock(); delete(topicWatchers, t); tmu.Unlock() }()
			c.watchData(ctx, topicPath(t), func(first bool, st *zk.Stat) bool {
				ready()
				if st == nil {
					return false
				}
				if first && (initial || st.Version == 0) {
					return true
				}
				return send(Event{Kind: TopicChanged, Name: t})
			})
		})
	}
	spawn(func(ready func()) {
		c.watchChildren(ctx, "/brokers/ids", func(names []string) bool {
			ready()
			ids := parseIDs(names)
			strs := make([]string, len(ids))
			for i, id := range ids {
				strs[i] = strconv.Itoa(int(id))
			}
			return send(Event{Kind: BrokersChanged, Names: strs})
		})
	})
	spawn(func(ready func()) {
		initial := true
		c.watchChildren(ctx, "/brokers/topics", func(names []string) bool {
			for _, t := range names {
				startTopic(t, initial)
			}
			ready() // after the initial topics' watchers joined armed
			initial = false
			return send(Event{Kind: TopicsChanged, Names: names})
		})
	})
	spawn(func(ready func()) {
		c.watchChildren(ctx, "/admin/delete_topics", func(names []string) bool {
			ready()
			return send(Event{Kind: DeletionsChanged, Names: names})
		})
	})
	spawn(func(ready func()) {
		last := ""
		started := false
		c.watchChildren(ctx, "/config/changes", func(names []string) bool {
			ready()
			if !started {
				started = true
				for _, n := range names {
					last = max(last, n)
				}
				return true
			}
			fresh := false
			for _, n := range names {
				if n <= last || !strings.HasPrefix(n, "config_change_") {
					continue
				}
				last, fresh = n, true
				data, _, err := c.get("/config/changes/" + n)
				if err != nil {
					continue // purged already
				}
				entity, err := decodeChange(data)
				if err != nil {
					c.log.Warn("ignoring malformed config change", "node", n, "err", err)
					continue
				}
				if !send(Event{Kind: ConfigChanged, Name: entity}) {
					return false
				}
			}
			if fresh {
				c.purgeNotifications(names, NotificationExpiry)
			}
			return true
		})
	})
	spawn(func(ready func()) {
		lastID := int32(-2)
		c.watchData(ctx, "/controller", func(_ bool, st *zk.Stat) bool {
			ready()
			id := int32(-1)
			if st != nil {
				if data, _, err := c.get("/controller"); err == nil {
					if v, err := decodeController(data); err == nil {
						id = v
					}
				}
			}
			if id == lastID {
				return true
			}
			lastID = id
			return send(Event{Kind: ControllerChanged, Controller: id})
		})
	})
	go func() {
		select {
		case <-ctx.Done():
		case <-c.done:
		}
		cancel()
		wg.Wait()
		close(out)
	}()
	armed.Wait() // every watcher returns ready() at the latest when it exits
	return out
}

// NotificationExpiry is how long config change notifications are kept
// (Kafka's ZkNodeChangeNotificationListener: 15 minutes).
const NotificationExpiry = 15 * time.Minute

// PurgeNotifications deletes /config/changes entries older than olderThan
// and returns how many it deleted. Watch does this on its own with
// NotificationExpiry after processing new notifications.
func (c *Client) PurgeNotifications(ctx context.Context, olderThan time.Duration) (int, error) {
	names, err := c.childrenCtx(ctx, "/config/changes")
	if errors.Is(err, zk.ErrNoNode) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	slices.Sort(names)
	return c.purgeNotifications(names, olderThan), nil
}

// purgeNotifications deletes /config/changes entries older than expiry, as
// every Kafka broker does after processing notifications. names is sorted,
// so sequence order is creation order and the scan stops at the first
// young one.
func (c *Client) purgeNotifications(names []string, expiry time.Duration) int {
	deleted := 0
	for i, n := range names {
		if i >= 10000 || !strings.HasPrefix(n, "config_change_") {
			return deleted // the rest on the next notification
		}
		ok, st, err := c.conn.Exists(c.abs("/config/changes/" + n))
		if err != nil {
			return deleted
		}
		if !ok {
			continue
		}
		if time.Since(time.UnixMilli(st.Ctime)) < expiry {
			return deleted
		}
		err = c.conn.Delete(c.abs("/config/changes/"+n), -1)
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			return deleted
		}
		if err == nil {
			deleted++
		}
	}
	return deleted
}

// watchChildren calls f with the sorted children of p now and after every
// change, until f returns false or ctx ends. A missing p is created.
func (c *Client) watchChildren(ctx context.Context, p string, f func([]string) bool) {
	for {
		if c.waitSession(ctx) != nil {
			return
		}
		session := c.sessionWatch()
		names, _, ch, err := c.conn.ChildrenW(c.abs(p))
		if errors.Is(err, zk.ErrNoNode) {
			if err := c.ensurePath(p); err != nil && !sleepCtx(ctx, c.done, 200*time.Millisecond) {
				return
			}
			continue
		}
		if err != nil {
			if !sleepCtx(ctx, c.done, 100*time.Millisecond) {
				return
			}
			continue
		}
		slices.Sort(names)
		if !f(names) {
			return
		}
		select {
		case <-ch:
		case <-session:
		case <-ctx.Done():
			return
		case <-c.done:
			return
		}
	}
}

// watchData calls f(first, stat) for p now and after every change
// (creation, data change, deletion; stat is nil while p does not exist),
// until f returns false or ctx ends.
func (c *Client) watchData(ctx context.Context, p string, f func(first bool, st *zk.Stat) bool) {
	first := true
	for {
		if c.waitSession(ctx) != nil {
			return
		}
		session := c.sessionWatch()
		ok, st, ch, err := c.conn.ExistsW(c.abs(p))
		if err != nil {
			if !sleepCtx(ctx, c.done, 100*time.Millisecond) {
				return
			}
			continue
		}
		if !ok {
			st = nil
		}
		if !f(first, st) {
			return
		}
		first = false
		select {
		case <-ch:
		case <-session:
		case <-ctx.Done():
			return
		case <-c.done:
			return
		}
	}
}
