// Package config parses zoo.cfg and myid for zkstore, the way Apache
// ZooKeeper 3.8's QuorumPeerConfig does: Java properties syntax, ZooKeeper's
// defaults, the last of duplicate keys wins (test harnesses append to cfg
// files on restart), unknown keys are legal but come back as warnings, and
// a bad value is an error that names the key.
//
// File formats:
//
//	zoo.cfg   key=value lines (also "key: value" / "key value"), '#' or '!'
//	          comments, a trailing '\' continues a line, values trimmed.
//	server.N  host:quorumPort:electionPort[:participant|observer][;[clientAddr:]clientPort]
//	          N is the server id, 1..255; host may be [IPv6].
//	myid      dataDir/myid: the server id in ASCII decimal (1..255), read
//	          by Load only when server.N lines are present.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gregorlog/gregor/zkstore/proto"
)

// Errors. Parse and Load errors wrap one of them.
var (
	// ErrSyntax is a line that is not a property.
	ErrSyntax = errors.New("config: syntax error")
	// ErrInvalid is a bad value; the message names the key.
	ErrInvalid = errors.New("config: invalid value")
	// ErrMissing is a required key that is absent (dataDir, clientPort).
	ErrMissing = errors.New("config: missing key")
	// ErrMyID is a missing or bad dataDir/myid.
	ErrMyID = errors.New("config: bad myid")
)

// Role of a server.N entry.
const (
	RoleParticipant = "participant"
	RoleObserver    = "observer"
)

// Server is one server.N line.
type Server struct {
	ID           int
	Host         string // as written, without IPv6 brackets
	QuorumPort   int    // peer port (2888)
	ElectionPort int    // election port (3888)
	Role         string // RoleParticipant or RoleObserver
	ClientAddr   string // from ";addr:port", "" if absent
	ClientPort   int    // from ";[addr:]port", 0 if absent
}

// String renders the entry in ZooKeeper's dynamic-config form.
func (s Server) String() string {
	v := fmt.Sprintf("%s:%d:%d:%s", hostPort(s.Host), s.QuorumPort, s.ElectionPort, s.Role)
	if s.ClientPort != 0 {
		addr := s.ClientAddr
		if addr == "" {
			addr = "0.0.0.0"
		}
		v += ";" + net.JoinHostPort(addr, strconv.Itoa(s.ClientPort))
	}
	return v
}

