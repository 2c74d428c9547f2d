//! Declarations draw down allowances, exactly once (issue 5).
//!
//! Everything one declaration does happens in ONE transaction: the allowances it claims are
//! locked (`SELECT … FOR UPDATE` on PostgreSQL, in number order so two declarations never wait
//! on each other; SQLite has one connection and so one writer), the caller's pure computation
//! decides the answer from the allowances as they stand, the draws are appended to the ledger
//! and `allowances.used_g` moves with them under a conditional update that refuses any overdraw,
//! the declaration (request and answer, for exact replays) and its lines are inserted, and the
//! audit entry is appended. The write path is [`Store::submit_declaration`],
//! [`Store::amend_declaration`] and [`Store::cancel_declaration`] only, so commits can later be
//! batched behind them.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use waiver_domain::drawdown::{AllowanceState, Standing};
use waiver_domain::{BjTime, Origin, TariffCode};

use crate::audit::{self, Actor, Change};
use crate::stored_json;
use crate::{now_ms, Dialect, Result, Store, StoreError};

/// A declaration as the store needs it: the parsed identity, the claimed allowances and the
/// request in canonical JSON (two requests are the same declaration when these are equal).
#[derive(Clone, Debug)]
pub struct NewDeclaration {
    pub number: String,
    pub importer: String,
    pub declared_at: BjTime,
    pub request: String,
    /// Allowance numbers named by its lines, in any order, possibly repeated.
    pub claims: Vec<String>,
    /// Origin, line and declared instant of each line: the country quotas they count against
    /// are locked and handed to the computation.
    pub goods: Vec<(Origin, TariffCode, BjTime)>,
}

/// One assessed line as stored; `covered_g > 0` with an allowance is a draw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineRecord {
    pub line_no: u32,
    pub code: String,
    pub origin: String,
    pub allowance: Option<String>,
    pub covered_g: i64,
    pub uncovered_g: i64,
    pub base_duty_fen: i64,
    pub additional_duty_fen: i64,
    pub excluded_duty_fen: i64,
    pub vat_fen: i64,
    pub total_fen: i64,
    /// The country quota the whole line counts against, if any.
    pub quota: Option<String>,
}

/// What the caller's computation decided.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The answer as sent to the client (JSON text), stored for replays.
    pub answer: String,
    pub total_fen: i64,
    pub lines: Vec<LineRecord>,
}

/// The result of a submission or amendment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// Newly recorded; the answer just computed.
    Created(String),
    /// The identical request was already recorded; the original answer.
    Replayed(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeclarationRecord {
    pub number: String,
    pub importer: String,
    pub declared_at: BjTime,
    pub revision: i64,
    /// `accepted` or `cancelled`.
    pub status: String,
    pub request: String,
    pub answer: String,
    pub total_fen: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// An allowance's stored balance against its ledger (for consistency checks).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerCheck {
    pub allowance: String,
    pub ceiling_g: i64,
    /// `allowances.used_g`.
    pub used_g: i64,
    /// The sum of its draw and reversal entries.
    pub entries_used_g: i64,
}

pub(crate) fn cause(number: &str, revision: i64) -> String {
    format!("declaration {number} revision {revision}")
}

/// The declaration number and revision a [`cause`] names; `None` for any other cause.
pub(crate) fn parse_cause(c: &str) -> Option<(&str, i64)> {
    let (number, revision) = c.strip_prefix("declaration ")?.rsplit_once(" revision ")?;
    Some((number, revision.parse().ok()?))
}

pub(crate) const DECLARATION_COLUMNS: &str = "number, importer, declared_at_s, revision, status, request, answer, total_fen, created_at_ms, updated_at_ms";
const DECLARATION_SELECT: &str = "SELECT number, importer, declared_at_s, revision, status, request, answer, total_fen, created_at_ms, updated_at_ms FROM declarations WHERE number = $1";

/// An allowance row (number, holder, line_code, granted_g, tolerance_ppm, used_g, valid_from_s,
/// valid_until_s, scopes) as the draw-down rules see it.
pub(crate) fn allowance_state(r: &sqlx::any::AnyRow) -> Result<AllowanceState> {
    let scopes: String = r.try_get(8)?;
    Ok(AllowanceState {
        number: r.try_get(0)?,
        holder: r.try_get(1)?,
        line: r.try_get(2)?,
        granted_g: r.try_get(3)?,
        tolerance_ppm: r.try_get(4)?,
        used_g: r.try_get(5)?,
        valid_from: BjTime(r.try_get(6)?),
        valid_until: BjTime(r.try_get(7)?),
        scopes: serde_json::from_str(&scopes).map_err(|e| StoreError::Invalid(e.to_string()))?,
    })
}

pub(crate) fn record(r: &sqlx::any::AnyRow) -> Result<DeclarationRecord> {
    Ok(DeclarationRecord {
        number: r.try_get(0)?,
        importer: r.try_get(1)?,
        declared_at: BjTime(r.try_get(2)?),
        revision: r.try_get(3)?,
        status: r.try_get(4)?,
        request: stored_json::column(r, 5)?,
        answer: stored_json::column(r, 6)?,
        total_fen: r.try_get(7)?,
        created_at_ms: r.try_get(8)?,
        updated_at_ms: r.try_get(9)?,
    })
}

fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(sqlx::Error::Database(d)) if d.is_unique_violation())
}

