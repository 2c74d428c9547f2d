//! Refund claims (issue 5, item 6): for a product exclusion whose programme refunds, the
//! accepted declarations that paid the lifted layers inside its validity get one claim per line.
//!
//! The caller (the web layer, which holds the tariff schedule) reads the candidates with
//! [`Store::refund_candidates`], re-assesses each line through the engine and hands the claims
//! back to [`Store::record_refund_claims`], which inserts them in one audited transaction. The
//! unique key (exclusion, declaration, line) makes generation idempotent: running it twice
//! creates nothing new. A claim is inserted only if its declaration is still accepted at that
//! moment. Settling is idempotent and refused after the deadline.
//!
//! A claim is for one revision of its declaration: cancelling or amending the declaration
//! withdraws its open claims in the same transaction ([`Store::withdraw_refund_claims`]), and a
//! withdrawn claim can no longer be settled. Generating again prices the amended revision. A
//! claim settled before its declaration was cancelled stays settled; its `declaration_status`
//! says `cancelled`, so customs can recover the refund.

use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use waiver_domain::BjTime;

use crate::audit::{self, Actor, Change};
use crate::decisions::ProductExclusion;
use crate::{Result, Store, StoreError};

/// A recorded declaration line that may have paid the layers an exclusion lifts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundCandidate {
    pub declaration: String,
    pub importer: String,
    pub declared_at: BjTime,
    /// The declaration's request (canonical JSON), to re-assess the line.
    pub request: String,
    /// The declaration's current revision: the claim is for it.
    pub revision: i64,
    pub line_no: i64,
    pub code: String,
    pub paid_additional_fen: i64,
}

/// A claim to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRefundClaim {
    pub exclusion_application: String,
    pub programme: String,
    pub declaration: String,
    pub revision: i64,
    pub line_no: i64,
    pub importer: String,
    pub code: String,
    pub declared_at: BjTime,
    pub paid_additional_fen: i64,
    pub amount_fen: i64,
    pub deadline_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefundClaim {
    pub id: i64,
    pub exclusion_application: String,
    pub programme: String,
    pub declaration: String,
    /// The revision of the declaration the claim is for.
    pub revision: i64,
    pub line_no: i64,
    pub importer: String,
    pub code: String,
    pub declared_at: BjTime,
    pub paid_additional_fen: i64,
    pub amount_fen: i64,
    pub deadline_ms: i64,
    /// `open`, `settled` or `withdrawn`.
    pub status: String,
    pub created_at_ms: i64,
    pub settled_at_ms: Option<i64>,
    pub settled_by: Option<String>,
    pub withdrawn_at_ms: Option<i64>,
    pub withdrawn_reason: Option<String>,
    /// The declaration's status now (`accepted` or `cancelled`).
    pub declaration_status: String,
}

const CLAIM_SELECT: &str = "SELECT c.id, c.exclusion_application, c.programme_id, c.declaration_number, c.line_no, c.importer, c.code, c.declared_at_s, c.paid_additional_fen, c.amount_fen, c.deadline_ms, c.status, c.created_at_ms, c.settled_at_ms, c.settled_by, c.revision, c.withdrawn_at_ms, c.withdrawn_reason, d.status FROM refund_claims c JOIN declarations d ON d.number = c.declaration_number";

fn claim(r: &sqlx::any::AnyRow) -> Result<RefundClaim> {
    Ok(RefundClaim {
        id: r.try_get(0)?,
        exclusion_application: r.try_get(1)?,
        programme: r.try_get(2)?,
        declaration: r.try_get(3)?,
        line_no: r.try_get(4)?,
        importer: r.try_get(5)?,
        code: r.try_get(6)?,
        declared_at: BjTime(r.try_get(7)?),
        paid_additional_fen: r.try_get(8)?,
        amount_fen: r.try_get(9)?,
        deadline_ms: r.try_get(10)?,
        status: r.try_get(11)?,
        created_at_ms: r.try_get(12)?,
        settled_at_ms: r.try_get(13)?,
        settled_by: r.try_get(14)?,
        revision: r.try_get(15)?,
        withdrawn_at_ms: r.try_get(16)?,
        withdrawn_reason: r.try_get(17)?,
        declaration_status: r.try_get(18)?,
    })
}

