package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sentinel-ci/sentinel/store/storetest"
)

func TestMain(m *testing.M) {
	code := storetest.Main(m)
	if drillBin != "" { // built once for the drills
		os.RemoveAll(filepath.Dir(drillBin))
	}
	os.Exit(code)
}
