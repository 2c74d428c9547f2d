//! What-if scenarios: the document of each version is kept (an edit adds a version, nothing is
//! overwritten); create, edit and archive are audited in the same transaction.
//!
//! The store checks only that a stored document is a well-formed [`ScenarioSpec`]; validation
//! against the schedule is the caller's (the schedule is not in the database).

use serde::Serialize;
use sqlx::Row;
use waiver_domain::scenario::ScenarioSpec;

use crate::audit::{self, Actor, Change};
use crate::{now_ms, Result, Store, StoreError};

/// One version of a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioRecord {
    pub id: i64,
    pub version: i64,
    /// The latest version number (equal to `version` unless an older one was asked for).
    pub current_version: i64,
    pub spec: ScenarioSpec,
    /// Who wrote this version, and when (ms since the epoch).
    pub created_by: String,
    pub created_at_ms: i64,
    pub archived: bool,
}

/// A scenario in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioSummary {
    pub id: i64,
    pub name: String,
    pub current_version: i64,
    pub created_by: String,
    pub updated_at_ms: i64,
}

/// A version in a scenario's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioVersion {
    pub version: i64,
    pub name: String,
    pub changes: usize,
    pub created_by: String,
    pub created_at_ms: i64,
}

fn parse(spec: &str) -> Result<ScenarioSpec> {
    serde_json::from_str(spec)
        .map_err(|e| StoreError::Invalid(format!("stored scenario is not valid: {e}")))
}

fn to_json(spec: &ScenarioSpec) -> Result<serde_json::Value> {
    serde_json::to_value(spec).map_err(|e| StoreError::Invalid(e.to_string()))
}

impl Store {
    /// Stores a new scenario as version 1; returns it.
    pub async fn create_scenario(
        &self,
        actor: &Actor,
        spec: &ScenarioSpec,
    ) -> Result<ScenarioRecord> {
        let json = to_json(spec)?;
        let mut tx = self.pool.begin().await?;
        let id = self.next_in_sequence(&mut tx, "scenario").await?;
        let now = now_ms();
        sqlx::query(&self.sql(
            "INSERT INTO scenarios (id, name, current_version, created_by, created_at_ms, updated_at_ms) VALUES ($1, $2, 1, $3, $4, $4)",
        ))
        .bind(id)
        .bind(spec.name.trim())
        .bind(&actor.user)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&self.sql(
            "INSERT INTO scenario_versions (scenario_id, version, spec, created_by, created_at_ms) VALUES ($1, 1, $2, $3, $4)",
        ))
        .bind(id)
        .bind(json.to_string())
        .bind(&actor.user)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let sid = id.to_string();
        let change = Change {
            entity_type: "scenario",
            entity_id: &sid,
            action: "create",
            before: serde_json::Value::Null,
            after: serde_json::json!({ "version": 1, "spec": json }),
        };
        audit::append(self, &mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(ScenarioRecord {
            id,
            version: 1,
            current_version: 1,
            spec: spec.clone(),
            created_by: actor.user.clone(),
            created_at_ms: now,
            archived: false,
        })
    }

