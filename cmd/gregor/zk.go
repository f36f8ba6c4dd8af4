package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/spf13/cobra"

	"github.com/gregorlog/gregor/internal/cli"
)

const zkUsage = `Usage: gregor zk -server host:port[,host:port] [-timeout ms] [--timeout D] [--format json] <command> [args]

  -server     the ZooKeeper server(s), as zkCli.sh takes them
  -timeout    the session timeout in milliseconds (zkCli.sh's option; default 30000)
  --timeout   how long to wait for a session before failing (default 30s)
  --format    text (zkCli.sh's output) or json

Commands (as in zkCli.sh):
  ls [-s] [-R] path                     list children ([a, b]); -s adds the stat; -R recurses
  get [-s] path                         print the node's data ("null" when it has none)
  set [-s] [-v version] path data       replace the node's data
  create [-s] [-e] [-c] [-t ttl] path [data]
                                        create a node: -s sequential, -e ephemeral,
                                        -c container, -t ttl in ms (TTL node)
  delete [-v version] path              delete a node without children
  deleteall path                        delete a node and everything under it
  stat path                             print the node's stat

Without a command, commands are read from stdin one per line (quotes keep
spaces in data; "quit" stops), as zkCli.sh does; a prompt is shown only on
a terminal, and the exit status is 1 if any command failed.

Works against zkstore or any ZooKeeper server. Exit status: 0 ok,
1 the operation failed (e.g. "Node does not exist: /a"), 2 usage error.

Examples:
  gregor zk -server 127.0.0.1:2181 ls /
  gregor zk -server 127.0.0.1:2181 create -e -s /locks/lock- owner1
  gregor zk -server 127.0.0.1:2181 get -s /config
  gregor zk -server 127.0.0.1:2181 --format json stat /config
`

func newZKCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "zk -server host:port <command> [args]",
		Short: "ZooKeeper shell commands: ls, get, set, create, delete, deleteall, stat (zkCli.sh)",
		// zkCli.sh takes single-dash long options (-server, -timeout), which
		// pflag would read as bundles of short flags, so this command parses
		// its own arguments.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runZK(cmd, g, args)
		},
	}
	cmd.SetHelpFunc(func(c *cobra.Command, _ []string) { fmt.Fprint(c.OutOrStdout(), zkUsage) })
	return cmd
}

func runZK(cmd *cobra.Command, g *globals, args []string) error {
	server := ""
	sessionTimeout := 30 * time.Second
	timeout := time.Duration(g.timeout)
	format := g.format
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || len(rest) > 0 {
			rest = append(rest, args[i:]...)
			break
		}
		next := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", cli.Usagef("option %s needs a value", a)
			}
			i++
			return args[i], nil
		}
		switch name {
		case "h", "help":
			fmt.Fprint(cmd.OutOrStdout(), zkUsage)
			return nil
		case "server":
			v, err := next()
			if err != nil {
				return err
			}
			server = v
		case "timeout":
			if strings.HasPrefix(a, "--") {
				// gregor's global --timeout: how long to wait for the server.
				v, err := next()
				if err != nil {
					return err
				}
				var d cli.DurationFlag
				if err := d.Set(v); err != nil {
					return cli.Usagef("--timeout: %v", err)
				}
				timeout = time.Duration(d)
				continue
			}
			// zkCli.sh's -timeout: the session timeout in milliseconds.
			v, err := next()
			if err != nil {
				return err
			}
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ms <= 0 {
				return cli.Usagef("-timeout wants a session timeout in milliseconds, not %q", v)
			}
			sessionTimeout = time.Duration(ms) * time.Millisecond
		case "format":
			v, err := next()
			if err != nil {
				return err
			}
			if err := format.Set(v); err != nil {
				return cli.Usagef("%v", err)
			}
		case "connect-timeout": // alias of --timeout
			v, err := next()
			if err != nil {
				return err
			}
			var d cli.DurationFlag
			if err := d.Set(v); err != nil {
				return cli.Usagef("%v", err)
			}
			timeout = time.Duration(d)
		default:
			return cli.Usagef("unknown option %s\n%s", a, zkUsage)
		}
	}
	if server == "" {
		return cli.Usagef("missing -server host:port")
	}
	if len(rest) == 0 {
		return runZKShell(cmd, server, sessionTimeout, timeout, format)
	}
	verb, vargs := rest[0], rest[1:]
	flags, pos, err := zkVerbArgs(verb, vargs)
	if err != nil {
		return err
	}
	conn, err := cli.ZKConnect(cmd.Context(), server, sessionTimeout, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	z := &zkRun{conn: conn, out: cmd.OutOrStdout(), json: format == cli.FormatJSON}
	if err := z.do(verb, flags, pos); err != nil {
		return zkError(err, pos)
	}
	return nil
}

