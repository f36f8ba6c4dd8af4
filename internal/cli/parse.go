package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ParseKV splits "k=v" at the first '='. The key must be non-empty; the value
// may be empty or contain further '=' signs.
func ParseKV(s string) (key, value string, err error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return "", "", fmt.Errorf("%q is not of the form key=value", s)
	}
	return strings.TrimSpace(k), v, nil
}

// SplitConfigList splits kafka-configs' --add-config syntax,
// "k1=v1,k2=[v1,v2],k3=v3", on the commas outside square brackets, and
// strips the brackets from bracketed values. pflag's StringSlice cannot do
// this: it would split inside the brackets.
func SplitConfigList(s string) ([][2]string, error) {
	var (
		out   [][2]string
		depth int
		start int
	)
	flush := func(part string) error {
		if strings.TrimSpace(part) == "" {
			return nil
		}
		k, v, err := ParseKV(part)
		if err != nil {
			return err
		}
		if len(v) >= 2 && v[0] == '[' && v[len(v)-1] == ']' {
			v = v[1 : len(v)-1]
		}
		out = append(out, [2]string{k, v})
		return nil
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			if depth == 0 {
				return nil, fmt.Errorf("unbalanced ']' in %q", s)
			}
			depth--
		case ',':
			if depth == 0 {
				if err := flush(s[start:i]); err != nil {
					return nil, err
				}
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced '[' in %q", s)
	}
	if err := flush(s[start:]); err != nil {
		return nil, err
	}
	return out, nil
}

// Size units follow SI and IEC: "15MB" is 15,000,000 bytes and "15MiB" is
// 15 × 2^20. Decimal megabytes matter for `bench produce --size 15MB`: a
// 15,000,000-byte record plus its batch framing fits a topic whose
// max.message.bytes is 15 MiB, as the sample server.properties sets, while a
// 15 MiB record cannot. (Throughput is still reported in Kafka's MB/sec,
// 2^20 bytes, by the bench tool.)
var sizeUnits = map[string]int64{
	"": 1, "B": 1,
	"K": 1000, "KB": 1000, "KIB": 1 << 10,
	"M": 1000 * 1000, "MB": 1000 * 1000, "MIB": 1 << 20,
	"G": 1000 * 1000 * 1000, "GB": 1000 * 1000 * 1000, "GIB": 1 << 30,
}

// ParseSize parses a byte count such as "100", "1KB", "15MB" or "1.5MiB".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return unicode.IsLetter(r) })
	num, unit := t, ""
	if i >= 0 {
		num, unit = strings.TrimSpace(t[:i]), strings.ToUpper(t[i:])
	}
	mult, ok := sizeUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("invalid size %q (examples: 100, 1KB, 15MB)", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f*float64(mult) >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size %q (examples: 100, 1KB, 15MB)", s)
	}
	return int64(f * float64(mult)), nil
}

// SizeFlag is a pflag.Value holding a byte count parsed by ParseSize.
type SizeFlag int64

// String implements pflag.Value.
func (s *SizeFlag) String() string { return strconv.FormatInt(int64(*s), 10) }

// Set implements pflag.Value.
func (s *SizeFlag) Set(v string) error {
	n, err := ParseSize(v)
	if err != nil {
		return err
	}
	*s = SizeFlag(n)
	return nil
}

// Type implements pflag.Value.
func (s *SizeFlag) Type() string { return "size" }

// DurationFlag is a pflag.Value for timeouts that accepts Go durations
// ("5s", "250ms") and, for compatibility with Kafka's tools, a bare number
// of milliseconds ("5000").
type DurationFlag time.Duration

// String implements pflag.Value.
func (d *DurationFlag) String() string { return time.Duration(*d).String() }

// Set implements pflag.Value.
func (d *DurationFlag) Set(v string) error {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		if ms < 0 {
			return fmt.Errorf("negative duration %q", v)
		}
		*d = DurationFlag(time.Duration(ms) * time.Millisecond)
		return nil
	}
	x, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("invalid duration %q (examples: 5000 (ms), 5s, 1m)", v)
	}
	if x < 0 {
		return fmt.Errorf("negative duration %q", v)
	}
	*d = DurationFlag(x)
	return nil
}

// Type implements pflag.Value.
func (d *DurationFlag) Type() string { return "duration" }
