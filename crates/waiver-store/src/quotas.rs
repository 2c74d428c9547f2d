//! Country quotas (issue 5 item 7): created by an officer for a conditional measure, a country
//! and a year; drawn by every declaration line they cover inside the declaration's own
//! transaction (both the one-declaration path and the group-commit writer), reversed with it.
//! The rules (what a line draws, when the quota is reached, which notices) are in
//! [`waiver_domain::quota`]; here are the rows: `quotas` (the standing, locked like an allowance),
//! `quota_entries` (the append-only ledger) and `quota_notices` (one per threshold).

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use waiver_domain::quota::{quota_id, Notice, QuotaState};
use waiver_domain::{BjTime, CodePrefix, CountryCode, Origin, TariffCode};

use crate::audit::{self, Actor, Change};
use crate::review::notify;
use crate::{now_ms, Result, Store, StoreError};

/// A quota to create.
#[derive(Clone, Debug)]
pub struct NewQuota {
    pub measure: String,
    pub origin: CountryCode,
    pub goods: Vec<CodePrefix>,
    pub year: i32,
    pub quota_g: i64,
}

/// A notice given when a draw passed a threshold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuotaNotice {
    pub threshold_pct: i64,
    /// What was used right after the draw that passed it.
    pub used_g: i64,
    /// The declared instant of the line that passed it.
    pub declared_at: BjTime,
    pub cause: String,
    pub at_ms: i64,
}

/// One ledger entry of a quota.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuotaEntry {
    pub kind: String,
    pub quantity_g: i64,
    pub cause: String,
    pub at_ms: i64,
}

/// A quota with its notices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaRecord {
    pub state: QuotaState,
    pub created_by: String,
    pub created_at_ms: i64,
    pub notices: Vec<QuotaNotice>,
}

/// A quota's stored `used_g` beside the sum of its draw and reversal entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuotaCheck {
    pub quota: String,
    pub used_g: i64,
    pub entries_used_g: i64,
}

/// A move of a quota decided in memory: the standing before and after, the cause, the signed
/// quantity and the notices it gave.
pub(crate) type QuotaMove = (QuotaState, QuotaState, String, i64, Vec<Notice>);

pub(crate) const QUOTA_COLUMNS: &str =
    "id, measure_id, origin, goods, year, quota_g, used_g, reached_at_s, created_by, created_at_ms";

pub(crate) fn state(r: &sqlx::any::AnyRow) -> Result<QuotaState> {
    let origin: String = r.try_get(2)?;
    let goods: String = r.try_get(3)?;
    let year: i64 = r.try_get(4)?;
    let bad = |what: &str, v: &str| StoreError::Invalid(format!("stored quota: bad {what} `{v}`"));
    Ok(QuotaState {
        id: r.try_get(0)?,
        measure: r.try_get(1)?,
        origin: CountryCode::parse(&origin).map_err(|_| bad("origin", &origin))?,
        goods: goods
            .split(';')
            .map(|g| CodePrefix::parse(g).map_err(|_| bad("goods", &goods)))
            .collect::<Result<_>>()?,
        year: i32::try_from(year).map_err(|_| bad("year", &year.to_string()))?,
        quota_g: r.try_get(5)?,
        used_g: r.try_get(6)?,
        reached_at: r.try_get::<Option<i64>, _>(7)?.map(BjTime),
    })
}

