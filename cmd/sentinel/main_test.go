package main

import (
	"os"
	"testing"

	"github.com/sentinel-ci/sentinel/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