// zkVerbArgs splits a verb's arguments into its options and positional
// arguments, checking both against the verb's synopsis.
func zkVerbArgs(verb string, args []string) (map[string]string, []string, error) {
	type spec struct {
		bools, vals   string // option letters without and with a value
		minPos, maxPs int
	}
	specs := map[string]spec{
		"ls":        {bools: "sRw", minPos: 1, maxPs: 1},
		"get":       {bools: "sw", minPos: 1, maxPs: 1},
		"set":       {bools: "s", vals: "v", minPos: 2, maxPs: 2},
		"create":    {bools: "sec", vals: "t", minPos: 1, maxPs: 3},
		"delete":    {vals: "v", minPos: 1, maxPs: 1},
		"deleteall": {vals: "b", minPos: 1, maxPs: 1},
		"stat":      {bools: "w", minPos: 1, maxPs: 1},
	}
	sp, ok := specs[verb]
	if !ok {
		return nil, nil, cli.Usagef("unknown command %q (want ls, get, set, create, delete, deleteall or stat)", verb)
	}
	flags := map[string]string{}
	var pos []string
	// Like zkCli's option parser, "-x" options may appear anywhere; "--"
	// ends them, so data that starts with '-' can follow it.
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) == 2 && a[0] == '-' && a[1] != '-' {
			l := string(a[1])
			switch {
			case strings.Contains(sp.bools, l):
				flags[l] = "true"
			case strings.Contains(sp.vals, l):
				if i+1 >= len(args) {
					return nil, nil, cli.Usagef("%s: option -%s needs a value", verb, l)
				}
				i++
				flags[l] = args[i]
			default:
				return nil, nil, cli.Usagef("%s: unknown option %s", verb, a)
			}
			continue
		}
		pos = append(pos, a)
	}
	if len(pos) < sp.minPos || len(pos) > sp.maxPs {
		return nil, nil, cli.Usagef("%s: wrong number of arguments\n%s", verb, zkUsage)
	}
	if !strings.HasPrefix(pos[0], "/") {
		return nil, nil, cli.Usagef("Path must start with / character")
	}
	if verb == "create" && len(pos) == 3 {
		return nil, nil, cli.Usagef("create: ACL arguments are not supported; create the node and use a ZooKeeper client to set ACLs")
	}
	for _, k := range []string{"v", "t", "b"} {
		if v, ok := flags[k]; ok {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return nil, nil, cli.Usagef("%s: -%s wants a number, not %q", verb, k, v)
			}
		}
	}
	return flags, pos, nil
}

// zkError maps ZooKeeper errors to zkCli.sh's messages.
func zkError(err error, pos []string) error {
	p := ""
	if len(pos) > 0 {
		p = pos[0]
	}
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return fmt.Errorf("Node does not exist: %s", p)
	case errors.Is(err, zk.ErrNodeExists):
		return fmt.Errorf("Node already exists: %s", p)
	case errors.Is(err, zk.ErrNotEmpty):
		return fmt.Errorf("Node not empty: %s", p)
	case errors.Is(err, zk.ErrBadVersion):
		return fmt.Errorf("version No is not valid : %s", p)
	case errors.Is(err, zk.ErrNoChildrenForEphemerals):
		return fmt.Errorf("Ephemerals cannot have children: %s", p)
	case errors.Is(err, zk.ErrNoAuth):
		return fmt.Errorf("Insufficient permission : %s", p)
	}
	return err
}

type zkRun struct {
	conn *zk.Conn
	out  io.Writer
	json bool
}

// statJSON is the stable --format json shape of a znode's stat.
type statJSON struct {
	Czxid          int64 `json:"czxid"`
	Ctime          int64 `json:"ctime"`
	Mzxid          int64 `json:"mzxid"`
	Mtime          int64 `json:"mtime"`
	Pzxid          int64 `json:"pzxid"`
	Cversion       int32 `json:"cversion"`
	DataVersion    int32 `json:"data_version"`
	AclVersion     int32 `json:"acl_version"`
	EphemeralOwner int64 `json:"ephemeral_owner"`
	DataLength     int32 `json:"data_length"`
	NumChildren    int32 `json:"num_children"`
}

