// Package normref is a frozen copy of triage's multi-pass normaliser, as
// it was before the passes were fused and guarded (commit 50d125e). It is
// kept only as the test oracle of the fast normaliser:
// TestNormalizeMatchesReference and FuzzNormalize check that triage's
// Normalize gives byte-identical output. Nothing outside tests imports it.
package normref
