// Package batch reads, validates and builds Kafka's RecordBatch v2 (magic 2),
// the unit Gregor stores in segment files and sends on the wire unchanged.
//
// # Batch layout (DefaultRecordBatch.java, Kafka 3.8)
//
// All integers are big-endian. The header is HeaderSize (61) bytes:
//
//	offset size field                 CRC?
//	     0    8 baseOffset            no   leader overwrites (producer sends 0)
//	     8    4 length                no   bytes after this field; batch = length + LogOverhead
//	    12    4 partitionLeaderEpoch  no   leader overwrites
//	    16    1 magic = 2             no
//	    17    4 crc (uint32)          no   CRC-32C (Castagnoli) of bytes 21..end
//	    21    2 attributes            yes
//	    23    4 lastOffsetDelta       yes
//	    27    8 baseTimestamp         yes
//	    35    8 maxTimestamp          yes
//	    43    8 producerId            yes  -1 = none
//	    51    2 producerEpoch         yes  -1 = none
//	    53    4 baseSequence          yes  -1 = none
//	    57    4 numRecords            yes
//	    61    . records               yes  compressed as one stream if codec != none
//
// Because the CRC starts at byte 21, the leader patches baseOffset and
// partitionLeaderEpoch in place without recomputing it (SetBaseOffset,
// SetPartitionLeaderEpoch). Attributes: bits 0-2 codec (0 none, 1 gzip,
// 2 snappy, 3 lz4, 4 zstd), bit 3 timestamp type (1 = LogAppendTime), bit 4
// transactional, bit 5 control, bit 6 delete horizon set (KIP-534). Codecs:
// gzip, xerial-framed or raw snappy, the LZ4 frame format, zstd.
//
// # Record layout (DefaultRecord.java)
//
// Varints are zig-zag encoded (protobuf sint32/sint64):
//
//	length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
//	keyLength varint (-1 = null) | key | valueLength varint (-1 = null) | value |
//	headerCount varint | headers: [ keyLength varint | key | valueLength varint (-1 = null) | value ]...
//
// length counts the bytes after the length varint.
//
// # Errors
//
// Errors wrap one of the package sentinels with detail. The broker maps them
// to Kafka codes at its boundary: ErrCorrupt -> CORRUPT_MESSAGE (2),
// ErrInvalidRecord -> INVALID_RECORD (87), ErrTooLarge -> MESSAGE_TOO_LARGE
// (10), ErrUnsupportedCodec -> UNSUPPORTED_COMPRESSION_TYPE (76),
// ErrTruncated -> CORRUPT_MESSAGE on produce (a torn tail during recovery),
// ErrDecompressedTooLarge -> CORRUPT_MESSAGE (a decompression bomb),
// ErrInvalidTimestamp -> INVALID_TIMESTAMP (32).
package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Wire and disk format constants. These are part of Kafka's format and must
// never change.
const (
	HeaderSize  = 61 // RECORD_BATCH_OVERHEAD: bytes before the first record
	LogOverhead = 12 // baseOffset + length: bytes not counted by length
	MagicV2     = 2

	offBaseOffset      = 0
	offLength          = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21 // first byte covered by the CRC
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offNumRecords      = 57

	// minLength is the smallest legal length field: a header with no records.
	minLength = HeaderSize - LogOverhead

	attrCodecMask     = 0x07
	attrLogAppendTime = 0x08
	attrTransactional = 0x10
	attrControl       = 0x20
	attrDeleteHorizon = 0x40
)

// Values meaning "no producer" in the producer fields of a batch.
const (
	NoProducerID    int64 = -1
	NoProducerEpoch int16 = -1
	NoSequence      int32 = -1
)

// Sentinel errors. Every error returned by this package wraps one of them.
var (
	ErrCorrupt              = errors.New("batch: corrupt message")
	ErrInvalidRecord        = errors.New("batch: invalid record")
	ErrTooLarge             = errors.New("batch: message too large")
	ErrTruncated            = errors.New("batch: truncated")
	ErrUnsupportedCodec     = errors.New("batch: unsupported compression type")
	ErrDecompressedTooLarge = errors.New("batch: decompressed size exceeds limit")
	ErrInvalidTimestamp     = errors.New("batch: invalid timestamp")
)

