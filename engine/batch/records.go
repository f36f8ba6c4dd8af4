package batch

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// RecordHeader is one record header. Value nil means null.
type RecordHeader struct {
	Key   string
	Value []byte
}

// Record is one decoded record. Key and Value nil mean null; an empty,
// non-nil slice is an empty value. Slices returned by Records alias the
// batch (uncompressed) or the decompressed buffer; they are not copies.
type Record struct {
	Attributes     int8
	TimestampDelta int64
	OffsetDelta    int32
	Key, Value     []byte
	Headers        []RecordHeader
}

// readVarint decodes a zig-zag varint of at most maxBytes bytes from b at
// *pos. It reports false on overflow or a short buffer.
func readVarint(b []byte, pos *int, maxBytes int) (int64, bool) {
	var ux uint64
	var shift uint
	p := *pos
	for i := 0; i < maxBytes; i++ {
		if p >= len(b) {
			return 0, false
		}
		c := b[p]
		p++
		ux |= uint64(c&0x7f) << shift
		if c < 0x80 {
			*pos = p
			return int64(ux>>1) ^ -int64(ux&1), true
		}
		shift += 7
	}
	return 0, false
}

func readVarint32(b []byte, pos *int) (int32, bool) {
	v, ok := readVarint(b, pos, 5)
	if !ok || v < math.MinInt32 || v > math.MaxInt32 {
		return 0, false
	}
	return int32(v), true
}

// skipBytes reads a varint length (-1 = null allowed when nullable) and
// advances past that many bytes, returning the start and length.
func skipBytes(b []byte, pos *int, nullable bool) (start, n int, ok bool) {
	l, ok := readVarint32(b, pos)
	if !ok {
		return 0, 0, false
	}
	if l < 0 {
		if l == -1 && nullable {
			return *pos, -1, true
		}
		return 0, 0, false
	}
	start = *pos
	if int(l) > len(b)-start {
		return 0, 0, false
	}
	*pos = start + int(l)
	return start, int(l), true
}

// walkRecords checks the framing of exactly count records filling b. It is
// the validation hot path: no allocations and no interface calls.
// With requireKeys a record with a null key is ErrInvalidRecord.
func walkRecords(b []byte, count int32, requireKeys bool) error {
	pos := 0
	for i := int32(0); i < count; i++ {
		end, err := recordBounds(b, &pos, i)
		if err != nil {
			return err
		}
		p := pos
		_, _, _, key, _, _, ok := recordFields(b[:end], &p)
		if !ok || p != end {
			return fmt.Errorf("%w: record %d: malformed fields", ErrInvalidRecord, i)
		}
		if requireKeys && key[1] < 0 {
			return fmt.Errorf("%w: compacted topic cannot accept a record without a key (record %d)", ErrInvalidRecord, i)
		}
		pos = end
	}
	if pos != len(b) {
		return fmt.Errorf("%w: %d bytes after the %d declared records", ErrInvalidRecord, len(b)-pos, count)
	}
	return nil
}

// recordBounds reads record i's length varint and returns the end of its body.
func recordBounds(b []byte, pos *int, i int32) (int, error) {
	l, ok := readVarint32(b, pos)
	if !ok {
		return 0, fmt.Errorf("%w: record %d: bad length varint (declared count exceeds data?)", ErrInvalidRecord, i)
	}
	if l < 1 || int(l) > len(b)-*pos {
		return 0, fmt.Errorf("%w: record %d: length %d with %d bytes left", ErrInvalidRecord, i, l, len(b)-*pos)
	}
	return *pos + int(l), nil
}

// recordFields parses one record body from b at *pos (b ends at the record's
// end). Key and value are returned as (start, length) with length -1 = null.
// Headers are checked and skipped.
func recordFields(b []byte, pos *int) (attrs int8, tsDelta int64, offDelta int32, key, value [2]int, nHeaders int32, ok bool) {
	if *pos >= len(b) {
		return
	}
	attrs = int8(b[*pos])
	*pos++
	if tsDelta, ok = readVarint(b, pos, 10); !ok {
		return
	}
	if offDelta, ok = readVarint32(b, pos); !ok {
		return
	}
	if key[0], key[1], ok = skipBytes(b, pos, true); !ok {
		return
	}
	if value[0], value[1], ok = skipBytes(b, pos, true); !ok {
		return
	}
	if nHeaders, ok = readVarint32(b, pos); !ok || nHeaders < 0 {
		ok = false
		return
	}
	for j := int32(0); j < nHeaders; j++ {
		if _, _, ok = skipBytes(b, pos, false); !ok {
			return
		}
		if _, _, ok = skipBytes(b, pos, true); !ok {
			return
		}
	}
	return attrs, tsDelta, offDelta, key, value, nHeaders, true
}

