-- Country quotas (issue 5, item 7): a country's yearly quantity of the goods a conditional
-- measure names (the 2026 beef safeguard), kept as a ledger like an allowance. `used_g` moves in
-- the same transaction as every draw and reversal entry; `reached_at_s` is the declared instant
-- of the draw that took `used_g` to the quota (cleared when a reversal takes it back under).
CREATE TABLE quotas (
    id TEXT PRIMARY KEY,
    measure_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    -- The goods counted: the measure's code prefixes, `;`-joined.
    goods TEXT NOT NULL,
    year INTEGER NOT NULL,
    quota_g INTEGER NOT NULL CHECK (quota_g > 0),
    used_g INTEGER NOT NULL DEFAULT 0 CHECK (used_g >= 0),
    reached_at_s INTEGER,
    created_by TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (measure_id, origin, year)
);
CREATE INDEX quotas_origin_year ON quotas (origin, year);

CREATE TABLE quota_entries (
    id INTEGER PRIMARY KEY,
    quota_id TEXT NOT NULL REFERENCES quotas (id),
    kind TEXT NOT NULL,
    quantity_g INTEGER NOT NULL,
    cause TEXT NOT NULL,
    at_ms INTEGER NOT NULL
);
CREATE INDEX quota_entries_quota ON quota_entries (quota_id, id);
CREATE INDEX quota_entries_cause ON quota_entries (cause);

-- A notice per quota and threshold (50, 80, 100 percent), given once, by the draw that passed it.
CREATE TABLE quota_notices (
    quota_id TEXT NOT NULL REFERENCES quotas (id),
    threshold_pct INTEGER NOT NULL,
    used_g INTEGER NOT NULL,
    declared_at_s INTEGER NOT NULL,
    cause TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (quota_id, threshold_pct)
);
