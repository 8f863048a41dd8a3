// Package pricing computes order totals in cents.
package pricing

// Line is one item of an order.
type Line struct {
	UnitCents int
	Quantity  int
}

// Total returns the order total in cents after a percentage discount, rounded half up to the
// nearest cent.
func Total(lines []Line, discountPercent int) int {
	sum := 0
	for _, l := range lines {
		sum += l.UnitCents * l.Quantity
	}
	// The bug this sample exists to show: integer division truncates, so the discount is
	// rounded down instead of half up, and some totals come out one cent too high.
	discount := sum * discountPercent / 100
	return sum - discount
}
