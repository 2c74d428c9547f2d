//! Applications: numbered `APP-<year>-<6 digits>`, stored with their validated document, moved
//! through the domain's state machine, every change audited in the same transaction.

use serde::Serialize;
use sqlx::Row;
use waiver_domain::application::{ApplicationSpec, Event, State, Validated};

use crate::audit::{self, Actor, Change};
use crate::{now_ms, Result, Store, StoreError};

/// Limits on listing.
pub const MAX_PAGE_SIZE: i64 = 200;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Application {
    pub number: String,
    pub programme: String,
    pub enterprise: String,
    pub filed_by: String,
    pub line: String,
    pub state: State,
    pub spec: ApplicationSpec,
    /// Reasons per field when returned for amendment.
    pub screening_notes: Option<serde_json::Value>,
    pub version: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Which applications a caller may list.
#[derive(Clone, Debug)]
pub enum Scope {
    All,
    Enterprises(Vec<String>),
    /// Only these applications (an expert's assignments).
    Numbers(Vec<String>),
}

const SELECT: &str = "SELECT number, programme_id, enterprise_code, filed_by, line_code, state, spec, screening_notes, version, created_at_ms, updated_at_ms FROM applications";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Application> {
    let state: String = r.try_get(5)?;
    let spec: String = r.try_get(6)?;
    let notes: Option<String> = r.try_get(7)?;
    Ok(Application {
        number: r.try_get(0)?,
        programme: r.try_get(1)?,
        enterprise: r.try_get(2)?,
        filed_by: r.try_get(3)?,
        line: r.try_get(4)?,
        state: State::parse(&state)
            .ok_or_else(|| StoreError::Invalid(format!("unknown stored state {state}")))?,
        spec: serde_json::from_str(&spec).map_err(|e| StoreError::Invalid(e.to_string()))?,
        screening_notes: notes
            .map(|n| serde_json::from_str(&n))
            .transpose()
            .map_err(|e| StoreError::Invalid(e.to_string()))?,
        version: r.try_get(8)?,
        created_at_ms: r.try_get(9)?,
        updated_at_ms: r.try_get(10)?,
    })
}

fn open_states() -> String {
    State::ALL
        .iter()
        .filter(|s| s.is_open())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// The enterprises whose applications block a new one by `enterprise` for the same line:
    /// itself, the associations it belongs to, and (for an association) its members.
    async fn related_enterprises(&self, enterprise: &str) -> Result<Vec<String>> {
        let rows = sqlx::query(&self.sql(
            "SELECT a.registration_code FROM association_members am JOIN enterprises a ON a.id = am.association_id \
             JOIN enterprises m ON m.id = am.member_id WHERE m.registration_code = $1 \
             UNION SELECT m.registration_code FROM association_members am JOIN enterprises a ON a.id = am.association_id \
             JOIN enterprises m ON m.id = am.member_id WHERE a.registration_code = $2",
        ))
        .bind(enterprise)
        .bind(enterprise)
        .fetch_all(&self.pool)
        .await?;
        let mut out = vec![enterprise.to_owned()];
        for r in rows {
            out.push(r.try_get(0)?);
        }
        Ok(out)
    }

    /// Stores a validated application as a draft or submitted. A duplicate open application for
    /// the same line by the same enterprise (or its association, or its members) is a conflict
    /// naming the existing one.
    pub async fn create_application(
        &self,
        actor: &Actor,
        spec: &ApplicationSpec,
        v: &Validated,
        submit: bool,
        year: i64,
    ) -> Result<Application> {
        let related = self.related_enterprises(&spec.enterprise).await?;
        let mut tx = self.pool.begin().await?;
        let placeholders: Vec<String> = (0..related.len()).map(|i| format!("${}", i + 2)).collect();
        let dup_sql = format!(
            "SELECT number, enterprise_code FROM applications WHERE line_code = $1 AND enterprise_code IN ({}) AND state IN ({}) ORDER BY id LIMIT 1",
            placeholders.join(", "),
            open_states()
        );
        let dup_sql = self.sql_owned(dup_sql);
        let mut q = sqlx::query(&dup_sql).bind(v.line.to_string());
        for e in &related {
            q = q.bind(e);
        }
        if let Some(r) = q.fetch_optional(&mut *tx).await? {
            let (number, by): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            return Err(StoreError::Conflict(format!(
                "application {number} by {by} for line {} is still open; amend or withdraw it instead of filing again",
                v.line
            )));
        }
        let seq = self
            .next_in_sequence(&mut tx, &format!("application-{year}"))
            .await?;
        let number = format!("APP-{year}-{seq:06}");
        let state = if submit {
            State::Submitted
        } else {
            State::Draft
        };
        let spec_json =
            serde_json::to_string(spec).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let now = now_ms();
        sqlx::query(&self.sql(
            "INSERT INTO applications (number, programme_id, enterprise_code, filed_by, line_code, state, spec, quantity_g, value_minor, currency, version, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12)",
        ))
        .bind(&number)
        .bind(&spec.programme)
        .bind(&spec.enterprise)
        .bind(&actor.user)
        .bind(v.line.to_string())
        .bind(state.as_str())
        .bind(&spec_json)
        .bind(v.quantity.grams)
        .bind(v.value.minor)
        .bind(v.value.currency.as_str())
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let change = Change {
            entity_type: "application",
            entity_id: &number,
            action: if submit { "submit" } else { "create_draft" },
            before: serde_json::Value::Null,
            after: serde_json::json!({ "state": state, "spec": spec }),
        };
        audit::append(self, &mut tx, actor, change).await?;
        tx.commit().await?;
        self.application(&number)
            .await?
            .ok_or_else(|| StoreError::NotFound(number))
    }

    pub async fn application(&self, number: &str) -> Result<Option<Application>> {
        let sql = format!("{SELECT} WHERE number = $1");
        let row = sqlx::query(&self.sql_owned(sql))
            .bind(number)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Applications in scope, newest first, at most `limit` (capped) after `offset`.
    pub async fn applications(
        &self,
        scope: &Scope,
        state: Option<State>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Application>> {
        let limit = limit.clamp(1, MAX_PAGE_SIZE);
        let offset = offset.max(0);
        let mut clauses = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let (column, values) = match scope {
            Scope::All => ("", &[][..]),
            Scope::Enterprises(codes) => ("enterprise_code", &codes[..]),
            Scope::Numbers(numbers) => ("number", &numbers[..]),
        };
        if !column.is_empty() {
            if values.is_empty() {
                return Ok(Vec::new());
            }
            let ph: Vec<String> = values
                .iter()
                .map(|c| {
                    binds.push(c.clone());
                    format!("${}", binds.len())
                })
                .collect();
            clauses.push(format!("{column} IN ({})", ph.join(", ")));
        }
        if let Some(s) = state {
            binds.push(s.as_str().to_owned());
            clauses.push(format!("state = ${}", binds.len()));
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let sql = format!("{SELECT}{filter} ORDER BY id DESC LIMIT {limit} OFFSET {offset}");
        let sql = self.sql_owned(sql);
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Applies events in order (e.g. start screening then return), optionally replacing the
    /// document and the screening notes, as one audited change. `expected_version` guards
    /// against lost updates.
    pub async fn transition(
        &self,
        actor: &Actor,
        number: &str,
        events: &[Event],
        expected_version: Option<i64>,
        new_spec: Option<(&ApplicationSpec, &Validated)>,
        notes: Option<serde_json::Value>,
    ) -> Result<Application> {
        let before = self
            .application(number)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no application {number}")))?;
        if let Some(v) = expected_version {
            if v != before.version {
                return Err(StoreError::Conflict(format!(
                    "application {number} changed since version {v} (now {}); reload it",
                    before.version
                )));
            }
        }
        let mut state = before.state;
        for e in events {
            state = state
                .on(*e)
                .map_err(|e| StoreError::Conflict(e.to_string()))?;
        }
        let spec = new_spec.map(|(s, _)| s).unwrap_or(&before.spec);
        let spec_json =
            serde_json::to_string(spec).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let notes_json = notes
            .as_ref()
            .map(|n| n.to_string())
            .or_else(|| before.screening_notes.as_ref().map(|n| n.to_string()));
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(&self.sql(
            "UPDATE applications SET state = $1, spec = $2, screening_notes = $3, version = version + 1, updated_at_ms = $4 \
             WHERE number = $5 AND version = $6",
        ))
        .bind(state.as_str())
        .bind(&spec_json)
        .bind(&notes_json)
        .bind(now_ms())
        .bind(number)
        .bind(before.version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            return Err(StoreError::Conflict(format!(
                "application {number} changed while this request ran; reload it"
            )));
        }
        if let Some((_, v)) = new_spec {
            sqlx::query(&self.sql("UPDATE applications SET quantity_g = $1, value_minor = $2, currency = $3 WHERE number = $4"))
                .bind(v.quantity.grams)
                .bind(v.value.minor)
                .bind(v.value.currency.as_str())
                .bind(number)
                .execute(&mut *tx)
                .await?;
        }
        let action: Vec<&str> = events
            .iter()
            .map(|e| match e {
                Event::Submit => "submit",
                Event::StartScreening => "start_screening",
                Event::Return => "return",
                Event::Resubmit => "resubmit",
                Event::Accept => "accept",
                Event::CompleteReview => "complete_review",
                Event::Approve => "approve",
                Event::PartiallyApprove => "partially_approve",
                Event::Reject => "reject",
                Event::Appeal => "appeal",
                Event::Reconsider => "reconsider",
                Event::Withdraw => "withdraw",
            })
            .collect();
        let change = Change {
            entity_type: "application",
            entity_id: number,
            action: &action.join("+"),
            before: serde_json::json!({ "state": before.state, "spec": if new_spec.is_some() { serde_json::to_value(&before.spec).unwrap_or_default() } else { serde_json::Value::Null } }),
            after: serde_json::json!({ "state": state, "spec": new_spec.map(|(s, _)| s), "screening_notes": notes }),
        };
        audit::append(self, &mut tx, actor, change).await?;
        tx.commit().await?;
        self.application(number)
            .await?
            .ok_or_else(|| StoreError::NotFound(number.to_owned()))
    }
}
