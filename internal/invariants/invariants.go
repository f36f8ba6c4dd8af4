// Package invariants gates expensive self-checks.
//
// Enabled is a constant, so checks guarded by it compile away in release
// builds. CI runs the suite with `-tags invariants -race`, which turns them on.
package invariants
