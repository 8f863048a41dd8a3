package vetcase

import "testing"

func TestDescribe(t *testing.T) { _ = Describe(1) }
