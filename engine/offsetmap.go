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
	// maxUsed is the most entries the map accepts.
	maxUsed int
	// latestOffset is the last offset put, -1 when empty.
	latestOffset int64
}

const (
	offsetMapSlotBytes  = 16
	offsetMapLoadFactor = 0.9
)

// newOffsetMap makes a map using at most memBytes (at least 1024 slots).
func newOffsetMap(memBytes int64) *offsetMap {
	slots := int64(1024)
	for slots*2*offsetMapSlotBytes <= memBytes {
		slots *= 2
	}
	m := &offsetMap{
		hashes:  make([]uint64, slots),
		offsets: make([]int64, slots),
		mask:    uint64(slots - 1),
		maxUsed: int(float64(slots) * offsetMapLoadFactor),
	}
	m.latestOffset = -1
	return m
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

// utilization is the fraction of slots in use.
func (m *offsetMap) utilization() float64 { return float64(m.used) / float64(len(m.hashes)) }
