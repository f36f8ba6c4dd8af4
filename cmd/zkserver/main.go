// Command zkserver runs zkstore, Gregor's ZooKeeper-compatible coordination
// server, the way zkServer.sh runs Apache ZooKeeper:
//
//	zkserver [--config <conf-dir>] {start|start-foreground|stop|restart|status} [zoo.cfg]
//
// start detaches (a new session, output appended to zookeeper.out in
// dataLogDir), writes dataDir/zookeeper_server.pid and returns once the
// server answers a ZooKeeper handshake; start-foreground serves in the
// foreground until SIGTERM or SIGINT, then shuts down gracefully; stop
// sends SIGTERM to the pid in the pid file and waits for the process to
// exit; status asks the server with the srvr four-letter word and prints
// its Mode (exit 1 when it does not answer).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

const usage = `Usage: zkserver [--config <conf-dir>] {start|start-foreground|stop|restart|status} [zoo.cfg]

Runs zkstore, Gregor's ZooKeeper-compatible server, like zkServer.sh.

Commands:
  start             start in the background: re-executes itself in a new
                    session with output appended to <dataLogDir>/zookeeper.out,
                    writes <dataDir>/zookeeper_server.pid, returns once the
                    server answers a client handshake
  start-foreground  serve in the foreground; SIGTERM or SIGINT shuts down
                    gracefully (in-flight requests finish, the log is synced)
  stop              SIGTERM the process in the pid file and wait for it to exit
  restart           stop (if running), then start
  status            query the server with the srvr four-letter word and print
                    "Client port found: ..." and "Mode: standalone"; exit 1
                    when it does not answer

Configuration file, first found:
  1. the zoo.cfg argument
  2. <conf-dir>/zoo.cfg with --config <conf-dir>
  3. $ZOOCFGDIR/$ZOOCFG ($ZOOCFG defaults to zoo.cfg) when ZOOCFGDIR is set
  4. ./conf/zoo.cfg
  5. <directory of the zkserver binary>/../conf/zoo.cfg
  6. /etc/zookeeper/conf/zoo.cfg

A bad value stops the server with a message naming the key; unknown keys
are reported as warnings. forceSync=no is UNSAFE: acknowledged writes can
be lost on a crash.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one zkserver command and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	confDir := ""
	var rest []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-h" || a == "--help" || a == "help":
			fmt.Fprint(stdout, usage)
			return 0
		case a == "--config":
			if i+1 >= len(args) {
				fmt.Fprintln(stderr, "zkserver: --config needs a directory")
				return 2
			}
			confDir = args[i+1]
			i++
		case strings.HasPrefix(a, "--config="):
			confDir = strings.TrimPrefix(a, "--config=")
		default:
			rest = append(rest, a)
		}
	}
	if len(rest) == 0 || len(rest) > 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd := rest[0]
	cfgArg := ""
	if len(rest) == 2 {
		cfgArg = rest[1]
	}
	cfgPath, err := resolveConfig(cfgArg, confDir)
	if err != nil {
		fmt.Fprintf(stderr, "zkserver: %v\n", err)
		return 2
	}
	switch cmd {
	case "start-foreground":
		return startForeground(cfgPath, stdout, stderr)
	case "start":
		return start(cfgPath, stdout, stderr)
	case "stop":
		return stop(cfgPath, stdout, stderr)
	case "restart":
		if code := stop(cfgPath, stdout, stderr); code != 0 && code != exitNotRunning {
			return code
		}
		return start(cfgPath, stdout, stderr)
	case "status":
		return status(cfgPath, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "zkserver: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

// resolveConfig finds the zoo.cfg to use (see usage).
func resolveConfig(arg, confDir string) (string, error) {
	if arg != "" {
		return filepath.Abs(arg)
	}
	var candidates []string
	if confDir != "" {
		candidates = append(candidates, filepath.Join(confDir, "zoo.cfg"))
	}
	if d := os.Getenv("ZOOCFGDIR"); d != "" {
		name := os.Getenv("ZOOCFG")
		if name == "" {
			name = "zoo.cfg"
		}
		candidates = append(candidates, filepath.Join(d, name))
	}
	candidates = append(candidates, filepath.Join("conf", "zoo.cfg"))
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "..", "conf", "zoo.cfg"))
	}
	candidates = append(candidates, "/etc/zookeeper/conf/zoo.cfg")
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			return filepath.Abs(c)
		}
	}
	return "", errors.New("no zoo.cfg found (tried " + strings.Join(candidates, ", ") + "); see zkserver --help")
}
