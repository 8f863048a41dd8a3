module example.com/sentinel-samples/compile

go 1.26
