package a

func One() int { return undefinedOne }

func Two() string { return 2 }
