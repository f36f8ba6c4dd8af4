package broker

// InitProducerId (key 22), v0-4, as Kafka 3.8 for idempotent producers.
//
// Without a transactional id the broker hands out a fresh producer id
// (epoch 0). Ids come in blocks of 1000 reserved in ZooKeeper at
// /latest_producer_id_block, Kafka's ZK-mode layout, with a versioned
// write so two brokers never get the same block:
//
//	{"version":1,"broker":0,"block_start":"1000","block_end":"1999"}
//
// v3+ (KIP-360) may name the producer's current id and epoch: the answer
// is the same id with the epoch bumped (a new id once the epoch would
// overflow). Transactions are not implemented: a transactional id is
// answered NOT_COORDINATOR, and FindCoordinator is not advertised, so
// clients never get that far.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/go-zookeeper/zk"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.InitProducerID, 0, 4, handleInitProducerID) }

const producerIDBlockSize = 1000

func handleInitProducerID(b *Broker, ctx context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.InitProducerIDRequest)
	resp := q.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if q.TransactionalID != nil {
		resp.ErrorCode = kerr.NotCoordinator.Code
		return respond(r, resp)
	}
	if r.APIVersion >= 3 && q.ProducerID >= 0 && q.ProducerEpoch >= 0 && q.ProducerEpoch < math.MaxInt16-1 {
		resp.ProducerID, resp.ProducerEpoch = q.ProducerID, q.ProducerEpoch+1
		return respond(r, resp)
	}
	id, err := b.nextProducerID(ctx)
	if err != nil {
		b.log.Warn("allocating a producer id", "err", err)
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return respond(r, resp)
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return respond(r, resp)
}

func (b *Broker) nextProducerID(ctx context.Context) (int64, error) {
	b.pidMu.Lock()
	defer b.pidMu.Unlock()
	if b.pidEnd < 0 || b.pidNext > b.pidEnd {
		start, end, err := b.allocateProducerIDBlock(ctx)
		if err != nil {
			return 0, err
		}
		b.pidNext, b.pidEnd = start, end
	}
	id := b.pidNext
	b.pidNext++
	return id, nil
}

type producerIDBlock struct {
	Version    int    `json:"version"`
	Broker     int32  `json:"broker"`
	BlockStart string `json:"block_start"`
	BlockEnd   string `json:"block_end"`
}

// allocateProducerIDBlock reserves the next block with a conditional
// write of /latest_producer_id_block (ZkProducerIdManager).
func (b *Broker) allocateProducerIDBlock(ctx context.Context) (int64, int64, error) {
	conn := b.zk.Conn()
	p := path.Join("/"+b.chroot(), "latest_producer_id_block")
	for range 100 {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		data, st, err := conn.Get(p)
		start := int64(0)
		switch {
		case errors.Is(err, zk.ErrNoNode):
		case err != nil:
			return 0, 0, fmt.Errorf("%w: %w", errCoordinator, err)
		case len(data) == 0:
			// Created empty by the start-up path creation, as in Kafka.
		default:
			var cur producerIDBlock
			if json.Unmarshal(data, &cur) != nil {
				return 0, 0, fmt.Errorf("%w: %s holds %q", errCoordinator, p, data)
			}
			end, err := strconv.ParseInt(cur.BlockEnd, 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("%w: %s holds %q", errCoordinator, p, data)
			}
			start = end + 1
		}
		end := start + producerIDBlockSize - 1
		nb, _ := json.Marshal(producerIDBlock{Version: 1, Broker: b.id, BlockStart: strconv.FormatInt(start, 10), BlockEnd: strconv.FormatInt(end, 10)})
		if st == nil {
			_, err = conn.Create(p, nb, 0, zk.WorldACL(zk.PermAll))
		} else {
			_, err = conn.Set(p, nb, st.Version)
		}
		if errors.Is(err, zk.ErrNodeExists) || errors.Is(err, zk.ErrBadVersion) {
			continue // another broker took it; read again
		}
		if err != nil {
			return 0, 0, fmt.Errorf("%w: %w", errCoordinator, err)
		}
		return start, end, nil
	}
	return 0, 0, fmt.Errorf("%w: producer id block allocation kept conflicting", errCoordinator)
}

// chroot is zookeeper.connect's chroot without the leading slash ("" when
// none or embedded).
func (b *Broker) chroot() string {
	z := b.conf().ZooKeeper()
	if z.Embedded() {
		return ""
	}
	return strings.TrimPrefix(z.Chroot, "/")
}
