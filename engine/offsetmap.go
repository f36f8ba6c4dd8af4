package engine

import "github.com/cespare/xxhash/v2"

// offsetMap is the cleaner's key map (Kafka's SkimpyOffsetMap): key hash ->
// latest offset, in a fixed open-addressing table sized from the dedupe
// buffer. Keys are not stored, only their 64-bit xxhash; two keys with the
// same hash would make the older one's records look superseded. Kafka
// takes the same (MD5, 128-bit) risk; at 2^-64 per pair it is below the
// rate of undetected disk errors for any realistic key count.
//
// 16 bytes per slot (hash, offset); hash 0 marks an empty slot (a key
// hashing to 0 is stored as 1). The map is filled to at most
// offsetMapLoadFactor of its slots, as Kafka's dedupeBufferLoadFactor.
type offsetMap struct {
	hashes  []uint64
	offsets []int64
	mask    uint64
	used    int
	// growAt is when the table doubles; maxSlots is the most slots the
	// dedupe buffer allows and maxUsed the most entries the map accepts.
	growAt   int
	maxSlots int
	maxUsed  int
	// latestOffset is the last offset put, -1 when empty.
	latestOffset int64
}

const (
	offsetMapSlotBytes  = 16
	offsetMapLoadFactor = 0.9
	offsetMapMinSlots   = 1 << 10
	offsetMapStartSlots = 1 << 16
)

// newOffsetMap makes a map that may use up to memBytes (at least 1024
// slots). Unlike Kafka's preallocated buffer the table starts small and
// doubles as keys arrive, so a log with few keys never touches the whole
// dedupe buffer; the bound on entries is the same.
func newOffsetMap(memBytes int64) *offsetMap {
	slots := int64(offsetMapMinSlots)
	for slots*2*offsetMapSlotBytes <= memBytes {
		slots *= 2
	}
	m := &offsetMap{maxSlots: int(slots), maxUsed: int(float64(slots) * offsetMapLoadFactor)}
	m.alloc(min(int(slots), offsetMapStartSlots))
	m.latestOffset = -1
	return m
}

func (m *offsetMap) alloc(slots int) {
	m.hashes = make([]uint64, slots)
	m.offsets = make([]int64, slots)
	m.mask = uint64(slots - 1)
	m.growAt = int(float64(slots) * offsetMapLoadFactor)
}

// grow doubles the table and reinserts every entry.
func (m *offsetMap) grow() {
	oh, oo := m.hashes, m.offsets
	m.alloc(len(oh) * 2)
	for i, h := range oh {
		if h == 0 {
			continue
		}
		j := h & m.mask
		for m.hashes[j] != 0 {
			j = (j + 1) & m.mask
		}
		m.hashes[j], m.offsets[j] = h, oo[i]
	}
}

func (m *offsetMap) clear() {
	clear(m.hashes)
	m.used = 0
	m.latestOffset = -1
}

func keyHash(key []byte) uint64 {
	h := xxhash.Sum64(key)
	if h == 0 {
		h = 1
	}
	return h
}

// full reports whether n more distinct keys might not fit.
func (m *offsetMap) full(n int) bool { return m.used+n > m.maxUsed }

// put records offset as the latest for key. The caller checks full first.
func (m *offsetMap) put(key []byte, offset int64) {
	h := keyHash(key)
	i := h & m.mask
	for {
		switch m.hashes[i] {
		case 0:
			if m.used >= m.growAt && len(m.hashes) < m.maxSlots {
				m.grow()
				m.put(key, offset)
				return
			}
			m.hashes[i] = h
			m.offsets[i] = offset
			m.used++
			m.latestOffset = offset
			return
		case h:
			m.offsets[i] = offset
			m.latestOffset = offset
			return
		}
		i = (i + 1) & m.mask
	}
}

// get returns the latest offset for key, or -1.
func (m *offsetMap) get(key []byte) int64 {
	h := keyHash(key)
	i := h & m.mask
	for {
		switch m.hashes[i] {
		case 0:
			return -1
		case h:
			return m.offsets[i]
		}
		i = (i + 1) & m.mask
	}
}

// utilization is the fraction of the dedupe buffer's slots in use.
func (m *offsetMap) utilization() float64 { return float64(m.used) / float64(m.maxSlots) }
