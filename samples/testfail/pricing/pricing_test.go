package pricing

import "testing"

func TestTotalNoDiscount(t *testing.T) {
	got := Total([]Line{{UnitCents: 250, Quantity: 2}, {UnitCents: 99, Quantity: 1}}, 0)
	if got != 599 {
		t.Errorf("Total = %d; want 599", got)
	}
}

func TestTotalWithDiscount(t *testing.T) {
	tests := []struct {
		name    string
		lines   []Line
		percent int
		want    int
	}{
		{name: "round number", lines: []Line{{UnitCents: 1000, Quantity: 1}}, percent: 10, want: 900},
		// 15% of 1999 is 299.85, which rounds half up to 300: the total is 1699.
		{name: "rounds half up", lines: []Line{{UnitCents: 1999, Quantity: 1}}, percent: 15, want: 1699},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Total(tt.lines, tt.percent); got != tt.want {
				t.Errorf("Total(%v, %d%%) = %d cents; want %d", tt.lines, tt.percent, got, tt.want)
			}
		})
	}
}