func slice(b []byte, r [2]int) []byte {
	if r[1] < 0 {
		return nil
	}
	return b[r[0] : r[0]+r[1] : r[0]+r[1]]
}

// Records decodes every record of one complete batch b, decompressing with
// at most maxDecompressed bytes of output. It checks lengths, magic and
// record framing but not the CRC (use Validate or CheckCRC for that).
func Records(b []byte, maxDecompressed int) ([]Record, error) {
	return AppendRecords(nil, nil, b, maxDecompressed)
}

// AppendRecords is Records appending to dst and decompressing into
// *scratch (grown as needed; nil for a fresh buffer), so a caller decoding
// many batches (the log cleaner) reuses both. The records alias b or
// *scratch.
func AppendRecords(dst []Record, scratch *[]byte, b []byte, maxDecompressed int) ([]Record, error) {
	h, n, err := Next(b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, fmt.Errorf("%w: %d bytes after the batch", ErrInvalidRecord, len(b)-n)
	}
	if h.NumRecords < 0 {
		return nil, fmt.Errorf("%w: record count %d", ErrInvalidRecord, h.NumRecords)
	}
	data := b[HeaderSize:]
	if c := h.Codec(); c != CodecNone {
		var buf []byte
		if scratch != nil {
			buf = (*scratch)[:0]
		}
		if data, err = decompressAppend(c, buf, data, maxDecompressed); err != nil {
			return nil, err
		}
		if scratch != nil {
			*scratch = data
		}
	}
	// Every record takes at least 7 bytes, so a count beyond that is a lie;
	// do not let it size the allocation.
	if int64(h.NumRecords) > int64(len(data)/7) {
		return nil, fmt.Errorf("%w: %d records declared in %d bytes", ErrInvalidRecord, h.NumRecords, len(data))
	}
	recs := dst[:0]
	if cap(recs) < int(h.NumRecords) {
		recs = make([]Record, 0, h.NumRecords)
	}
	pos := 0
	for i := int32(0); i < h.NumRecords; i++ {
		end, err := recordBounds(data, &pos, i)
		if err != nil {
			return nil, err
		}
		body := data[:end]
		attrs, tsDelta, offDelta, key, value, nHeaders, ok := recordFields(body, &pos)
		if !ok || pos != end {
			return nil, fmt.Errorf("%w: record %d: malformed fields", ErrInvalidRecord, i)
		}
		r := Record{Attributes: attrs, TimestampDelta: tsDelta, OffsetDelta: offDelta, Key: slice(body, key), Value: slice(body, value)}
		if nHeaders > 0 {
			// Re-walk the headers (already bounds-checked) to collect them.
			r.Headers = make([]RecordHeader, 0, nHeaders)
			hp := value[0] + max(value[1], 0)
			readVarint32(body, &hp) // header count
			for j := int32(0); j < nHeaders; j++ {
				ks, kl, _ := skipBytes(body, &hp, false)
				vs, vl, _ := skipBytes(body, &hp, true)
				r.Headers = append(r.Headers, RecordHeader{Key: string(body[ks : ks+kl]), Value: slice(body, [2]int{vs, vl})})
			}
		}
		recs = append(recs, r)
	}
	if pos != len(data) {
		return nil, fmt.Errorf("%w: %d bytes after the %d declared records", ErrInvalidRecord, len(data)-pos, h.NumRecords)
	}
	return recs, nil
}

// BuildOptions describe the batch Build writes. Producer fields are written
// as given: use NoProducerID, NoProducerEpoch and NoSequence for a batch
// from a non-idempotent producer (the zero value means producer id 0).
type BuildOptions struct {
	Codec                Codec
	BaseOffset           int64
	PartitionLeaderEpoch int32
	BaseTimestamp        int64
	MaxTimestamp         int64 // computed from the records if 0
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	Transactional        bool
	Control              bool
	LogAppendTime        bool
	// LastOffsetDelta, if larger than the records' largest offset delta,
	// is written instead: the log cleaner keeps a batch's offset range
	// when it drops records.
	LastOffsetDelta int32
	// DeleteHorizon sets attribute bit 6 (KIP-534): BaseTimestamp is then
	// the time after which the log cleaner may drop the batch's tombstones.
	DeleteHorizon bool
}

func appendVarint(b []byte, v int64) []byte {
	return binary.AppendUvarint(b, uint64(v<<1)^uint64(v>>63))
}

func varintLen(v int64) int {
	ux := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for ux >= 0x80 {
		ux >>= 7
		n++
	}
	return n
}

func appendVarBytes(b, v []byte) []byte {
	if v == nil {
		return appendVarint(b, -1)
	}
	return append(appendVarint(b, int64(len(v))), v...)
}

