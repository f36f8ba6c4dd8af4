// Package cli holds what Gregor's command-line tools (cmd/gregor, cmd/bench)
// share: exit codes, usage errors, the --format flag, key=value and size
// parsing, terminal detection, and connecting to Kafka and ZooKeeper with
// bounded waits.
//
// Output contract (reliability-and-ecosystem.md §7.13): results go to stdout,
// status and errors to stderr; `--format json` output is stable, human text
// may change except where it mirrors Kafka's own tools line for line; exit
// status is 0 on success, 1 when the operation failed, 2 on a usage error.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// Exit statuses shared by every Gregor tool.
const (
	ExitOK      = 0 // the command did what was asked
	ExitFailure = 1 // the operation failed (broker error, missing topic, unreachable server)
	ExitUsage   = 2 // the command line was wrong (bad flag, missing argument)
)

// UsageError marks an error in how the command was invoked; Run exits 2 for it.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is (or wraps) a usage error.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// Silent wraps an error whose message the command already printed (Kafka's
// tools print their own wording); Run then only sets the exit status.
type Silent struct{ Err error }

func (e *Silent) Error() string { return e.Err.Error() }
func (e *Silent) Unwrap() error { return e.Err }

// Run executes root with args and the given streams, and returns the exit
// status. It never calls os.Exit, so tests drive commands in-process.
func Run(root *cobra.Command, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SilenceErrors = true
	root.SilenceUsage = true
	setFlagErrors(root)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	// cobra reports unknown subcommands and arg-count mismatches as plain
	// errors; they are usage errors all the same.
	if !IsUsage(err) && isCobraUsage(err) {
		err = &UsageError{Msg: err.Error()}
	}
	var s *Silent
	if errors.As(err, &s) {
		if IsUsage(err) {
			return ExitUsage
		}
		return ExitFailure
	}
	fmt.Fprintf(stderr, "Error: %s\n", Explain(err))
	if IsUsage(err) {
		if cmd == nil {
			cmd = root
		}
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return ExitUsage
	}
	return ExitFailure
}

// Explain renders err with a hint where kgo's wording leaves the cause
// unclear to an operator.
func Explain(err error) string {
	// kgo does not export this error, so its text is matched.
	if strings.Contains(err.Error(), "broker is too old") {
		return err.Error() + " (the broker does not implement a Kafka request this command needs)"
	}
	return err.Error()
}

func setFlagErrors(c *cobra.Command) {
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &UsageError{Msg: err.Error()}
	})
	for _, sub := range c.Commands() {
		setFlagErrors(sub)
	}
}

func isCobraUsage(err error) bool {
	m := err.Error()
	return strings.HasPrefix(m, "unknown command") ||
		strings.HasPrefix(m, "accepts ") ||
		strings.HasPrefix(m, "requires at least") ||
		strings.HasPrefix(m, "requires at most") ||
		strings.HasPrefix(m, "required flag") ||
		strings.HasPrefix(m, "if any flags in the group") ||
		strings.HasPrefix(m, "unknown flag") ||
		strings.HasPrefix(m, "unknown shorthand flag")
}

// Format is the value of a --format flag.
type Format string

// Output formats.
const (
	FormatText Format = "text"
	FormatJSON Format = "json"
)

// String implements pflag.Value.
func (f *Format) String() string { return string(*f) }

// Set implements pflag.Value.
func (f *Format) Set(s string) error {
	switch Format(s) {
	case FormatText, FormatJSON:
		*f = Format(s)
		return nil
	}
	return fmt.Errorf("unknown format %q (want text or json)", s)
}

// Type implements pflag.Value.
func (f *Format) Type() string { return "text|json" }

// WriteJSON writes v as one indented JSON document followed by a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// IsTerminal reports whether v is an *os.File attached to a terminal.
func IsTerminal(v any) bool {
	f, ok := v.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
