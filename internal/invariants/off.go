//go:build !invariants && !race

package invariants

// Enabled is true only under the `invariants` or `race` build tags.
const Enabled = false