    /// Adds a version to a scenario. With `expected_version`, a scenario edited meanwhile is a
    /// conflict (optimistic check); an archived scenario cannot be edited.
    pub async fn update_scenario(
        &self,
        actor: &Actor,
        id: i64,
        expected_version: Option<i64>,
        spec: &ScenarioSpec,
    ) -> Result<ScenarioRecord> {
        let json = to_json(spec)?;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&self.sql(
            "SELECT s.current_version, v.spec, s.archived_at_ms FROM scenarios s JOIN scenario_versions v ON v.scenario_id = s.id AND v.version = s.current_version WHERE s.id = $1",
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("no scenario {id}")))?;
        let current: i64 = row.try_get(0)?;
        let before: String = row.try_get(1)?;
        let archived: Option<i64> = row.try_get(2)?;
        if archived.is_some() {
            return Err(StoreError::Conflict(format!(
                "scenario {id} is archived; create a new scenario instead"
            )));
        }
        if let Some(v) = expected_version.filter(|v| *v != current) {
            return Err(StoreError::Conflict(format!(
                "scenario {id} is at version {current}, not {v}; reload it and apply your edit again"
            )));
        }
        let version = current + 1;
        let now = now_ms();
        sqlx::query(&self.sql(
            "INSERT INTO scenario_versions (scenario_id, version, spec, created_by, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
        ))
        .bind(id)
        .bind(version)
        .bind(json.to_string())
        .bind(&actor.user)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&self.sql(
            "UPDATE scenarios SET name = $1, current_version = $2, updated_at_ms = $3 WHERE id = $4",
        ))
        .bind(spec.name.trim())
        .bind(version)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let sid = id.to_string();
        let before: serde_json::Value =
            serde_json::from_str(&before).unwrap_or(serde_json::Value::Null);
        let change = Change {
            entity_type: "scenario",
            entity_id: &sid,
            action: "edit",
            before: serde_json::json!({ "version": current, "spec": before }),
            after: serde_json::json!({ "version": version, "spec": json }),
        };
        audit::append(self, &mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(ScenarioRecord {
            id,
            version,
            current_version: version,
            spec: spec.clone(),
            created_by: actor.user.clone(),
            created_at_ms: now,
            archived: false,
        })
    }

    /// Archives a scenario: it leaves the list and cannot be edited; its versions are kept.
    pub async fn archive_scenario(&self, actor: &Actor, id: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(&self.sql(
            "UPDATE scenarios SET archived_at_ms = $1 WHERE id = $2 AND archived_at_ms IS NULL",
        ))
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "no scenario {id} (or it is already archived)"
            )));
        }
        let sid = id.to_string();
        let change = Change {
            entity_type: "scenario",
            entity_id: &sid,
            action: "archive",
            before: serde_json::Value::Null,
            after: serde_json::Value::Null,
        };
        audit::append(self, &mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A scenario at a version (default: the latest); archived scenarios are still readable.
    pub async fn scenario(&self, id: i64, version: Option<i64>) -> Result<Option<ScenarioRecord>> {
        let row = sqlx::query(&self.sql(
            "SELECT v.version, s.current_version, v.spec, v.created_by, v.created_at_ms, s.archived_at_ms \
             FROM scenarios s JOIN scenario_versions v ON v.scenario_id = s.id \
             WHERE s.id = $1 AND v.version = COALESCE($2, s.current_version)",
        ))
        .bind(id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(ScenarioRecord {
                id,
                version: r.try_get(0)?,
                current_version: r.try_get(1)?,
                spec: parse(&r.try_get::<String, _>(2)?)?,
                created_by: r.try_get(3)?,
                created_at_ms: r.try_get(4)?,
                archived: r.try_get::<Option<i64>, _>(5)?.is_some(),
            })
        })
        .transpose()
    }

    /// Scenarios not archived, newest first.
    pub async fn scenarios(&self) -> Result<Vec<ScenarioSummary>> {
        let rows = sqlx::query(
            "SELECT id, name, current_version, created_by, updated_at_ms FROM scenarios WHERE archived_at_ms IS NULL ORDER BY updated_at_ms DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ScenarioSummary {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    current_version: r.try_get(2)?,
                    created_by: r.try_get(3)?,
                    updated_at_ms: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Every version of a scenario, oldest first.
    pub async fn scenario_versions(&self, id: i64) -> Result<Vec<ScenarioVersion>> {
        let rows = sqlx::query(&self.sql(
            "SELECT version, spec, created_by, created_at_ms FROM scenario_versions WHERE scenario_id = $1 ORDER BY version",
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let spec = parse(&r.try_get::<String, _>(1)?)?;
                Ok(ScenarioVersion {
                    version: r.try_get(0)?,
                    name: spec.name,
                    changes: spec.changes.len(),
                    created_by: r.try_get(2)?,
                    created_at_ms: r.try_get(3)?,
                })
            })
            .collect()
    }
}