pub(crate) fn draws_summary(lines: &[LineRecord]) -> serde_json::Value {
    serde_json::Value::Array(
        lines
            .iter()
            .filter(|l| l.allowance.is_some() && l.covered_g > 0)
            .map(|l| serde_json::json!({ "line": l.line_no, "allowance": l.allowance, "covered_g": l.covered_g }))
            .collect(),
    )
}

/// The quota draws of a revision, for its audit entry.
pub(crate) fn quota_summary(moves: &[crate::quotas::QuotaMove]) -> serde_json::Value {
    serde_json::Value::Array(
        moves
            .iter()
            .map(|(_, after, _, g, _)| serde_json::json!({ "quota": after.id, "quantity_g": g }))
            .collect(),
    )
}

impl Store {
    pub(crate) fn for_update(&self) -> &'static str {
        match self.dialect() {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        }
    }

    async fn declaration_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        number: &str,
        lock: bool,
    ) -> Result<Option<DeclarationRecord>> {
        let sql = format!(
            "{DECLARATION_SELECT}{}",
            if lock { self.for_update() } else { "" }
        );
        let row = sqlx::query(&self.sql_owned(sql))
            .bind(number)
            .fetch_optional(&mut **tx)
            .await?;
        row.as_ref().map(record).transpose()
    }

    /// Locks the allowances named (in number order) and returns them as they stand; numbers
    /// that do not exist are absent from the map.
    async fn lock_allowances(
        &self,
        tx: &mut Transaction<'_, Any>,
        numbers: impl IntoIterator<Item = String>,
    ) -> Result<BTreeMap<String, AllowanceState>> {
        let mut sorted: Vec<String> = numbers.into_iter().collect();
        sorted.sort();
        sorted.dedup();
        let sql = self.sql_owned(format!(
            "SELECT number, holder, line_code, granted_g, tolerance_ppm, used_g, valid_from_s, valid_until_s, scopes FROM allowances WHERE number = $1{}",
            self.for_update()
        ));
        let mut out = BTreeMap::new();
        for n in sorted {
            let Some(r) = sqlx::query(&sql).bind(&n).fetch_optional(&mut **tx).await? else {
                continue;
            };
            out.insert(n, allowance_state(&r)?);
        }
        Ok(out)
    }

    /// Appends one ledger entry and moves `used_g` with it; a draw that would pass granted +
    /// tolerance is refused here too (the domain decided it would not, so this is a backstop).
    /// A reversal is always allowed, even when an appeal has lowered the grant below what was
    /// used.
    async fn move_used(
        &self,
        tx: &mut Transaction<'_, Any>,
        allowance: &str,
        kind: &str,
        quantity_g: i64,
        cause: &str,
        now: i64,
    ) -> Result<()> {
        let moved = sqlx::query(&self.sql(
            "UPDATE allowances SET used_g = used_g + $1 WHERE number = $2 AND used_g + $1 >= 0 \
             AND ($1 <= 0 OR used_g + $1 <= granted_g + (granted_g * tolerance_ppm) / 1000000)",
        ))
        .bind(quantity_g)
        .bind(allowance)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if moved != 1 {
            return Err(StoreError::Conflict(format!(
                "allowance {allowance}: {kind} of {quantity_g} g refused, it would leave the ledger outside 0..=granted + tolerance"
            )));
        }
        sqlx::query(&self.sql(
            "INSERT INTO allowance_entries (allowance_number, kind, quantity_g, cause, at_ms) VALUES ($1, $2, $3, $4, $5)",
        ))
        .bind(allowance)
        .bind(kind)
        .bind(quantity_g)
        .bind(cause)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// What each allowance still has drawn under `cause`.
    async fn drawn_under(
        &self,
        tx: &mut Transaction<'_, Any>,
        cause: &str,
    ) -> Result<Vec<(String, i64)>> {
        self.standing_under(tx, "allowance_entries", "allowance_number", cause)
            .await
    }

    /// What each ledger of `table` (keyed by `key`) still has drawn under `cause`: its draws
    /// minus its reversals, non-zero ones only, in key order. Allowances and quotas share it.
    pub(crate) async fn standing_under(
        &self,
        tx: &mut Transaction<'_, Any>,
        table: &'static str,
        key: &'static str,
        cause: &str,
    ) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(&self.sql_owned(format!(
            "SELECT {key}, CAST(SUM(quantity_g) AS BIGINT) FROM {table} WHERE cause = $1 \
             AND kind IN ('draw', 'reversal') GROUP BY {key} ORDER BY {key}"
        )))
        .bind(cause)
        .fetch_all(&mut **tx)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let q: i64 = r.try_get(1)?;
            if q != 0 {
                out.push((r.try_get(0)?, q));
            }
        }
        Ok(out)
    }

    async fn write_lines(
        &self,
        tx: &mut Transaction<'_, Any>,
        number: &str,
        revision: i64,
        lines: &[LineRecord],
        now: i64,
    ) -> Result<()> {
        let c = cause(number, revision);
        for l in lines {
            if let (Some(a), true) = (&l.allowance, l.covered_g > 0) {
                self.move_used(tx, a, "draw", l.covered_g, &c, now).await?;
            }
        }
        let rows: Vec<(&str, &LineRecord)> = lines.iter().map(|l| (number, l)).collect();
        self.insert_line_rows(tx, &rows).await
    }

    /// Records a declaration, drawing what `compute` decides from the allowances it claims (as
    /// they stand, locked). An identical re-send returns the original answer; the same number
    /// with different content is a conflict.
    pub async fn submit_declaration<F>(
        &self,
        actor: &Actor,
        d: &NewDeclaration,
        compute: F,
    ) -> Result<Submitted>
    where
        F: Fn(&Standing) -> Result<Outcome> + Send + Sync + 'static,
    {
        // Group commit: the writer task records whatever declarations are waiting in one
        // transaction and answers each after the commit (see `batch.rs`).
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = crate::batch::Job {
            actor: actor.clone(),
            d: d.clone(),
            compute: Box::new(compute),
            reply,
        };
        match self.batcher.sender(self, d).send(job).await {
            Ok(()) => answer.await.map_err(|_| {
                StoreError::Invalid(format!(
                    "declaration {}: the writer stopped before answering; re-send it (re-sending is safe)",
                    d.number
                ))
            })?,
            Err(tokio::sync::mpsc::error::SendError(job)) => {
                self.submit_one(&job.actor, &job.d, &*job.compute).await
            }
        }
    }

    /// The one-declaration path (the writer's fallback when a batch fails).
    pub(crate) async fn submit_one<F>(
        &self,
        actor: &Actor,
        d: &NewDeclaration,
        compute: &F,
    ) -> Result<Submitted>
    where
        F: Fn(&Standing) -> Result<Outcome> + ?Sized,
    {
        // A concurrent identical submission on PostgreSQL loses the race on the unique number;
        // the second attempt then finds it and replays it.
        match self.try_submit(actor, d, compute).await {
            Err(e) if is_unique_violation(&e) => self.try_submit(actor, d, compute).await,
            other => other,
        }
    }

    async fn try_submit<F>(
        &self,
        actor: &Actor,
        d: &NewDeclaration,
        compute: &F,
    ) -> Result<Submitted>
    where
        F: Fn(&Standing) -> Result<Outcome> + ?Sized,
    {
        let mut tx = self.pool.begin().await?;
        if let Some(old) = self.declaration_in(&mut tx, &d.number, false).await? {
            tx.rollback().await?;
            return replay(old, d);
        }
        let allowances = self
            .lock_allowances(&mut tx, d.claims.iter().cloned())
            .await?;
        let quotas = self.quotas_for_lines(&mut tx, &d.goods).await?;
        let mut standing = Standing { allowances, quotas };
        let out = compute(&standing)?;
        let now = now_ms();
        let quota_moves = Store::decide_quota_draws(
            &mut standing.quotas,
            &out.lines,
            d.declared_at,
            &cause(&d.number, 1),
        );
        self.write_quota_moves(&mut tx, &quota_moves, now).await?;
        sqlx::query(&self.sql(
            "INSERT INTO declarations (number, importer, declared_at_s, revision, status, request, answer, total_fen, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, 1, 'accepted', $4, $5, $6, $7, $7)",
        ))
        .bind(&d.number)
        .bind(&d.importer)
        .bind(d.declared_at.0)
        .bind(stored_json::encode(&d.request))
        .bind(stored_json::encode(&out.answer))
        .bind(out.total_fen)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.write_lines(&mut tx, &d.number, 1, &out.lines, now)
            .await?;
        audit::append(
            self,
            &mut tx,
            actor,
            Change {
                entity_type: "declaration",
                entity_id: &d.number,
                action: "submit",
                before: serde_json::Value::Null,
                after: serde_json::json!({ "importer": d.importer, "revision": 1, "total_fen": out.total_fen, "draws": draws_summary(&out.lines), "quota_draws": quota_summary(&quota_moves) }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Submitted::Created(out.answer))
    }

    /// Replaces an accepted declaration with a new revision, atomically: its draws are reversed
    /// and the new content is assessed and drawn in the same transaction. Re-sending the
    /// identical amendment replays its answer.
    pub async fn amend_declaration<F>(
        &self,
        actor: &Actor,
        d: &NewDeclaration,
        compute: F,
    ) -> Result<Submitted>
    where
        F: Fn(&Standing) -> Result<Outcome>,
    {
        let mut tx = self.pool.begin().await?;
        let Some(old) = self.declaration_in(&mut tx, &d.number, true).await? else {
            return Err(StoreError::NotFound(format!(
                "no declaration {}; submit it first",
                d.number
            )));
        };
        if old.request == d.request || old.status != "accepted" {
            tx.rollback().await?;
            return replay(old, d);
        }
        if old.importer != d.importer {
            return Err(StoreError::Conflict(format!(
                "declaration {} was declared by {}; an amendment cannot change the importer",
                d.number, old.importer
            )));
        }
        let old_cause = cause(&d.number, old.revision);
        let drawn = self.drawn_under(&mut tx, &old_cause).await?;
        let claims = drawn
            .iter()
            .map(|(a, _)| a.clone())
            .chain(d.claims.iter().cloned());
        self.lock_allowances(&mut tx, claims).await?;
        let now = now_ms();
        for (a, q) in &drawn {
            self.move_used(&mut tx, a, "reversal", -q, &old_cause, now)
                .await?;
        }
        // Every quota the amendment moves, old and new, is locked in id order before any is
        // moved, so two amendments moving lines between the same quotas cannot deadlock.
        let old_quotas = self
            .standing_under(&mut tx, "quota_entries", "quota_id", &old_cause)
            .await?;
        let new_quotas = self.quota_ids_for_lines(&mut tx, &d.goods).await?;
        self.lock_quotas(
            &mut tx,
            old_quotas.into_iter().map(|(id, _)| id).chain(new_quotas),
        )
        .await?;
        let quota_reversed = self.reverse_quota_draws(&mut tx, &old_cause, now).await?;
        let refunds_withdrawn = self
            .withdraw_refund_claims(
                &mut tx,
                &d.number,
                &format!("declaration amended to revision {}", old.revision + 1),
                now,
            )
            .await?;
        let allowances = self
            .lock_allowances(&mut tx, d.claims.iter().cloned())
            .await?;
        let quotas = self.quotas_for_lines(&mut tx, &d.goods).await?;
        let mut standing = Standing { allowances, quotas };
        let out = compute(&standing)?;
        let revision = old.revision + 1;
        let quota_moves = Store::decide_quota_draws(
            &mut standing.quotas,
            &out.lines,
            d.declared_at,
            &cause(&d.number, revision),
        );
        self.write_quota_moves(&mut tx, &quota_moves, now).await?;
        sqlx::query(&self.sql("DELETE FROM declaration_lines WHERE declaration_number = $1"))
            .bind(&d.number)
            .execute(&mut *tx)
            .await?;
        self.write_lines(&mut tx, &d.number, revision, &out.lines, now)
            .await?;
        sqlx::query(&self.sql(
            "UPDATE declarations SET revision = $1, request = $2, answer = $3, total_fen = $4, declared_at_s = $5, updated_at_ms = $6 WHERE number = $7",
        ))
        .bind(revision)
        .bind(stored_json::encode(&d.request))
        .bind(stored_json::encode(&out.answer))
        .bind(out.total_fen)
        .bind(d.declared_at.0)
        .bind(now)
        .bind(&d.number)
        .execute(&mut *tx)
        .await?;
        audit::append(
            self,
            &mut tx,
            actor,
            Change {
                entity_type: "declaration",
                entity_id: &d.number,
                action: "amend",
                before: serde_json::json!({ "revision": old.revision, "total_fen": old.total_fen, "reversed": drawn, "quota_reversed": quota_reversed, "refunds_withdrawn": refunds_withdrawn }),
                after: serde_json::json!({ "revision": revision, "total_fen": out.total_fen, "draws": draws_summary(&out.lines), "quota_draws": quota_summary(&quota_moves) }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Submitted::Created(out.answer))
    }

    /// Cancels a declaration and reverses every draw it made. Cancelling again changes nothing
    /// and returns the record as it is.
    pub async fn cancel_declaration(
        &self,
        actor: &Actor,
        number: &str,
    ) -> Result<DeclarationRecord> {
        let mut tx = self.pool.begin().await?;
        let Some(mut rec) = self.declaration_in(&mut tx, number, true).await? else {
            return Err(StoreError::NotFound(format!("no declaration {number}")));
        };
        if rec.status == "cancelled" {
            tx.rollback().await?;
            return Ok(rec);
        }
        let c = cause(number, rec.revision);
        let drawn = self.drawn_under(&mut tx, &c).await?;
        self.lock_allowances(&mut tx, drawn.iter().map(|(a, _)| a.clone()))
            .await?;
        let now = now_ms();
        for (a, q) in &drawn {
            self.move_used(&mut tx, a, "reversal", -q, &c, now).await?;
        }
        let quota_reversed = self.reverse_quota_draws(&mut tx, &c, now).await?;
        let refunds_withdrawn = self
            .withdraw_refund_claims(&mut tx, number, "declaration cancelled", now)
            .await?;
        sqlx::query(&self.sql(
            "UPDATE declarations SET status = 'cancelled', updated_at_ms = $1 WHERE number = $2",
        ))
        .bind(now)
        .bind(number)
        .execute(&mut *tx)
        .await?;
        audit::append(
            self,
            &mut tx,
            actor,
            Change {
                entity_type: "declaration",
                entity_id: number,
                action: "cancel",
                before: serde_json::json!({ "status": "accepted", "revision": rec.revision }),
                after: serde_json::json!({ "status": "cancelled", "reversed": drawn, "quota_reversed": quota_reversed, "refunds_withdrawn": refunds_withdrawn }),
            },
        )
        .await?;
        tx.commit().await?;
        rec.status = "cancelled".into();
        rec.updated_at_ms = now;
        Ok(rec)
    }

    pub async fn declaration(&self, number: &str) -> Result<Option<DeclarationRecord>> {
        let row = sqlx::query(&self.sql(DECLARATION_SELECT))
            .bind(number)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(record).transpose()
    }

    /// Every allowance's stored `used_g` beside the sum of its ledger entries and its ceiling.
    pub async fn ledger_checks(&self) -> Result<Vec<LedgerCheck>> {
        let rows = sqlx::query(
            "SELECT a.number, a.granted_g + (a.granted_g * a.tolerance_ppm) / 1000000, a.used_g, \
             CAST(COALESCE((SELECT SUM(e.quantity_g) FROM allowance_entries e WHERE e.allowance_number = a.number AND e.kind IN ('draw', 'reversal')), 0) AS BIGINT) \
             FROM allowances a ORDER BY a.number",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LedgerCheck {
                    allowance: r.try_get(0)?,
                    ceiling_g: r.try_get(1)?,
                    used_g: r.try_get(2)?,
                    entries_used_g: r.try_get(3)?,
                })
            })
            .collect()
    }
}

pub(crate) fn replay(old: DeclarationRecord, d: &NewDeclaration) -> Result<Submitted> {
    if old.status != "accepted" {
        return Err(StoreError::Rejected {
            code: "declaration_cancelled",
            message: format!(
                "declaration {} was cancelled; a cancelled number cannot be used again",
                d.number
            ),
        });
    }
    if old.request == d.request {
        Ok(Submitted::Replayed(old.answer))
    } else {
        Err(StoreError::Rejected {
            code: "declaration_exists",
            message: format!(
                "declaration {} was already submitted with different content; amend it (POST /api/v1/declarations/{}/amend) or use a new number",
                d.number, d.number
            ),
        })
    }
}

/// Utilisation of one programme and tariff line, in grams and fen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Utilisation {
    pub programme: String,
    pub line: String,
    /// `YYYY-MM` of the declarations counted; `None` for the whole life of the allowances.
    pub month: Option<String>,
    /// Granted by allowances on this line (whole-life rows only).
    pub granted_g: i64,
    /// Drawn by accepted declarations.
    pub used_g: i64,
    /// Granted and not used (whole-life rows only; never negative).
    pub unused_g: i64,
    /// The unused quantity of allowances whose validity has ended (whole-life rows only).
    pub expired_g: i64,
    /// Duty lifted on the covered parts of accepted declarations, fen.
    pub duty_forgone_fen: i64,
}

