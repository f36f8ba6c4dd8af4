// Command gregor is Gregor's operator tool. Its subcommands mirror Kafka's
// scripts (kafka-topics.sh, the console producer and consumer,
// kafka-consumer-groups.sh, kafka-get-offsets.sh, kafka-configs.sh) and
// ZooKeeper's zkCli.sh, with the same flags and the same output lines, so
// runbooks written for Kafka keep working:
//
//	gregor topics --bootstrap-server 127.0.0.1:9092 --create --topic t --partitions 3
//	gregor console-producer --bootstrap-server 127.0.0.1:9092 --topic t < lines.txt
//	gregor console-consumer --bootstrap-server 127.0.0.1:9092 --topic t --from-beginning
//	gregor consumer-groups --bootstrap-server 127.0.0.1:9092 --describe --group g
//	gregor get-offsets --bootstrap-server 127.0.0.1:9092 --topic t --time -1
//	gregor configs --bootstrap-server 127.0.0.1:9092 --describe --entity-type topics --entity-name t
//	gregor zk -server 127.0.0.1:2181 ls /
//
// Every command takes --format json for scripts and --help with examples.
// Results go to stdout, status and errors to stderr. Exit status: 0 ok,
// 1 the operation failed, 2 usage error.
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

// globals are the flags every subcommand shares.
type globals struct {
	format  cli.Format
	timeout cli.DurationFlag
}

func newRoot() *cobra.Command {
	g := &globals{format: cli.FormatText, timeout: cli.DurationFlag(cli.DefaultTimeout)}
	root := &cobra.Command{
		Use:   "gregor",
		Short: "Operate Gregor (or any Kafka / ZooKeeper) from the command line",
		Long: `gregor mirrors Kafka's command-line scripts and ZooKeeper's zkCli.sh:
the same verbs, flags and output lines, plus --format json for scripts.

Exit status: 0 success, 1 the operation failed, 2 usage error.
Results go to stdout; status messages and errors go to stderr.`,
		Example: `  gregor topics --bootstrap-server 127.0.0.1:9092 --list
  gregor console-consumer --bootstrap-server 127.0.0.1:9092 --topic t --from-beginning --max-messages 10
  gregor zk -server 127.0.0.1:2181 ls /`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	pf := root.PersistentFlags()
	pf.Var(&g.format, "format", "output format: text (for people) or json (for scripts)")
	pf.Var(&g.timeout, "timeout", "how long to wait for the server before failing (Go duration, or milliseconds as Kafka's tools take)")

	root.AddCommand(
		newTopicsCmd(g),
		newProducerCmd(g),
		newConsumerCmd(g),
		newGroupsCmd(g),
		newGetOffsetsCmd(g),
		newConfigsCmd(g),
		newZKCmd(g),
	)
	return root
}
