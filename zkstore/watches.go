package zkstore

import "sort"

// Watcher is whoever registered a watch: a client connection. Watches are
// local to the server and never replicated or persisted.
type Watcher interface {
	// SessionID names the watcher in wchc/wchp output.
	SessionID() int64
}

// Watch modes (WatcherMode). A (path, connection) pair has one mode per
// table: a later registration replaces the mode, as in ZooKeeper.
type watchMode uint8

const (
	modeStandard  watchMode = iota // one-shot
	modePersist                    // addWatch mode 0
	modeRecursive                  // addWatch mode 1
)

// Watch types of removeWatches/checkWatches (WatcherType).
const (
	WatcherTypeChildren int32 = 1
	WatcherTypeData     int32 = 2
	WatcherTypeAny      int32 = 3
)

// Fired is an event due to one watcher.
type Fired struct {
	W  Watcher
	Ev Event
}

// watchTable is one of ZooKeeper's two WatchManagers (data and child).
type watchTable struct {
	byPath    map[string]map[Watcher]watchMode
	byWatcher map[Watcher]map[string]struct{}
	recursive int // entries in modeRecursive
}

func newWatchTable() watchTable {
	return watchTable{byPath: make(map[string]map[Watcher]watchMode), byWatcher: make(map[Watcher]map[string]struct{})}
}

func (t *watchTable) set(p string, w Watcher, m watchMode) {
	s := t.byPath[p]
	if s == nil {
		s = make(map[Watcher]watchMode)
		t.byPath[p] = s
	}
	if old, ok := s[w]; ok && old == modeRecursive {
		t.recursive--
	}
	s[w] = m
	if m == modeRecursive {
		t.recursive++
	}
	ps := t.byWatcher[w]
	if ps == nil {
		ps = make(map[string]struct{})
		t.byWatcher[w] = ps
	}
	ps[p] = struct{}{}
}

func (t *watchTable) remove(p string, w Watcher) bool {
	s := t.byPath[p]
	m, ok := s[w]
	if !ok {
		return false
	}
	if m == modeRecursive {
		t.recursive--
	}
	delete(s, w)
	if len(s) == 0 {
		delete(t.byPath, p)
	}
	if ps := t.byWatcher[w]; ps != nil {
		delete(ps, p)
		if len(ps) == 0 {
			delete(t.byWatcher, w)
		}
	}
	return true
}

func (t *watchTable) has(p string, w Watcher) bool {
	_, ok := t.byPath[p][w]
	return ok
}

func (t *watchTable) removeWatcher(w Watcher) {
	for p := range t.byWatcher[w] {
		s := t.byPath[p]
		if s[w] == modeRecursive {
			t.recursive--
		}
		delete(s, w)
		if len(s) == 0 {
			delete(t.byPath, p)
		}
	}
	delete(t.byWatcher, w)
}

// trigger is WatchManager.triggerWatch: every watcher on the path fires
// (one-shot ones are removed), and recursive watchers on the path's
// ancestors fire too, except for NodeChildrenChanged, which recursive
// watchers never get. Watchers in suppress are skipped.
func (t *watchTable) trigger(p string, typ int32, suppress map[Watcher]struct{}) map[Watcher]struct{} {
	var fired map[Watcher]struct{}
	add := func(w Watcher) {
		if _, skip := suppress[w]; skip {
			return
		}
		if fired == nil {
			fired = make(map[Watcher]struct{})
		}
		fired[w] = struct{}{}
	}
	for cur, atParent := p, false; ; atParent = true {
		for w, m := range t.byPath[cur] {
			switch {
			case m == modeRecursive:
				if typ != EventNodeChildrenChanged {
					add(w)
				}
			case !atParent:
				add(w)
				if m == modeStandard {
					t.remove(cur, w)
				}
			}
		}
		if t.recursive == 0 || cur == "/" {
			break
		}
		cur, _ = splitPath(cur)
	}
	return fired
}

func (t *watchTable) count() int {
	n := 0
	for _, s := range t.byPath {
		n += len(s)
	}
	return n
}

// WatchManager holds every watch, in ZooKeeper's two tables: data (getData
// and exists watches) and child (getChildren watches); addWatch registers
// its mode in both. Not safe for concurrent use; the server guards it.
type WatchManager struct {
	data, child watchTable
}

