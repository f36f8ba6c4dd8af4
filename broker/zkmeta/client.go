package zkmeta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/broker/config"
)

// Errors. Every error this package returns wraps one of these (and, for
// ZooKeeper failures, the go-zookeeper error too).
var (
	// ErrConnect: no session could be established within the connection
	// timeout.
	ErrConnect = errors.New("zkmeta: cannot connect to ZooKeeper")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("zkmeta: client closed")
	// ErrZooKeeper: a ZooKeeper operation failed (wrapping zk.Err*).
	ErrZooKeeper = errors.New("zkmeta: ZooKeeper operation failed")
	// ErrBrokerIDClash: /brokers/ids/<id> is held by another live session.
	ErrBrokerIDClash = errors.New("zkmeta: broker.id is already registered")
	// ErrFenced: a controller write's /controller_epoch check failed; this
	// broker is no longer the controller (Kafka's ControllerMovedException).
	ErrFenced = errors.New("zkmeta: controller epoch moved, write fenced")
	// ErrTopicExists: the topic's assignment znode already exists.
	ErrTopicExists = errors.New("zkmeta: topic already exists")
	// ErrNoTopic: the topic does not exist.
	ErrNoTopic = errors.New("zkmeta: topic does not exist")
	// ErrInvalidTopic: a topic name Kafka would refuse.
	ErrInvalidTopic = errors.New("zkmeta: invalid topic name")
	// ErrInvalidAssignment: bad partition numbers or replica lists.
	ErrInvalidAssignment = errors.New("zkmeta: invalid replica assignment")
	// ErrInvalidConfig: a config override that broker/config rejects.
	ErrInvalidConfig = errors.New("zkmeta: invalid config")
	// ErrCorrupt: a znode holds data that does not decode.
	ErrCorrupt = errors.New("zkmeta: malformed znode data")
	// ErrConflict: a znode changed between read and conditional write.
	ErrConflict = errors.New("zkmeta: concurrent modification")
)

// Options configure the connection.
type Options struct {
	// Servers are "host:port" addresses of the ensemble.
	Servers []string
	// Chroot is "" or a path like "/edge" under which every znode lives;
	// it is created if missing, as Kafka does.
	Chroot string
	// SessionTimeout is zookeeper.session.timeout.ms (default 18 s).
	SessionTimeout time.Duration
	// ConnectionTimeout bounds the wait for the first session (default:
	// SessionTimeout).
	ConnectionTimeout time.Duration
	// StaleRegistrationWait bounds how long RegisterBroker waits for a
	// registration that looks like this broker's own from a previous
	// process (same endpoints, another session) to expire (default:
	// SessionTimeout plus 2 s).
	StaleRegistrationWait time.Duration
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
	// Dialer replaces net.DialTimeout (tests use it to cut connections).
	Dialer zk.Dialer
	// OnReregister, if set, is called after each attempt to restore the
	// broker registration once a new session replaced an expired one:
	// with the new broker epoch, or with the error that ended the attempts
	// (ErrBrokerIDClash when another live broker took the id meanwhile;
	// the broker should then shut down). It runs on its own goroutine.
	OnReregister func(id int32, epoch int64, err error)
}

// OptionsFromConfig maps zookeeper.connect and the timeouts.
func OptionsFromConfig(c *config.Config) Options {
	z := c.ZooKeeper()
	return Options{
		Servers:           z.Servers,
		Chroot:            z.Chroot,
		SessionTimeout:    c.ZkSessionTimeout(),
		ConnectionTimeout: c.ZkConnectionTimeout(),
	}
}

// Client is the broker's ZooKeeper session with Kafka's data layout on top.
// It survives session expiry: go-zookeeper opens a new session and the
// client re-creates this broker's registration; elections and watches
// resume on their own.
type Client struct {
	conn   *zk.Conn
	chroot string
	opts   Options
	log    *slog.Logger

	mu sync.Mutex // guards the following
	// hasSession is closed while a session is established; replaced by a
	// fresh open channel when it is lost.
	hasSession chan struct{}
	// expired is set when the session expired; the next session is a new
	// one (no ephemerals, no watches).
	expired bool
	// sessionChanged is closed and replaced each time a new session
	// replaces an expired one.
	sessionChanged chan struct{}
	// registration is re-created after session expiry.
	registration *BrokerInfo
	closed       bool

	done chan struct{} // closed by Close
	wg   sync.WaitGroup
}

