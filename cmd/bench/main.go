// Command bench measures a Kafka-compatible broker (Gregor, Kafka, anything
// kgo talks to) and a ZooKeeper-compatible server:
//
//	bench produce --bootstrap-server B --topic T --size 15MB --count 100
//	bench consume --bootstrap-server B --topic T
//	bench e2e     --bootstrap-server B --topic T --rate 1000 --duration 30s
//	bench zk      --server 127.0.0.1:2181 --clients 8 --duration 30s
//
// It follows io-and-performance.md §2 and §8: random incompressible
// payloads, compression off unless asked for, an open-loop --rate whose
// latencies are measured from each record's intended send time (no
// coordinated omission), HDR histograms for percentiles, and --json output
// for the benchmark suite. `bench produce` ends with Kafka's
// producer-perf-test summary line, so results compare with Kafka's tool.
package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/gregorlog/gregor/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program behind main, with its streams injected so tests
// drive every subcommand in-process. It returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run(newRoot(), args, stdin, stdout, stderr)
}

// common holds the flags every subcommand shares.
type common struct {
	json           bool
	format         cli.Format
	timeout        cli.DurationFlag
	reportInterval cli.DurationFlag
}

func (c *common) jsonOut() bool { return c.json || c.format == cli.FormatJSON }

func newRoot() *cobra.Command {
	c := &common{format: cli.FormatText, timeout: cli.DurationFlag(cli.DefaultTimeout), reportInterval: cli.DurationFlag(5e9)}
	root := &cobra.Command{
		Use:   "bench",
		Short: "Load generator for Kafka-compatible brokers and ZooKeeper-compatible servers",
		Long: `bench drives a broker or ZooKeeper server and reports throughput and latency.

Payloads are random and incompressible, compression is off unless asked for,
--rate is open loop (latency counts from each record's scheduled send time),
and latency percentiles come from HDR histograms. Progress goes to stderr
every --report-interval (a bar on a terminal); the result goes to stdout,
as Kafka's summary line or, with --json, as one JSON object.

Exit status: 0 success, 1 the run failed (errors, unreachable server),
2 usage error.`,
		Example: `  bench produce --bootstrap-server 127.0.0.1:9092 --topic big --size 15MB --count 100
  bench produce --bootstrap-server 127.0.0.1:9092 --topic t --size 1KB --duration 60s --rate 50000 --producers 4 --json
  bench consume --bootstrap-server 127.0.0.1:9092 --topic t
  bench e2e --bootstrap-server 127.0.0.1:9092 --topic lat --rate 1000 --duration 30s
  bench zk --server 127.0.0.1:2181 --clients 8 --duration 30s --mix create=10,get=70,set=20`,
		Args:              cobra.NoArgs,
		RunE:              func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	pf := root.PersistentFlags()
	pf.BoolVar(&c.json, "json", false, "print the result as one JSON object (same as --format json)")
	pf.Var(&c.format, "format", "output format: text or json")
	pf.Var(&c.timeout, "timeout", "how long to wait for the server (connecting, or idle while consuming)")
	pf.Var(&c.reportInterval, "report-interval", "how often to print a progress line (0: never)")
	root.AddCommand(newProduceCmd(c), newConsumeCmd(c), newE2ECmd(c), newZKCmd(c))
	return root
}