// appendRecord appends r with its length prefix.
func appendRecord(b []byte, r *Record) []byte {
	size := 1 + varintLen(r.TimestampDelta) + varintLen(int64(r.OffsetDelta)) +
		bytesLen(r.Key) + bytesLen(r.Value) + varintLen(int64(len(r.Headers)))
	for i := range r.Headers {
		size += varintLen(int64(len(r.Headers[i].Key))) + len(r.Headers[i].Key) + bytesLen(r.Headers[i].Value)
	}
	b = appendVarint(b, int64(size))
	b = append(b, byte(r.Attributes))
	b = appendVarint(b, r.TimestampDelta)
	b = appendVarint(b, int64(r.OffsetDelta))
	b = appendVarBytes(b, r.Key)
	b = appendVarBytes(b, r.Value)
	b = appendVarint(b, int64(len(r.Headers)))
	for i := range r.Headers {
		b = appendVarint(b, int64(len(r.Headers[i].Key)))
		b = append(b, r.Headers[i].Key...)
		b = appendVarBytes(b, r.Headers[i].Value)
	}
	return b
}

func bytesLen(v []byte) int {
	if v == nil {
		return 1
	}
	return varintLen(int64(len(v))) + len(v)
}

// Build encodes recs as one complete batch with a correct CRC. Records are
// written with their own OffsetDelta and TimestampDelta, except that when
// every OffsetDelta is zero Build numbers them 0..n-1 (a fresh batch).
// MaxTimestamp, if 0, becomes BaseTimestamp plus the largest delta (or
// BaseTimestamp for an empty batch).
func Build(opts BuildOptions, recs []Record) ([]byte, error) {
	if opts.Codec < CodecNone || opts.Codec > CodecZstd {
		return nil, fmt.Errorf("%w: codec id %d", ErrUnsupportedCodec, int8(opts.Codec))
	}
	renumber := len(recs) > 1
	for i := range recs {
		if recs[i].OffsetDelta != 0 {
			renumber = false
			break
		}
	}
	var lastDelta int32
	var maxTSDelta int64 = math.MinInt64
	body := make([]byte, 0, 64*len(recs)+64)
	for i := range recs {
		r := recs[i]
		if renumber {
			r.OffsetDelta = int32(i)
		}
		if r.OffsetDelta < 0 {
			return nil, fmt.Errorf("%w: record %d has negative offset delta %d", ErrInvalidRecord, i, r.OffsetDelta)
		}
		lastDelta = max(lastDelta, r.OffsetDelta)
		maxTSDelta = max(maxTSDelta, r.TimestampDelta)
		body = appendRecord(body, &r)
	}
	lastDelta = max(lastDelta, opts.LastOffsetDelta)
	maxTS := opts.MaxTimestamp
	if maxTS == 0 {
		maxTS = opts.BaseTimestamp
		if len(recs) > 0 {
			maxTS = opts.BaseTimestamp + maxTSDelta
		}
	}
	attrs := uint16(opts.Codec)
	if opts.LogAppendTime {
		attrs |= attrLogAppendTime
	}
	if opts.Transactional {
		attrs |= attrTransactional
	}
	if opts.Control {
		attrs |= attrControl
	}
	if opts.DeleteHorizon {
		attrs |= attrDeleteHorizon
	}
	out := make([]byte, HeaderSize, HeaderSize+len(body)+64)
	if opts.Codec != CodecNone {
		var err error
		if out, err = Compress(opts.Codec, out, body); err != nil {
			return nil, err
		}
	} else {
		out = append(out, body...)
	}
	if len(out)-LogOverhead > math.MaxInt32 {
		return nil, fmt.Errorf("%w: batch of %d bytes", ErrTooLarge, len(out))
	}
	be := binary.BigEndian
	be.PutUint64(out[offBaseOffset:], uint64(opts.BaseOffset))
	be.PutUint32(out[offLength:], uint32(len(out)-LogOverhead))
	be.PutUint32(out[offLeaderEpoch:], uint32(opts.PartitionLeaderEpoch))
	out[offMagic] = MagicV2
	be.PutUint16(out[offAttributes:], attrs)
	be.PutUint32(out[offLastOffsetDelta:], uint32(lastDelta))
	be.PutUint64(out[offBaseTimestamp:], uint64(opts.BaseTimestamp))
	be.PutUint64(out[offMaxTimestamp:], uint64(maxTS))
	be.PutUint64(out[offProducerID:], uint64(opts.ProducerID))
	be.PutUint16(out[offProducerEpoch:], uint16(opts.ProducerEpoch))
	be.PutUint32(out[offBaseSequence:], uint32(opts.BaseSequence))
	be.PutUint32(out[offNumRecords:], uint32(len(recs)))
	be.PutUint32(out[offCRC:], crc32.Checksum(out[offAttributes:], castagnoli))
	return out, nil
}