// NewWatchManager returns an empty watch manager.
func NewWatchManager() *WatchManager {
	return &WatchManager{data: newWatchTable(), child: newWatchTable()}
}

// AddData registers a one-shot data (or exist) watch.
func (m *WatchManager) AddData(p string, w Watcher) { m.data.set(p, w, modeStandard) }

// AddChild registers a one-shot child watch.
func (m *WatchManager) AddChild(p string, w Watcher) { m.child.set(p, w, modeStandard) }

// AddPersistent registers an addWatch watch (recursive selects mode 1) in
// both tables, replacing whatever mode the connection had on the path.
func (m *WatchManager) AddPersistent(p string, w Watcher, recursive bool) {
	mode := modePersist
	if recursive {
		mode = modeRecursive
	}
	m.data.set(p, w, mode)
	m.child.set(p, w, mode)
}

// Remove removes w's watches of a type on p, whatever their mode, and
// reports whether any existed (false means NoWatcher).
func (m *WatchManager) Remove(p string, typ int32, w Watcher) bool {
	switch typ {
	case WatcherTypeChildren:
		return m.child.remove(p, w)
	case WatcherTypeData:
		return m.data.remove(p, w)
	case WatcherTypeAny:
		c := m.child.remove(p, w)
		d := m.data.remove(p, w)
		return c || d
	}
	return false
}

// Check reports whether w has a watch of the type on p.
func (m *WatchManager) Check(p string, typ int32, w Watcher) bool {
	switch typ {
	case WatcherTypeChildren:
		return m.child.has(p, w)
	case WatcherTypeData:
		return m.data.has(p, w)
	case WatcherTypeAny:
		return m.child.has(p, w) || m.data.has(p, w)
	}
	return false
}

// RemoveWatcher drops every watch of a closed connection.
func (m *WatchManager) RemoveWatcher(w Watcher) {
	m.data.removeWatcher(w)
	m.child.removeWatcher(w)
}

// Trigger matches the tree's events against the watches as DataTree does:
// NodeCreated and NodeDataChanged on the data table, NodeChildrenChanged
// on the child table, NodeDeleted on both (a watcher gets it once). It
// removes fired one-shot watches and returns the deliveries in event order.
func (m *WatchManager) Trigger(evs []Event) []Fired {
	var out []Fired
	emit := func(set map[Watcher]struct{}, ev Event) {
		for w := range set {
			out = append(out, Fired{W: w, Ev: ev})
		}
	}
	for _, ev := range evs {
		switch ev.Type {
		case EventNodeCreated, EventNodeDataChanged:
			emit(m.data.trigger(ev.Path, ev.Type, nil), ev)
		case EventNodeChildrenChanged:
			emit(m.child.trigger(ev.Path, ev.Type, nil), ev)
		case EventNodeDeleted:
			d := m.data.trigger(ev.Path, ev.Type, nil)
			emit(d, ev)
			emit(m.child.trigger(ev.Path, ev.Type, d), ev)
		}
	}
	return out
}

// Count returns the number of watches (zk_watch_count: both tables).
func (m *WatchManager) Count() int { return m.data.count() + m.child.count() }

// DataWatchSummary returns (connections, paths, watches) over the data
// table, as wchs reports them.
func (m *WatchManager) DataWatchSummary() (conns, paths, total int) {
	return len(m.data.byWatcher), len(m.data.byPath), m.data.count()
}

// DataWatchesByWatcher returns each watcher's data-watch paths, sorted.
func (m *WatchManager) DataWatchesByWatcher() map[Watcher][]string {
	out := make(map[Watcher][]string)
	for w, ps := range m.data.byWatcher {
		for p := range ps {
			out[w] = append(out[w], p)
		}
		sort.Strings(out[w])
	}
	return out
}

// DataWatchesByPath returns each watched path's watchers.
func (m *WatchManager) DataWatchesByPath() map[string][]Watcher {
	out := make(map[string][]Watcher)
	for p, s := range m.data.byPath {
		for w := range s {
			out[p] = append(out[p], w)
		}
	}
	return out
}
