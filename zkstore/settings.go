package zkstore

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/gregorlog/gregor/zkstore/config"
)

// settings are the zoo.cfg values the server uses, resolved and validated.
type settings struct {
	tickTime          int // ms
	minSessionTimeout int // ms
	maxSessionTimeout int // ms
	dataDir           string
	dataLogDir        string
	clientAddr        string // host:port
	clientPort        int
	maxClientCnxns    int
	snapCount         int
	preAllocSize      int64
	forceSync         bool
	snapRetainCount   int
	purgeInterval     time.Duration
	adminEnable       bool
	adminAddr         string
	adminURL          string
	fourLetterAll     bool
	fourLetter        map[string]bool
	maxBuffer         int
	superDigest       string // "super:<base64 sha1>"
	extendedTypes     bool
	serverID          int64
	containerInterval time.Duration
	cfg               *config.Config // for conf; nil in unit tests
}

func defaultSettings() settings {
	return settings{
		tickTime:          2000,
		minSessionTimeout: 4000,
		maxSessionTimeout: 40000,
		clientAddr:        "0.0.0.0:2181",
		clientPort:        2181,
		maxClientCnxns:    60,
		snapCount:         100000,
		preAllocSize:      64 << 20,
		forceSync:         true,
		snapRetainCount:   3,
		adminEnable:       false,
		adminAddr:         "0.0.0.0:8080",
		adminURL:          "/commands",
		fourLetter:        map[string]bool{"srvr": true},
		maxBuffer:         0xfffff,
		serverID:          1,
		containerInterval: 60 * time.Second,
	}
}

// settingsFromConfig resolves a parsed zoo.cfg into server settings.
func settingsFromConfig(cfg *config.Config) (settings, error) {
	set := defaultSettings()
	if cfg == nil {
		return set, fmt.Errorf("%w: nil config", ErrBadConfig)
	}
	if cfg.DataDir == "" {
		return set, fmt.Errorf("%w: dataDir is required", ErrBadConfig)
	}
	set.tickTime = cfg.TickTime
	set.minSessionTimeout = cfg.MinSessionTimeout
	set.maxSessionTimeout = cfg.MaxSessionTimeout
	if set.minSessionTimeout <= 0 {
		set.minSessionTimeout = 2 * cfg.TickTime
	}
	if set.maxSessionTimeout <= 0 {
		set.maxSessionTimeout = 20 * cfg.TickTime
	}
	set.dataDir = cfg.DataDir
	set.dataLogDir = cfg.DataLogDir
	if set.dataLogDir == "" {
		set.dataLogDir = cfg.DataDir
	}
	port := cfg.ClientPort
	if port < 0 {
		if srv, ok := cfg.Servers[cfg.MyID]; ok && srv.ClientPort != 0 {
			port = srv.ClientPort
		} else {
			return set, fmt.Errorf("%w: clientPort is required", ErrBadConfig)
		}
	}
	host := cfg.ClientPortAddress
	if host == "" {
		host = "0.0.0.0"
	}
	set.clientPort = port
	set.clientAddr = net.JoinHostPort(host, strconv.Itoa(port))
	set.maxClientCnxns = cfg.MaxClientCnxns
	if cfg.SnapCount > 0 {
		set.snapCount = cfg.SnapCount
	}
	if b := cfg.PreAllocBytes(); b > 0 {
		set.preAllocSize = b
	}
	set.forceSync = cfg.ForceSync
	set.snapRetainCount = max(cfg.SnapRetainCount, 3)
	set.purgeInterval = time.Duration(cfg.PurgeInterval) * time.Hour
	set.adminEnable = cfg.AdminEnableServer
	set.adminAddr = cfg.AdminAddr()
	if cfg.AdminCommandURL != "" {
		set.adminURL = cfg.AdminCommandURL
	}
	set.fourLetterAll = cfg.FourLetterAll
	set.fourLetter = cfg.FourLetterWords
	if cfg.JuteMaxBuffer > 0 {
		set.maxBuffer = cfg.JuteMaxBuffer
	}
	set.superDigest = cfg.SuperDigest
	set.extendedTypes = cfg.ExtendedTypesEnabled
	if cfg.MyID > 0 {
		set.serverID = int64(cfg.MyID)
	}
	set.cfg = cfg
	return set, nil
}
