package intake

import (
	"os"
	"testing"

	"github.com/sentinel-ci/sentinel/store/storetest"
)

// TestMain stops the Postgres cluster storetest may start for this package's
// tests (the only TestMain of package intake; intake_test shares it).
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
