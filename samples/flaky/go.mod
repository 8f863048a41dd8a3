module example.com/sentinel-samples/flaky

go 1.26
