package netio

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors.
var (
	ErrConfig          = errors.New("netio: invalid config")
	ErrFrameSize       = errors.New("netio: invalid frame size")
	ErrBadHeader       = errors.New("netio: malformed request header")
	ErrClosed          = errors.New("netio: server closed")
	ErrRegionTruncated = errors.New("netio: file region shorter than promised")
)

// Kafka defaults (kafka-protocol.md §9.8 and SocketServerConfigs).
const (
	DefaultMaxRequestBytes    = 104857600 // socket.request.max.bytes
	DefaultSocketBufferBytes  = 102400    // socket.send/receive.buffer.bytes
	DefaultConnectionsMaxIdle = 10 * time.Minute
	DefaultNetworkThreads     = 3
	DefaultIOThreads          = 8
	DefaultMaxInFlight        = 128
	DefaultWriteTimeout       = 30 * time.Second
)

// Listener is one entry of Kafka's `listeners`: NAME://host:port.
type Listener struct {
	Name     string // listener name, e.g. PLAINTEXT or INTERNAL
	Protocol string // security protocol; only PLAINTEXT is supported
	Host     string // empty = all interfaces
	Port     int    // 0 = any free port
}

// ParseListeners parses Kafka's `listeners` value ("PLAINTEXT://:9092,
// INTERNAL://127.0.0.1:9093") with `listener.security.protocol.map`
// ("INTERNAL:PLAINTEXT,PLAINTEXT:PLAINTEXT"). A listener missing from the
// map must itself be named after a protocol, as in Kafka.
func ParseListeners(listeners, protocolMap string) ([]Listener, error) {
	protos := map[string]string{}
	if strings.TrimSpace(protocolMap) != "" {
		for _, kv := range strings.Split(protocolMap, ",") {
			name, proto, ok := strings.Cut(strings.TrimSpace(kv), ":")
			if !ok || name == "" || proto == "" {
				return nil, fmt.Errorf("%w: listener.security.protocol.map entry %q", ErrConfig, kv)
			}
			protos[strings.ToUpper(name)] = strings.ToUpper(proto)
		}
	}
	var out []Listener
	seen := map[string]bool{}
	for _, l := range strings.Split(listeners, ",") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		name, hostport, ok := strings.Cut(l, "://")
		if !ok {
			return nil, fmt.Errorf("%w: listener %q is not NAME://host:port", ErrConfig, l)
		}
		name = strings.ToUpper(name)
		host, portStr, err := net.SplitHostPort(hostport)
		if err != nil {
			return nil, fmt.Errorf("%w: listener %q: %v", ErrConfig, l, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("%w: listener %q: bad port", ErrConfig, l)
		}
		proto, ok := protos[name]
		if !ok {
			proto = name
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: listener name %s used twice", ErrConfig, name)
		}
		seen[name] = true
		out = append(out, Listener{Name: name, Protocol: proto, Host: host, Port: port})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no listeners", ErrConfig)
	}
	return out, nil
}

// Config configures a Server. Zero fields take Kafka's defaults, except
// ZeroCopy, which DefaultConfig turns on.
type Config struct {
	Listeners []Listener

	NetworkThreads int // accept loops per listener (num.network.threads)
	IOThreads      int // concurrent Handle calls (num.io.threads)

	SendBufferBytes    int // socket.send.buffer.bytes; -1 = OS default, 0 = Kafka default
	ReceiveBufferBytes int // socket.receive.buffer.bytes; -1 = OS default, 0 = Kafka default

	// MaxRequestBytes is socket.request.max.bytes: a frame with a
	// negative size or a larger one closes the connection, no response.
	MaxRequestBytes int32

	ConnectionsMaxIdle  time.Duration // connections.max.idle.ms
	MaxConnections      int           // max.connections; 0 = unlimited. Accepting pauses at the limit, as in Kafka.
	MaxConnectionsPerIP int           // max.connections.per.ip; 0 = unlimited. Excess connections are closed.

	MaxInFlight  int           // per connection: requests awaiting their response before reading pauses
	WriteTimeout time.Duration // deadline for writing one response
	ZeroCopy     bool          // send file regions with sendfile; false = pread + write

	Logger *slog.Logger
}

// DefaultConfig returns Kafka's defaults with one PLAINTEXT listener on
// 127.0.0.1 port 0 and zero-copy on.
func DefaultConfig() Config {
	return Config{
		Listeners: []Listener{{Name: "PLAINTEXT", Protocol: "PLAINTEXT", Host: "127.0.0.1"}},
		ZeroCopy:  true,
	}
}

func (c *Config) normalize() error {
	if len(c.Listeners) == 0 {
		return fmt.Errorf("%w: no listeners", ErrConfig)
	}
	for _, l := range c.Listeners {
		if p := strings.ToUpper(l.Protocol); p != "PLAINTEXT" && p != "" {
			return fmt.Errorf("%w: listener %s: security protocol %s is not supported (PLAINTEXT only)", ErrConfig, l.Name, l.Protocol)
		}
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.NetworkThreads, DefaultNetworkThreads)
	def(&c.IOThreads, DefaultIOThreads)
	def(&c.MaxInFlight, DefaultMaxInFlight)
	if c.SendBufferBytes == 0 {
		c.SendBufferBytes = DefaultSocketBufferBytes
	}
	if c.ReceiveBufferBytes == 0 {
		c.ReceiveBufferBytes = DefaultSocketBufferBytes
	}
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.ConnectionsMaxIdle <= 0 {
		c.ConnectionsMaxIdle = DefaultConnectionsMaxIdle
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
