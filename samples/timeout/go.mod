module example.com/sentinel-samples/timeout

go 1.26
