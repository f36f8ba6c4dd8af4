package engine

import "sync"

// openCache bounds how many segments hold open files and index mappings
// (issue: ten thousand partitions must not exhaust descriptors or the
// 65530 vm.max_map_count). It is an exact LRU over segments: admitting a
// segment past the limit closes the least recently used one, whose files
// actually close once in-flight readers and Regions release them.
//
// Why not ristretto: its admission policy may refuse a Set and it evicts
// asynchronously, so an opened file could go untracked and the bound would
// be approximate; we need every open handle accounted for and closed
// deterministically. An intrusive list under one mutex costs a few tens of
// nanoseconds per segment access, which happens per read or write group,
// not per record.
type openCache struct {
	max int

	mu         sync.Mutex // guards the following and every segment's lruPrev/lruNext/cached
	n          int
	head, tail *segment // head is most recently used
}

func newOpenCache(max int) *openCache { return &openCache{max: max} }

func (c *openCache) unlinkLocked(s *segment) {
	if s.lruPrev != nil {
		s.lruPrev.lruNext = s.lruNext
	} else {
		c.head = s.lruNext
	}
	if s.lruNext != nil {
		s.lruNext.lruPrev = s.lruPrev
	} else {
		c.tail = s.lruPrev
	}
	s.lruPrev, s.lruNext = nil, nil
	s.cached = false
	c.n--
}

func (c *openCache) pushFrontLocked(s *segment) {
	s.lruNext = c.head
	s.lruPrev = nil
	if c.head != nil {
		c.head.lruPrev = s
	}
	c.head = s
	if c.tail == nil {
		c.tail = s
	}
	s.cached = true
	c.n++
}

// touch marks s most recently used (admitting it if it fell out).
func (c *openCache) touch(s *segment) {
	c.mu.Lock()
	if s.cached {
		if c.head != s {
			c.unlinkLocked(s)
			c.pushFrontLocked(s)
		}
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.admit(s)
}

// admit adds s as most recently used and closes whatever falls off the
// end. The victims are closed after the cache lock is released: closing
// takes the victim's own lock, and acquire holds a segment lock while
// calling into the cache.
func (c *openCache) admit(s *segment) {
	var victims []*segment
	c.mu.Lock()
	if s.cached {
		c.unlinkLocked(s)
	}
	c.pushFrontLocked(s)
	for c.n > c.max && c.tail != nil && c.tail != s {
		v := c.tail
		c.unlinkLocked(v)
		victims = append(victims, v)
	}
	c.mu.Unlock()
	for _, v := range victims {
		v.closeFiles()
	}
}

// remove drops s without closing it (the caller closes).
func (c *openCache) remove(s *segment) {
	c.mu.Lock()
	if s.cached {
		c.unlinkLocked(s)
	}
	c.mu.Unlock()
}

// len is the number of cached segments.
func (c *openCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
