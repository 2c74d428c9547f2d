//! Exclusion programmes: stored as their validated document, versioned, audited.

use sqlx::Row;
use waiver_domain::programme::{Programme, ProgrammeSpec};

use crate::audit::{self, Actor, Change};
use crate::{now_ms, Result, Store, StoreError};

fn parse(spec: &str) -> Result<Programme> {
    let spec: ProgrammeSpec = serde_json::from_str(spec)
        .map_err(|e| StoreError::Invalid(format!("stored programme is not valid JSON: {e}")))?;
    spec.validate()
        .map_err(|e| StoreError::Invalid(format!("stored programme is invalid: {e}")))
}

impl Store {
    /// Creates a programme; an existing id is a conflict.
    pub async fn create_programme(&self, actor: &Actor, p: &Programme) -> Result<()> {
        let spec = serde_json::to_value(&p.spec).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query(&self.sql("SELECT version FROM programmes WHERE id = $1"))
            .bind(&p.spec.id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "programme {} already exists",
                p.spec.id
            )));
        }
        let now = now_ms();
        sqlx::query(&self.sql(
            "INSERT INTO programmes (id, version, spec, created_at_ms, updated_at_ms) VALUES ($1, 1, $2, $3, $4)",
        ))
        .bind(&p.spec.id)
        .bind(spec.to_string())
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let change = Change {
            entity_type: "programme",
            entity_id: &p.spec.id,
            action: "create",
            before: serde_json::Value::Null,
            after: spec,
        };
        audit::append(self, &mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a programme's document with a new version, as one audited change. Allowed only
    /// while no application has been filed under it (after that, rules change by a published
    /// policy change) and only from the version the editor saw (`expected_version`).
    pub async fn update_programme(
        &self,
        actor: &Actor,
        p: &Programme,
        expected_version: i64,
    ) -> Result<i64> {
        let spec = serde_json::to_value(&p.spec).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&self.sql("SELECT version, spec FROM programmes WHERE id = $1"))
            .bind(&p.spec.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no programme {}", p.spec.id)))?;
        let version: i64 = row.try_get(0)?;
        let before: serde_json::Value = serde_json::from_str(&row.try_get::<String, _>(1)?)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        if version != expected_version {
            return Err(StoreError::Conflict(format!(
                "programme {} is at version {version}, not {expected_version}; reload it and edit again",
                p.spec.id
            )));
        }
        let filed: i64 =
            sqlx::query(&self.sql("SELECT COUNT(*) FROM applications WHERE programme_id = $1"))
                .bind(&p.spec.id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        if filed > 0 {
            return Err(StoreError::Conflict(format!(
                "{filed} application(s) are filed under {}; change its rules by a published policy change",
                p.spec.id
            )));
        }
        // The version in the WHERE clause makes a concurrent edit fail instead of being lost.
        let updated = sqlx::query(&self.sql(
            "UPDATE programmes SET spec = $1, version = version + 1, updated_at_ms = $2 WHERE id = $3 AND version = $4",
        ))
        .bind(spec.to_string())
        .bind(now_ms())
        .bind(&p.spec.id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            return Err(StoreError::Conflict(format!(
                "programme {} was changed meanwhile; reload it and edit again",
                p.spec.id
            )));
        }
        let change = Change {
            entity_type: "programme",
            entity_id: &p.spec.id,
            action: "update",
            before,
            after: spec,
        };
        audit::append(self, &mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(version + 1)
    }

    /// A programme and its version.
    pub async fn programme(&self, id: &str) -> Result<Option<(Programme, i64)>> {
        let row = sqlx::query(&self.sql("SELECT spec, version FROM programmes WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((parse(&r.try_get::<String, _>(0)?)?, r.try_get(1)?)))
            .transpose()
    }

    /// Every programme, by id.
    pub async fn programmes(&self) -> Result<Vec<(Programme, i64)>> {
        let rows = sqlx::query("SELECT spec, version FROM programmes ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((parse(&r.try_get::<String, _>(0)?)?, r.try_get(1)?)))
            .collect()
    }

    /// Creates the seed programmes that do not exist yet; returns how many were created.
    pub async fn seed_programmes(&self, actor: &Actor) -> Result<usize> {
        let seed = waiver_domain::programme::seed_programmes()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut created = 0;
        for p in &seed {
            if self.programme(&p.spec.id).await?.is_none() {
                self.create_programme(actor, p).await?;
                created += 1;
            }
        }
        Ok(created)
    }
}