impl Store {
    /// Utilisation per programme and line (whole life) and per programme, line and month of
    /// declaration, as of `now`.
    pub async fn utilisation(&self, now: BjTime) -> Result<Vec<Utilisation>> {
        let mut totals: BTreeMap<(String, String), Utilisation> = BTreeMap::new();
        let rows = sqlx::query(
            "SELECT programme_id, line_code, granted_g, used_g, valid_until_s FROM allowances",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let (p, l): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            let (granted, used, until): (i64, i64, i64) =
                (r.try_get(2)?, r.try_get(3)?, r.try_get(4)?);
            let u = totals
                .entry((p.clone(), l.clone()))
                .or_insert_with(|| Utilisation {
                    programme: p,
                    line: l,
                    ..Utilisation::default()
                });
            let unused = (granted - used).max(0);
            u.granted_g += granted;
            u.used_g += used;
            u.unused_g += unused;
            if BjTime(until) <= now {
                u.expired_g += unused;
            }
        }
        let mut months: BTreeMap<(String, String, String), Utilisation> = BTreeMap::new();
        let rows = sqlx::query(
            "SELECT al.programme_id, al.line_code, d.declared_at_s, dl.covered_g, dl.excluded_duty_fen \
             FROM declaration_lines dl JOIN declarations d ON d.number = dl.declaration_number \
             JOIN allowances al ON al.number = dl.allowance_number WHERE d.status = 'accepted'",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let (p, l): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            let month = BjTime(r.try_get(2)?).month().to_string();
            let (covered, forgone): (i64, i64) = (r.try_get(3)?, r.try_get(4)?);
            if let Some(t) = totals.get_mut(&(p.clone(), l.clone())) {
                t.duty_forgone_fen += forgone;
            }
            let u = months
                .entry((p.clone(), l.clone(), month.clone()))
                .or_insert_with(|| Utilisation {
                    programme: p,
                    line: l,
                    month: Some(month),
                    ..Utilisation::default()
                });
            u.used_g += covered;
            u.duty_forgone_fen += forgone;
        }
        let mut out: Vec<Utilisation> = totals.into_values().collect();
        out.extend(months.into_values());
        Ok(out)
    }
}

