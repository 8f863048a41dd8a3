// Package templates holds the dashboard's html/template files and its static
// assets (one stylesheet, one small optional script), embedded in the binary.
// The app package parses the pages once at start-up: layout.html plus one
// file per page.
package templates

import "embed"

// Pages holds layout.html, partials.html and one NAME.html per page.
//
//go:embed *.html
var Pages embed.FS

// Static holds the files served under /static/.
//
//go:embed static
var Static embed.FS
