package config

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// property is one key=value pair with the line it started on.
type property struct {
	key, value string
	line       int
}

// parseProperties reads Java properties syntax as java.util.Properties.load
// does: logical lines joined by a trailing odd backslash, comments starting
// with '#' or '!', key ended by the first unescaped '=', ':' or whitespace,
// escapes \t \n \r \f \uXXXX and \<char>. Values are then trimmed, as
// ZooKeeper's QuorumPeerConfig trims them.
func parseProperties(r io.Reader) ([]property, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var out []property
	lineNo := 0
	var logical strings.Builder
	start := 0
	continuing := false
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if !continuing {
			line = strings.TrimLeft(line, " \t\f")
			if line == "" || line[0] == '#' || line[0] == '!' {
				continue
			}
			logical.Reset()
			start = lineNo
		} else {
			line = strings.TrimLeft(line, " \t\f")
		}
		// A line continues when it ends in an odd number of backslashes.
		n := 0
		for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
			n++
		}
		if n%2 == 1 {
			logical.WriteString(line[:len(line)-1])
			continuing = true
			continue
		}
		logical.WriteString(line)
		continuing = false
		p, err := splitProperty(logical.String())
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrSyntax, start, err)
		}
		p.line = start
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	if continuing {
		p, err := splitProperty(logical.String())
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrSyntax, start, err)
		}
		p.line = start
		out = append(out, p)
	}
	return out, nil
}

func splitProperty(s string) (property, error) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '\\' {
			i += 2
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
		i++
	}
	if i > len(s) { // a trailing backslash
		i = len(s)
	}
	rawKey := s[:i]
	rest := s[i:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	key, err := unescape(rawKey)
	if err != nil {
		return property{}, err
	}
	val, err := unescape(rest)
	if err != nil {
		return property{}, err
	}
	return property{key: strings.TrimSpace(key), value: strings.TrimSpace(val)}, nil
}

func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			break
		}
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("malformed \\uxxxx escape")
			}
			v, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("malformed \\uxxxx escape")
			}
			b.WriteRune(rune(v))
			i += 4
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}
