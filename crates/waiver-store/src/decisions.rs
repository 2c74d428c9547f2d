//! Decisions (with countersignature when the deciding officer had contact with the applicant),
//! allowances `WVR-<year>-<6 digits>` kept as a ledger of entries, the published product
//! exclusion list, appeals and reconsideration, policy changes, notifications, the public
//! register and the service-level figures per programme.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use waiver_domain::application::State;
use waiver_domain::policy::{PolicyChange, PolicyChangeSpec};
use waiver_domain::programme::{Programme, ProgrammeKind};
use waiver_domain::review::{Decision, DecisionSpec, Outcome};
use waiver_domain::BjTime;

use crate::audit::{self, Actor, Change};
use crate::review::{notify, set_state};
use crate::{now_ms, Result, Store, StoreError};

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecisionRecord {
    pub id: i64,
    pub application: String,
    pub officer: String,
    pub outcome: Outcome,
    pub granted_g: i64,
    pub tolerance_ppm: i64,
    pub valid_from: BjTime,
    pub valid_until: BjTime,
    pub spec: DecisionSpec,
    pub departs: bool,
    /// `awaiting_countersignature`, `final` or `superseded` (by a reconsideration).
    pub status: String,
    pub countersigned_by: Option<String>,
    pub decided_at_ms: i64,
    pub final_at_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AllowanceEntry {
    pub id: i64,
    /// `grant`, `amend`, `draw`, `reversal` or `policy_adjustment`.
    pub kind: String,
    /// Signed change of the granted (grant, amend) or used (draw, reversal) quantity, grams.
    pub quantity_g: i64,
    /// What caused it: a decision, an appeal, a declaration, a policy change.
    pub cause: String,
    pub at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Allowance {
    pub number: String,
    pub application: String,
    pub programme: String,
    pub holder: String,
    pub line: String,
    pub unit: String,
    pub granted_g: i64,
    pub tolerance_ppm: i64,
    /// granted + tolerance, grams (rounded down).
    pub ceiling_g: i64,
    pub used_g: i64,
    pub remaining_g: i64,
    /// The same four quantities as decimals in the allowance's unit (e.g. `55000` t).
    pub granted: String,
    pub ceiling: String,
    pub used: String,
    pub remaining: String,
    pub valid_from: BjTime,
    /// Exclusive end.
    pub valid_until: BjTime,
    pub scopes: Vec<String>,
    pub version: i64,
    pub entries: Vec<AllowanceEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProductExclusion {
    pub programme: String,
    pub line: String,
    pub application: String,
    pub valid_from: BjTime,
    pub valid_until: BjTime,
    pub refunds: String,
    pub scopes: Vec<String>,
    pub published_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Appeal {
    pub id: i64,
    pub application: String,
    pub filed_by: String,
    pub grounds: String,
    pub filed_at_ms: i64,
    pub outcome: Option<String>,
    pub granted_g: Option<i64>,
    pub reasons: Option<String>,
    pub reconsidered_by: Option<String>,
    pub reconsidered_at_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyChangeRecord {
    pub number: String,
    /// 1 for a first change; a revision (`supersedes`) is the next version of the same chain.
    pub version: i64,
    /// The later change that revises this one, if any.
    pub superseded_by: Option<String>,
    pub spec: PolicyChangeSpec,
    pub effective_at: BjTime,
    /// Allowances and product exclusions it re-dated.
    pub affected: i64,
    pub published_by: String,
    pub published_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub id: i64,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub entity_type: String,
    pub entity_id: String,
    pub created_at_ms: i64,
}

/// One row of the public register of purchase-programme decisions: aggregates only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegisterRow {
    pub programme: String,
    pub line: String,
    pub decided: i64,
    pub approved: i64,
    pub partially_approved: i64,
    pub rejected: i64,
    /// Decisions whose granted quantity an appeal changed.
    pub amended_on_appeal: i64,
    /// Granted after any appeal, grams.
    pub granted_g: i64,
}

/// Service-level figures of one programme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sla {
    pub programme: String,
    pub by_state: BTreeMap<String, i64>,
    pub open: i64,
    /// Age of open applications since filing, in days.
    pub open_age_median_days: Option<i64>,
    pub open_age_max_days: Option<i64>,
    /// The age of every open application since filing, in days, youngest first (the SLA
    /// page's age chart groups them).
    pub open_ages_days: Vec<i64>,
    pub overdue_reviews: i64,
    /// Final decisions per ISO week (`2026-W47`), the last 12 weeks with any.
    pub decisions_per_week: BTreeMap<String, i64>,
    /// Median days from filing to final decision.
    pub decision_median_days: Option<i64>,
}

const DECISION_SELECT: &str = "SELECT id, application_number, officer, outcome, granted_g, tolerance_ppm, valid_from_s, valid_until_s, body, departs, status, countersigned_by, decided_at_ms, final_at_ms FROM decisions";

fn decision_from_row(r: &sqlx::any::AnyRow) -> Result<DecisionRecord> {
    let body: String = r.try_get(8)?;
    let spec: DecisionSpec = serde_json::from_str(&body).map_err(invalid)?;
    Ok(DecisionRecord {
        id: r.try_get(0)?,
        application: r.try_get(1)?,
        officer: r.try_get(2)?,
        outcome: spec.outcome,
        granted_g: r.try_get(4)?,
        tolerance_ppm: r.try_get(5)?,
        valid_from: BjTime(r.try_get(6)?),
        valid_until: BjTime(r.try_get(7)?),
        departs: r.try_get::<i64, _>(9)? != 0,
        status: r.try_get(10)?,
        countersigned_by: r.try_get(11)?,
        decided_at_ms: r.try_get(12)?,
        final_at_ms: r.try_get(13)?,
        spec,
    })
}

const ALLOWANCE_SELECT: &str = "SELECT number, application_number, programme_id, holder, line_code, unit, granted_g, tolerance_ppm, valid_from_s, valid_until_s, scopes, version FROM allowances";

/// granted × (1 + tolerance), rounded down to the gram (the ledger's rule).
pub use waiver_domain::ledger::ceiling_g;

fn iso_week(ms: i64) -> String {
    // Beijing calendar day → ISO week (Monday first).
    let days = (ms / 1000 + 8 * 3600).div_euclid(86_400);
    let weekday = (days + 3).rem_euclid(7); // 0 = Monday (1970-01-01 was a Thursday)
    let thursday = days - weekday + 3;
    let (y, _, _, _, _, _) = BjTime(thursday * 86_400).civil();
    let jan1 = BjTime::from_civil(y, 1, 1, 0, 0, 0).map_or(0, |t| t.0 / 86_400);
    let week = (thursday - jan1) / 7 + 1;
    format!("{y:04}-W{week:02}")
}

impl Store {
    /// The next number of a named sequence (per-year document numbers), inside a transaction.
    pub(crate) async fn next_in_sequence(
        &self,
        tx: &mut Transaction<'_, Any>,
        name: &str,
    ) -> Result<i64> {
        Ok(sqlx::query(&self.sql(
            "INSERT INTO counters (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
        ))
        .bind(name)
        .fetch_one(&mut **tx)
        .await?
        .try_get(0)?)
    }

    /// Records a decision. When `needs_countersignature`, it waits for a second officer;
    /// otherwise it takes effect at once (state, allowance or product exclusion, notices).
    pub async fn decide(
        &self,
        actor: &Actor,
        number: &str,
        programme: &Programme,
        spec: &DecisionSpec,
        d: &Decision,
        needs_countersignature: bool,
    ) -> Result<DecisionRecord> {
        let app = self
            .application(number)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no application {number}")))?;
        if app.state != State::Reviewed {
            return Err(StoreError::Conflict(format!(
                "application {number} is {}; a decision follows a completed review",
                app.state.as_str()
            )));
        }
        let mut tx = self.pool.begin().await?;
        crate::review::lock_application(self, &mut tx, number, State::Reviewed).await?;
        let pending: i64 = sqlx::query(&self.sql(
            "SELECT COUNT(*) FROM decisions WHERE application_number = $1 AND status = 'awaiting_countersignature'",
        ))
        .bind(number)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if pending > 0 {
            return Err(StoreError::Conflict(format!(
                "a decision on {number} awaits a countersignature; countersign it or have it withdrawn"
            )));
        }
        let body = serde_json::to_string(spec).map_err(invalid)?;
        let now = now_ms();
        let id: i64 = sqlx::query(&self.sql(
            "INSERT INTO decisions (application_number, officer, outcome, granted_g, tolerance_ppm, valid_from_s, valid_until_s, body, departs, status, decided_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'awaiting_countersignature', $10) RETURNING id",
        ))
        .bind(number)
        .bind(&actor.user)
        .bind(d.outcome.as_str())
        .bind(d.granted_g)
        .bind(d.tolerance.0)
        .bind(d.valid_from.0)
        .bind(d.valid_until.0)
        .bind(&body)
        .bind(i64::from(d.departs))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let change = Change {
            entity_type: "application",
            entity_id: number,
            action: if needs_countersignature {
                "decide_pending_countersignature"
            } else {
                "decide"
            },
            before: serde_json::json!({ "state": app.state }),
            after: serde_json::json!({ "decision": spec, "granted_g": d.granted_g, "tolerance_ppm": d.tolerance.0, "departs": d.departs }),
        };
        audit::append(self, &mut tx, actor, change).await?;
        if needs_countersignature {
            notify(
                self,
                &mut tx,
                "role:officer",
                "countersignature",
                &format!("the decision on {number} needs a second officer's countersignature"),
                ("application", number),
            )
            .await?;
        } else {
            self.finalize(&mut tx, actor, number, id, programme).await?;
        }
        tx.commit().await?;
        self.cache.exclusions_changed();
        self.decision(number)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("decision on {number}")))
    }

    /// A second officer countersigns a pending decision, which then takes effect.
    pub async fn countersign(
        &self,
        actor: &Actor,
        number: &str,
        programme: &Programme,
    ) -> Result<DecisionRecord> {
        let d = self
            .decision(number)
            .await?
            .filter(|d| d.status == "awaiting_countersignature")
            .ok_or_else(|| {
                StoreError::NotFound(format!("no decision on {number} awaits a countersignature"))
            })?;
        if d.officer == actor.user {
            return Err(StoreError::Conflict(format!(
                "{} made this decision; a different officer must countersign it",
                d.officer
            )));
        }
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(&self.sql(
            "UPDATE decisions SET countersigned_by = $1 WHERE id = $2 AND status = 'awaiting_countersignature'",
        ))
        .bind(&actor.user)
        .bind(d.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict(format!(
                "the decision on {number} changed; reload it"
            )));
        }
        let change = Change {
            entity_type: "application",
            entity_id: number,
            action: "countersign",
            before: serde_json::Value::Null,
            after: serde_json::json!({ "decision_by": d.officer, "countersigned_by": actor.user }),
        };
        audit::append(self, &mut tx, actor, change).await?;
        self.finalize(&mut tx, actor, number, d.id, programme)
            .await?;
        tx.commit().await?;
        self.cache.exclusions_changed();
        self.decision(number)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("decision on {number}")))
    }

    /// Makes decision `id` final: the application's state, the allowance (purchase
    /// programmes) or the product exclusion (product programmes), and notices.
    async fn finalize(
        &self,
        tx: &mut Transaction<'_, Any>,
        actor: &Actor,
        number: &str,
        id: i64,
        programme: &Programme,
    ) -> Result<()> {
        let sql = format!("{DECISION_SELECT} WHERE id = $1");
        let row = sqlx::query(&self.sql_owned(sql))
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
        let d = decision_from_row(&row)?;
        let now = now_ms();
        sqlx::query(
            &self.sql("UPDATE decisions SET status = 'final', final_at_ms = $1 WHERE id = $2"),
        )
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        let to = match d.outcome {
            Outcome::Approve => State::Approved,
            Outcome::PartiallyApprove => State::PartiallyApproved,
            Outcome::Reject => State::Rejected,
        };
        set_state(self, tx, number, State::Reviewed, to).await?;
        let app = self.app_row(tx, number).await?;
        let mut subject = format!("decision on {number}: {}", d.outcome.as_str());
        if d.granted_g > 0 {
            if let Some(granted) = self.grant(tx, actor, &app, &d, programme).await? {
                subject.push_str(&format!("; allowance {granted}"));
            }
        }
        notify(
            self,
            tx,
            &format!("enterprise:{}", app.1),
            "decision",
            &subject,
            ("application", number),
        )
        .await?;
        Ok(())
    }

    /// (line, enterprise, unit) of an application inside a transaction.
    async fn app_row(
        &self,
        tx: &mut Transaction<'_, Any>,
        number: &str,
    ) -> Result<(String, String, String)> {
        let r = sqlx::query(
            &self
                .sql("SELECT line_code, enterprise_code, spec FROM applications WHERE number = $1"),
        )
        .bind(number)
        .fetch_one(&mut **tx)
        .await?;
        let spec: String = r.try_get(2)?;
        let spec: waiver_domain::application::ApplicationSpec =
            serde_json::from_str(&spec).map_err(invalid)?;
        Ok((r.try_get(0)?, r.try_get(1)?, spec.unit))
    }

    /// Creates the allowance (purchase) or publishes the line (product); returns the allowance
    /// number if one was created.
    async fn grant(
        &self,
        tx: &mut Transaction<'_, Any>,
        actor: &Actor,
        app: &(String, String, String),
        d: &DecisionRecord,
        programme: &Programme,
    ) -> Result<Option<String>> {
        let (line, holder, unit) = app;
        let scopes = serde_json::to_string(&programme.spec.lifts_scopes).map_err(invalid)?;
        let now = now_ms();
        match programme.spec.kind {
            ProgrammeKind::Purchase => {
                let (y, _, _, _, _, _) = BjTime(now / 1000 + 8 * 3600).civil();
                let seq = self.next_in_sequence(tx, &format!("allowance-{y}")).await?;
                let number = format!("WVR-{y}-{seq:06}");
                sqlx::query(&self.sql(
                    "INSERT INTO allowances (number, application_number, programme_id, holder, line_code, unit, granted_g, tolerance_ppm, valid_from_s, valid_until_s, scopes, version, created_at_ms, updated_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13)",
                ))
                .bind(&number)
                .bind(&d.application)
                .bind(&programme.spec.id)
                .bind(holder)
                .bind(line)
                .bind(unit)
                .bind(d.granted_g)
                .bind(d.tolerance_ppm)
                .bind(d.valid_from.0)
                .bind(d.valid_until.0)
                .bind(&scopes)
                .bind(now)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                self.entry(
                    tx,
                    &number,
                    "grant",
                    d.granted_g,
                    &format!("decision {} on {}", d.id, d.application),
                )
                .await?;
                let change = Change {
                    entity_type: "allowance",
                    entity_id: &number,
                    action: "grant",
                    before: serde_json::Value::Null,
                    after: serde_json::json!({ "application": d.application, "holder": holder, "line": line, "granted_g": d.granted_g, "tolerance_ppm": d.tolerance_ppm, "valid_from": d.valid_from, "valid_until": d.valid_until, "scopes": programme.spec.lifts_scopes }),
                };
                audit::append(self, tx, actor, change).await?;
                Ok(Some(number))
            }
            ProgrammeKind::Product => {
                sqlx::query(&self.sql(
                    "INSERT INTO product_exclusions (programme_id, line_code, application_number, valid_from_s, valid_until_s, refunds, scopes, published_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                ))
                .bind(&programme.spec.id)
                .bind(line)
                .bind(&d.application)
                .bind(d.valid_from.0)
                .bind(d.valid_until.0)
                .bind(serde_json::to_value(programme.spec.refunds).map_err(invalid)?.as_str().unwrap_or("none"))
                .bind(&scopes)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                let change = Change {
                    entity_type: "product_exclusion",
                    entity_id: line,
                    action: "publish",
                    before: serde_json::Value::Null,
                    after: serde_json::json!({ "programme": programme.spec.id, "application": d.application, "valid_from": d.valid_from, "valid_until": d.valid_until, "scopes": programme.spec.lifts_scopes }),
                };
                audit::append(self, tx, actor, change).await?;
                Ok(None)
            }
        }
    }

    async fn entry(
        &self,
        tx: &mut Transaction<'_, Any>,
        allowance: &str,
        kind: &str,
        quantity_g: i64,
        cause: &str,
    ) -> Result<()> {
        sqlx::query(&self.sql(
            "INSERT INTO allowance_entries (allowance_number, kind, quantity_g, cause, at_ms) VALUES ($1, $2, $3, $4, $5)",
        ))
        .bind(allowance)
        .bind(kind)
        .bind(quantity_g)
        .bind(cause)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The current decision on an application (the latest that is not superseded).
    pub async fn decision(&self, number: &str) -> Result<Option<DecisionRecord>> {
        let sql = format!(
            "{DECISION_SELECT} WHERE application_number = $1 AND status <> 'superseded' ORDER BY id DESC LIMIT 1"
        );
        let row = sqlx::query(&self.sql_owned(sql))
            .bind(number)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(decision_from_row).transpose()
    }

    /// Whether `officer` recorded a contact with the applicant on this application.
    pub async fn had_contact_with_applicant(&self, number: &str, officer: &str) -> Result<bool> {
        let n: i64 = sqlx::query(&self.sql(
            "SELECT COUNT(*) FROM contacts WHERE application_number = $1 AND recorded_by = $2 AND with_applicant = 1",
        ))
        .bind(number)
        .bind(officer)
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        Ok(n > 0)
    }

    pub async fn allowance(&self, number: &str) -> Result<Option<Allowance>> {
        let sql = format!("{ALLOWANCE_SELECT} WHERE number = $1");
        let row = sqlx::query(&self.sql_owned(sql))
            .bind(number)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some(self.allowance_from_row(&r).await?)),
        }
    }

    /// Allowances of these holders (all when `None`), newest first.
    pub async fn allowances(&self, holders: Option<&[String]>) -> Result<Vec<Allowance>> {
        let sql = format!("{ALLOWANCE_SELECT} ORDER BY id DESC LIMIT 1000");
        let rows = sqlx::query(&self.sql_owned(sql))
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let holder: String = r.try_get(3)?;
            if holders.is_none_or(|h| h.contains(&holder)) {
                out.push(self.allowance_from_row(&r).await?);
            }
        }
        Ok(out)
    }

    async fn allowance_from_row(&self, r: &sqlx::any::AnyRow) -> Result<Allowance> {
        let number: String = r.try_get(0)?;
        let entries: Vec<AllowanceEntry> = sqlx::query(&self.sql(
            "SELECT id, kind, quantity_g, cause, at_ms FROM allowance_entries WHERE allowance_number = $1 ORDER BY id",
        ))
        .bind(&number)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|e| {
            Ok(AllowanceEntry {
                id: e.try_get(0)?,
                kind: e.try_get(1)?,
                quantity_g: e.try_get(2)?,
                cause: e.try_get(3)?,
                at_ms: e.try_get(4)?,
            })
        })
        .collect::<Result<_>>()?;
        let granted_g: i64 = r.try_get(6)?;
        let tolerance_ppm: i64 = r.try_get(7)?;
        let used_g: i64 = entries
            .iter()
            .filter(|e| matches!(e.kind.as_str(), "draw" | "reversal"))
            .map(|e| e.quantity_g)
            .sum();
        let ceiling = ceiling_g(granted_g, tolerance_ppm);
        let scopes: String = r.try_get(10)?;
        let unit: String = r.try_get(5)?;
        let in_unit = |g: i64| {
            let grams_per_unit = waiver_domain::QtyUnit::parse(&unit).map_or(1, |u| u.grams());
            let places = grams_per_unit.ilog10();
            waiver_domain::amount::format_scaled(i128::from(g), places, 0)
        };
        Ok(Allowance {
            number,
            application: r.try_get(1)?,
            programme: r.try_get(2)?,
            holder: r.try_get(3)?,
            line: r.try_get(4)?,
            granted: in_unit(granted_g),
            ceiling: in_unit(ceiling),
            used: in_unit(used_g),
            remaining: in_unit(ceiling - used_g),
            unit,
            granted_g,
            tolerance_ppm,
            ceiling_g: ceiling,
            used_g,
            remaining_g: ceiling - used_g,
            valid_from: BjTime(r.try_get(8)?),
            valid_until: BjTime(r.try_get(9)?),
            scopes: serde_json::from_str(&scopes).map_err(invalid)?,
            version: r.try_get(11)?,
            entries,
        })
    }

    /// The published product exclusions (all lines when `line` is `None`).
    pub async fn product_exclusions(&self, line: Option<&str>) -> Result<Vec<ProductExclusion>> {
        let rows = sqlx::query(&self.sql(
            "SELECT programme_id, line_code, application_number, valid_from_s, valid_until_s, refunds, scopes, published_at_ms FROM product_exclusions \
             WHERE line_code = COALESCE($1, line_code) ORDER BY line_code, id",
        ))
        .bind(line)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let l: String = r.try_get(1)?;
            let scopes: String = r.try_get(6)?;
            out.push(ProductExclusion {
                programme: r.try_get(0)?,
                line: l,
                application: r.try_get(2)?,
                valid_from: BjTime(r.try_get(3)?),
                valid_until: BjTime(r.try_get(4)?),
                refunds: r.try_get(5)?,
                scopes: serde_json::from_str(&scopes).map_err(invalid)?,
                published_at_ms: r.try_get(7)?,
            });
        }
        Ok(out)
    }

    /// Files an appeal against the final decision (the caller checks the appeal period).
    pub async fn file_appeal(&self, actor: &Actor, number: &str, grounds: &str) -> Result<Appeal> {
        let app = self
            .application(number)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no application {number}")))?;
        let to = app
            .state
            .on(waiver_domain::application::Event::Appeal)
            .map_err(|e| {
                StoreError::Conflict(format!(
                    "{e}; only a rejection or a partial approval can be appealed"
                ))
            })?;
        let mut tx = self.pool.begin().await?;
        set_state(self, &mut tx, number, app.state, to).await?;
        let now = now_ms();
        let id: i64 = sqlx::query(&self.sql(
            "INSERT INTO appeals (application_number, filed_by, grounds, filed_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
        ))
        .bind(number)
        .bind(&actor.user)
        .bind(grounds)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let change = Change {
            entity_type: "application",
            entity_id: number,
            action: "appeal",
            before: serde_json::json!({ "state": app.state }),
            after: serde_json::json!({ "state": to, "grounds": grounds }),
        };
        audit::append(self, &mut tx, actor, change).await?;
        notify(self, &mut tx, "role:officer", "appeal", &format!("{number} is appealed; an officer other than the one who decided must reconsider it"), ("application", number)).await?;
        tx.commit().await?;
        self.cache.exclusions_changed();
        self.appeal(number)
            .await?
            .filter(|a| a.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("appeal on {number}")))
    }

    pub async fn appeal(&self, number: &str) -> Result<Option<Appeal>> {
        let row = sqlx::query(&self.sql(
            "SELECT id, filed_by, grounds, filed_at_ms, outcome, granted_g, reasons, reconsidered_by, reconsidered_at_ms FROM appeals WHERE application_number = $1 ORDER BY id DESC LIMIT 1",
        ))
        .bind(number)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Appeal {
                id: r.try_get(0)?,
                application: number.to_owned(),
                filed_by: r.try_get(1)?,
                grounds: r.try_get(2)?,
                filed_at_ms: r.try_get(3)?,
                outcome: r.try_get(4)?,
                granted_g: r.try_get(5)?,
                reasons: r.try_get(6)?,
                reconsidered_by: r.try_get(7)?,
                reconsidered_at_ms: r.try_get(8)?,
            })
        })
        .transpose()
    }

    /// A different officer reconsiders an appealed decision; `granted_g` (for an amendment)
    /// amends the allowance, or creates it when the original decision granted nothing.
    pub async fn reconsider(
        &self,
        actor: &Actor,
        number: &str,
        programme: &Programme,
        outcome: &str,
        granted_g: Option<i64>,
        reasons: &str,
    ) -> Result<Appeal> {
        let appeal = self
            .appeal(number)
            .await?
            .filter(|a| a.outcome.is_none())
            .ok_or_else(|| StoreError::NotFound(format!("no open appeal on {number}")))?;
        let decision = self
            .decision(number)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no decision on {number}")))?;
        if decision.officer == actor.user
            || decision.countersigned_by.as_deref() == Some(&actor.user)
        {
            return Err(StoreError::Conflict(format!(
                "{} took part in the decision; a different officer must reconsider it",
                actor.user
            )));
        }
        let mut tx = self.pool.begin().await?;
        set_state(self, &mut tx, number, State::Appealed, State::Reconsidered).await?;
        let now = now_ms();
        sqlx::query(&self.sql(
            "UPDATE appeals SET outcome = $1, granted_g = $2, reasons = $3, reconsidered_by = $4, reconsidered_at_ms = $5 WHERE id = $6",
        ))
        .bind(outcome)
        .bind(granted_g)
        .bind(reasons)
        .bind(&actor.user)
        .bind(now)
        .bind(appeal.id)
        .execute(&mut *tx)
        .await?;
        let mut allowance_note = serde_json::Value::Null;
        if let Some(g) = granted_g {
            let existing = sqlx::query(
                &self.sql("SELECT number, granted_g FROM allowances WHERE application_number = $1"),
            )
            .bind(number)
            .fetch_optional(&mut *tx)
            .await?;
            match existing {
                Some(r) => {
                    let a: String = r.try_get(0)?;
                    let before: i64 = r.try_get(1)?;
                    sqlx::query(&self.sql(
                        "UPDATE allowances SET granted_g = $1, version = version + 1, updated_at_ms = $2 WHERE number = $3",
                    ))
                    .bind(g)
                    .bind(now)
                    .bind(&a)
                    .execute(&mut *tx)
                    .await?;
                    self.entry(
                        &mut tx,
                        &a,
                        "amend",
                        g - before,
                        &format!("appeal {} on {number}", appeal.id),
                    )
                    .await?;
                    let change = Change {
                        entity_type: "allowance",
                        entity_id: &a,
                        action: "amend",
                        before: serde_json::json!({ "granted_g": before }),
                        after: serde_json::json!({ "granted_g": g, "appeal": appeal.id }),
                    };
                    audit::append(self, &mut tx, actor, change).await?;
                    allowance_note = serde_json::json!({ "allowance": a, "granted_g": g });
                }
                None if g > 0 => {
                    // The original decision granted nothing: the reconsideration grants.
                    let app = self.app_row(&mut tx, number).await?;
                    let mut d = decision.clone();
                    d.granted_g = g;
                    if d.valid_until.0 <= d.valid_from.0 {
                        d.valid_until = BjTime(
                            d.valid_from.0 + i64::from(programme.spec.validity_days) * 86_400,
                        );
                    }
                    let created = self.grant(&mut tx, actor, &app, &d, programme).await?;
                    allowance_note = serde_json::json!({ "allowance": created, "granted_g": g });
                }
                None => {}
            }
        }
        let change = Change {
            entity_type: "application",
            entity_id: number,
            action: "reconsider",
            before: serde_json::json!({ "state": State::Appealed, "granted_g": decision.granted_g }),
            after: serde_json::json!({ "state": State::Reconsidered, "outcome": outcome, "granted_g": granted_g, "reasons": reasons, "allowance": allowance_note }),
        };
        audit::append(self, &mut tx, actor, change).await?;
        let holder = self.app_row(&mut tx, number).await?.1;
        notify(
            self,
            &mut tx,
            &format!("enterprise:{holder}"),
            "appeal_outcome",
            &format!("appeal on {number}: {outcome}"),
            ("application", number),
        )
        .await?;
        tx.commit().await?;
        self.cache.exclusions_changed();
        self.appeal(number)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("appeal on {number}")))
    }

    /// Publishes a policy change and applies it atomically: re-dates every matching allowance
    /// and product exclusion (a ledger entry each) and notifies each affected holder.
    pub async fn publish_policy_change(
        &self,
        actor: &Actor,
        spec: &PolicyChangeSpec,
        change: &PolicyChange,
    ) -> Result<PolicyChangeRecord> {
        let now = now_ms();
        // Read before the transaction: SQLite has one connection.
        let version = match &spec.supersedes {
            None => 1,
            Some(earlier) => {
                let all = self.policy_changes(Some(&spec.programme)).await?;
                let old = all.iter().find(|p| &p.number == earlier).ok_or_else(|| {
                    StoreError::Invalid(format!(
                        "supersedes: no policy change {earlier} of programme {}",
                        spec.programme
                    ))
                })?;
                if let Some(by) = &old.superseded_by {
                    return Err(StoreError::Conflict(format!(
                        "{earlier} is already revised by {by}; supersede {by} instead"
                    )));
                }
                old.version + 1
            }
        };
        let (y, _, _, _, _, _) = BjTime(now / 1000 + 8 * 3600).civil();
        let mut tx = self.pool.begin().await?;
        let seq = self
            .next_in_sequence(&mut tx, &format!("policy-{y}"))
            .await?;
        let number = format!("POL-{y}-{seq:04}");
        let mut affected = 0i64;
        let mut holders: Vec<String> = Vec::new();
        if let Some(r) = &change.redate {
            // Lock the programme's allowances in number order before the first audit entry, as
            // declarations do (crate::declarations), so the two never wait on each other.
            if self.dialect() == crate::Dialect::Postgres {
                sqlx::query(
                    "SELECT number FROM allowances WHERE programme_id = $1 ORDER BY number FOR UPDATE",
                )
                .bind(&spec.programme)
                .fetch_all(&mut *tx)
                .await?;
            }
            let rows = sqlx::query(&self.sql(
                "SELECT number, holder, line_code, valid_until_s FROM allowances WHERE programme_id = $1 ORDER BY id",
            ))
            .bind(&spec.programme)
            .fetch_all(&mut *tx)
            .await?;
            for row in rows {
                let (a, holder, line, until): (String, String, String, i64) = (
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get(2)?,
                    row.try_get(3)?,
                );
                let code = waiver_domain::TariffCode::parse(&line).map_err(invalid)?;
                if !r.matches(change.effective_at, &code, Some(&holder), BjTime(until)) {
                    continue;
                }
                sqlx::query(&self.sql(
                    "UPDATE allowances SET valid_until_s = $1, version = version + 1, updated_at_ms = $2 WHERE number = $3",
                ))
                .bind(r.valid_until.0)
                .bind(now)
                .bind(&a)
                .execute(&mut *tx)
                .await?;
                self.entry(
                    &mut tx,
                    &a,
                    "policy_adjustment",
                    0,
                    &format!(
                        "{number}: valid until {} (was {})",
                        r.valid_until,
                        BjTime(until)
                    ),
                )
                .await?;
                let c = Change {
                    entity_type: "allowance",
                    entity_id: &a,
                    action: "redate",
                    before: serde_json::json!({ "valid_until": BjTime(until) }),
                    after: serde_json::json!({ "valid_until": r.valid_until, "policy_change": number }),
                };
                audit::append(self, &mut tx, actor, c).await?;
                notify(
                    self,
                    &mut tx,
                    &format!("enterprise:{holder}"),
                    "policy_change",
                    &format!(
                        "{number}: allowance {a} is now valid until {} (was {})",
                        r.valid_until,
                        BjTime(until)
                    ),
                    ("allowance", &a),
                )
                .await?;
                if !holders.contains(&holder) {
                    holders.push(holder);
                }
                affected += 1;
            }
            if r.holder.is_none() {
                let rows = sqlx::query(&self.sql(
                    "SELECT id, line_code, valid_until_s FROM product_exclusions WHERE programme_id = $1 ORDER BY id",
                ))
                .bind(&spec.programme)
                .fetch_all(&mut *tx)
                .await?;
                for row in rows {
                    let (id, line, until): (i64, String, i64) =
                        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                    let code = waiver_domain::TariffCode::parse(&line).map_err(invalid)?;
                    if !r.matches(change.effective_at, &code, None, BjTime(until)) {
                        continue;
                    }
                    sqlx::query(
                        &self.sql("UPDATE product_exclusions SET valid_until_s = $1 WHERE id = $2"),
                    )
                    .bind(r.valid_until.0)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    let c = Change {
                        entity_type: "product_exclusion",
                        entity_id: &line,
                        action: "redate",
                        before: serde_json::json!({ "valid_until": BjTime(until) }),
                        after: serde_json::json!({ "valid_until": r.valid_until, "policy_change": number }),
                    };
                    audit::append(self, &mut tx, actor, c).await?;
                    affected += 1;
                }
            }
        }
        if change.suspended_lines.is_some() {
            // Every applicant with an open application in the programme hears of it.
            let rows =
                sqlx::query(&self.sql(
                    "SELECT DISTINCT enterprise_code FROM applications WHERE programme_id = $1",
                ))
                .bind(&spec.programme)
                .fetch_all(&mut *tx)
                .await?;
            for r in rows {
                let e: String = r.try_get(0)?;
                notify(
                    self,
                    &mut tx,
                    &format!("enterprise:{e}"),
                    "policy_change",
                    &format!(
                        "{number}: intake suspended from {} — {}",
                        change.effective_at, spec.reason
                    ),
                    ("policy_change", &number),
                )
                .await?;
                holders.push(e);
            }
        }
        let kind = match &spec.action {
            waiver_domain::policy::PolicyAction::SuspendIntake { .. } => "suspend_intake",
            waiver_domain::policy::PolicyAction::Redate { .. } => "redate",
        };
        sqlx::query(&self.sql(
            "INSERT INTO policy_changes (number, programme_id, version, kind, spec, effective_at_s, affected, published_by, published_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        ))
        .bind(&number)
        .bind(&spec.programme)
        .bind(version)
        .bind(kind)
        .bind(serde_json::to_string(spec).map_err(invalid)?)
        .bind(change.effective_at.0)
        .bind(affected)
        .bind(&actor.user)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let c = Change {
            entity_type: "policy_change",
            entity_id: &number,
            action: "publish",
            before: serde_json::Value::Null,
            after: serde_json::json!({ "spec": spec, "affected": affected, "notified": holders }),
        };
        audit::append(self, &mut tx, actor, c).await?;
        tx.commit().await?;
        self.cache.exclusions_changed();
        self.policy_changes(None)
            .await?
            .into_iter()
            .find(|p| p.number == number)
            .ok_or_else(|| StoreError::NotFound(number))
    }

    /// Published policy changes (of one programme, or all), in publication order.
    pub async fn policy_changes(&self, programme: Option<&str>) -> Result<Vec<PolicyChangeRecord>> {
        let rows = sqlx::query(&self.sql(
            "SELECT number, version, spec, effective_at_s, affected, published_by, published_at_ms FROM policy_changes \
             WHERE programme_id = COALESCE($1, programme_id) ORDER BY id",
        ))
        .bind(programme)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<PolicyChangeRecord> = Vec::new();
        for r in rows {
            let spec: String = r.try_get(2)?;
            out.push(PolicyChangeRecord {
                number: r.try_get(0)?,
                version: r.try_get(1)?,
                superseded_by: None,
                spec: serde_json::from_str(&spec).map_err(invalid)?,
                effective_at: BjTime(r.try_get(3)?),
                affected: r.try_get(4)?,
                published_by: r.try_get(5)?,
                published_at_ms: r.try_get(6)?,
            });
        }
        let revisions: Vec<(String, String)> = out
            .iter()
            .filter_map(|p| p.spec.supersedes.clone().map(|old| (old, p.number.clone())))
            .collect();
        for (old, by) in revisions {
            if let Some(p) = out.iter_mut().find(|p| p.number == old) {
                p.superseded_by = Some(by);
            }
        }
        Ok(out)
    }

    /// Notifications for any of `recipients`, newest first.
    pub async fn notifications(
        &self,
        recipients: &[String],
        limit: i64,
    ) -> Result<Vec<Notification>> {
        if recipients.is_empty() {
            return Ok(Vec::new());
        }
        let ph: Vec<String> = (1..=recipients.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, recipient, kind, subject, entity_type, entity_id, created_at_ms FROM notifications WHERE recipient IN ({}) ORDER BY id DESC LIMIT {}",
            ph.join(", "),
            limit.clamp(1, 500)
        );
        let sql = self.sql_owned(sql);
        let mut q = sqlx::query(&sql);
        for r in recipients {
            q = q.bind(r);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Notification {
                    id: r.try_get(0)?,
                    recipient: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    subject: r.try_get(3)?,
                    entity_type: r.try_get(4)?,
                    entity_id: r.try_get(5)?,
                    created_at_ms: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// Purchase-programme decisions in aggregate per programme and line (no enterprise, no
    /// confidential field).
    pub async fn register_decisions(&self) -> Result<Vec<RegisterRow>> {
        let rows = sqlx::query(&self.sql(
            "SELECT a.programme_id, a.line_code, d.outcome, COALESCE(al.granted_g, d.granted_g), \
             (SELECT COUNT(*) FROM appeals ap WHERE ap.application_number = d.application_number AND ap.outcome = 'amend') \
             FROM decisions d JOIN applications a ON a.number = d.application_number \
             LEFT JOIN allowances al ON al.application_number = d.application_number \
             WHERE d.status = 'final' ORDER BY a.programme_id, a.line_code",
        ))
        .fetch_all(&self.pool)
        .await?;
        let kinds: BTreeMap<String, ProgrammeKind> = self
            .programmes()
            .await?
            .into_iter()
            .map(|(p, _)| (p.spec.id.clone(), p.spec.kind))
            .collect();
        let mut agg: BTreeMap<(String, String), RegisterRow> = BTreeMap::new();
        for r in rows {
            let (p, line, outcome, g, amended): (String, String, String, i64, i64) = (
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
            );
            if kinds.get(&p) != Some(&ProgrammeKind::Purchase) {
                continue;
            }
            let row = agg.entry((p.clone(), line.clone())).or_insert(RegisterRow {
                programme: p,
                line,
                decided: 0,
                approved: 0,
                partially_approved: 0,
                rejected: 0,
                amended_on_appeal: 0,
                granted_g: 0,
            });
            row.decided += 1;
            row.amended_on_appeal += amended.min(1);
            row.granted_g += g;
            match outcome.as_str() {
                "approve" => row.approved += 1,
                "partially_approve" => row.partially_approved += 1,
                _ => row.rejected += 1,
            }
        }
        Ok(agg.into_values().collect())
    }

    /// Service-level figures of a programme at `now`.
    pub async fn sla(&self, programme: &str, now: i64) -> Result<Sla> {
        let rows =
            sqlx::query(&self.sql(
                "SELECT state, created_at_ms, number FROM applications WHERE programme_id = $1",
            ))
            .bind(programme)
            .fetch_all(&self.pool)
            .await?;
        let mut by_state = BTreeMap::new();
        let mut ages = Vec::new();
        let mut created: BTreeMap<String, i64> = BTreeMap::new();
        for r in rows {
            let (s, c, n): (String, i64, String) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let st = State::parse(&s);
            if st.is_some_and(|st| st.is_open() && st != State::Draft) {
                ages.push((now - c) / 86_400_000);
            }
            *by_state.entry(s).or_insert(0) += 1;
            created.insert(n, c);
        }
        ages.sort_unstable();
        let overdue: i64 = sqlx::query(&self.sql(
            "SELECT COUNT(*) FROM assignments s JOIN applications a ON a.number = s.application_number WHERE a.programme_id = $1 AND s.status = 'active' AND s.due_at_ms < $2",
        ))
        .bind(programme)
        .bind(now)
        .fetch_one(&self.pool)
        .await?
        .try_get(0)?;
        let finals = sqlx::query(&self.sql(
            "SELECT d.application_number, d.final_at_ms FROM decisions d JOIN applications a ON a.number = d.application_number WHERE a.programme_id = $1 AND d.final_at_ms IS NOT NULL",
        ))
        .bind(programme)
        .fetch_all(&self.pool)
        .await?;
        let mut per_week: BTreeMap<String, i64> = BTreeMap::new();
        let mut to_decision = Vec::new();
        for r in finals {
            let (n, at): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
            *per_week.entry(iso_week(at)).or_insert(0) += 1;
            if let Some(c) = created.get(&n) {
                to_decision.push((at - c) / 86_400_000);
            }
        }
        while per_week.len() > 12 {
            per_week.pop_first();
        }
        to_decision.sort_unstable();
        Ok(Sla {
            programme: programme.to_owned(),
            open: ages.len() as i64,
            open_age_median_days: ages.get(ages.len() / 2).copied(),
            open_age_max_days: ages.last().copied(),
            open_ages_days: ages,
            by_state,
            overdue_reviews: overdue,
            decisions_per_week: per_week,
            decision_median_days: to_decision.get(to_decision.len() / 2).copied(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_adds_the_tolerance_rounded_down() {
        assert_eq!(ceiling_g(60_000_000_000, 100_000), 66_000_000_000);
        assert_eq!(ceiling_g(3, 500_000), 4);
        assert_eq!(ceiling_g(7, 0), 7);
    }

    #[test]
    fn iso_weeks_follow_the_beijing_calendar() {
        // 2026-11-28 12:00 Beijing is a Saturday in ISO week 48.
        let ms = (BjTime::parse_instant("2026-11-28T12:00").unwrap().0 - 8 * 3600) * 1000;
        assert_eq!(iso_week(ms), "2026-W48");
        // 2021-01-01 (a Friday) belongs to 2020-W53.
        let ms = (BjTime::parse_instant("2021-01-01").unwrap().0 - 8 * 3600) * 1000;
        assert_eq!(iso_week(ms), "2020-W53");
    }
}
