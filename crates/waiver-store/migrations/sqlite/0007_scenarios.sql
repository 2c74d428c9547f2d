-- What-if scenarios: one row per scenario, and every version of its document (an edit adds a
-- version; old versions are kept). Numbered 0007: 0006 is taken by the declarations work.
CREATE TABLE scenarios (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    archived_at_ms INTEGER
);

CREATE TABLE scenario_versions (
    scenario_id INTEGER NOT NULL REFERENCES scenarios (id),
    version INTEGER NOT NULL,
    spec TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (scenario_id, version)
);
