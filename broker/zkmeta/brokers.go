package zkmeta

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/go-zookeeper/zk"
)

// PersistentPaths are created at startup (Kafka's ZkData.PersistentZkPaths).
var PersistentPaths = []string{
	"/consumers",
	"/brokers/ids",
	"/brokers/topics",
	"/config/changes",
	"/admin/delete_topics",
	"/brokers/seqid",
	"/isr_change_notification",
	"/latest_producer_id_block",
	"/log_dir_event_notification",
	"/config/topics",
	"/config/clients",
	"/config/users",
	"/config/brokers",
	"/config/ips",
}

// EnsurePaths creates Kafka's persistent paths that are missing.
func (c *Client) EnsurePaths(ctx context.Context) error {
	for _, p := range PersistentPaths {
		if err := c.retry(ctx, func() error { return c.ensurePath(p) }); err != nil {
			return err
		}
	}
	return nil
}

// ClusterID returns the cluster id from /cluster/id, creating it (with a
// new random Kafka Uuid) if it does not exist yet.
func (c *Client) ClusterID(ctx context.Context) (string, error) {
	var id string
	err := c.retry(ctx, func() error {
		data, _, err := c.conn.Get(c.abs("/cluster/id"))
		if err == nil {
			id, err = decodeClusterID(data)
			return err
		}
		if !errors.Is(err, zk.ErrNoNode) {
			return zkErr("get", "/cluster/id", err)
		}
		if err := c.ensurePath("/cluster"); err != nil {
			return err
		}
		fresh := NewUUID()
		_, err = c.conn.Create(c.abs("/cluster/id"), encodeClusterID(fresh), zk.FlagPersistent, openACL)
		switch {
		case err == nil:
			id = fresh
			return nil
		case errors.Is(err, zk.ErrNodeExists):
			data, _, err := c.get("/cluster/id") // another broker won the race
			if err != nil {
				return err
			}
			id, err = decodeClusterID(data)
			return err
		}
		return zkErr("create", "/cluster/id", err)
	})
	return id, err
}

// GenerateBrokerID returns reservedMax + a fresh sequence number from
// /brokers/seqid's zkVersion, as Kafka does for broker.id=-1.
func (c *Client) GenerateBrokerID(ctx context.Context, reservedMax int32) (int32, error) {
	var id int32
	err := c.retry(ctx, func() error {
		if err := c.ensurePath("/brokers/seqid"); err != nil {
			return err
		}
		st, err := c.conn.Set(c.abs("/brokers/seqid"), nil, -1)
		if err != nil {
			return zkErr("set", "/brokers/seqid", err)
		}
		id = reservedMax + st.Version
		return nil
	})
	return id, err
}

func brokerPath(id int32) string { return "/brokers/ids/" + strconv.Itoa(int(id)) }

