-- Refund claims follow their declaration (issue 5, item 6): a claim is for one revision of a
-- declaration line, and cancelling or amending the declaration withdraws its open claims.
-- SQLite cannot change a CHECK or UNIQUE constraint in place, so the table is rebuilt.
CREATE TABLE refund_claims_new (
    id INTEGER PRIMARY KEY,
    exclusion_application TEXT NOT NULL REFERENCES product_exclusions (application_number),
    programme_id TEXT NOT NULL,
    declaration_number TEXT NOT NULL REFERENCES declarations (number),
    revision INTEGER NOT NULL CHECK (revision >= 1),
    line_no INTEGER NOT NULL,
    importer TEXT NOT NULL,
    code TEXT NOT NULL,
    declared_at_s INTEGER NOT NULL,
    paid_additional_fen INTEGER NOT NULL CHECK (paid_additional_fen >= 0),
    amount_fen INTEGER NOT NULL CHECK (amount_fen > 0 AND amount_fen <= paid_additional_fen),
    deadline_ms INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'settled', 'withdrawn')),
    created_at_ms INTEGER NOT NULL,
    settled_at_ms INTEGER,
    settled_by TEXT,
    withdrawn_at_ms INTEGER,
    withdrawn_reason TEXT,
    UNIQUE (exclusion_application, declaration_number, revision, line_no)
);
-- Claims recorded before this migration are taken to be for the declaration's current revision.
INSERT INTO refund_claims_new (id, exclusion_application, programme_id, declaration_number, revision,
    line_no, importer, code, declared_at_s, paid_additional_fen, amount_fen, deadline_ms, status,
    created_at_ms, settled_at_ms, settled_by)
SELECT c.id, c.exclusion_application, c.programme_id, c.declaration_number,
    COALESCE((SELECT d.revision FROM declarations d WHERE d.number = c.declaration_number), 1),
    c.line_no, c.importer, c.code, c.declared_at_s, c.paid_additional_fen, c.amount_fen,
    c.deadline_ms, c.status, c.created_at_ms, c.settled_at_ms, c.settled_by
FROM refund_claims c;
DROP TABLE refund_claims;
ALTER TABLE refund_claims_new RENAME TO refund_claims;
CREATE INDEX refund_claims_importer ON refund_claims (importer, id);
CREATE INDEX refund_claims_declaration ON refund_claims (declaration_number);