func hostPort(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// Config is a parsed zoo.cfg. Durations are in milliseconds and sizes in
// the units ZooKeeper uses, so `conf` can print them back unchanged.
type Config struct {
	// Path is the file Load read ("" after Parse).
	Path string

	TickTime  int // ms, > 0 (default 2000)
	InitLimit int // ticks; required with server.N lines
	SyncLimit int // ticks; required with server.N lines

	DataDir    string // required
	DataLogDir string // defaults to DataDir

	ClientPort        int    // required unless server.<myid> carries one; 0 = ephemeral (tests)
	ClientPortAddress string // "" = all addresses
	MaxClientCnxns    int    // per client IP, 0 = unlimited (default 60)

	// MinSessionTimeout and MaxSessionTimeout are resolved: 2x and 20x
	// TickTime unless set. Invariant: MinSessionTimeout <= MaxSessionTimeout.
	MinSessionTimeout int
	MaxSessionTimeout int

	SnapRetainCount int // autopurge.snapRetainCount, >= 3 (default 3)
	PurgeInterval   int // autopurge.purgeInterval, hours; 0 = off

	SnapCount    int   // txns between snapshots (default 100000)
	PreAllocSize int64 // txn log preallocation, KB (default 65536)
	// ForceSync fsyncs the txn log before acknowledging (default true).
	// forceSync=no is UNSAFE: acknowledged writes can be lost on a crash.
	ForceSync     bool
	JuteMaxBuffer int // frame and znode data limit, bytes (default 0xfffff)

	AdminEnableServer  bool   // admin.enableServer (default true)
	AdminServerAddress string // admin.serverAddress (default 0.0.0.0)
	AdminServerPort    int    // admin.serverPort (default 8080; 0 = ephemeral)
	AdminCommandURL    string // admin.commandURL (default /commands)
	AdminIdleTimeout   int    // admin.idleTimeout, ms (default 30000)

	// FourLetterAll is true for 4lw.commands.whitelist=*; otherwise
	// FourLetterWords holds the enabled commands (default srvr, plus isro
	// when read-only mode is enabled). Use FourLetterAllowed.
	FourLetterAll   bool
	FourLetterWords map[string]bool

	StandaloneEnabled   bool // default true
	ReconfigEnabled     bool // default false
	ReadOnlyModeEnabled bool // readonlymode.enabled
	// ExtendedTypesEnabled allows TTL nodes (zookeeper.extendedTypesEnabled).
	ExtendedTypesEnabled bool
	// SuperDigest is zookeeper.DigestAuthenticationProvider.superDigest,
	// "user:base64(sha1(user:password))", "" = no super user.
	SuperDigest string

	// Servers holds the server.N lines by id; MyID is dataDir/myid (set by
	// Load when Servers is not empty).
	Servers map[int]Server
	MyID    int

	// Props holds every key as last set in the file, for `conf` and for
	// keys this package does not interpret.
	Props map[string]string
}

// Default returns ZooKeeper's defaults. DataDir and ClientPort are unset:
// they have no default in ZooKeeper either.
func Default() *Config {
	return &Config{
		TickTime:           2000,
		MaxClientCnxns:     60,
		SnapRetainCount:    3,
		SnapCount:          100000,
		PreAllocSize:       65536,
		ForceSync:          true,
		JuteMaxBuffer:      0xfffff,
		AdminEnableServer:  true,
		AdminServerAddress: "0.0.0.0",
		AdminServerPort:    8080,
		AdminCommandURL:    "/commands",
		AdminIdleTimeout:   30000,
		FourLetterWords:    map[string]bool{"srvr": true},
		StandaloneEnabled:  true,
		ClientPort:         -1,
		MinSessionTimeout:  -1,
		MaxSessionTimeout:  -1,
		Servers:            map[int]Server{},
		Props:              map[string]string{},
	}
}

// FourLetterAllowed reports whether a four-letter word is whitelisted.
func (c *Config) FourLetterAllowed(cmd string) bool {
	return c.FourLetterAll || c.FourLetterWords[cmd]
}

// Standalone reports whether the server runs without an ensemble: no
// server.N lines, or a single one with standaloneEnabled (ZooKeeper 3.5+).
func (c *Config) Standalone() bool {
	return len(c.Servers) == 0 || (len(c.Servers) == 1 && c.StandaloneEnabled)
}

// ClientAddr returns host:port to listen on for clients.
func (c *Config) ClientAddr() string {
	host := c.ClientPortAddress
	if host == "" {
		host = "0.0.0.0"
	}
	return net.JoinHostPort(host, strconv.Itoa(c.ClientPort))
}

// AdminAddr returns host:port for the AdminServer.
func (c *Config) AdminAddr() string {
	return net.JoinHostPort(c.AdminServerAddress, strconv.Itoa(c.AdminServerPort))
}

// PreAllocBytes returns PreAllocSize in bytes.
func (c *Config) PreAllocBytes() int64 { return c.PreAllocSize * 1024 }

// Load reads a zoo.cfg file and, when it has server.N lines, dataDir/myid.
// Warnings name unknown or ignored keys; the error names the bad key.
func Load(path string) (*Config, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, warns, err := Parse(f)
	if err != nil {
		return nil, warns, fmt.Errorf("%s: %w", path, err)
	}
	c.Path = path
	if len(c.Servers) > 0 {
		if err := c.LoadMyID(); err != nil {
			return nil, warns, err
		}
	}
	return c, warns, nil
}

// LoadMyID reads dataDir/myid and checks it against the server.N lines,
// then resolves the client port from server.<myid> if it carries one.
func (c *Config) LoadMyID() error {
	p := filepath.Join(c.DataDir, "myid")
	b, err := os.ReadFile(p)
	if err != nil {
		if len(c.Servers) == 1 && c.StandaloneEnabled {
			return nil // standalone with a single server line needs no myid
		}
		return fmt.Errorf("%w: %s: %v", ErrMyID, p, err)
	}
	id, err := ParseMyID(b)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return c.SetMyID(id)
}

// ParseMyID parses the contents of a myid file: one decimal id, 1..255,
// surrounded by optional whitespace.
func ParseMyID(b []byte) (int, error) {
	s := strings.TrimSpace(string(b))
	id, err := strconv.Atoi(s)
	if err != nil || id < 1 || id > 255 {
		return 0, fmt.Errorf("%w: %q: must be an integer from 1 to 255", ErrMyID, s)
	}
	return id, nil
}

// SetMyID sets MyID and validates it against Servers: the id must have a
// server.N line, and that line's client address must agree with
// clientPort/clientPortAddress.
func (c *Config) SetMyID(id int) error {
	me, ok := c.Servers[id]
	if !ok && len(c.Servers) > 0 {
		return fmt.Errorf("%w: %d has no server.%d line", ErrMyID, id, id)
	}
	c.MyID = id
	if me.ClientPort == 0 {
		if c.ClientPort < 0 {
			return fmt.Errorf("%w: clientPort (and server.%d has no ;clientPort)", ErrMissing, id)
		}
		return nil
	}
	if c.ClientPort >= 0 && c.ClientPort != me.ClientPort {
		return fmt.Errorf("%w: clientPort: %d differs from server.%d client port %d", ErrInvalid, c.ClientPort, id, me.ClientPort)
	}
	addr := me.ClientAddr
	if addr == "" {
		addr = "0.0.0.0"
	}
	if c.ClientPortAddress != "" && c.ClientPortAddress != addr {
		return fmt.Errorf("%w: clientPortAddress: client address for this server (id = %d) in static config file is /%s:%d is different from client address found in dynamic file: /%s:%d",
			ErrInvalid, id, c.ClientPortAddress, me.ClientPort, addr, me.ClientPort)
	}
	c.ClientPort = me.ClientPort
	c.ClientPortAddress = me.ClientAddr
	return nil
}

// Parse reads zoo.cfg text. It does not read myid (see Load, LoadMyID).
// The returned warnings list unknown keys and keys zkstore accepts but
// ignores; they never stop the server.
func Parse(r io.Reader) (*Config, []string, error) {
	props, err := parseProperties(r)
	if err != nil {
		return nil, nil, err
	}
	c := Default()
	var warns []string
	lines := map[string]int{}
	for _, p := range props {
		c.Props[p.key] = p.value
		lines[p.key] = p.line
	}
	// Apply in file order so that the last duplicate wins, but report each
	// key once.
	reported := map[string]bool{}
	keys := make([]string, 0, len(c.Props))
	for k := range c.Props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := c.Props[k]
		if strings.HasPrefix(k, "server.") {
			if err := c.parseServer(k, v); err != nil {
				return nil, warns, fmt.Errorf("line %d: %w", lines[k], err)
			}
			continue
		}
		def := lookupKey(k)
		switch {
		case def == nil:
			if !reported[k] {
				warns = append(warns, fmt.Sprintf("unknown key %q ignored", k))
				reported[k] = true
			}
		case def.apply == nil:
			warns = append(warns, fmt.Sprintf("key %q is not supported by zkstore and is ignored", k))
		default:
			if err := def.apply(c, v); err != nil {
				return nil, warns, fmt.Errorf("line %d: %w: %s=%q: %v", lines[k], ErrInvalid, k, v, err)
			}
		}
	}
	if err := c.resolve(&warns); err != nil {
		return nil, warns, err
	}
	return c, warns, nil
}