/// The (origin, year) pairs whose quotas the given lines may count against, sorted, once each.
pub(crate) fn quota_keys(lines: &[(Origin, TariffCode, BjTime)]) -> Vec<(&str, i64)> {
    let mut keys: Vec<(&str, i64)> = lines
        .iter()
        .filter_map(|(o, _, at)| match o {
            Origin::Country(c) => Some((c.as_str(), at.civil().0)),
            Origin::Unknown => None,
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

impl Store {
    /// Creates a country quota and its grant entry. One per measure, country and year.
    pub async fn create_quota(&self, actor: &Actor, q: &NewQuota) -> Result<QuotaRecord> {
        if q.quota_g <= 0 {
            return Err(StoreError::Invalid(format!(
                "quota: {} g is not a quantity; give a positive quota",
                q.quota_g
            )));
        }
        if q.goods.is_empty() {
            return Err(StoreError::Invalid(
                "quota: the measure names no goods".into(),
            ));
        }
        let id = quota_id(&q.measure, q.origin, q.year);
        let goods = q
            .goods
            .iter()
            .map(CodePrefix::as_str)
            .collect::<Vec<_>>()
            .join(";");
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        if self.dialect() == crate::Dialect::Postgres {
            // Every declaration reads `quotas` before it writes (SQLite's one connection already
            // runs one transaction at a time): waiting here for those in flight, and holding
            // back new ones until this commits, means each covered declaration is counted
            // exactly once, either below or by its own draw.
            sqlx::query("LOCK TABLE quotas IN ACCESS EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let exists = sqlx::query(&self.sql("SELECT 1 FROM quotas WHERE id = $1"))
            .bind(&id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "quota {id} exists already; there is one quota per measure, country and year"
            )));
        }
        sqlx::query(&self.sql(
            "INSERT INTO quotas (id, measure_id, origin, goods, year, quota_g, used_g, reached_at_s, created_by, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, NULL, $7, $8)",
        ))
        .bind(&id)
        .bind(&q.measure)
        .bind(q.origin.as_str())
        .bind(&goods)
        .bind(i64::from(q.year))
        .bind(q.quota_g)
        .bind(&actor.user)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.quota_entry(
            &mut tx,
            &id,
            "grant",
            q.quota_g,
            &format!("quota {id} set by {}", actor.user),
            now,
        )
        .await?;
        let earlier = self.count_earlier_declarations(&mut tx, &id, now).await?;
        audit::append(
            self,
            &mut tx,
            actor,
            Change {
                entity_type: "quota",
                entity_id: &id,
                action: "create",
                before: serde_json::Value::Null,
                after: serde_json::json!({ "measure": q.measure, "origin": q.origin.as_str(), "year": q.year, "quota_g": q.quota_g, "goods": goods, "earlier_declarations": earlier.0, "earlier_g": earlier.1 }),
            },
        )
        .await?;
        tx.commit().await?;
        self.quota(&id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("quota {id}")))
    }

    /// Draws on quota `id` for every accepted declaration of its year that it covers and that has
    /// not drawn on it yet — those recorded before the quota existed — in declared order, as if
    /// the quota had been there: each entry carries the declaration revision's cause, so a later
    /// cancellation or amendment gives the quantity back, and notices passed are given. Returns
    /// (declarations counted, grams drawn).
    async fn count_earlier_declarations(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        now: i64,
    ) -> Result<(i64, i64)> {
        let mut states = self.lock_quotas(tx, [id.to_owned()]).await?;
        let Some(mut q) = states.remove(id) else {
            return Ok((0, 0));
        };
        let (Some(from), Some(until)) = (
            waiver_domain::quota::year_start(q.year),
            waiver_domain::quota::year_start(q.year.saturating_add(1)),
        ) else {
            return Ok((0, 0));
        };
        let counted: std::collections::HashSet<String> = sqlx::query(&self.sql(
            "SELECT cause FROM quota_entries WHERE quota_id = $1 AND kind IN ('draw', 'reversal') \
             GROUP BY cause HAVING SUM(quantity_g) <> 0",
        ))
        .bind(id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<std::result::Result<_, _>>()?;
        let rows = sqlx::query(&self.sql(
            "SELECT d.number, d.revision, d.declared_at_s, l.code, l.covered_g + l.uncovered_g \
             FROM declarations d JOIN declaration_lines l ON l.declaration_number = d.number \
             WHERE d.status = 'accepted' AND l.origin = $1 AND d.declared_at_s >= $2 AND d.declared_at_s < $3 \
             ORDER BY d.declared_at_s, d.number, l.line_no",
        ))
        .bind(q.origin.as_str())
        .bind(from.0)
        .bind(until.0)
        .fetch_all(&mut **tx)
        .await?;
        let origin = Origin::Country(q.origin);
        // (cause, declared at, grams) per declaration revision, in declared order.
        let mut per_declaration: Vec<(String, BjTime, i64)> = Vec::new();
        for r in &rows {
            let number: String = r.try_get(0)?;
            let revision: i64 = r.try_get(1)?;
            let at = BjTime(r.try_get(2)?);
            let code: String = r.try_get(3)?;
            let grams: i64 = r.try_get(4)?;
            let Ok(code) = TariffCode::parse(&code) else {
                continue;
            };
            if !q.covers(&code, &origin, at) {
                continue;
            }
            let c = crate::declarations::cause(&number, revision);
            if counted.contains(&c) {
                continue;
            }
            match per_declaration.last_mut() {
                Some((last, _, g)) if *last == c => *g += grams,
                _ => per_declaration.push((c, at, grams)),
            }
        }
        let mut moves = Vec::new();
        let mut total_g = 0i64;
        for (c, at, grams) in per_declaration {
            let before = q.clone();
            let notices = q.draw(grams, at);
            total_g += grams;
            moves.push((before, q.clone(), c, grams, notices));
        }
        let n = moves.len() as i64;
        self.write_quota_moves(tx, &moves, now).await?;
        Ok((n, total_g))
    }

    /// Every quota, newest year first.
    pub async fn quotas(&self) -> Result<Vec<QuotaRecord>> {
        let rows = sqlx::query(&self.sql_owned(format!(
            "SELECT {QUOTA_COLUMNS} FROM quotas ORDER BY year DESC, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.quota_record(r).await?);
        }
        Ok(out)
    }

    pub async fn quota(&self, id: &str) -> Result<Option<QuotaRecord>> {
        let row = sqlx::query(
            &self.sql_owned(format!("SELECT {QUOTA_COLUMNS} FROM quotas WHERE id = $1")),
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some(self.quota_record(&r).await?)),
            None => Ok(None),
        }
    }

    async fn quota_record(&self, r: &sqlx::any::AnyRow) -> Result<QuotaRecord> {
        let state = state(r)?;
        let notices = sqlx::query(&self.sql(
            "SELECT threshold_pct, used_g, declared_at_s, cause, at_ms FROM quota_notices WHERE quota_id = $1 ORDER BY threshold_pct",
        ))
        .bind(&state.id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|n| {
            Ok(QuotaNotice {
                threshold_pct: n.try_get(0)?,
                used_g: n.try_get(1)?,
                declared_at: BjTime(n.try_get(2)?),
                cause: n.try_get(3)?,
                at_ms: n.try_get(4)?,
            })
        })
        .collect::<Result<_>>()?;
        Ok(QuotaRecord {
            state,
            created_by: r.try_get(8)?,
            created_at_ms: r.try_get(9)?,
            notices,
        })
    }

    /// A quota's ledger, oldest first (at most `limit` entries).
    pub async fn quota_entries(&self, id: &str, limit: i64) -> Result<Vec<QuotaEntry>> {
        let sql = self.sql_owned(format!(
            "SELECT kind, quantity_g, cause, at_ms FROM quota_entries WHERE quota_id = $1 ORDER BY id LIMIT {}",
            limit.clamp(1, 10_000)
        ));
        sqlx::query(&sql)
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(QuotaEntry {
                    kind: r.try_get(0)?,
                    quantity_g: r.try_get(1)?,
                    cause: r.try_get(2)?,
                    at_ms: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Records imports counted against a quota outside Waiver's declarations (e.g. the customs
    /// statistics for the months before Waiver recorded declarations): a draw with its cause,
    /// never refused, giving notices like any other draw.
    pub async fn record_quota_imports(
        &self,
        actor: &Actor,
        id: &str,
        quantity_g: i64,
        declared_at: BjTime,
        cause: &str,
    ) -> Result<QuotaRecord> {
        if quantity_g <= 0 || cause.trim().is_empty() {
            return Err(StoreError::Invalid(format!(
                "quota {id}: imports of {quantity_g} g with cause `{cause}`: give a positive quantity and name the source"
            )));
        }
        let mut tx = self.pool.begin().await?;
        let mut quotas = self.lock_quotas(&mut tx, [id.to_owned()]).await?;
        let Some(before) = quotas.remove(id) else {
            return Err(StoreError::NotFound(format!("no quota {id}")));
        };
        let mut after = before.clone();
        let notices = after.draw(quantity_g, declared_at);
        let now = now_ms();
        self.write_quota_moves(
            &mut tx,
            &[(before, after, cause.to_owned(), quantity_g, notices)],
            now,
        )
        .await?;
        audit::append(
            self,
            &mut tx,
            actor,
            Change {
                entity_type: "quota",
                entity_id: id,
                action: "record_imports",
                before: serde_json::Value::Null,
                after: serde_json::json!({ "quantity_g": quantity_g, "declared_at": declared_at, "cause": cause }),
            },
        )
        .await?;
        tx.commit().await?;
        self.quota(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no quota {id}")))
    }

    /// The quotas the given lines count against at `at`, locked (in id order) and as they stand.
    pub(crate) async fn quotas_for_lines(
        &self,
        tx: &mut Transaction<'_, Any>,
        lines: &[(Origin, TariffCode, BjTime)],
    ) -> Result<BTreeMap<String, QuotaState>> {
        let wanted = self.quota_ids_for_lines(tx, lines).await?;
        if wanted.is_empty() {
            return Ok(BTreeMap::new());
        }
        self.lock_quotas(tx, wanted).await
    }

    /// The ids of the quotas the given lines count against at `at`, read without locking.
    pub(crate) async fn quota_ids_for_lines(
        &self,
        tx: &mut Transaction<'_, Any>,
        lines: &[(Origin, TariffCode, BjTime)],
    ) -> Result<Vec<String>> {
        let keys = quota_keys(lines);
        let mut wanted = Vec::new();
        // Unlocked first: only the quotas a line really counts against are then locked, so
        // declarations of other goods from the same country never wait on a quota's row.
        for (origin, year) in keys {
            let rows = sqlx::query(&self.sql_owned(format!(
                "SELECT {QUOTA_COLUMNS} FROM quotas WHERE origin = $1 AND year = $2"
            )))
            .bind(origin)
            .bind(year)
            .fetch_all(&mut **tx)
            .await?;
            for r in &rows {
                let q = state(r)?;
                if lines.iter().any(|(o, c, at)| q.covers(c, o, *at)) {
                    wanted.push(q.id);
                }
            }
        }
        Ok(wanted)
    }

    pub(crate) async fn lock_quotas(
        &self,
        tx: &mut Transaction<'_, Any>,
        ids: impl IntoIterator<Item = String>,
    ) -> Result<BTreeMap<String, QuotaState>> {
        let mut ids: Vec<String> = ids.into_iter().collect();
        ids.sort();
        ids.dedup();
        let sql = self.sql_owned(format!(
            "SELECT {QUOTA_COLUMNS} FROM quotas WHERE id = $1{}",
            self.for_update()
        ));
        let mut out = BTreeMap::new();
        for id in ids {
            if let Some(r) = sqlx::query(&sql)
                .bind(&id)
                .fetch_optional(&mut **tx)
                .await?
            {
                out.insert(id, state(&r)?);
            }
        }
        Ok(out)
    }

    async fn quota_entry(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        kind: &str,
        quantity_g: i64,
        cause: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(&self.sql(
            "INSERT INTO quota_entries (quota_id, kind, quantity_g, cause, at_ms) VALUES ($1, $2, $3, $4, $5)",
        ))
        .bind(id)
        .bind(kind)
        .bind(quantity_g)
        .bind(cause)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Writes quota moves decided in memory: per move (state before, state after, cause, signed
    /// quantity, notices passed) an entry (`draw` if positive, `reversal` if negative), the new
    /// standing under a check that the row still stood as `before` (a backstop: it is locked),
    /// and the notices (each given once) with a notification to customs, officers and analysts.
    pub(crate) async fn write_quota_moves(
        &self,
        tx: &mut Transaction<'_, Any>,
        moves: &[QuotaMove],
        now: i64,
    ) -> Result<()> {
        for (before, after, cause, quantity_g, notices) in moves {
            if *quantity_g != 0 {
                let kind = if *quantity_g > 0 { "draw" } else { "reversal" };
                self.quota_entry(tx, &after.id, kind, *quantity_g, cause, now)
                    .await?;
            }
            for n in notices {
                self.quota_notice(tx, after, n, cause, now).await?;
            }
            if before == after {
                continue;
            }
            let moved = sqlx::query(&self.sql(
                "UPDATE quotas SET used_g = $1, reached_at_s = $2 WHERE id = $3 AND used_g = $4",
            ))
            .bind(after.used_g)
            .bind(after.reached_at.map(|t| t.0))
            .bind(&after.id)
            .bind(before.used_g)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if moved != 1 {
                return Err(StoreError::Conflict(format!(
                    "quota {}: it moved while locked; retry",
                    after.id
                )));
            }
        }
        Ok(())
    }

    async fn quota_notice(
        &self,
        tx: &mut Transaction<'_, Any>,
        q: &QuotaState,
        n: &Notice,
        cause: &str,
        now: i64,
    ) -> Result<()> {
        let given = sqlx::query(&self.sql(
            "INSERT INTO quota_notices (quota_id, threshold_pct, used_g, declared_at_s, cause, at_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (quota_id, threshold_pct) DO NOTHING",
        ))
        .bind(&q.id)
        .bind(i64::from(n.threshold_pct))
        .bind(q.used_g)
        .bind(n.at.0)
        .bind(cause)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if given == 1 {
            let subject = if n.threshold_pct >= 100 {
                format!(
                    "Quota {} reached on {}: {} applies from {}",
                    q.id,
                    n.at,
                    q.measure,
                    q.surcharge_from()
                        .map_or_else(String::new, |t| t.to_string())
                )
            } else {
                format!("Quota {} is {}% used", q.id, n.threshold_pct)
            };
            for role in ["customs", "officer", "analyst"] {
                notify(
                    self,
                    tx,
                    &format!("role:{role}"),
                    "quota_notice",
                    &subject,
                    ("quota", &q.id),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// The quota draws a declaration's lines make (each line counts whole against the quota the
    /// computation named), decided against `quotas` in memory and applied to them.
    pub(crate) fn decide_quota_draws(
        quotas: &mut BTreeMap<String, QuotaState>,
        lines: &[crate::declarations::LineRecord],
        declared_at: BjTime,
        cause: &str,
    ) -> Vec<QuotaMove> {
        let mut per_quota: BTreeMap<&str, i64> = BTreeMap::new();
        for l in lines {
            if let Some(q) = &l.quota {
                *per_quota.entry(q.as_str()).or_default() += l.covered_g + l.uncovered_g;
            }
        }
        let mut out = Vec::new();
        for (id, grams) in per_quota {
            if let Some(q) = quotas.get_mut(id) {
                let before = q.clone();
                let notices = q.draw(grams, declared_at);
                out.push((before, q.clone(), cause.to_owned(), grams, notices));
            }
        }
        out
    }

    /// Reverses every quota draw made under `cause` (a cancelled or amended revision).
    pub(crate) async fn reverse_quota_draws(
        &self,
        tx: &mut Transaction<'_, Any>,
        cause: &str,
        now: i64,
    ) -> Result<Vec<(String, i64)>> {
        let drawn = self
            .standing_under(tx, "quota_entries", "quota_id", cause)
            .await?;
        if drawn.is_empty() {
            return Ok(drawn);
        }
        let mut states = self
            .lock_quotas(tx, drawn.iter().map(|(id, _)| id.clone()))
            .await?;
        let mut moves = Vec::new();
        for (id, q) in &drawn {
            if let Some(before) = states.remove(id) {
                let mut after = before.clone();
                after.reverse(*q);
                moves.push((before, after, cause.to_owned(), -q, Vec::new()));
            }
        }
        self.write_quota_moves(tx, &moves, now).await?;
        Ok(drawn)
    }

    /// Every quota's stored `used_g` beside the sum of its draw and reversal entries.
    pub async fn quota_checks(&self) -> Result<Vec<QuotaCheck>> {
        sqlx::query(&self.sql(
            "SELECT q.id, q.used_g, CAST(COALESCE(SUM(e.quantity_g), 0) AS BIGINT) FROM quotas q \
             LEFT JOIN quota_entries e ON e.quota_id = q.id AND e.kind IN ('draw', 'reversal') \
             GROUP BY q.id, q.used_g ORDER BY q.id",
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(QuotaCheck {
                quota: r.try_get(0)?,
                used_g: r.try_get(1)?,
                entries_used_g: r.try_get(2)?,
            })
        })
        .collect()
    }
}
