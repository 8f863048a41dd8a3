module example.com/sentinel-samples/success

go 1.26