func toStatJSON(s *zk.Stat) *statJSON {
	if s == nil {
		return nil
	}
	return &statJSON{s.Czxid, s.Ctime, s.Mzxid, s.Mtime, s.Pzxid, s.Cversion, s.Version, s.Aversion, s.EphemeralOwner, s.DataLength, s.NumChildren}
}

// printStat prints a stat as zkCli.sh's StatPrinter does; times are
// rendered like Java's Date.toString.
func (z *zkRun) printStat(s *zk.Stat) {
	jt := func(ms int64) string { return time.UnixMilli(ms).Format("Mon Jan 02 15:04:05 MST 2006") }
	fmt.Fprintf(z.out, "cZxid = 0x%x\nctime = %s\nmZxid = 0x%x\nmtime = %s\npZxid = 0x%x\ncversion = %d\ndataVersion = %d\naclVersion = %d\nephemeralOwner = 0x%x\ndataLength = %d\nnumChildren = %d\n",
		s.Czxid, jt(s.Ctime), s.Mzxid, jt(s.Mtime), s.Pzxid, s.Cversion, s.Version, s.Aversion, s.EphemeralOwner, s.DataLength, s.NumChildren)
}

func (z *zkRun) do(verb string, flags map[string]string, pos []string) error {
	p := pos[0]
	num := func(k string, def int64) int64 {
		if v, ok := flags[k]; ok {
			n, _ := strconv.ParseInt(v, 10, 64) // validated in zkVerbArgs
			return n
		}
		return def
	}
	switch verb {
	case "ls":
		if flags["R"] != "" {
			all, err := z.tree(p)
			if err != nil {
				return err
			}
			if z.json {
				return cli.WriteJSON(z.out, map[string]any{"path": p, "paths": all})
			}
			for _, x := range all {
				fmt.Fprintln(z.out, x)
			}
			return nil
		}
		children, stat, err := z.conn.Children(p)
		if err != nil {
			return err
		}
		sort.Strings(children)
		if z.json {
			m := map[string]any{"path": p, "children": children}
			if flags["s"] != "" {
				m["stat"] = toStatJSON(stat)
			}
			return cli.WriteJSON(z.out, m)
		}
		fmt.Fprintf(z.out, "[%s]\n", strings.Join(children, ", "))
		if flags["s"] != "" {
			z.printStat(stat)
		}
		return nil
	case "get":
		data, stat, err := z.conn.Get(p)
		if err != nil {
			return err
		}
		if z.json {
			m := map[string]any{"path": p, "data": bytesPtr(data)}
			if flags["s"] != "" {
				m["stat"] = toStatJSON(stat)
			}
			return cli.WriteJSON(z.out, m)
		}
		if data == nil {
			fmt.Fprintln(z.out, "null")
		} else {
			fmt.Fprintln(z.out, string(data))
		}
		if flags["s"] != "" {
			z.printStat(stat)
		}
		return nil
	case "set":
		stat, err := z.conn.Set(p, []byte(pos[1]), int32(num("v", -1)))
		if err != nil {
			return err
		}
		if z.json {
			return cli.WriteJSON(z.out, map[string]any{"path": p, "stat": toStatJSON(stat)})
		}
		if flags["s"] != "" {
			z.printStat(stat)
		}
		return nil
	case "create":
		var data []byte
		if len(pos) > 1 {
			data = []byte(pos[1])
		}
		var fl int32
		if flags["e"] != "" {
			fl |= zk.FlagEphemeral
		}
		if flags["s"] != "" {
			fl |= zk.FlagSequence
		}
		acl := zk.WorldACL(zk.PermAll)
		var (
			created string
			err     error
		)
		switch {
		case flags["c"] != "":
			if fl != 0 {
				return cli.Usagef("create: -c cannot be combined with -e or -s")
			}
			created, err = z.conn.CreateContainer(p, data, zk.FlagContainer, acl)
		case flags["t"] != "":
			if flags["e"] != "" {
				return cli.Usagef("create: -t cannot be combined with -e")
			}
			tfl := int32(zk.FlagTTL)
			if flags["s"] != "" {
				tfl = 6 // PERSISTENT_SEQUENTIAL_WITH_TTL
			}
			created, err = z.conn.CreateTTL(p, data, tfl, acl, time.Duration(num("t", 0))*time.Millisecond)
		default:
			created, err = z.conn.Create(p, data, fl, acl)
		}
		if err != nil {
			return err
		}
		if z.json {
			return cli.WriteJSON(z.out, map[string]any{"created": created})
		}
		fmt.Fprintf(z.out, "Created %s\n", created)
		return nil
	case "delete":
		if err := z.conn.Delete(p, int32(num("v", -1))); err != nil {
			return err
		}
		if z.json {
			return cli.WriteJSON(z.out, map[string]any{"deleted": []string{p}})
		}
		return nil
	case "deleteall":
		all, err := z.tree(p)
		if err != nil {
			return err
		}
		// Children before parents: tree lists parents first.
		for i := len(all) - 1; i >= 0; i-- {
			if all[i] == "/" || all[i] == "/zookeeper" || strings.HasPrefix(all[i], "/zookeeper/") {
				continue // the server's own nodes cannot be deleted
			}
			if err := z.conn.Delete(all[i], -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
				return fmt.Errorf("deleting %s: %w", all[i], err)
			}
		}
		if z.json {
			return cli.WriteJSON(z.out, map[string]any{"deleted": all})
		}
		return nil
	case "stat":
		ok, stat, err := z.conn.Exists(p)
		if err != nil {
			return err
		}
		if !ok {
			return zk.ErrNoNode
		}
		if z.json {
			return cli.WriteJSON(z.out, map[string]any{"path": p, "stat": toStatJSON(stat)})
		}
		z.printStat(stat)
		return nil
	}
	return cli.Usagef("unknown command %q", verb)
}

