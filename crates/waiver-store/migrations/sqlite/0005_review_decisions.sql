-- Expert review, contacts, decisions, allowances (a ledger of entries), product exclusions,
-- appeals, policy changes and notifications.
CREATE TABLE expert_interests (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    interest TEXT NOT NULL,
    declared_at_ms INTEGER NOT NULL
);
CREATE INDEX expert_interests_user ON expert_interests (username);

CREATE TABLE assignments (
    id INTEGER PRIMARY KEY,
    application_number TEXT NOT NULL REFERENCES applications (number),
    expert TEXT NOT NULL,
    seed TEXT NOT NULL,
    assigned_at_ms INTEGER NOT NULL,
    due_at_ms INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'scored', 'replaced')),
    replaced_by TEXT,
    replaced_reason TEXT,
    escalated_at_ms INTEGER
);
CREATE INDEX assignments_expert ON assignments (expert, status);
CREATE INDEX assignments_application ON assignments (application_number);

CREATE TABLE scores (
    id INTEGER PRIMARY KEY,
    application_number TEXT NOT NULL REFERENCES applications (number),
    expert TEXT NOT NULL,
    version INTEGER NOT NULL,
    sheet TEXT NOT NULL,
    recommendation TEXT NOT NULL,
    recommended_g INTEGER,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (application_number, expert, version)
);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    application_number TEXT NOT NULL REFERENCES applications (number),
    recorded_by TEXT NOT NULL,
    party TEXT NOT NULL,
    with_applicant INTEGER NOT NULL,
    contact_at TEXT NOT NULL,
    channel TEXT NOT NULL,
    summary TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX contacts_application ON contacts (application_number);

CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    application_number TEXT NOT NULL REFERENCES applications (number),
    officer TEXT NOT NULL,
    outcome TEXT NOT NULL,
    granted_g INTEGER NOT NULL CHECK (granted_g >= 0),
    tolerance_ppm INTEGER NOT NULL,
    valid_from_s INTEGER NOT NULL,
    valid_until_s INTEGER NOT NULL,
    body TEXT NOT NULL,
    departs INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('awaiting_countersignature', 'final', 'superseded')),
    countersigned_by TEXT,
    decided_at_ms INTEGER NOT NULL,
    final_at_ms INTEGER
);
CREATE INDEX decisions_application ON decisions (application_number);

CREATE TABLE appeals (
    id INTEGER PRIMARY KEY,
    application_number TEXT NOT NULL REFERENCES applications (number),
    filed_by TEXT NOT NULL,
    grounds TEXT NOT NULL,
    filed_at_ms INTEGER NOT NULL,
    outcome TEXT,
    granted_g INTEGER,
    reasons TEXT,
    reconsidered_by TEXT,
    reconsidered_at_ms INTEGER
);

CREATE TABLE allowances (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    application_number TEXT NOT NULL UNIQUE REFERENCES applications (number),
    programme_id TEXT NOT NULL,
    holder TEXT NOT NULL,
    line_code TEXT NOT NULL,
    unit TEXT NOT NULL,
    granted_g INTEGER NOT NULL CHECK (granted_g >= 0),
    tolerance_ppm INTEGER NOT NULL,
    valid_from_s INTEGER NOT NULL,
    valid_until_s INTEGER NOT NULL,
    scopes TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX allowances_holder ON allowances (holder);

CREATE TABLE allowance_entries (
    id INTEGER PRIMARY KEY,
    allowance_number TEXT NOT NULL REFERENCES allowances (number),
    kind TEXT NOT NULL,
    quantity_g INTEGER NOT NULL,
    cause TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX allowance_entries_allowance ON allowance_entries (allowance_number, id);

CREATE TABLE product_exclusions (
    id INTEGER PRIMARY KEY,
    programme_id TEXT NOT NULL,
    line_code TEXT NOT NULL,
    application_number TEXT NOT NULL UNIQUE REFERENCES applications (number),
    valid_from_s INTEGER NOT NULL,
    valid_until_s INTEGER NOT NULL,
    refunds TEXT NOT NULL,
    scopes TEXT NOT NULL,
    published_at_ms INTEGER NOT NULL
);
CREATE INDEX product_exclusions_line ON product_exclusions (line_code);

CREATE TABLE policy_changes (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    programme_id TEXT NOT NULL REFERENCES programmes (id),
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    spec TEXT NOT NULL,
    effective_at_s INTEGER NOT NULL,
    affected INTEGER NOT NULL,
    published_by TEXT NOT NULL,
    published_at_ms INTEGER NOT NULL
);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE INDEX notifications_recipient ON notifications (recipient, id);
