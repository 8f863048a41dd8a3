package a

import "testing"

func TestOne(t *testing.T) { _ = One() }
