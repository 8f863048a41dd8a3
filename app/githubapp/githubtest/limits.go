package githubtest

import "fmt"

// proseLimits checks the limits GitHub's description states only in prose
// (descriptions, not schema keywords), for the operations that have them.
func proseLimits(operationID string, body any) []string {
	obj, ok := body.(map[string]any)
	if !ok {
		return nil
	}
	var out []string
	switch operationID {
	case "checks/create", "checks/update":
		if name, has := obj["name"]; has && name == "" {
			out = append(out, `"name" is empty: the check run would lose its name (go-github sends "name":"" when Name is unset on update)`)
		}
		_, hasCompletedAt := obj["completed_at"]
		if (obj["status"] == "completed" || hasCompletedAt) && obj["conclusion"] == nil {
			out = append(out, `"conclusion" is required with status "completed" or completed_at`)
		}
		if output, ok := obj["output"].(map[string]any); ok {
			anns, _ := output["annotations"].([]any)
			for i, a := range anns {
				out = append(out, annotationLimits(i, a)...)
			}
		}
	}
	return out
}

func annotationLimits(i int, a any) []string {
	ann, ok := a.(map[string]any)
	if !ok {
		return nil
	}
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, fmt.Sprintf("at /output/annotations/%d: ", i)+fmt.Sprintf(format, args...))
	}
	if t, ok := ann["title"].(string); ok && len([]rune(t)) > 255 {
		bad("title has %d characters, the maximum is 255", len([]rune(t)))
	}
	for _, f := range []string{"message", "raw_details"} {
		if s, ok := ann[f].(string); ok && len(s) > 64*1024 {
			bad("%s has %d bytes, the maximum is 64 KB", f, len(s))
		}
	}
	start, _ := ann["start_line"].(float64)
	end, _ := ann["end_line"].(float64)
	if start < 1 {
		bad("start_line %v: line numbers start at 1", start)
	}
	if end < start {
		bad("end_line %v is before start_line %v", end, start)
	}
	_, sc := ann["start_column"]
	_, ec := ann["end_column"]
	if (sc || ec) && start != end {
		bad("start_column/end_column given while start_line (%v) != end_line (%v)", start, end)
	}
	return out
}
