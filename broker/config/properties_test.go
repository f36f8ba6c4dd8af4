package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gregorlog/gregor/internal/testutil"
)

func TestParseProperties(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Property
	}{
		{"equals", "a=b", []Property{{"a", "b", 1}}},
		{"colon", "a:b", []Property{{"a", "b", 1}}},
		{"space", "a b", []Property{{"a", "b", 1}}},
		{"spaces around equals", "  a  =  b  ", []Property{{"a", "b  ", 1}}},
		{"space then colon", "a \t: b", []Property{{"a", "b", 1}}},
		{"second separator is value", "a==b", []Property{{"a", "=b", 1}}},
		{"key only", "flag", []Property{{"flag", "", 1}}},
		{"key and separator", "flag=", []Property{{"flag", "", 1}}},
		{"comments and blanks", "# c\n! c\n\n   \n  # indented\na=1", []Property{{"a", "1", 6}}},
		{"crlf and cr", "a=1\r\nb=2\rc=3", []Property{{"a", "1", 1}, {"b", "2", 2}, {"c", "3", 3}}},
		{"continuation", "a=one,\\\n    two,\\\n\tthree\nb=2", []Property{{"a", "one,two,three", 1}, {"b", "2", 4}}},
		{"even backslashes do not continue", "a=x\\\\\nb=2", []Property{{"a", `x\`, 1}, {"b", "2", 2}}},
		{"comment does not continue", "# c \\\na=1", []Property{{"a", "1", 2}}},
		{"dangling continuation at EOF", "a=1\\", []Property{{"a", "1", 1}}},
		{"escapes", `a=t\tn\nr\rf\fq\qcolon\:eq\=`, []Property{{"a", "t\tn\nr\rf\fq" + "qcolon:eq=", 1}}},
		{"escaped separator in key", `my\:key\=x\ y=v`, []Property{{"my:key=x y", "v", 1}}},
		{"unicode escape", `a=caf\u00e9 \u20AC`, []Property{{"a", "café €", 1}}},
		{"utf8 passthrough", "a=ö", []Property{{"a", "ö", 1}}},
		{"duplicates kept in order", "a=1\na=2", []Property{{"a", "1", 1}, {"a", "2", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProperties(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParsePropertiesMalformedUnicode(t *testing.T) {
	for _, in := range []string{`a=\u12`, `a=\u12G4`, `\uZZZZ=1`} {
		_, err := ParseProperties("ok=1\n" + in)
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: got %v, want ErrSyntax at line 2", in, err)
		}
	}
}

func TestJavaDouble(t *testing.T) {
	for in, want := range map[float64]string{
		0.5: "0.5", 1: "1.0", 100: "100.0", 0: "0.0", 1e7: "1.0E7", 1.5e-5: "1.5E-5", 0.001: "0.001",
		1.7976931348623157e308: "1.7976931348623157E308", -2.5: "-2.5", 12345678.9: "1.23456789E7",
	} {
		if got := javaDouble(in); got != want {
			t.Errorf("javaDouble(%v) = %q, want %q", in, got, want)
		}
	}
}

// TestPropertiesMatchJava compares ParseProperties with
// java.util.Properties.load on the files in testdata/properties. Java's
// answers are recorded in testdata/properties/java.golden; with -update
// and a JDK present they are re-recorded by running PropsDump.java.
func TestPropertiesMatchJava(t *testing.T) {
	dir := filepath.Join("testdata", "properties")
	files, err := filepath.Glob(filepath.Join(dir, "*.properties"))
	if err != nil || len(files) < 20 {
		t.Fatalf("corpus: %v %v", files, err)
	}
	golden := filepath.Join(dir, "java.golden")
	if *update {
		java := testutil.RequireTool(t, "java")
		out, err := exec.Command(java, append([]string{filepath.Join("testdata", "PropsDump.java")}, files...)...).Output()
		if err != nil {
			t.Fatalf("PropsDump.java: %v", err)
		}
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, f := range files {
		fmt.Fprintf(&got, "== %s\n", filepath.Base(f))
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		props, err := ParseProperties(string(text))
		if err != nil {
			fmt.Fprintf(&got, "ERROR Malformed \\uxxxx encoding.\n")
			continue
		}
		m := map[string]string{}
		for _, p := range props {
			m[p.Key] = p.Value
		}
		var lines []string
		for k, v := range m {
			lines = append(lines, hexOrDash(k)+" "+hexOrDash(v))
		}
		sort.Strings(lines)
		for _, l := range lines {
			got.WriteString(l + "\n")
		}
	}
	if got.String() != string(want) {
		t.Errorf("ParseProperties differs from java.util.Properties:\n--- ours\n%s\n--- Java\n%s", got.String(), want)
	}
}

func hexOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return hex.EncodeToString([]byte(s))
}
