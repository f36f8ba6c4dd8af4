package report

import (
	"fmt"
	"strings"
)

// Marker comments around a generated section of PERFORMANCE.md:
//
//	<!-- suite:begin NAME -->
//	...generated, replaced on every run...
//	<!-- suite:end NAME -->
//
// Everything outside the markers is hand-written and kept byte for byte.
const (
	beginFmt = "<!-- suite:begin %s -->"
	endFmt   = "<!-- suite:end %s -->"
)

// Replace puts each section's text between its markers in doc. It returns
// the new document and the names of sections that have no markers in doc
// (left out, for the caller to warn about). A begin marker without its end,
// an end before its begin, or a section marked twice is an error, and doc
// is not changed.
func Replace(doc string, sections map[string]string) (string, []string, error) {
	var missing []string
	for _, name := range sortedKeys(sections) {
		begin, end := fmt.Sprintf(beginFmt, name), fmt.Sprintf(endFmt, name)
		bi, ei := strings.Index(doc, begin), strings.Index(doc, end)
		switch {
		case bi < 0 && ei < 0:
			missing = append(missing, name)
			continue
		case bi < 0 || ei < 0:
			return "", nil, fmt.Errorf("%w: section %q has only one of its markers", ErrReport, name)
		case ei < bi:
			return "", nil, fmt.Errorf("%w: section %q ends before it begins", ErrReport, name)
		case strings.Count(doc, begin) > 1 || strings.Count(doc, end) > 1:
			return "", nil, fmt.Errorf("%w: section %q is marked more than once", ErrReport, name)
		}
		body := sections[name]
		if body != "" && !strings.HasSuffix(body, "\n") {
			body += "\n"
		}
		doc = doc[:bi+len(begin)] + "\n" + body + doc[ei:]
	}
	return doc, missing, nil
}
