package config

import (
	"errors"
	"strconv"
	"strings"
)

// keyDef is one zoo.cfg key: its names and how it is applied. A nil apply
// marks a ZooKeeper key that zkstore accepts but ignores (with a warning).
type keyDef struct {
	names []string
	apply func(c *Config, v string) error
}

// keys is the table of every zoo.cfg key this package knows. Keys that
// ZooKeeper reads as system properties are also accepted with their
// "zookeeper." prefix, since ZooKeeper turns an unknown cfg key k into the
// property zookeeper.k.
var keys = []keyDef{
	{[]string{"tickTime"}, func(c *Config, v string) error { return positive(v, &c.TickTime) }},
	{[]string{"initLimit"}, func(c *Config, v string) error { return positive(v, &c.InitLimit) }},
	{[]string{"syncLimit"}, func(c *Config, v string) error { return positive(v, &c.SyncLimit) }},
	{[]string{"dataDir"}, func(c *Config, v string) error { return path(v, &c.DataDir) }},
	{[]string{"dataLogDir"}, func(c *Config, v string) error { return path(v, &c.DataLogDir) }},
	{[]string{"clientPort"}, func(c *Config, v string) error { return rangeInt(v, 0, 65535, &c.ClientPort) }},
	{[]string{"clientPortAddress"}, func(c *Config, v string) error {
		c.ClientPortAddress = strings.Trim(v, "[]")
		return nil
	}},
	{[]string{"maxClientCnxns"}, func(c *Config, v string) error { return rangeInt(v, 0, 1<<30, &c.MaxClientCnxns) }},
	{[]string{"minSessionTimeout"}, func(c *Config, v string) error { return sessionTimeout(v, &c.MinSessionTimeout) }},
	{[]string{"maxSessionTimeout"}, func(c *Config, v string) error { return sessionTimeout(v, &c.MaxSessionTimeout) }},
	{[]string{"autopurge.snapRetainCount"}, func(c *Config, v string) error { return rangeInt(v, 0, 1<<30, &c.SnapRetainCount) }},
	{[]string{"autopurge.purgeInterval"}, func(c *Config, v string) error { return rangeInt(v, 0, 1<<20, &c.PurgeInterval) }},
	{[]string{"snapCount", "zookeeper.snapCount"}, func(c *Config, v string) error { return rangeInt(v, 2, 1<<30, &c.SnapCount) }},
	{[]string{"preAllocSize", "zookeeper.preAllocSize"}, func(c *Config, v string) error {
		var n int
		if err := rangeInt(v, 1, 1<<30, &n); err != nil {
			return err
		}
		c.PreAllocSize = int64(n)
		return nil
	}},
	{[]string{"forceSync", "zookeeper.forceSync"}, func(c *Config, v string) error { return yesNo(v, &c.ForceSync) }},
	{[]string{"jute.maxbuffer", "zookeeper.jute.maxbuffer"}, func(c *Config, v string) error {
		return rangeInt(v, 1024, 1<<30, &c.JuteMaxBuffer)
	}},
	{[]string{"admin.enableServer", "zookeeper.admin.enableServer"}, func(c *Config, v string) error { return boolean(v, &c.AdminEnableServer) }},
	{[]string{"admin.serverAddress", "zookeeper.admin.serverAddress"}, func(c *Config, v string) error {
		if v == "" {
			return errors.New("empty address")
		}
		c.AdminServerAddress = strings.Trim(v, "[]")
		return nil
	}},
	{[]string{"admin.serverPort", "zookeeper.admin.serverPort"}, func(c *Config, v string) error {
		return rangeInt(v, 0, 65535, &c.AdminServerPort)
	}},
	{[]string{"admin.commandURL", "zookeeper.admin.commandURL"}, func(c *Config, v string) error {
		if !strings.HasPrefix(v, "/") {
			return errors.New("must start with /")
		}
		c.AdminCommandURL = v
		return nil
	}},
	{[]string{"admin.idleTimeout", "zookeeper.admin.idleTimeout"}, func(c *Config, v string) error {
		return positive(v, &c.AdminIdleTimeout)
	}},
	{[]string{"4lw.commands.whitelist", "zookeeper.4lw.commands.whitelist"}, func(c *Config, v string) error { return whitelist(c, v) }},
	{[]string{"standaloneEnabled"}, func(c *Config, v string) error { return boolean(v, &c.StandaloneEnabled) }},
	{[]string{"reconfigEnabled"}, func(c *Config, v string) error { return boolean(v, &c.ReconfigEnabled) }},
	{[]string{"readonlymode.enabled", "zookeeper.readonlymode.enabled"}, func(c *Config, v string) error {
		return boolean(v, &c.ReadOnlyModeEnabled)
	}},
	{[]string{"extendedTypesEnabled", "zookeeper.extendedTypesEnabled"}, func(c *Config, v string) error {
		return boolean(v, &c.ExtendedTypesEnabled)
	}},
	{[]string{"DigestAuthenticationProvider.superDigest", "zookeeper.DigestAuthenticationProvider.superDigest"}, func(c *Config, v string) error {
		user, digest, ok := strings.Cut(v, ":")
		if !ok || user == "" || digest == "" {
			return errors.New("want user:base64(sha1(user:password))")
		}
		c.SuperDigest = v
		return nil
	}},
	// ZooKeeper keys accepted for compatibility with existing cfg files and
	// test harnesses, without effect in zkstore.
	{[]string{"peerType"}, nil},
	{[]string{"electionAlg"}, nil},
	{[]string{"clientPortListenBacklog"}, nil},
	{[]string{"globalOutstandingLimit", "zookeeper.globalOutstandingLimit"}, nil},
	{[]string{"secureClientPort"}, nil},
	{[]string{"secureClientPortAddress"}, nil},
	{[]string{"snapSizeLimitInKb", "zookeeper.snapSizeLimitInKb"}, nil},
	{[]string{"quorumListenOnAllIPs"}, nil},
	{[]string{"localSessionsEnabled"}, nil},
	{[]string{"localSessionsUpgradingEnabled"}, nil},
	{[]string{"syncEnabled"}, nil},
	{[]string{"dynamicConfigFile"}, nil},
	{[]string{"maxCnxns"}, nil},
	{[]string{"metricsProvider.className"}, nil},
	{[]string{"serverCnxnFactory", "zookeeper.serverCnxnFactory"}, nil},
	{[]string{"admin.portUnification", "zookeeper.admin.portUnification"}, nil},
}

