package main

import (
	"strings"
	"testing"
)

// FuzzLineReader feeds arbitrary lines and separators to the console
// producer's line reader: it must never panic, and with parse.key a
// parsed record's key, separator and value must give back the line.
func FuzzLineReader(f *testing.F) {
	f.Add("k:v", ":", false)
	f.Add("h1:a,h2:b\tk\tv", "\t", true)
	f.Add("no separator", ":", false)
	f.Add("", "\t", true)
	f.Fuzz(func(t *testing.T, line, sep string, headers bool) {
		if sep == "" || strings.ContainsAny(sep, "\n\r") {
			return
		}
		props := []string{"parse.key=true", "key.separator=" + sep}
		if headers {
			props = append(props, "parse.headers=true")
		}
		lr, err := parseLineReader(props)
		if err != nil {
			t.Fatalf("parseLineReader(%q): %v", props, err)
		}
		rec, err := lr.record(line, 1)
		if err != nil {
			return
		}
		if !headers && string(rec.Key)+sep+string(rec.Value) != line {
			t.Fatalf("line %q with separator %q became key %q value %q", line, sep, rec.Key, rec.Value)
		}
	})
}
