package store

import "testing"

func TestFirst(t *testing.T) {
	if Index([]int{1, 2}, 0) != 2 {
		t.Errorf("Index = %d, want 2", Index([]int{1, 2}, 0))
	}
}

func TestPut(t *testing.T) {
	var c Cache
	c.Put("a", 1)
}

func TestAfter(t *testing.T) {}

func TestLast(t *testing.T) {}
