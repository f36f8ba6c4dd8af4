package zkstore

import "sort"

// Watcher is whoever registered a watch: a client connection. Watches are
// local to the server and never replicated or persisted.
type Watcher interface {
	// SessionID names the watcher in wchc/wchp output.
	SessionID() int64
}

// Watch kinds.
const (
	watchData      = iota // getData/exists: one-shot data and exist watches
	watchChild            // getChildren: one-shot child watches
	watchPersist          // addWatch mode 0
	watchRecursive        // addWatch mode 1
	numWatchKinds
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

// WatchManager holds every watch by kind, path and watcher. Not safe for
// concurrent use; the server guards it.
type WatchManager struct {
	byPath    [numWatchKinds]map[string]map[Watcher]struct{}
	byWatcher map[Watcher]*[numWatchKinds]map[string]struct{}
}

// NewWatchManager returns an empty watch manager.
func NewWatchManager() *WatchManager {
	m := &WatchManager{byWatcher: make(map[Watcher]*[numWatchKinds]map[string]struct{})}
	for i := range m.byPath {
		m.byPath[i] = make(map[string]map[Watcher]struct{})
	}
	return m
}

func (m *WatchManager) add(kind int, p string, w Watcher) {
	s := m.byPath[kind][p]
	if s == nil {
		s = make(map[Watcher]struct{})
		m.byPath[kind][p] = s
	}
	s[w] = struct{}{}
	ws := m.byWatcher[w]
	if ws == nil {
		ws = new([numWatchKinds]map[string]struct{})
		m.byWatcher[w] = ws
	}
	if ws[kind] == nil {
		ws[kind] = make(map[string]struct{})
	}
	ws[kind][p] = struct{}{}
}

func (m *WatchManager) remove(kind int, p string, w Watcher) bool {
	s := m.byPath[kind][p]
	if _, ok := s[w]; !ok {
		return false
	}
	delete(s, w)
	if len(s) == 0 {
		delete(m.byPath[kind], p)
	}
	if ws := m.byWatcher[w]; ws != nil {
		delete(ws[kind], p)
	}
	return true
}

func (m *WatchManager) has(kind int, p string, w Watcher) bool {
	_, ok := m.byPath[kind][p][w]
	return ok
}

// AddData registers a one-shot data (or exist) watch.
func (m *WatchManager) AddData(p string, w Watcher) { m.add(watchData, p, w) }

// AddChild registers a one-shot child watch.
func (m *WatchManager) AddChild(p string, w Watcher) { m.add(watchChild, p, w) }

// AddPersistent registers an addWatch watch; recursive selects mode 1. A
// connection holds one persistent mode per path: the last addWatch wins,
// as in ZooKeeper.
func (m *WatchManager) AddPersistent(p string, w Watcher, recursive bool) {
	m.remove(watchPersist, p, w)
	m.remove(watchRecursive, p, w)
	if recursive {
		m.add(watchRecursive, p, w)
	} else {
		m.add(watchPersist, p, w)
	}
}

func kindsFor(typ int32) []int {
	switch typ {
	case WatcherTypeChildren:
		return []int{watchChild}
	case WatcherTypeData:
		return []int{watchData}
	case WatcherTypeAny:
		return []int{watchData, watchChild, watchPersist, watchRecursive}
	}
	return nil
}

// Remove removes w's watches of a type on p and reports whether any existed
// (false means NoWatcher).
func (m *WatchManager) Remove(p string, typ int32, w Watcher) bool {
	found := false
	for _, k := range kindsFor(typ) {
		if m.remove(k, p, w) {
			found = true
		}
	}
	return found
}

// Check reports whether w has a watch of the type on p.
func (m *WatchManager) Check(p string, typ int32, w Watcher) bool {
	for _, k := range kindsFor(typ) {
		if m.has(k, p, w) {
			return true
		}
	}
	return false
}

// RemoveWatcher drops every watch of a closed connection.
func (m *WatchManager) RemoveWatcher(w Watcher) {
	ws := m.byWatcher[w]
	if ws == nil {
		return
	}
	for k := range ws {
		for p := range ws[k] {
			s := m.byPath[k][p]
			delete(s, w)
			if len(s) == 0 {
				delete(m.byPath[k], p)
			}
		}
	}
	delete(m.byWatcher, w)
}

// Trigger matches events against the watches, removes fired one-shot
// watches and returns the deliveries in event order. A watcher gets at most
// one delivery per event even when several of its watches match.
func (m *WatchManager) Trigger(evs []Event) []Fired {
	var out []Fired
	var seen map[Watcher]struct{}
	for _, ev := range evs {
		clear(seen)
		fire := func(kind int, p string, oneShot bool) {
			s := m.byPath[kind][p]
			for w := range s {
				if seen == nil {
					seen = make(map[Watcher]struct{})
				}
				if _, dup := seen[w]; !dup {
					seen[w] = struct{}{}
					out = append(out, Fired{W: w, Ev: ev})
				}
				if oneShot {
					if ws := m.byWatcher[w]; ws != nil {
						delete(ws[kind], p)
					}
				}
			}
			if oneShot && s != nil {
				delete(m.byPath[kind], p)
			}
		}
		switch ev.Type {
		case EventNodeCreated, EventNodeDataChanged:
			fire(watchData, ev.Path, true)
		case EventNodeDeleted:
			fire(watchData, ev.Path, true)
			fire(watchChild, ev.Path, true)
		case EventNodeChildrenChanged:
			fire(watchChild, ev.Path, true)
		}
		fire(watchPersist, ev.Path, false)
		if ev.Type != EventNodeChildrenChanged && len(m.byPath[watchRecursive]) > 0 {
			for p := ev.Path; ; {
				fire(watchRecursive, p, false)
				if p == "/" {
					break
				}
				p, _ = splitPath(p)
			}
		}
	}
	return out
}

// Count returns the number of watches (zk_watch_count: data and child).
func (m *WatchManager) Count() int {
	n := 0
	for k := range m.byPath {
		for _, s := range m.byPath[k] {
			n += len(s)
		}
	}
	return n
}

// DataWatchSummary returns (connections, paths, watches) over data and
// exist watches, as wchs reports them.
func (m *WatchManager) DataWatchSummary() (conns, paths, total int) {
	for _, s := range m.byPath[watchData] {
		total += len(s)
	}
	for _, ws := range m.byWatcher {
		if len(ws[watchData]) > 0 {
			conns++
		}
	}
	return conns, len(m.byPath[watchData]), total
}

// DataWatchesByWatcher returns each watcher's data-watch paths, sorted.
func (m *WatchManager) DataWatchesByWatcher() map[Watcher][]string {
	out := make(map[Watcher][]string)
	for w, ws := range m.byWatcher {
		for p := range ws[watchData] {
			out[w] = append(out[w], p)
		}
		if out[w] != nil {
			sort.Strings(out[w])
		}
	}
	return out
}

// DataWatchesByPath returns each watched path's watchers.
func (m *WatchManager) DataWatchesByPath() map[string][]Watcher {
	out := make(map[string][]Watcher)
	for p, s := range m.byPath[watchData] {
		for w := range s {
			out[p] = append(out[p], w)
		}
	}
	return out
}
