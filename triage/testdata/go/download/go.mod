module example.com/download

go 1.22

require github.com/sentinel-ci/does-not-exist v1.2.3