// resolve applies the cross-key rules after every key is read.
func (c *Config) resolve(warns *[]string) error {
	if c.DataDir == "" {
		return fmt.Errorf("%w: dataDir", ErrMissing)
	}
	if c.DataLogDir == "" {
		c.DataLogDir = c.DataDir
	}
	if c.MinSessionTimeout < 0 {
		c.MinSessionTimeout = 2 * c.TickTime
	}
	if c.MaxSessionTimeout < 0 {
		c.MaxSessionTimeout = 20 * c.TickTime
	}
	if c.MinSessionTimeout > c.MaxSessionTimeout {
		return fmt.Errorf("%w: minSessionTimeout=%d must not be larger than maxSessionTimeout=%d", ErrInvalid, c.MinSessionTimeout, c.MaxSessionTimeout)
	}
	if c.SnapRetainCount < 3 {
		*warns = append(*warns, fmt.Sprintf("autopurge.snapRetainCount=%d is below the minimum 3; using 3", c.SnapRetainCount))
		c.SnapRetainCount = 3
	}
	for _, w := range sortedKeys(c.FourLetterWords) {
		if _, ok := proto.FourLetterWord(fourLetterInt(w)); !ok {
			*warns = append(*warns, fmt.Sprintf("4lw.commands.whitelist: unknown command %q ignored", w))
			delete(c.FourLetterWords, w)
		}
	}
	if c.ReadOnlyModeEnabled && !c.FourLetterAll {
		c.FourLetterWords["isro"] = true
	}
	if len(c.Servers) > 0 && !c.Standalone() {
		if c.InitLimit <= 0 {
			return fmt.Errorf("%w: initLimit (required with server.N lines)", ErrMissing)
		}
		if c.SyncLimit <= 0 {
			return fmt.Errorf("%w: syncLimit (required with server.N lines)", ErrMissing)
		}
		voters := 0
		for _, s := range c.Servers {
			if s.Role == RoleParticipant {
				voters++
			}
		}
		if voters == 0 {
			return fmt.Errorf("%w: server.N: no participant among %d servers", ErrInvalid, len(c.Servers))
		}
	}
	if len(c.Servers) == 0 && c.ClientPort < 0 {
		return fmt.Errorf("%w: clientPort", ErrMissing)
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func fourLetterInt(w string) int32 {
	if len(w) != 4 {
		return 0
	}
	return int32(uint32(w[0])<<24 | uint32(w[1])<<16 | uint32(w[2])<<8 | uint32(w[3]))
}

// parseServer parses server.N=host:quorumPort:electionPort[:role][;[clientAddr:]clientPort].
func (c *Config) parseServer(key, v string) error {
	bad := func(why string, a ...any) error {
		return fmt.Errorf("%w: %s=%q: %s", ErrInvalid, key, v, fmt.Sprintf(why, a...))
	}
	id, err := strconv.Atoi(strings.TrimPrefix(key, "server."))
	if err != nil || id < 1 || id > 255 {
		return bad("server id must be an integer from 1 to 255")
	}
	s := Server{ID: id, Role: RoleParticipant}
	main, client, hasClient := strings.Cut(v, ";")
	host, rest, err := splitHost(main)
	if err != nil {
		return bad("%v", err)
	}
	if host == "" {
		return bad("empty host")
	}
	s.Host = host
	parts := strings.Split(rest, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return bad("want host:quorumPort:electionPort[:participant|observer]")
	}
	if s.QuorumPort, err = parsePort(parts[0]); err != nil {
		return bad("quorum port: %v", err)
	}
	if s.ElectionPort, err = parsePort(parts[1]); err != nil {
		return bad("election port: %v", err)
	}
	if s.QuorumPort == s.ElectionPort {
		return bad("quorum and election ports must differ")
	}
	if len(parts) == 3 {
		switch strings.ToLower(parts[2]) {
		case RoleParticipant:
		case RoleObserver:
			s.Role = RoleObserver
		default:
			return bad("role %q must be participant or observer", parts[2])
		}
	}
	if hasClient {
		client = strings.TrimSpace(client)
		if i := strings.LastIndex(client, ":"); i >= 0 {
			h, _, err := splitHost(client)
			if err != nil {
				return bad("client address: %v", err)
			}
			s.ClientAddr = h
			client = client[i+1:]
		}
		if s.ClientPort, err = parsePort(client); err != nil {
			return bad("client port: %v", err)
		}
	}
	c.Servers[id] = s
	return nil
}

// splitHost splits "host:rest" or "[v6]:rest".
func splitHost(s string) (host, rest string, err error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", "", errors.New("unclosed [ in IPv6 address")
		}
		host, rest = s[1:end], s[end+1:]
		rest = strings.TrimPrefix(rest, ":")
		return host, rest, nil
	}
	host, rest, _ = strings.Cut(s, ":")
	return host, rest, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%q is not a port (1..65535)", s)
	}
	return p, nil
}
