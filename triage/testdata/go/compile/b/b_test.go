package b

import "testing"

func TestThree(t *testing.T) { _ = Three() }