var keyIndex = func() map[string]*keyDef {
	m := map[string]*keyDef{}
	for i := range keys {
		for _, n := range keys[i].names {
			m[n] = &keys[i]
		}
	}
	return m
}()

// ignoredPrefixes are key families ZooKeeper knows (authentication
// providers, SSL, metrics) that zkstore accepts without effect.
var ignoredPrefixes = []string{"authProvider.", "ssl.", "ssl.quorum.", "metricsProvider.", "group."}

func lookupKey(k string) *keyDef {
	if d := keyIndex[k]; d != nil {
		return d
	}
	for _, p := range ignoredPrefixes {
		if strings.HasPrefix(k, p) {
			return &keyDef{names: []string{k}}
		}
	}
	return nil
}

// KnownKeys returns the first name of every key in the table, for --help.
func KnownKeys() []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if k.apply != nil {
			out = append(out, k.names[0])
		}
	}
	return out
}

func parseInt(v string) (int, error) {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	return int(n), nil
}

func positive(v string, dst *int) error { return rangeInt(v, 1, 1<<31-1, dst) }

func rangeInt(v string, lo, hi int, dst *int) error {
	n, err := parseInt(v)
	if err != nil {
		return err
	}
	if n < lo || n > hi {
		return errors.New("must be between " + strconv.Itoa(lo) + " and " + strconv.Itoa(hi))
	}
	*dst = n
	return nil
}

// sessionTimeout accepts -1 (derive from tickTime) or a positive ms value.
func sessionTimeout(v string, dst *int) error {
	n, err := parseInt(v)
	if err != nil {
		return err
	}
	if n == -1 {
		*dst = -1
		return nil
	}
	if n <= 0 {
		return errors.New("must be positive (or -1 for the tickTime default)")
	}
	*dst = n
	return nil
}

func path(v string, dst *string) error {
	if v == "" {
		return errors.New("empty path")
	}
	*dst = v
	return nil
}

// boolean parses like Java's Boolean.parseBoolean, but strictly: true or
// false (any case); yes/no are accepted too.
func boolean(v string, dst *bool) error {
	switch strings.ToLower(v) {
	case "true", "yes":
		*dst = true
	case "false", "no":
		*dst = false
	default:
		return errors.New("must be true or false")
	}
	return nil
}

// yesNo parses forceSync: ZooKeeper compares with "no"; we also refuse
// anything that is neither yes nor no (or true/false).
func yesNo(v string, dst *bool) error { return boolean(v, dst) }

func whitelist(c *Config, v string) error {
	c.FourLetterAll = false
	c.FourLetterWords = map[string]bool{}
	for _, w := range strings.Split(v, ",") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		if w == "*" {
			c.FourLetterAll = true
			continue
		}
		c.FourLetterWords[w] = true // unknown words are warned about in resolve
	}
	return nil
}