var openACL = zk.WorldACL(zk.PermAll)

// Connect opens a session, waits for it up to ConnectionTimeout and
// creates the chroot if it is missing.
func Connect(ctx context.Context, o Options) (*Client, error) {
	if len(o.Servers) == 0 {
		return nil, fmt.Errorf("%w: no servers given", ErrConnect)
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 18 * time.Second
	}
	if o.ConnectionTimeout <= 0 {
		o.ConnectionTimeout = o.SessionTimeout
	}
	if o.StaleRegistrationWait <= 0 {
		o.StaleRegistrationWait = o.SessionTimeout + 2*time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Chroot == "/" {
		o.Chroot = ""
	}
	c := &Client{
		chroot:         o.Chroot,
		opts:           o,
		log:            o.Logger.With("component", "zkmeta"),
		hasSession:     make(chan struct{}),
		sessionChanged: make(chan struct{}),
		done:           make(chan struct{}),
	}
	dialer := o.Dialer
	if dialer == nil {
		dialer = net.DialTimeout
	}
	conn, _, err := zk.Connect(o.Servers, o.SessionTimeout,
		zk.WithLogger(zkLogger{c.log}),
		zk.WithLogInfo(false),
		zk.WithEventCallback(c.onEvent),
		zk.WithDialer(dialer),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConnect, err)
	}
	c.conn = conn
	wctx, cancel := context.WithTimeout(ctx, o.ConnectionTimeout)
	defer cancel()
	if err := c.waitSession(wctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: %s: timed out after %v waiting for a session", ErrConnect, strings.Join(o.Servers, ","), o.ConnectionTimeout)
	}
	if c.chroot != "" {
		if err := c.createRecursiveRaw(c.chroot); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: creating chroot %s: %w", ErrConnect, c.chroot, err)
		}
	}
	return c, nil
}

// onEvent runs on go-zookeeper's loop goroutine; it must not block.
func (c *Client) onEvent(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev.State {
	case zk.StateHasSession:
		select {
		case <-c.hasSession:
		default:
			close(c.hasSession)
		}
		if c.expired {
			c.expired = false
			// A new session replaced an expired one: ephemerals and
			// watches are gone.
			close(c.sessionChanged)
			c.sessionChanged = make(chan struct{})
			if c.registration != nil && !c.closed {
				info := *c.registration
				c.wg.Add(1)
				go c.reregister(info)
			}
		}
	case zk.StateExpired:
		c.expired = true
		fallthrough
	case zk.StateDisconnected, zk.StateConnecting:
		select {
		case <-c.hasSession:
			c.hasSession = make(chan struct{})
		default:
		}
	}
}

func (c *Client) reregister(info BrokerInfo) {
	defer c.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.done:
		case <-ctx.Done():
		}
		cancel()
	}()
	report := func(epoch int64, err error) {
		if c.opts.OnReregister != nil {
			c.opts.OnReregister(info.ID, epoch, err)
		}
	}
	var err error
	for attempt := 0; attempt < 100; attempt++ {
		var epoch int64
		epoch, err = c.RegisterBroker(ctx, info)
		if err == nil {
			c.log.Info("re-registered broker after session expiry", "broker", info.ID, "epoch", epoch)
			report(epoch, nil)
			return
		}
		if ctx.Err() != nil {
			return // closing
		}
		if errors.Is(err, ErrBrokerIDClash) {
			// Another live broker took our id while we were away: do not
			// fight over it.
			c.log.Error("cannot re-register broker after session expiry", "broker", info.ID, "err", err)
			c.mu.Lock()
			c.registration = nil
			c.mu.Unlock()
			report(0, err)
			return
		}
		c.log.Error("re-registering broker after session expiry failed; retrying", "broker", info.ID, "err", err)
		if !sleepCtx(ctx, c.done, time.Second) {
			return
		}
	}
	report(0, err)
}

