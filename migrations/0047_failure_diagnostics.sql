-- Every located diagnostic the problem matchers read in a failing step's log
-- (triage.Diagnostic: file, line, column, severity, message, code, owner,
-- log_line), kept on the step's first failure so that each one becomes a
-- check-run annotation, not only those on evidence lines. At most
-- store.MaxFailureDiagnostics are kept; diagnostics_dropped counts the rest
-- (those triage's scan did not keep included), so pages can say so.
ALTER TABLE failures ADD COLUMN diagnostics jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN diagnostics_dropped integer NOT NULL DEFAULT 0;
