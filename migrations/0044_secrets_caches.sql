-- Secrets a pipeline step may name (`secrets: [NPM_TOKEN]`), per repository
-- or per installation (then for all of its repositories; the repository's
-- own of the same name wins). The value is never stored in clear: sealed
-- holds nonce || AES-GCM ciphertext under Sentinel's secret key, with the
-- scope and name as additional data so that a sealed value copied to
-- another row does not open.
CREATE TABLE secrets (
    id              bigserial PRIMARY KEY,
    repository_id   bigint REFERENCES repositories (id) ON DELETE CASCADE,
    installation_id bigint REFERENCES installations (id) ON DELETE CASCADE,
    name            text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]*$'),
    sealed          bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((repository_id IS NULL) <> (installation_id IS NULL))
);
CREATE UNIQUE INDEX secrets_repository_name_idx ON secrets (repository_id, name) WHERE repository_id IS NOT NULL;
CREATE UNIQUE INDEX secrets_installation_name_idx ON secrets (installation_id, name) WHERE installation_id IS NOT NULL;

-- Caches a repository's steps share (Docker volumes, or directories of the
-- shell executor). Clearing bumps the generation, so that runs start on new,
-- empty caches at once; the entries of the old generation are marked
-- cleared and removed by the next run's eviction pass, which also keeps each
-- repository under SENTINEL_CACHE_MAX by removing its least recently used
-- entries (one per scope and key).
CREATE TABLE repository_caches (
    repository_id bigint PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE,
    generation    integer NOT NULL DEFAULT 0,
    cleared_at    timestamptz
);
CREATE TABLE cache_entries (
    repository_id bigint NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    scope         text NOT NULL,
    key           text NOT NULL,
    size_bytes    bigint NOT NULL DEFAULT 0,
    last_used_at  timestamptz NOT NULL DEFAULT now(),
    cleared       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (repository_id, scope, key)
);
