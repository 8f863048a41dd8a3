// Package inventory tracks stock levels per SKU.
package inventory

import "fmt"

// Stock maps a SKU to the number of units on hand.
type Stock map[string]int

// Reserve takes n units of sku out of stock, or says why it cannot.
func (s Stock) Reserve(sku string, n int) error {
	have, ok := s[sku]
	if !ok {
		return fmt.Errorf("inventory: unknown SKU %q", sku)
	}
	if have < n {
		return fmt.Errorf("inventory: %q has %d units, %d requested", sku, have, n)
	}
	s[sku] = have - n
	return nil
}
