package calc

func Add(a, b int) int { return a + b + 1 }

func Name(id int) string { return "user-" + string(rune('a'+id)) }
