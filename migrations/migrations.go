// Package migrations holds Sentinel's numbered SQL migrations. The store
// applies them in lexical order, each in its own transaction, under one
// advisory lock shared with River's own migrations.
package migrations

import "embed"

// FS contains every NNNN_name.sql file of this directory.
//
//go:embed *.sql
var FS embed.FS
