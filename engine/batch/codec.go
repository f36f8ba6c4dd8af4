package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Xerial snappy framing, as the Java client's SnappyOutputStream writes it:
//
//	magic "\x82SNAPPY\x00" (8) | version int32 = 1 | min compatible int32 = 1 |
//	blocks: [ length int32 | raw snappy block ]...
//
// Readers must also accept unframed (raw block) snappy, which librdkafka and
// older clients write. These constants are part of the format.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const (
	xerialHeaderLen = 16
	xerialBlockSize = 32 << 10 // the Java stream's block size
	// zstdMaxWindow bounds the decoder's history allocation. Producers
	// use at most 8 MiB (level 19); a larger window is refused.
	zstdMaxWindow = 16 << 20
)

var (
	gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	gzipReaders sync.Pool // *gzip.Reader; New is not possible: NewReader needs a valid stream
	lz4Writers  = sync.Pool{New: func() any { return lz4.NewWriter(nil) }}
	lz4Readers  = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
	zstdEnc     *zstd.Encoder
	zstdDecs    = sync.Pool{New: func() any {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderLowmem(true))
		if err != nil {
			panic("batch: zstd decoder options rejected: " + err.Error())
		}
		return d
	}}
	bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}
)

func init() {
	var err error
	zstdEnc, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
	if err != nil {
		panic("batch: zstd encoder options rejected: " + err.Error())
	}
}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 64<<20 { // do not pin huge buffers
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// appendWriter is an io.Writer appending to a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

// Compress appends src compressed with codec c to dst and returns the
// extended slice. Snappy is written xerial-framed like the Java client.
func Compress(c Codec, dst, src []byte) ([]byte, error) {
	switch c {
	case CodecNone:
		return append(dst, src...), nil
	case CodecGzip:
		w := &appendWriter{b: dst}
		gz := gzipWriters.Get().(*gzip.Writer)
		defer gzipWriters.Put(gz)
		gz.Reset(w)
		if _, err := gz.Write(src); err != nil {
			return dst, fmt.Errorf("batch: gzip compress: %w", err)
		}
		if err := gz.Close(); err != nil {
			return dst, fmt.Errorf("batch: gzip compress: %w", err)
		}
		return w.b, nil
	case CodecSnappy:
		dst = append(dst, xerialMagic...)
		dst = binary.BigEndian.AppendUint32(dst, 1)
		dst = binary.BigEndian.AppendUint32(dst, 1)
		for len(src) > 0 {
			n := min(len(src), xerialBlockSize)
			at := len(dst)
			dst = append(dst, make([]byte, 4+s2.MaxEncodedLen(n))...)
			block := s2.EncodeSnappy(dst[at+4:], src[:n])
			binary.BigEndian.PutUint32(dst[at:], uint32(len(block)))
			dst = dst[:at+4+len(block)]
			src = src[n:]
		}
		return dst, nil
	case CodecLZ4:
		w := &appendWriter{b: dst}
		lw := lz4Writers.Get().(*lz4.Writer)
		defer lz4Writers.Put(lw)
		lw.Reset(w)
		if _, err := lw.Write(src); err != nil {
			return dst, fmt.Errorf("batch: lz4 compress: %w", err)
		}
		if err := lw.Close(); err != nil {
			return dst, fmt.Errorf("batch: lz4 compress: %w", err)
		}
		return w.b, nil
	case CodecZstd:
		return zstdEnc.EncodeAll(src, dst), nil
	}
	return dst, fmt.Errorf("%w: codec id %d", ErrUnsupportedCodec, int8(c))
}

// Decompress returns src decompressed with codec c, refusing (with
// ErrDecompressedTooLarge) any output larger than limit bytes. Malformed
// input is ErrCorrupt.
func Decompress(c Codec, src []byte, limit int) ([]byte, error) {
	return decompressAppend(c, nil, src, limit)
}

// decompressAppend appends the decompressed src to dst; at most limit bytes
// are appended.
func decompressAppend(c Codec, dst, src []byte, limit int) ([]byte, error) {
	if limit < 0 {
		limit = 0
	}
	switch c {
	case CodecNone:
		if len(src) > limit {
			return dst, fmt.Errorf("%w: %d bytes, limit %d", ErrDecompressedTooLarge, len(src), limit)
		}
		return append(dst, src...), nil
	case CodecSnappy:
		return snappyDecode(dst, src, limit)
	case CodecZstd:
		// Refuse early when the frame declares its size; frames that do
		// not are bounded while streaming below.
		var fh zstd.Header
		if err := fh.Decode(src); err == nil && fh.HasFCS && fh.FrameContentSize > uint64(limit) {
			return dst, fmt.Errorf("%w: zstd frame declares %d bytes, limit %d", ErrDecompressedTooLarge, fh.FrameContentSize, limit)
		}
		d := zstdDecs.Get().(*zstd.Decoder)
		defer func() { d.Reset(nil); zstdDecs.Put(d) }()
		if err := d.Reset(bytes.NewReader(src)); err != nil {
			return dst, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
		}
		return readLimited(dst, d, limit, "zstd")
	case CodecGzip:
		var zr *gzip.Reader
		var err error
		if v := gzipReaders.Get(); v != nil {
			zr = v.(*gzip.Reader)
			err = zr.Reset(bytes.NewReader(src))
		} else {
			zr, err = gzip.NewReader(bytes.NewReader(src))
		}
		if err != nil {
			return dst, fmt.Errorf("%w: gzip: %v", ErrCorrupt, err)
		}
		defer gzipReaders.Put(zr)
		return readLimited(dst, zr, limit, "gzip")
	case CodecLZ4:
		lr := lz4Readers.Get().(*lz4.Reader)
		defer func() { lr.Reset(nil); lz4Readers.Put(lr) }()
		lr.Reset(bytes.NewReader(src))
		return readLimited(dst, lr, limit, "lz4")
	}
	return dst, fmt.Errorf("%w: codec id %d", ErrUnsupportedCodec, int8(c))
}

// readLimited appends everything r yields to dst, failing once more than
// limit bytes arrive.
func readLimited(dst []byte, r io.Reader, limit int, name string) ([]byte, error) {
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		room := cap(dst) - len(dst)
		if over := len(dst) - start + room - (limit + 1); over > 0 {
			room -= over // read at most limit+1 bytes in total
		}
		n, err := r.Read(dst[len(dst) : len(dst)+room])
		dst = dst[:len(dst)+n]
		if len(dst)-start > limit {
			return dst[:start], fmt.Errorf("%w: %s output exceeds %d bytes", ErrDecompressedTooLarge, name, limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
				return dst[:start], fmt.Errorf("%w: %s: %v", ErrDecompressedTooLarge, name, err)
			}
			return dst[:start], fmt.Errorf("%w: %s: %v", ErrCorrupt, name, err)
		}
	}
}

