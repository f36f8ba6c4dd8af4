package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/internal/cli"
)

// admin connects to bootstrap and returns a kadm client whose requests are
// bounded by the --timeout flag. close releases both clients.
func admin(cmd *cobra.Command, g *globals, bootstrap string, opts ...kgo.Opt) (adm *kadm.Client, cl *kgo.Client, err error) {
	timeout := time.Duration(g.timeout)
	cl, err = cli.KafkaClient(cmd.Context(), bootstrap, timeout, opts...)
	if err != nil {
		return nil, nil, err
	}
	adm = kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(min(timeout, 10*time.Minute) / time.Millisecond))
	return adm, cl, nil
}

// opCtx bounds one admin round trip by the --timeout flag.
func opCtx(cmd *cobra.Command, g *globals) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), time.Duration(g.timeout))
}

// brokerError renders an error a broker returned for one resource: the
// Kafka error name and text, plus the broker's own message when it sent one.
func brokerError(err error, msg string) string {
	s := err.Error()
	var ke *kerr.Error
	if errors.As(err, &ke) {
		s = ke.Message + ": " + ke.Description
	}
	if msg != "" && !strings.Contains(s, msg) {
		s += " (" + msg + ")"
	}
	return s
}

// topicMatcher treats a --topic value as Kafka's tools do: a literal name,
// or failing that a regular expression over the whole name.
func topicMatcher(expr string) (func(string) bool, error) {
	if expr == "" {
		return func(string) bool { return true }, nil
	}
	re, err := regexp.Compile("^(?:" + expr + ")$")
	if err != nil {
		return nil, cli.Usagef("invalid --topic regular expression %q: %v", expr, err)
	}
	return func(name string) bool { return name == expr || re.MatchString(name) }, nil
}

// matchTopics returns the sorted names in md matching expr.
func matchTopics(md kadm.Metadata, expr string, excludeInternal bool) ([]string, error) {
	match, err := topicMatcher(expr)
	if err != nil {
		return nil, err
	}
	var out []string
	for name, td := range md.Topics {
		if excludeInternal && td.IsInternal {
			continue
		}
		if td.Err != nil {
			continue
		}
		if match(name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// joinInt32 renders a replica list as Kafka does: "1,2,3".
func joinInt32(xs []int32) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(int(x))
	}
	return strings.Join(parts, ",")
}

// fmtTopicID renders a topic ID as Kafka's Uuid.toString does: URL-safe
// base64 without padding.
func fmtTopicID(id kadm.TopicID) string {
	if id == (kadm.TopicID{}) {
		return "AAAAAAAAAAAAAAAAAAAAAA"
	}
	return base64.RawURLEncoding.EncodeToString(id[:])
}

func splitCommaInts(s string) ([]int32, error) {
	var out []int32
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		n, err := strconv.ParseInt(p, 10, 32)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("invalid partition %q", p)
		}
		out = append(out, int32(n))
	}
	return out, nil
}
