package inventory

import "sort"

// LowStock lists the SKUs with fewer than threshold units, in name order.
//
// The build error this sample exists to show: a half-finished refactor changed the return type
// to []string but still returns the count, so the package does not compile.
func (s Stock) LowStock(threshold int) []string {
	var low []string
	for sku, n := range s {
		if n < threshold {
			low = append(low, sku)
		}
	}
	sort.Strings(low)
	return len(low)
}
