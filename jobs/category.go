package jobs

import "github.com/sentinel-ci/sentinel/triage"

// Categories the runner records on a run (runs.category) when it knows the
// cause itself; they are triage's words, so triage and the dashboard agree.
const (
	CategoryInfrastructure = string(triage.CategoryInfrastructure)
	CategoryConfiguration  = string(triage.CategoryConfiguration)
	CategoryTimeout        = string(triage.CategoryTimeout)
	CategoryOutOfMemory    = string(triage.CategoryOOM)
)
