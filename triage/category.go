// Package triage is Sentinel's pure failure-analysis engine: result parsers
// (go test -json, JUnit XML, plain logs), classification rules, evidence
// extraction, normalisation and fingerprints. It uses the standard library
// only, performs no I/O of its own beyond the readers it is handed, and never
// reads the clock: callers pass time in where it matters.
package triage

// Category is the kind of cause a failure is attributed to. The string
// values are stored in the database and shown to users; they never change.
type Category string

// The eleven categories, in the order ties are broken (earlier wins).
const (
	CategoryOOM            Category = "oom"
	CategoryTimeout        Category = "timeout"
	CategoryDisk           Category = "disk"
	CategoryInfrastructure Category = "infrastructure"
	CategoryNetwork        Category = "network"
	CategoryDependency     Category = "dependency"
	CategoryConfiguration  Category = "configuration"
	CategoryCompile        Category = "compile"
	CategoryLint           Category = "lint"
	CategoryTest           Category = "test"
	CategoryUnknown        Category = "unknown"
)

// Categories lists every category in tie-break order.
var Categories = []Category{
	CategoryOOM, CategoryTimeout, CategoryDisk, CategoryInfrastructure, CategoryNetwork,
	CategoryDependency, CategoryConfiguration, CategoryCompile, CategoryLint, CategoryTest,
	CategoryUnknown,
}

// Valid reports whether c is one of the eleven categories.
func (c Category) Valid() bool {
	return c.rank() >= 0
}

// rank is the tie-break position of c, or -1 when c is not a category.
func (c Category) rank() int {
	for i, k := range Categories {
		if k == c {
			return i
		}
	}
	return -1
}