// castagnoli is the CRC-32C table Kafka uses for magic 2 batches.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Codec is the compression codec in attribute bits 0-2.
type Codec int8

// Kafka's codec ids. They are part of the format and must never change.
const (
	CodecNone   Codec = 0
	CodecGzip   Codec = 1
	CodecSnappy Codec = 2
	CodecLZ4    Codec = 3
	CodecZstd   Codec = 4
)

func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return fmt.Sprintf("codec(%d)", int8(c))
}

// Header is the decoded 61-byte batch header.
type Header struct {
	BaseOffset           int64
	Length               int32 // bytes after the length field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	NumRecords           int32
}

// Size is the number of bytes the batch occupies: Length + LogOverhead.
func (h Header) Size() int { return int(h.Length) + LogOverhead }

// LastOffset is the offset of the batch's last record.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// Codec is the compression codec of the records.
func (h Header) Codec() Codec { return Codec(h.Attributes & attrCodecMask) }

// IsTransactional reports the transactional attribute bit.
func (h Header) IsTransactional() bool { return h.Attributes&attrTransactional != 0 }

// IsControl reports whether the batch holds control records (transaction markers).
func (h Header) IsControl() bool { return h.Attributes&attrControl != 0 }

// LogAppendTime reports whether the timestamp type is LogAppendTime.
func (h Header) LogAppendTime() bool { return h.Attributes&attrLogAppendTime != 0 }

// DeleteHorizonMs returns the batch's delete horizon (KIP-534): when
// attribute bit 6 is set, the log cleaner stored in BaseTimestamp the time
// after which the batch's tombstones may be removed.
func (h Header) DeleteHorizonMs() (int64, bool) {
	if h.Attributes&attrDeleteHorizon == 0 {
		return 0, false
	}
	return h.BaseTimestamp, true
}

// HasProducerID reports whether the batch carries an idempotent producer id.
func (h Header) HasProducerID() bool { return h.ProducerID >= 0 }

// ParseHeader decodes the header at the start of b. It needs len(b) >=
// HeaderSize and checks only that the magic is 2 and the length field is
// sane; it neither requires the whole batch nor checks the CRC.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, header needs %d", ErrTruncated, len(b), HeaderSize)
	}
	h := decodeHeader(b)
	if h.Magic != MagicV2 {
		return h, fmt.Errorf("%w: magic %d, only magic %d is supported", ErrCorrupt, h.Magic, MagicV2)
	}
	if h.Length < minLength {
		return h, fmt.Errorf("%w: batch length %d below the minimum %d", ErrCorrupt, h.Length, minLength)
	}
	return h, nil
}

