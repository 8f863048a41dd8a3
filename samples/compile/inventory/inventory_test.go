package inventory

import (
	"reflect"
	"testing"
)

func TestReserve(t *testing.T) {
	s := Stock{"apple": 3}
	if err := s.Reserve("apple", 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Reserve("apple", 2); err == nil {
		t.Error("reserved more units than were in stock")
	}
	if err := s.Reserve("pear", 1); err == nil {
		t.Error("reserved an unknown SKU")
	}
}

func TestLowStock(t *testing.T) {
	s := Stock{"apple": 1, "pear": 9, "fig": 0}
	if got, want := s.LowStock(2), []string{"apple", "fig"}; !reflect.DeepEqual(got, want) {
		t.Errorf("LowStock(2) = %v; want %v", got, want)
	}
}