impl Store {
    /// Accepted declaration lines on the exclusion's line (or a 10-digit line under it),
    /// declared inside its validity, that paid additional duty.
    pub async fn refund_candidates(&self, e: &ProductExclusion) -> Result<Vec<RefundCandidate>> {
        let rows = sqlx::query(&self.sql(
            "SELECT d.number, d.importer, d.declared_at_s, d.request, l.line_no, l.code, l.additional_duty_fen, d.revision \
             FROM declarations d JOIN declaration_lines l ON l.declaration_number = d.number \
             WHERE d.status = 'accepted' AND (l.code = $1 OR substr(l.code, 1, 8) = $1) \
             AND d.declared_at_s >= $2 AND d.declared_at_s < $3 AND l.additional_duty_fen > 0 \
             ORDER BY d.number, l.line_no",
        ))
        .bind(&e.line)
        .bind(e.valid_from.0)
        .bind(e.valid_until.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RefundCandidate {
                    declaration: r.try_get(0)?,
                    importer: r.try_get(1)?,
                    declared_at: BjTime(r.try_get(2)?),
                    request: crate::stored_json::column(r, 3)?,
                    line_no: r.try_get(4)?,
                    code: r.try_get(5)?,
                    paid_additional_fen: r.try_get(6)?,
                    revision: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// Records the claims not recorded yet (one audited transaction); returns how many are new.
    pub async fn record_refund_claims(
        &self,
        actor: &Actor,
        claims: &[NewRefundClaim],
        now_ms: i64,
    ) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let mut created = 0;
        for c in claims {
            let row = sqlx::query(&self.sql(
                "INSERT INTO refund_claims (exclusion_application, programme_id, declaration_number, line_no, importer, code, declared_at_s, paid_additional_fen, amount_fen, deadline_ms, status, created_at_ms, revision) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12 \
                 WHERE EXISTS (SELECT 1 FROM declarations WHERE number = $3 AND status = 'accepted' AND revision = $12) \
                 ON CONFLICT (exclusion_application, declaration_number, revision, line_no) DO NOTHING RETURNING id",
            ))
            .bind(&c.exclusion_application)
            .bind(&c.programme)
            .bind(&c.declaration)
            .bind(c.line_no)
            .bind(&c.importer)
            .bind(&c.code)
            .bind(c.declared_at.0)
            .bind(c.paid_additional_fen)
            .bind(c.amount_fen)
            .bind(c.deadline_ms)
            .bind(now_ms)
            .bind(c.revision)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { continue };
            let id: i64 = row.try_get(0)?;
            created += 1;
            audit::append(
                self,
                &mut tx,
                actor,
                Change {
                    entity_type: "refund_claim",
                    entity_id: &id.to_string(),
                    action: "create",
                    before: serde_json::Value::Null,
                    after: serde_json::json!({ "exclusion": c.exclusion_application, "declaration": c.declaration, "revision": c.revision, "line": c.line_no, "importer": c.importer, "amount_fen": c.amount_fen, "deadline_ms": c.deadline_ms }),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    /// Every claim, or those of the given importers.
    pub async fn refund_claims(&self, importers: Option<&[String]>) -> Result<Vec<RefundClaim>> {
        let rows = sqlx::query(&format!("{CLAIM_SELECT} ORDER BY c.id"))
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let c = claim(r)?;
            if importers.is_none_or(|i| i.contains(&c.importer)) {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Marks a claim settled. Settling a settled claim returns it unchanged; an open claim past
    /// its deadline is refused (`refund_deadline_passed`).
    pub async fn settle_refund(&self, actor: &Actor, id: i64, now_ms: i64) -> Result<RefundClaim> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&self.sql_owned(format!("{CLAIM_SELECT} WHERE c.id = $1")))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let mut c = match row {
            Some(r) => claim(&r)?,
            None => return Err(StoreError::NotFound(format!("no refund claim {id}"))),
        };
        if c.status == "settled" {
            return Ok(c);
        }
        if c.status == "withdrawn" {
            return Err(StoreError::Rejected {
                code: "refund_claim_withdrawn",
                message: format!(
                    "refund claim {id} was withdrawn ({}); generate the refunds again to claim for the declaration as it stands",
                    c.withdrawn_reason.as_deref().unwrap_or("its declaration changed")
                ),
            });
        }
        if now_ms > c.deadline_ms {
            return Err(StoreError::Rejected {
                code: "refund_deadline_passed",
                message: format!(
                    "refund claim {id} can no longer be settled: its deadline (six months after the exclusion's publication) passed at {} ms since the epoch",
                    c.deadline_ms
                ),
            });
        }
        let settled = sqlx::query(&self.sql(
            "UPDATE refund_claims SET status = 'settled', settled_at_ms = $1, settled_by = $2 WHERE id = $3 AND status = 'open'",
        ))
        .bind(now_ms)
        .bind(&actor.user)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if settled.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(StoreError::Conflict(format!(
                "refund claim {id} changed while it was being settled; read it again and retry"
            )));
        }
        audit::append(
            self,
            &mut tx,
            actor,
            Change {
                entity_type: "refund_claim",
                entity_id: &id.to_string(),
                action: "settle",
                before: serde_json::json!({ "status": "open" }),
                after: serde_json::json!({ "status": "settled", "amount_fen": c.amount_fen }),
            },
        )
        .await?;
        tx.commit().await?;
        c.status = "settled".into();
        c.settled_at_ms = Some(now_ms);
        c.settled_by = Some(actor.user.clone());
        Ok(c)
    }

    /// Withdraws the open claims of a declaration, inside the transaction that cancels or amends
    /// it; returns their ids (for that transaction's audit entry).
    pub(crate) async fn withdraw_refund_claims(
        &self,
        tx: &mut Transaction<'_, Any>,
        declaration: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Vec<i64>> {
        let rows = sqlx::query(&self.sql(
            "UPDATE refund_claims SET status = 'withdrawn', withdrawn_at_ms = $1, withdrawn_reason = $2 \
             WHERE declaration_number = $3 AND status = 'open' RETURNING id",
        ))
        .bind(now_ms)
        .bind(reason)
        .bind(declaration)
        .fetch_all(&mut **tx)
        .await?;
        let mut ids = rows
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        ids.sort_unstable();
        Ok(ids)
    }
}