func decodeHeader(b []byte) Header {
	_ = b[HeaderSize-1]
	be := binary.BigEndian
	return Header{
		BaseOffset:           int64(be.Uint64(b[offBaseOffset:])),
		Length:               int32(be.Uint32(b[offLength:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[offLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  be.Uint32(b[offCRC:]),
		Attributes:           int16(be.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(be.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:        int64(be.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:         int64(be.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(be.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(be.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(be.Uint32(b[offBaseSequence:])),
		NumRecords:           int32(be.Uint32(b[offNumRecords:])),
	}
}

// Next reads the batch at the start of b, e.g. while walking a segment file
// or a produce payload, and returns its header and size n (b[:n] is the
// batch). It returns ErrTruncated when b holds fewer bytes than the batch
// claims (a torn tail), ErrCorrupt for impossible lengths or a magic other
// than 2, and does not check the CRC.
//
// Like Kafka's ByteBufferLogInputStream.nextBatchSize, the length and magic
// are judged before completeness, so a garbage length is reported as
// corruption rather than as a torn tail whenever the magic byte is present.
func Next(b []byte) (h Header, n int, err error) {
	if len(b) < LogOverhead {
		return Header{}, 0, fmt.Errorf("%w: %d bytes left, batch prefix needs %d", ErrTruncated, len(b), LogOverhead)
	}
	length := int32(binary.BigEndian.Uint32(b[offLength:]))
	if length < minLength {
		return Header{}, 0, fmt.Errorf("%w: batch length %d below the minimum %d", ErrCorrupt, length, minLength)
	}
	if len(b) > offMagic && b[offMagic] != MagicV2 {
		return Header{}, 0, fmt.Errorf("%w: magic %d, only magic %d is supported", ErrCorrupt, int8(b[offMagic]), MagicV2)
	}
	n = int(length) + LogOverhead
	if len(b) < n {
		return Header{}, 0, fmt.Errorf("%w: batch claims %d bytes, %d present", ErrTruncated, n, len(b))
	}
	return decodeHeader(b), n, nil
}

// CheckCRC verifies the CRC-32C of b, which must be exactly one batch.
func CheckCRC(b []byte) error {
	if len(b) < HeaderSize {
		return fmt.Errorf("%w: %d bytes, smaller than a batch header", ErrCorrupt, len(b))
	}
	want := binary.BigEndian.Uint32(b[offCRC:])
	if got := crc32.Checksum(b[offAttributes:], castagnoli); got != want {
		return fmt.Errorf("%w: crc mismatch: stored %#08x, computed %#08x", ErrCorrupt, want, got)
	}
	return nil
}

// SetBaseOffset overwrites baseOffset (bytes 0-7); the CRC stays valid.
func SetBaseOffset(b []byte, off int64) {
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(off))
}

// SetPartitionLeaderEpoch overwrites partitionLeaderEpoch (bytes 12-15); the
// CRC stays valid.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(epoch))
}

// SetLogAppendTime marks b as LogAppendTime with the given max timestamp and
// recomputes the CRC, which covers both fields (DefaultRecordBatch.setMaxTimestamp).
func SetLogAppendTime(b []byte, maxTimestamp int64) {
	attrs := binary.BigEndian.Uint16(b[offAttributes:]) | attrLogAppendTime
	binary.BigEndian.PutUint16(b[offAttributes:], attrs)
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(maxTimestamp))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
}

// Validate checks one complete batch (b must be exactly one batch) the way
// Kafka's broker does for a produce (UnifiedLog.analyzeAndValidateRecords and
// LogValidator.validateBatch), in Kafka's order:
//
//  1. lengths and magic (ErrCorrupt; ErrTruncated if b is short),
//  2. size against maxBatchBytes (ErrTooLarge),
//  3. the CRC (ErrCorrupt),
//  4. lastOffsetDelta >= 0, count > 0 and count == lastOffsetDelta+1, no
//     control batch from a client, no producer id with a negative base
//     sequence (ErrInvalidRecord),
//  5. the codec (ErrUnsupportedCodec) and the framing of every record,
//     decompressing if needed, bounded by DecompressLimit(maxBatchBytes)
//     (ErrInvalidRecord, ErrCorrupt, ErrDecompressedTooLarge).
//
// Uncompressed batches are walked in place with no allocation and no
// interface call per record; compressed ones are decompressed into a pooled
// buffer first.
func Validate(b []byte, maxBatchBytes int) (Header, error) {
	return validate(b, maxBatchBytes, DecompressLimit(maxBatchBytes), false)
}

// DecompressLimit is the cap on a batch's decompressed records that Validate
// applies: 32 times the batch size limit, at least 16 MiB and at most 1 GiB.
// Real data compresses far less than 32:1 at these sizes; a bomb stops here.
func DecompressLimit(maxBatchBytes int) int {
	const lo, hi = 16 << 20, 1 << 30
	if maxBatchBytes <= 0 || maxBatchBytes > hi/32 {
		return hi
	}
	return min(max(32*maxBatchBytes, lo), hi)
}

func validate(b []byte, maxBatchBytes, maxDecompressed int, requireKeys bool) (Header, error) {
	h, n, err := Next(b)
	if err != nil {
		return h, err
	}
	if n != len(b) {
		return h, fmt.Errorf("%w: %d bytes after the batch (one batch expected)", ErrInvalidRecord, len(b)-n)
	}
	if maxBatchBytes > 0 && n > maxBatchBytes {
		return h, fmt.Errorf("%w: batch is %d bytes, limit %d", ErrTooLarge, n, maxBatchBytes)
	}
	if err := CheckCRC(b); err != nil {
		return h, err
	}
	if h.LastOffsetDelta < 0 {
		return h, fmt.Errorf("%w: lastOffsetDelta %d is negative", ErrInvalidRecord, h.LastOffsetDelta)
	}
	if h.NumRecords <= 0 {
		return h, fmt.Errorf("%w: record count %d", ErrInvalidRecord, h.NumRecords)
	}
	if int64(h.NumRecords) != int64(h.LastOffsetDelta)+1 {
		return h, fmt.Errorf("%w: record count %d does not match offset range %d", ErrInvalidRecord, h.NumRecords, int64(h.LastOffsetDelta)+1)
	}
	if h.IsControl() {
		return h, fmt.Errorf("%w: clients must not send control batches", ErrInvalidRecord)
	}
	if h.HasProducerID() && h.BaseSequence < 0 {
		return h, fmt.Errorf("%w: producer id %d with base sequence %d", ErrInvalidRecord, h.ProducerID, h.BaseSequence)
	}
	codec := h.Codec()
	if codec == CodecNone {
		return h, walkRecords(b[HeaderSize:], h.NumRecords, requireKeys)
	}
	if codec > CodecZstd {
		return h, fmt.Errorf("%w: codec id %d", ErrUnsupportedCodec, int8(codec))
	}
	buf := getBuf()
	defer putBuf(buf)
	out, err := decompressAppend(codec, (*buf)[:0], b[HeaderSize:], maxDecompressed)
	*buf = out[:0]
	if err != nil {
		return h, err
	}
	return h, walkRecords(out, h.NumRecords, requireKeys)
}

// ValidateProduce checks the records of one partition of a Produce v3+
// request: exactly one complete batch, with baseOffset 0 as Kafka requires
// from clients, valid under Validate.
//
// An empty payload or a second batch is ErrInvalidRecord (Kafka's "must
// contain exactly one record batch"). A payload shorter than its batch
// claims wraps both ErrInvalidRecord and ErrTruncated: Kafka's batch
// iterator yields no batch for it, so Kafka answers INVALID_RECORD (87);
// map ErrInvalidRecord before ErrTruncated. A corrupt length or magic is
// ErrCorrupt (CORRUPT_MESSAGE), as in Kafka's nextBatchSize. Unlike Kafka,
// which silently trims a torn trailing fragment after one complete batch,
// any trailing bytes are rejected with ErrInvalidRecord, so the caller may
// append the payload as is. A batch marked LogAppendTime by the producer
// is ErrInvalidTimestamp (LogValidator.validateTimestamp).
func ValidateProduce(records []byte, maxBatchBytes int) (Header, error) {
	return ValidateProduceKeyed(records, maxBatchBytes, false)
}

// ValidateProduceKeyed is ValidateProduce that, with requireKeys (a
// compacted topic), also rejects any record without a key with
// ErrInvalidRecord, in the same pass over the records (Kafka's
// LogValidator: "Compacted topic cannot accept message without key").
func ValidateProduceKeyed(records []byte, maxBatchBytes int, requireKeys bool) (Header, error) {
	if len(records) == 0 {
		return Header{}, fmt.Errorf("%w: produce v3+ needs exactly one record batch, got none", ErrInvalidRecord)
	}
	if len(records) > offMagic {
		if m := int8(records[offMagic]); m == 0 || m == 1 {
			return Header{}, fmt.Errorf("%w: produce v3+ needs magic %d, got %d", ErrInvalidRecord, MagicV2, m)
		}
	}
	_, n, err := Next(records)
	if errors.Is(err, ErrTruncated) {
		return Header{}, fmt.Errorf("%w: produce v3+ needs one complete record batch: %w", ErrInvalidRecord, err)
	}
	if err != nil {
		return Header{}, err
	}
	if n != len(records) {
		return Header{}, fmt.Errorf("%w: produce v3+ needs exactly one record batch, %d bytes follow the first", ErrInvalidRecord, len(records)-n)
	}
	if off := int64(binary.BigEndian.Uint64(records)); off != 0 {
		return Header{}, fmt.Errorf("%w: client batch has baseOffset %d, must be 0", ErrInvalidRecord, off)
	}
	h, err := validate(records, maxBatchBytes, DecompressLimit(maxBatchBytes), requireKeys)
	if err == nil && h.LogAppendTime() {
		return h, fmt.Errorf("%w: producers must not set the LogAppendTime timestamp type", ErrInvalidTimestamp)
	}
	return h, err
}
