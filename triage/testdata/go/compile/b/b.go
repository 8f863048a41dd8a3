package b

func Three() int {
	x := 1
	return y
}

func Four() { missing() }
