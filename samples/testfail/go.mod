module example.com/sentinel-samples/testfail

go 1.26
