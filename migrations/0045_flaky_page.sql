-- The flaky tests page lists flaky, quarantined and suspect tests (healthy or
-- recovered with an intermittent failure in the window), not every test with
-- a score: a healthy test scores about 0.6 under the prior.
DROP INDEX IF EXISTS tests_flaky_score_idx;
CREATE INDEX tests_needs_look_idx ON tests (score DESC, id DESC)
    WHERE state IN ('flaky', 'quarantined') OR (state IN ('healthy', 'recovered') AND episodes > 0);
