package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Property is one key/value pair read from a properties file, with the
// 1-based line number its logical line starts on (for messages).
type Property struct {
	Key, Value string
	Line       int
}

// ParseProperties reads Java properties syntax exactly as
// java.util.Properties.load does (which is what Kafka's Utils.loadProps uses):
//
//   - a natural line ends at \n, \r or \r\n; a line whose last character is an
//     odd number of backslashes continues on the next natural line, whose
//     leading whitespace is dropped;
//   - blank lines and lines whose first non-blank character is '#' or '!'
//     are comments (a comment never continues);
//   - the key ends at the first unescaped '=', ':' or whitespace; blanks and
//     then one '=' or ':' and then blanks separate it from the value;
//   - escapes \t \n \r \f \uXXXX are decoded, any other escaped character
//     stands for itself; a malformed \uXXXX is an error, as in Java.
//
// The input is read as UTF-8 (Java's load(InputStream) reads ISO-8859-1; the
// two agree on ASCII, which is all Kafka's keys and typical values use).
// Duplicate keys are all returned in file order; the last one wins when
// the caller builds a map.
func ParseProperties(text string) ([]Property, error) {
	var out []Property
	lines := splitNatural(text)
	for i := 0; i < len(lines); i++ {
		startLine := i + 1
		l := strings.TrimLeft(lines[i], " \t\f")
		if l == "" || l[0] == '#' || l[0] == '!' {
			continue
		}
		// Join continuation lines.
		var logical strings.Builder
		for {
			if trailingBackslashes(l)%2 == 1 {
				logical.WriteString(l[:len(l)-1])
				if i+1 >= len(lines) {
					break // Java drops a dangling continuation at EOF
				}
				i++
				l = strings.TrimLeft(lines[i], " \t\f")
				continue
			}
			logical.WriteString(l)
			break
		}
		key, value, err := splitKeyValue(logical.String())
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrSyntax, startLine, err)
		}
		out = append(out, Property{Key: key, Value: value, Line: startLine})
	}
	return out, nil
}

func splitNatural(text string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\n':
			lines = append(lines, text[start:i])
			start = i + 1
		case '\r':
			lines = append(lines, text[start:i])
			if i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	if start < len(text) {
		lines = append(lines, text[start:])
	}
	return lines
}

func trailingBackslashes(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

// splitKeyValue splits one logical line (leading blanks already removed).
func splitKeyValue(l string) (string, string, error) {
	keyEnd := len(l)
	valStart := len(l)
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c == '\\' {
			i++ // skip the escaped character
			continue
		}
		if c == '=' || c == ':' {
			keyEnd, valStart = i, i+1
			break
		}
		if isBlank(c) {
			keyEnd = i
			j := i
			for j < len(l) && isBlank(l[j]) {
				j++
			}
			if j < len(l) && (l[j] == '=' || l[j] == ':') {
				j++
			}
			valStart = j
			break
		}
	}
	for valStart < len(l) && isBlank(l[valStart]) {
		valStart++
	}
	key, err := unescape(l[:keyEnd])
	if err != nil {
		return "", "", err
	}
	val, err := unescape(l[valStart:])
	if err != nil {
		return "", "", err
	}
	return key, val, nil
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
			break // a lone trailing backslash (only possible at EOF) is dropped
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
				return "", fmt.Errorf(`malformed \uxxxx encoding`)
			}
			var r rune
			for _, h := range []byte(s[i+1 : i+5]) {
				var d byte
				switch {
				case h >= '0' && h <= '9':
					d = h - '0'
				case h >= 'a' && h <= 'f':
					d = h - 'a' + 10
				case h >= 'A' && h <= 'F':
					d = h - 'A' + 10
				default:
					return "", fmt.Errorf(`malformed \uxxxx encoding`)
				}
				r = r<<4 | rune(d)
			}
			if utf8.ValidRune(r) {
				b.WriteRune(r)
			} else {
				b.WriteRune(utf8.RuneError) // a lone UTF-16 surrogate
			}
			i += 4
		default:
			// Any other escaped character stands for itself; a multi-byte
			// UTF-8 sequence is copied whole by the loop.
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}
