-- Applications and the counters that number them.
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE applications (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    programme_id TEXT NOT NULL REFERENCES programmes (id),
    enterprise_code TEXT NOT NULL REFERENCES enterprises (registration_code),
    filed_by TEXT NOT NULL,
    line_code TEXT NOT NULL,
    state TEXT NOT NULL,
    spec TEXT NOT NULL,
    quantity_g INTEGER NOT NULL CHECK (quantity_g > 0),
    value_minor INTEGER NOT NULL CHECK (value_minor > 0),
    currency TEXT NOT NULL,
    screening_notes TEXT,
    version INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX applications_duplicates ON applications (line_code, enterprise_code, state);
CREATE INDEX applications_enterprise ON applications (enterprise_code, id);
