-- The Go modules of a run's checkout, module path -> directory relative to
-- the repository root ("" for the root). go test names a failing test's
-- file relative to its package; the check run's annotations need it
-- relative to the repository, which in a monorepo only the checkout tells.
-- NULL: not recorded (a run from before this column, or no go.mod found).
ALTER TABLE runs ADD COLUMN go_modules jsonb;
