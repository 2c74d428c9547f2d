-- Refund claims (issue 5, item 6): one per product exclusion (its application number, unique in
-- product_exclusions), declaration and line. The unique key makes generation idempotent.
CREATE TABLE refund_claims (
    id INTEGER PRIMARY KEY,
    exclusion_application TEXT NOT NULL REFERENCES product_exclusions (application_number),
    programme_id TEXT NOT NULL,
    declaration_number TEXT NOT NULL REFERENCES declarations (number),
    line_no INTEGER NOT NULL,
    importer TEXT NOT NULL,
    code TEXT NOT NULL,
    declared_at_s INTEGER NOT NULL,
    paid_additional_fen INTEGER NOT NULL CHECK (paid_additional_fen >= 0),
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0 AND amount_fen <= paid_additional_fen),
    deadline_ms INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'settled')),
    created_at_ms INTEGER NOT NULL,
    settled_at_ms INTEGER,
    settled_by TEXT,
    UNIQUE (exclusion_application, declaration_number, line_no)
);
CREATE INDEX refund_claims_importer ON refund_claims (importer, id);
