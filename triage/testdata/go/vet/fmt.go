package vetcase

import "fmt"

func Describe(n int) string { return fmt.Sprintf("%s items", n) }

func Pair(a, b string) string { return fmt.Sprintf("%d=%s", a, b) }