// waitSession blocks until a session is established.
func (c *Client) waitSession(ctx context.Context) error {
	for {
		c.mu.Lock()
		ch, closed := c.hasSession, c.closed
		c.mu.Unlock()
		if closed {
			return ErrClosed
		}
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return ErrClosed
		}
	}
}

// sessionWatch returns the channel closed when the current session is
// replaced by a new one.
func (c *Client) sessionWatch() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionChanged
}

// SessionID is the current ZooKeeper session id.
func (c *Client) SessionID() int64 { return c.conn.SessionID() }

// Conn exposes the underlying connection (for tools and tests).
func (c *Client) Conn() *zk.Conn { return c.conn }

// Close ends the session (deleting this broker's ephemerals at once) and
// stops background work.
func (c *Client) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.done)
	c.mu.Unlock()
	c.conn.Close()
	c.wg.Wait()
}

// abs maps a Kafka path ("/brokers/ids") under the chroot.
func (c *Client) abs(p string) string {
	if c.chroot == "" {
		return p
	}
	if p == "/" {
		return c.chroot
	}
	return c.chroot + p
}

// rel strips the chroot from a server path.
func (c *Client) rel(p string) string {
	if c.chroot == "" {
		return p
	}
	r := strings.TrimPrefix(p, c.chroot)
	if r == "" {
		return "/"
	}
	return r
}

func zkErr(op, p string, err error) error {
	return fmt.Errorf("%w: %s %s: %w", ErrZooKeeper, op, p, err)
}

// transient reports errors worth retrying once the session is back.
func transient(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) ||
		errors.Is(err, zk.ErrSessionExpired) || errors.Is(err, zk.ErrSessionMoved)
}

// retry runs f until it succeeds, fails permanently or ctx ends; transient
// connection errors wait for the session to come back (bounded attempts).
func (c *Client) retry(ctx context.Context, f func() error) error {
	var err error
	for attempt := 0; attempt < 1000; attempt++ {
		if err = f(); err == nil || !transient(err) {
			return err
		}
		if werr := c.waitSession(ctx); werr != nil {
			return fmt.Errorf("%w: %w", ErrZooKeeper, errors.Join(err, werr))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrZooKeeper, errors.Join(err, ctx.Err()))
		case <-c.done:
			return ErrClosed
		case <-time.After(time.Duration(min(attempt+1, 10)) * 20 * time.Millisecond):
		}
	}
	return fmt.Errorf("%w: gave up retrying: %w", ErrZooKeeper, err)
}

// createRecursiveRaw creates an absolute server path and its parents.
func (c *Client) createRecursiveRaw(abs string) error {
	if abs == "/" || abs == "" {
		return nil
	}
	ok, _, err := c.conn.Exists(abs)
	if err != nil {
		return zkErr("exists", abs, err)
	}
	if ok {
		return nil
	}
	if err := c.createRecursiveRaw(path.Dir(abs)); err != nil {
		return err
	}
	if _, err := c.conn.Create(abs, nil, zk.FlagPersistent, openACL); err != nil && !errors.Is(err, zk.ErrNodeExists) {
		return zkErr("create", abs, err)
	}
	return nil
}

// ensurePath creates a Kafka path (under the chroot) and its parents.
func (c *Client) ensurePath(p string) error { return c.createRecursiveRaw(c.abs(p)) }

// get reads a Kafka path.
func (c *Client) get(p string) ([]byte, *zk.Stat, error) {
	b, st, err := c.conn.Get(c.abs(p))
	if err != nil {
		return nil, nil, zkErr("get", p, err)
	}
	return b, st, nil
}

// children lists a Kafka path's children.
func (c *Client) children(p string) ([]string, error) {
	ch, _, err := c.conn.Children(c.abs(p))
	if err != nil {
		return nil, zkErr("children", p, err)
	}
	return ch, nil
}

type zkLogger struct{ l *slog.Logger }

func (z zkLogger) Printf(format string, args ...any) { z.l.Debug(fmt.Sprintf(format, args...)) }
