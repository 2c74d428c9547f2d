-- Accounts, enterprises, API tokens and the hash-chained audit log (SQLite).
CREATE TABLE enterprises (
    id INTEGER PRIMARY KEY,
    registration_code TEXT NOT NULL UNIQUE,
    name_en TEXT NOT NULL,
    name_zh TEXT NOT NULL DEFAULT '',
    parent_group TEXT,
    is_association INTEGER NOT NULL DEFAULT 0 CHECK (is_association IN (0, 1)),
    created_at_ms INTEGER NOT NULL
);

CREATE TABLE association_members (
    association_id INTEGER NOT NULL REFERENCES enterprises (id),
    member_id INTEGER NOT NULL REFERENCES enterprises (id),
    PRIMARY KEY (association_id, member_id)
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('applicant', 'expert', 'officer', 'customs', 'analyst', 'admin')),
    enterprise_id INTEGER REFERENCES enterprises (id),
    affiliation TEXT,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at_ms INTEGER NOT NULL,
    CHECK ((role = 'applicant') = (enterprise_id IS NOT NULL))
);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    token_sha256 TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    revoked_at_ms INTEGER
);

-- One row: the chain's last sequence number and hash. Updating it serialises audit writers.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    on_behalf_of TEXT,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action TEXT NOT NULL,
    diff TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id, seq);
