-- Browser sessions (stored as the SHA-256 of the cookie value) and application attachments.
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    application_number TEXT NOT NULL REFERENCES applications (number),
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    content BLOB NOT NULL,
    uploaded_by TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX attachments_application ON attachments (application_number, id);
