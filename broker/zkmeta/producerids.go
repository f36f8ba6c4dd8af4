package zkmeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/go-zookeeper/zk"
)

// ProducerIDBlockSize is how many producer ids a broker takes at once
// (Kafka's ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE). Never change it: other
// brokers of a mixed cluster compute the next block from it.
const ProducerIDBlockSize = 1000

// ProducerIDBlock is a range of producer ids owned by one broker,
// [Start, End] inclusive.
type ProducerIDBlock struct {
	Broker int32
	Start  int64
	End    int64
}

// encodeProducerIDBlock renders /latest_producer_id_block:
//
//	{"version":1,"broker":0,"block_start":"0","block_end":"999"}
//
// (start and end are strings, as Kafka writes them).
func encodeProducerIDBlock(b ProducerIDBlock) []byte {
	out, _ := json.Marshal(map[string]any{
		"version":     1,
		"broker":      b.Broker,
		"block_start": strconv.FormatInt(b.Start, 10),
		"block_end":   strconv.FormatInt(b.End, 10),
	})
	return out
}

func decodeProducerIDBlock(data []byte) (ProducerIDBlock, error) {
	var raw struct {
		Broker int32  `json:"broker"`
		Start  string `json:"block_start"`
		End    string `json:"block_end"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return ProducerIDBlock{}, fmt.Errorf("%w: /latest_producer_id_block: %v", ErrCorrupt, err)
	}
	start, err1 := strconv.ParseInt(raw.Start, 10, 64)
	end, err2 := strconv.ParseInt(raw.End, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return ProducerIDBlock{}, fmt.Errorf("%w: /latest_producer_id_block %q", ErrCorrupt, data)
	}
	return ProducerIDBlock{Broker: raw.Broker, Start: start, End: end}, nil
}

// AllocateProducerIDs takes the next block of ProducerIDBlockSize producer
// ids for brokerID, as Kafka's ZK-mode ProducerIdManager does: read
// /latest_producer_id_block, then write the following block conditional on
// the znode's version, retrying when another broker won the race. Blocks
// of different brokers never overlap.
func (c *Client) AllocateProducerIDs(ctx context.Context, brokerID int32) (ProducerIDBlock, error) {
	const p = "/latest_producer_id_block"
	if err := c.ensurePathCtx(ctx, p); err != nil {
		return ProducerIDBlock{}, err
	}
	for attempt := 0; attempt < 1000; attempt++ {
		var next ProducerIDBlock
		var won bool
		err := c.retry(ctx, func() error {
			data, st, err := c.conn.Get(c.abs(p))
			if err != nil {
				return zkErr("get", p, err)
			}
			next = ProducerIDBlock{Broker: brokerID, Start: 0, End: ProducerIDBlockSize - 1}
			if len(data) > 0 {
				cur, err := decodeProducerIDBlock(data)
				if err != nil {
					return err
				}
				if cur.End > math.MaxInt64-ProducerIDBlockSize {
					return fmt.Errorf("%w: producer ids exhausted", ErrConflict)
				}
				next.Start, next.End = cur.End+1, cur.End+ProducerIDBlockSize
			}
			_, err = c.conn.Set(c.abs(p), encodeProducerIDBlock(next), st.Version)
			if errors.Is(err, zk.ErrBadVersion) {
				return nil // another broker took this block; read again
			}
			if err != nil {
				return err
			}
			won = true
			return nil
		})
		if err != nil {
			if !errors.Is(err, ErrZooKeeper) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrConflict) {
				err = zkErr("set", p, err)
			}
			return ProducerIDBlock{}, err
		}
		if won {
			return next, nil
		}
	}
	return ProducerIDBlock{}, fmt.Errorf("%w: producer id allocation kept racing", ErrConflict)
}
