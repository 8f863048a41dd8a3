module example.com/assert

go 1.22
