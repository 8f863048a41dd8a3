// Package normref is a frozen copy of triage's normaliser as it was before
// the single-pass rewrite (commit 50d125e). It exists only so that
// triage's differential tests can check the fast normaliser produces
// byte-identical output; nothing outside tests imports it.
package normref
