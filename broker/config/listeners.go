package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Listener is one NAME://host:port entry of listeners or advertised.listeners.
type Listener struct {
	// Name is the listener name, upper-cased as Kafka normalises it.
	Name string
	// Host is empty for "all interfaces" (listeners only).
	Host string
	Port int
	// SecurityProtocol is Name mapped through listener.security.protocol.map.
	SecurityProtocol string
}

// String renders the listener as Kafka writes endpoints in ZooKeeper
// ("PLAINTEXT://host:9092", IPv6 hosts in brackets).
func (l Listener) String() string {
	return l.Name + "://" + net.JoinHostPort(l.Host, strconv.Itoa(l.Port))
}

// Addr is the address to listen on or dial ("host:port"; ":port" for all
// interfaces).
func (l Listener) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(l.Port)) }

var securityProtocols = []string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}

// parseListener parses NAME://host:port, NAME://[v6]:port or NAME://:port.
func parseListener(s string) (Listener, error) {
	name, rest, ok := strings.Cut(strings.TrimSpace(s), "://")
	if !ok || name == "" {
		return Listener{}, fmt.Errorf("listener %q is not NAME://host:port", s)
	}
	for _, c := range name {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return Listener{}, fmt.Errorf("listener %q: bad name %q", s, name)
		}
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return Listener{}, fmt.Errorf("listener %q has no port", s)
	}
	host, portText := rest[:i], rest[i+1:]
	if strings.HasPrefix(host, "[") {
		if !strings.HasSuffix(host, "]") {
			return Listener{}, fmt.Errorf("listener %q: unterminated [IPv6] host", s)
		}
		host = host[1 : len(host)-1]
		if net.ParseIP(host) == nil {
			return Listener{}, fmt.Errorf("listener %q: bad IPv6 address", s)
		}
	} else if strings.ContainsAny(host, "[]/ ") || strings.Contains(host, ":") && net.ParseIP(host) == nil {
		return Listener{}, fmt.Errorf("listener %q: bad host %q", s, host)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return Listener{}, fmt.Errorf("listener %q: port must be 0-65535", s)
	}
	return Listener{Name: strings.ToUpper(name), Host: host, Port: port}, nil
}

// parseListenerList parses and checks a listener list: names and ports are
// unique (Kafka: "Each listener must have a different name" / "port").
func parseListenerList(items []string) ([]Listener, error) {
	if len(items) == 0 {
		return nil, fmt.Errorf("no listeners")
	}
	out := make([]Listener, 0, len(items))
	names := map[string]bool{}
	for _, it := range items {
		l, err := parseListener(it)
		if err != nil {
			return nil, err
		}
		if names[l.Name] {
			return nil, fmt.Errorf("each listener must have a different name; %s is repeated", l.Name)
		}
		names[l.Name] = true
		out = append(out, l)
	}
	return out, nil
}

// parseProtocolMap parses NAME:PROTOCOL pairs.
func parseProtocolMap(items []string) (map[string]string, error) {
	m := make(map[string]string, len(items))
	for _, it := range items {
		name, proto, ok := strings.Cut(it, ":")
		name, proto = strings.ToUpper(strings.TrimSpace(name)), strings.ToUpper(strings.TrimSpace(proto))
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not NAME:PROTOCOL", it)
		}
		valid := false
		for _, p := range securityProtocols {
			valid = valid || p == proto
		}
		if !valid {
			return nil, fmt.Errorf("%q: unknown security protocol %q (want one of %s)", it, proto, strings.Join(securityProtocols, ", "))
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("listener name %s is mapped twice", name)
		}
		m[name] = proto
	}
	return m, nil
}

// ZkConnect is a parsed zookeeper.connect string.
type ZkConnect struct {
	// Servers are "host:port" (port 2181 when omitted).
	Servers []string
	// Chroot is "" or a ZooKeeper path like "/edge" with no trailing slash.
	Chroot string
}

// Embedded reports whether no ensemble is configured and the broker should
// run the embedded coordination service.
func (z ZkConnect) Embedded() bool { return len(z.Servers) == 0 }

// String renders the connect string back.
func (z ZkConnect) String() string { return strings.Join(z.Servers, ",") + z.Chroot }

// ParseZkConnect parses "host:port[,host:port...][/chroot]" as ZooKeeper's
// ConnectStringParser does: the chroot starts at the first '/'.
func ParseZkConnect(s string) (ZkConnect, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return ZkConnect{}, nil
	}
	var z ZkConnect
	if i := strings.IndexByte(s, '/'); i >= 0 {
		z.Chroot = s[i:]
		s = s[:i]
		if z.Chroot == "/" {
			z.Chroot = "" // ZooKeeper treats a bare "/" as no chroot
		} else if err := validZkPath(z.Chroot); err != nil {
			return ZkConnect{}, fmt.Errorf("chroot %q: %v", z.Chroot, err)
		}
	}
	for _, h := range strings.Split(s, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			return ZkConnect{}, fmt.Errorf("empty server in %q", s)
		}
		host, port := h, "2181"
		if strings.HasPrefix(h, "[") {
			end := strings.IndexByte(h, ']')
			if end < 0 {
				return ZkConnect{}, fmt.Errorf("server %q: unterminated [IPv6] host", h)
			}
			host = h[1:end]
			if rest := h[end+1:]; rest != "" {
				if !strings.HasPrefix(rest, ":") {
					return ZkConnect{}, fmt.Errorf("server %q is not host:port", h)
				}
				port = rest[1:]
			}
		} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
			host, port = h[:i], h[i+1:]
		}
		if host == "" || strings.ContainsAny(host, ":[] ") && net.ParseIP(host) == nil {
			return ZkConnect{}, fmt.Errorf("server %q: bad host", h)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return ZkConnect{}, fmt.Errorf("server %q: port must be 1-65535", h)
		}
		z.Servers = append(z.Servers, net.JoinHostPort(host, port))
	}
	return z, nil
}

// validZkPath applies ZooKeeper's PathUtils.validatePath rules.
func validZkPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("must start with /")
	}
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		return fmt.Errorf("must not end with /")
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" {
			return fmt.Errorf("empty path segment")
		}
		if seg == "." || seg == ".." {
			return fmt.Errorf("relative segment %q", seg)
		}
	}
	for _, r := range p {
		if r == 0 || r > 0 && r <= 0x1f || r >= 0x7f && r <= 0x9f || r >= 0xd800 && r <= 0xf8ff || r >= 0xfff0 && r <= 0xffff {
			return fmt.Errorf("invalid character %U", r)
		}
	}
	return nil
}
