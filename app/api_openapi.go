package app

import (
	_ "embed"
	"net/http"
)

// openAPI describes Sentinel's JSON API (OpenAPI 3.0). TestAPIMatchesOpenAPI
// calls every operation and checks each answer against it, so the
// description cannot drift from the handlers unnoticed.
//
//go:embed openapi.json
var openAPI []byte

// apiOpenAPI serves the description at GET /api/openapi.json.
func (s *Server) apiOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(openAPI)
}