// RegisterBroker creates the ephemeral /brokers/ids/<id> with the v5 JSON
// and returns the broker epoch (the znode's czxid). The registration is
// re-created automatically after a session expiry.
//
// If the id is already registered:
//   - by this session (a retried create): accepted, as Kafka's checked
//     ephemeral create does;
//   - by another session with the same endpoints (this broker's previous
//     process whose session has not expired yet): wait up to
//     StaleRegistrationWait for it to expire, then register;
//   - otherwise: ErrBrokerIDClash naming the holder.
func (c *Client) RegisterBroker(ctx context.Context, info BrokerInfo) (int64, error) {
	if info.Timestamp == 0 {
		info.Timestamp = time.Now().UnixMilli()
	}
	if info.JMXPort == 0 {
		info.JMXPort = -1
	}
	p := brokerPath(info.ID)
	data := encodeBrokerInfo(info)
	var staleDeadline time.Time
	for attempt := 0; attempt < 1000; attempt++ {
		if err := c.ensurePathCtx(ctx, "/brokers/ids"); err != nil {
			return 0, err
		}
		var epoch int64
		err := c.retry(ctx, func() error {
			_, err := c.conn.Create(c.abs(p), data, zk.FlagEphemeral, openACL)
			if err != nil {
				return err
			}
			_, st, err := c.conn.Get(c.abs(p))
			if err != nil {
				return err
			}
			epoch = st.Czxid
			return nil
		})
		if err == nil {
			c.setRegistration(info)
			return epoch, nil
		}
		if !errors.Is(err, zk.ErrNodeExists) {
			return 0, zkErr("create", p, err)
		}
		existing, st, gerr := c.conn.Get(c.abs(p))
		if errors.Is(gerr, zk.ErrNoNode) {
			continue // it vanished between our create and get
		}
		if gerr != nil {
			return 0, zkErr("get", p, gerr)
		}
		if st.EphemeralOwner == c.conn.SessionID() {
			c.setRegistration(info)
			return st.Czxid, nil
		}
		old, derr := decodeBrokerInfo(info.ID, existing)
		sameEndpoints := derr == nil && slices.Equal(old.Endpoints, info.Endpoints)
		if staleDeadline.IsZero() {
			staleDeadline = time.Now().Add(c.opts.StaleRegistrationWait)
		}
		if !sameEndpoints || time.Now().After(staleDeadline) {
			return 0, fmt.Errorf("%w: broker.id %d is registered at %s by another live ZooKeeper session 0x%x (endpoints %v); each broker needs a unique broker.id",
				ErrBrokerIDClash, info.ID, p, st.EphemeralOwner, old.Endpoints)
		}
		c.log.Warn("broker id registered by an older session with our endpoints; waiting for it to expire",
			"broker", info.ID, "owner", fmt.Sprintf("0x%x", st.EphemeralOwner), "until", staleDeadline)
		ok, _, ch, err := c.conn.ExistsW(c.abs(p))
		if err != nil && !transient(err) {
			return 0, zkErr("exists", p, err)
		}
		if ok && err == nil {
			select {
			case <-ch:
			case <-time.After(time.Until(staleDeadline)):
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-c.done:
				return 0, ErrClosed
			}
		}
	}
	return 0, fmt.Errorf("%w: registering broker %d kept racing with other sessions", ErrConflict, info.ID)
}

func (c *Client) ensurePathCtx(ctx context.Context, p string) error {
	return c.retry(ctx, func() error { return c.ensurePath(p) })
}

func (c *Client) setRegistration(info BrokerInfo) {
	c.mu.Lock()
	c.registration = &info
	c.mu.Unlock()
}

// DeregisterBroker deletes this broker's registration (controlled
// shutdown) and stops re-registering it.
func (c *Client) DeregisterBroker(ctx context.Context, id int32) error {
	c.mu.Lock()
	c.registration = nil
	c.mu.Unlock()
	return c.retry(ctx, func() error {
		err := c.conn.Delete(c.abs(brokerPath(id)), -1)
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			return zkErr("delete", brokerPath(id), err)
		}
		return nil
	})
}

// BrokerIDs lists the registered broker ids, sorted.
func (c *Client) BrokerIDs(ctx context.Context) ([]int32, error) {
	var ids []int32
	err := c.retry(ctx, func() error {
		names, err := c.children("/brokers/ids")
		if errors.Is(err, zk.ErrNoNode) {
			names, err = nil, nil
		}
		if err != nil {
			return err
		}
		ids = parseIDs(names)
		return nil
	})
	return ids, err
}

func parseIDs(names []string) []int32 {
	ids := make([]int32, 0, len(names))
	for _, n := range names {
		if id, err := strconv.ParseInt(n, 10, 32); err == nil {
			ids = append(ids, int32(id))
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// Broker reads one registration.
func (c *Client) Broker(ctx context.Context, id int32) (BrokerInfo, error) {
	var b BrokerInfo
	err := c.retry(ctx, func() error {
		data, st, err := c.get(brokerPath(id))
		if err != nil {
			return err
		}
		b, err = decodeBrokerInfo(id, data)
		b.Epoch = st.Czxid
		return err
	})
	return b, err
}

// Brokers reads every registration, sorted by id. Brokers that vanish
// while being read are left out.
func (c *Client) Brokers(ctx context.Context) ([]BrokerInfo, error) {
	ids, err := c.BrokerIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]BrokerInfo, 0, len(ids))
	for _, id := range ids {
		b, err := c.Broker(ctx, id)
		if errors.Is(err, zk.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
