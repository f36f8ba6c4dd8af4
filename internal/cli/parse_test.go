package cli

import (
	"reflect"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "100", want: 100},
		{in: "1KB", want: 1000},
		{in: "1kb", want: 1000},
		{in: "1KiB", want: 1024},
		{in: "15MB", want: 15_000_000},
		{in: "15 MiB", want: 15 << 20},
		{in: "1.5KiB", want: 1536},
		{in: "2GB", want: 2_000_000_000},
		{in: "2GiB", want: 2 << 30},
		{in: "7B", want: 7},
		{in: "", bad: true},
		{in: "MB", bad: true},
		{in: "-1", bad: true},
		{in: "10XB", bad: true},
		{in: "99999999999999999999", bad: true},
		{in: "10000000000GB", bad: true},
	} {
		got, err := ParseSize(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("ParseSize(%q) = %d, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
}

func TestSplitConfigList(t *testing.T) {
	got, err := SplitConfigList("k1=v1,k2=[a,b],k3=x=y,")
	want := [][2]string{{"k1", "v1"}, {"k2", "a,b"}, {"k3", "x=y"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"k=[a,b", "k=a]", "novalue", "=v"} {
		if _, err := SplitConfigList(bad); err == nil {
			t.Errorf("SplitConfigList(%q): want an error", bad)
		}
	}
}

func TestParseKV(t *testing.T) {
	k, v, err := ParseKV("key.separator==")
	if err != nil || k != "key.separator" || v != "=" {
		t.Fatalf("got %q %q %v", k, v, err)
	}
	if _, _, err := ParseKV("x"); err == nil {
		t.Fatal("want an error for a missing '='")
	}
}

func TestDurationFlag(t *testing.T) {
	var d DurationFlag
	for in, want := range map[string]time.Duration{"5000": 5 * time.Second, "250ms": 250 * time.Millisecond, "1m": time.Minute} {
		if err := d.Set(in); err != nil || time.Duration(d) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, time.Duration(d), err, want)
		}
	}
	for _, bad := range []string{"-5", "soon", "-1s"} {
		if err := d.Set(bad); err == nil {
			t.Errorf("Set(%q): want an error", bad)
		}
	}
}

func TestFormatFlag(t *testing.T) {
	f := FormatText
	if err := f.Set("json"); err != nil || f != FormatJSON {
		t.Fatalf("Set(json): %v %v", f, err)
	}
	if err := f.Set("yaml"); err == nil {
		t.Fatal("Set(yaml): want an error")
	}
}

// FuzzParse feeds arbitrary command-line text to the parsers: they must
// never panic, and what they accept must be well formed.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"15MB", "1.5KiB", "k1=v1,k2=[a,b]", "=", "[", "a=]", "k=[[x]]", "0", "9e99GB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseSize(s); err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		kvs, err := SplitConfigList(s)
		if err != nil {
			return
		}
		for _, kv := range kvs {
			if kv[0] == "" {
				t.Fatalf("SplitConfigList(%q) gave an empty key: %q", s, kvs)
			}
		}
		var d DurationFlag
		if d.Set(s) == nil && d < 0 {
			t.Fatalf("DurationFlag.Set(%q) = %v", s, time.Duration(d))
		}
	})
}
