package engine

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gregorlog/gregor/engine/batch"
)

// TestPropertyReadFindsEveryOffset: for random batch sizes, record counts,
// segment sizes and index intervals, every offset reads back from the batch
// holding it, capped reads never pass the cap, and the result is the same
// after a clean reopen and after an unclean one (rebuilt indexes).
func TestPropertyReadFindsEveryOffset(t *testing.T) {
	seeds := 8
	if testing.Short() {
		seeds = 3
	}
	for seed := 0; seed < seeds; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		cfg := testConfig(t.TempDir())
		cfg.SegmentBytes = int64(500 + rng.IntN(20_000))
		cfg.IndexIntervalBytes = int32(rng.IntN(2000))
		m := openT(t, cfg, Options{})
		l, _ := m.CreateLog("p", 0, TopicConfig{})
		type span struct{ base, last int64 }
		var spans []span
		var want [][]byte
		for i := 0; i < 150+rng.IntN(150); i++ {
			b := mkBatch(t, 1+rng.IntN(6), rng.IntN(400), int64(i), seed*1000+i)
			r := appendT(t, l, b)
			spans = append(spans, span{r.BaseOffset, r.LastOffset})
			want = append(want, stored(b, r.BaseOffset, 3))
		}
		check := func(l *Log, stage string) {
			leo := l.LogEndOffset()
			for i, sp := range spans {
				for off := sp.base; off <= sp.last; off++ {
					b, err := l.ReadCopy(off, 1, leo, true)
					if err != nil || !bytes.Equal(b, want[i]) {
						t.Fatalf("seed %d %s: offset %d: got %d bytes, want batch %d (%v)", seed, stage, off, len(b), i, err)
					}
				}
			}
			// A cap inside the log: nothing at or past it is returned.
			capOff := spans[len(spans)/2].base
			for _, sp := range spans[:len(spans)/2] {
				b, err := l.ReadCopy(sp.base, 1<<20, capOff, false)
				if err != nil {
					t.Fatal(err)
				}
				for len(b) > 0 {
					h, n, err := batch.Next(b)
					if err != nil {
						break
					}
					if h.LastOffset() >= capOff {
						t.Fatalf("seed %d %s: read from %d returned batch %d past cap %d", seed, stage, sp.base, h.BaseOffset, capOff)
					}
					b = b[n:]
				}
			}
		}
		check(l, "live")
		m.Close()
		m = openT(t, cfg, Options{})
		l, _ = m.Log("p", 0)
		check(l, "clean reopen")
		m.crash()
		os.Remove(filepath.Join(cfg.Dirs[0], recoveryPointCheckpoint))
		m = openT(t, cfg, Options{})
		l, _ = m.Log("p", 0)
		check(l, "unclean reopen")
		m.Close()
	}
}

// TestIndexLookupModel checks the offset and time index lookups against a
// linear search over random monotonic entries.
func TestIndexLookupModel(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	oi := offsetIndex{newIndex(filepath.Join(dir, "x.index"), offsetEntrySize, 8*1000)}
	ti := timeIndex{newIndex(filepath.Join(dir, "x.timeindex"), timeEntrySize, 12*1000)}
	for _, ix := range []*index{oi.index, ti.index} {
		ix.mu.Lock()
		if err := ix.openLocked(OSFS{}, true); err != nil {
			t.Fatal(err)
		}
		ix.mu.Unlock()
	}
	type ent struct{ rel, pos int32 }
	var model []ent
	var tmodel []struct {
		ts  int64
		rel int32
	}
	rel, pos, ts := int32(0), int32(0), int64(1000)
	for i := 0; i < 1000; i++ {
		rel += 1 + rng.Int32N(20)
		pos += 1 + rng.Int32N(5000)
		ts += rng.Int64N(3) // sometimes equal: not appended
		if err := oi.append(rel, pos); err != nil {
			t.Fatal(err)
		}
		model = append(model, ent{rel, pos})
		if len(tmodel) == 0 || ts > tmodel[len(tmodel)-1].ts {
			tmodel = append(tmodel, struct {
				ts  int64
				rel int32
			}{ts, rel})
		}
		if err := ti.maybeAppend(ts, rel); err != nil {
			t.Fatal(err)
		}
	}
	if !oi.isFull() || int(ti.entries.Load()) != len(tmodel) {
		t.Fatalf("entries %d/%d", oi.entries.Load(), ti.entries.Load())
	}
	if err := oi.append(rel+1, pos+1); err == nil {
		t.Fatal("append to a full index succeeded")
	}
	for q := int32(-1); q < rel+5; q += 1 + rng.Int32N(3) {
		var wr, wp int32
		for _, e := range model {
			if e.rel <= q {
				wr, wp = e.rel, e.pos
			}
		}
		gr, gp, err := oi.lookup(q)
		if err != nil || gr != wr || gp != wp {
			t.Fatalf("lookup %d: got (%d,%d), want (%d,%d)", q, gr, gp, wr, wp)
		}
	}
	for q := int64(990); q < ts+5; q++ {
		found := false
		var wts int64
		var wrel int32
		for _, e := range tmodel {
			if e.ts <= q {
				found, wts, wrel = true, e.ts, e.rel
			}
		}
		gts, grel, gfound, err := ti.lookup(q)
		if err != nil || gfound != found || (found && (gts != wts || grel != wrel)) {
			t.Fatalf("time lookup %d: got (%d,%d,%v), want (%d,%d,%v)", q, gts, grel, gfound, wts, wrel, found)
		}
	}
	// Trim cuts the files to the valid entries; the bytes are the model's.
	if err := oi.trim(OSFS{}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(oi.path)
	if len(b) != 8*len(model) {
		t.Fatalf("trimmed to %d bytes", len(b))
	}
	for i, e := range model {
		if int32(binary.BigEndian.Uint32(b[8*i:])) != e.rel || int32(binary.BigEndian.Uint32(b[8*i+4:])) != e.pos {
			t.Fatalf("entry %d on disk differs", i)
		}
	}
	// Truncation drops entries at or past a relative offset.
	if err := ti.truncateTo(model[500].rel); err != nil {
		t.Fatal(err)
	}
	if _, last, ok, _ := ti.last(); !ok || last >= model[500].rel {
		t.Fatalf("time index after truncate ends at %d", last)
	}
	ti.close()
}
