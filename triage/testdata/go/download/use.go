package use

import _ "github.com/sentinel-ci/does-not-exist"
