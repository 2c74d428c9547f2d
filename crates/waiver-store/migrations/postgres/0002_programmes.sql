-- Exclusion programmes, stored as their validated JSON document with a version.
CREATE TABLE programmes (
    id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    spec TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