impl Store {
    /// Grams drawn from an allowance by accepted declarations, per `YYYY-MM` of declaration.
    ///
    /// Read from the allowance's draw entries (indexed by allowance), each naming its
    /// declaration and revision: the draws of an accepted declaration's current revision are
    /// exactly the covered grams of its lines on this allowance (earlier revisions were reversed
    /// under their own causes, a cancelled declaration is not accepted). Months in which the
    /// allowance covered nothing are not listed.
    pub async fn imports_by_month(&self, allowance: &str) -> Result<BTreeMap<String, i64>> {
        let rows = sqlx::query(&self.sql(
            "SELECT cause, quantity_g FROM allowance_entries WHERE allowance_number = $1 AND kind = 'draw'",
        ))
        .bind(allowance)
        .fetch_all(&self.pool)
        .await?;
        // Grams per (declaration, revision) the draw names.
        let mut drawn: BTreeMap<(String, i64), i64> = BTreeMap::new();
        for r in rows {
            let c: String = r.try_get(0)?;
            if let Some((number, revision)) = parse_cause(&c) {
                *drawn.entry((number.to_owned(), revision)).or_insert(0) +=
                    r.try_get::<i64, _>(1)?;
            }
        }
        let mut numbers: Vec<&str> = drawn.keys().map(|(n, _)| n.as_str()).collect();
        numbers.dedup();
        let mut out = BTreeMap::new();
        for chunk in numbers.chunks(500) {
            let list = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = self.sql_owned(format!(
                "SELECT number, revision, declared_at_s FROM declarations WHERE status = 'accepted' AND number IN ({list})"
            ));
            let mut q = sqlx::query(&sql);
            for n in chunk {
                q = q.bind(*n);
            }
            for r in q.fetch_all(&self.pool).await? {
                let (number, revision): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
                if let Some(g) = drawn.get(&(number, revision)) {
                    let month = BjTime(r.try_get(2)?).month().to_string();
                    *out.entry(month).or_insert(0) += *g;
                }
            }
        }
        out.retain(|_, g| *g != 0);
        Ok(out)
    }
}