// tree lists root and all its descendants breadth first, as zkCli's ls -R.
func (z *zkRun) tree(root string) ([]string, error) {
	if ok, _, err := z.conn.Exists(root); err != nil {
		return nil, err
	} else if !ok {
		return nil, zk.ErrNoNode
	}
	out := []string{root}
	const maxNodes = 1 << 20 // bound the walk on a pathological tree
	for i := 0; i < len(out) && len(out) < maxNodes; i++ {
		children, _, err := z.conn.Children(out[i])
		if errors.Is(err, zk.ErrNoNode) {
			continue // deleted while we walked
		}
		if err != nil {
			return nil, err
		}
		sort.Strings(children)
		for _, c := range children {
			out = append(out, path.Join(out[i], c))
		}
	}
	return out, nil
}

// runZKShell reads commands from stdin, one per line, as zkCli.sh does
// when started without a command: a prompt only on a terminal, errors
// reported and the next line still run, "quit" to stop. The exit status is
// 1 if any command failed.
func runZKShell(cmd *cobra.Command, server string, sessionTimeout, timeout time.Duration, format cli.Format) error {
	conn, err := cli.ZKConnect(cmd.Context(), server, sessionTimeout, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	in, errw := cmd.InOrStdin(), cmd.ErrOrStderr()
	prompt := cli.IsTerminal(in)
	z := &zkRun{conn: conn, out: cmd.OutOrStdout(), json: format == cli.FormatJSON}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	failed := 0
	for n := 0; ; n++ {
		if prompt {
			fmt.Fprintf(errw, "[zk: %s(CONNECTED) %d] ", server, n)
		}
		if !sc.Scan() {
			break
		}
		words, err := splitZKLine(sc.Text())
		if err != nil {
			fmt.Fprintf(errw, "Error: %v\n", err)
			failed++
			continue
		}
		if len(words) == 0 || strings.HasPrefix(words[0], "#") {
			continue
		}
		if words[0] == "quit" || words[0] == "exit" {
			break
		}
		flags, pos, err := zkVerbArgs(words[0], words[1:])
		if err == nil {
			if err = z.do(words[0], flags, pos); err != nil {
				err = zkError(err, pos)
			}
		}
		if err != nil {
			fmt.Fprintf(errw, "Error: %v\n", err)
			failed++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading commands: %w", err)
	}
	if failed > 0 {
		return &cli.Silent{Err: fmt.Errorf("%d commands failed", failed)}
	}
	return nil
}

// splitZKLine splits a command line into words; single or double quotes
// keep spaces inside one word, as in zkCli.sh.
func splitZKLine(line string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		quote rune
		in    bool
	)
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", line)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}