// snappyDecode decodes xerial-framed or raw snappy, checking each block's
// declared length against the limit before decoding it.
func snappyDecode(dst, src []byte, limit int) ([]byte, error) {
	start := len(dst)
	if len(src) < xerialHeaderLen || !bytes.Equal(src[:len(xerialMagic)], xerialMagic) {
		return snappyBlock(dst, src, limit)
	}
	src = src[xerialHeaderLen:]
	for len(src) > 0 {
		if len(src) < 4 {
			return dst[:start], fmt.Errorf("%w: snappy: truncated xerial block length", ErrCorrupt)
		}
		n := int(int32(binary.BigEndian.Uint32(src)))
		src = src[4:]
		if n < 0 || n > len(src) {
			return dst[:start], fmt.Errorf("%w: snappy: xerial block of %d bytes with %d left", ErrCorrupt, n, len(src))
		}
		var err error
		if dst, err = snappyBlock(dst, src[:n], limit-(len(dst)-start)); err != nil {
			return dst[:start], err
		}
		src = src[n:]
	}
	return dst, nil
}

func snappyBlock(dst, block []byte, limit int) ([]byte, error) {
	n, err := s2.DecodedLen(block)
	if err != nil {
		return dst, fmt.Errorf("%w: snappy: %v", ErrCorrupt, err)
	}
	if n > limit {
		return dst, fmt.Errorf("%w: snappy block declares %d bytes, limit %d", ErrDecompressedTooLarge, n, limit)
	}
	at := len(dst)
	if cap(dst)-at < n {
		grown := make([]byte, at, at+n+at/4)
		copy(grown, dst)
		dst = grown
	}
	out, err := s2.Decode(dst[at:at+n], block)
	if err != nil {
		return dst[:at], fmt.Errorf("%w: snappy: %v", ErrCorrupt, err)
	}
	if len(out) != n {
		return dst[:at], fmt.Errorf("%w: snappy: decoded %d bytes, header said %d", ErrCorrupt, len(out), n)
	}
	return dst[:at+n], nil
}