/// A holder's monthly purchase report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PurchaseReport {
    pub allowance: String,
    /// `YYYY-MM`.
    pub month: String,
    pub quantity_g: i64,
    /// Per unit of the allowance, minor units of `currency`.
    pub price_minor: i64,
    pub currency: String,
    pub filed_by: String,
    pub filed_at_ms: i64,
}

impl Store {
    /// Files a purchase report; one per allowance and month (a second is `report_exists`).
    pub async fn file_purchase_report(&self, actor: &Actor, r: &PurchaseReport) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(&self.sql(
            "INSERT INTO purchase_reports (allowance_number, month, quantity_g, price_minor, currency, filed_by, filed_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (allowance_number, month) DO NOTHING",
        ))
        .bind(&r.allowance)
        .bind(&r.month)
        .bind(r.quantity_g)
        .bind(r.price_minor)
        .bind(&r.currency)
        .bind(&r.filed_by)
        .bind(r.filed_at_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done != 1 {
            return Err(StoreError::Rejected {
                code: "report_exists",
                message: format!(
                    "allowance {} already has a purchase report for {}",
                    r.allowance, r.month
                ),
            });
        }
        audit::append(
            self,
            &mut tx,
            actor,
            Change {
                entity_type: "allowance",
                entity_id: &r.allowance,
                action: "purchase_report",
                before: serde_json::Value::Null,
                after: serde_json::json!({ "month": r.month, "quantity_g": r.quantity_g, "price_minor": r.price_minor, "currency": r.currency }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn purchase_reports(&self, allowance: &str) -> Result<Vec<PurchaseReport>> {
        let rows = sqlx::query(&self.sql(
            "SELECT allowance_number, month, quantity_g, price_minor, currency, filed_by, filed_at_ms \
             FROM purchase_reports WHERE allowance_number = $1 ORDER BY month",
        ))
        .bind(allowance)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PurchaseReport {
                    allowance: r.try_get(0)?,
                    month: r.try_get(1)?,
                    quantity_g: r.try_get(2)?,
                    price_minor: r.try_get(3)?,
                    currency: r.try_get(4)?,
                    filed_by: r.try_get(5)?,
                    filed_at_ms: r.try_get(6)?,
                })
            })
            .collect()
    }
}

/// One recorded declaration line for a scenario replay: the declaration's request (JSON text,
/// as received) and the quantity its allowance covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedLine {
    pub number: String,
    pub request: String,
    pub line_no: u32,
    pub covered_g: i64,
}

