-- Declarations and their lines (issue 5). The allowance keeps `used_g`, maintained in the same
-- transaction as every draw and reversal entry so that a draw reads one locked row instead of
-- summing the ledger; tests check it always equals the sum of the entries.
ALTER TABLE allowances ADD COLUMN used_g INTEGER NOT NULL DEFAULT 0 CHECK (used_g >= 0);
CREATE INDEX allowance_entries_cause ON allowance_entries (cause);

CREATE TABLE declarations (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    importer TEXT NOT NULL,
    declared_at_s INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('accepted', 'cancelled')),
    -- The request as received (canonical JSON) and the answer given, for exact replays.
    request TEXT NOT NULL,
    answer TEXT NOT NULL,
    total_fen INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX declarations_importer ON declarations (importer, declared_at_s);

CREATE TABLE declaration_lines (
    declaration_number TEXT NOT NULL REFERENCES declarations (number),
    line_no INTEGER NOT NULL,
    code TEXT NOT NULL,
    origin TEXT NOT NULL,
    allowance_number TEXT,
    covered_g INTEGER NOT NULL,
    uncovered_g INTEGER NOT NULL,
    base_duty_fen INTEGER NOT NULL,
    additional_duty_fen INTEGER NOT NULL,
    excluded_duty_fen INTEGER NOT NULL,
    vat_fen INTEGER NOT NULL,
    total_fen INTEGER NOT NULL,
    PRIMARY KEY (declaration_number, line_no)
);
CREATE INDEX declaration_lines_allowance ON declaration_lines (allowance_number);

-- Monthly purchase reports filed by holders: one per allowance and month.
CREATE TABLE purchase_reports (
    id INTEGER PRIMARY KEY,
    allowance_number TEXT NOT NULL REFERENCES allowances (number),
    month TEXT NOT NULL,
    quantity_g INTEGER NOT NULL CHECK (quantity_g >= 0),
    -- Price per unit of the allowance (e.g. per tonne), minor units of currency.
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    currency TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    filed_at_ms INTEGER NOT NULL,
    UNIQUE (allowance_number, month)
);
