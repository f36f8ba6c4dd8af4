package zkstore

import (
	"strings"
	"unicode/utf8"
)

// validatePath applies ZooKeeper's PathUtils.validatePath rules: absolute,
// no trailing slash except on the root, no empty, "." or ".." segment, and
// none of the control or private-use characters ZooKeeper rejects.
func validatePath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	if p == "/" {
		return true
	}
	if p[len(p)-1] == '/' {
		return false
	}
	if !utf8.ValidString(p) {
		return false
	}
	start := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		seg := p[start:i]
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		start = i + 1
	}
	for _, r := range p {
		switch {
		case r == 0,
			r > 0 && r < 0x20,
			r >= 0x7f && r <= 0x9f,
			r >= 0xd800 && r <= 0xf8ff,
			r >= 0xfff0 && r <= 0xffff:
			return false
		}
	}
	return true
}

// splitPath returns the parent path and the last segment of a valid
// non-root path.
func splitPath(p string) (parent, name string) {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/", p[1:]
	}
	return p[:i], p[i+1:]
}

// joinPath joins a parent path and a child name.
func joinPath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

// isSpecialPath reports the nodes ZooKeeper refuses to delete
// (DataTree.isSpecialPath).
func isSpecialPath(p string) bool {
	switch p {
	case "/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config":
		return true
	}
	return false
}

// hasPathPrefix reports whether p is prefix itself or below it.
func hasPathPrefix(p, prefix string) bool {
	if prefix == "/" || prefix == "" {
		return true
	}
	return p == prefix || (strings.HasPrefix(p, prefix) && p[len(prefix)] == '/')
}