impl Store {
    /// Lines of accepted declarations declared in `[from, until)`, oldest first, at most
    /// `limit` (the caller asks for one more than it accepts to detect a range too wide).
    pub async fn recorded_lines(
        &self,
        from: BjTime,
        until: BjTime,
        limit: usize,
    ) -> Result<Vec<RecordedLine>> {
        let rows = sqlx::query(&self.sql(
            "SELECT d.number, d.request, l.line_no, l.covered_g FROM declarations d \
             JOIN declaration_lines l ON l.declaration_number = d.number \
             WHERE d.status = 'accepted' AND d.declared_at_s >= $1 AND d.declared_at_s < $2 \
             ORDER BY d.declared_at_s, d.number, l.line_no LIMIT $3",
        ))
        .bind(from.0)
        .bind(until.0)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let line_no: i64 = r.try_get(2)?;
                Ok(RecordedLine {
                    number: r.try_get(0)?,
                    request: stored_json::column(r, 1)?,
                    line_no: u32::try_from(line_no).unwrap_or(0),
                    covered_g: r.try_get(3)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{cause, parse_cause};

    #[test]
    fn a_cause_names_its_declaration_and_revision() {
        for (n, r) in [("DEC-1", 1), ("A revision B", 12), ("x", 0)] {
            assert_eq!(parse_cause(&cause(n, r)), Some((n, r)));
        }
        for other in [
            "policy change 4",
            "declaration X revision",
            "declaration X revision two",
        ] {
            assert_eq!(parse_cause(other), None, "{other}");
        }
    }
}
