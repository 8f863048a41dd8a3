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
