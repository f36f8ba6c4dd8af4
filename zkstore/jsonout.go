package zkstore

import (
	"encoding/json"
	"fmt"
	"strings"
)

// rawJSON is a value written verbatim (a Java-formatted double).
type rawJSON string

// jacksonJSON renders an ordered object the way Jackson's default pretty
// printer does, as ZooKeeper's AdminServer answers: two-space indent,
// `"key" : value`, arrays inline.
func jacksonJSON(obj []kv) string {
	var b strings.Builder
	writeJSON(&b, obj, 0)
	b.WriteString("\n")
	return b.String()
}

func writeJSON(b *strings.Builder, v any, depth int) {
	ind := strings.Repeat("  ", depth+1)
	switch x := v.(type) {
	case []kv:
		if len(x) == 0 {
			b.WriteString("{ }")
			return
		}
		b.WriteString("{\n")
		for i, e := range x {
			b.WriteString(ind)
			writeJSON(b, e.k, depth+1)
			b.WriteString(" : ")
			writeJSON(b, e.v, depth+1)
			if i < len(x)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString("}")
	case []any:
		if len(x) == 0 {
			b.WriteString("[ ]")
			return
		}
		b.WriteString("[ ")
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJSON(b, e, depth)
		}
		b.WriteString(" ]")
	case []string:
		a := make([]any, len(x))
		for i := range x {
			a[i] = x[i]
		}
		writeJSON(b, a, depth)
	case []int64:
		a := make([]any, len(x))
		for i := range x {
			a[i] = x[i]
		}
		writeJSON(b, a, depth)
	case rawJSON:
		b.WriteString(string(x))
	case nil:
		b.WriteString("null")
	default:
		j, err := json.Marshal(x)
		if err != nil {
			j = []byte(fmt.Sprintf("%q", fmt.Sprint(x)))
		}
		b.Write(j)
	}
}
