package store

type Cache struct{ m map[string]int }

func (c *Cache) Put(k string, v int) { c.m[k] = v }

func Index(s []int, i int) int { return s[i] }
