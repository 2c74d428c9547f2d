//! Group commit for new declarations.
//!
//! Every [`Store::submit_declaration`] becomes a job on a channel; one writer task per store takes
//! whatever jobs are waiting (up to [`MAX_BATCH`]) and records them in ONE transaction with a
//! handful of multi-row statements: look up the numbers, lock the claimed allowances, decide each
//! declaration in arrival order against the balances as the earlier ones left them (in memory),
//! insert declarations, lines, ledger entries and audit entries, move `used_g` under the same
//! conditional update that refuses any overdraw, commit. Each job is answered only after the
//! commit, so an acknowledged declaration is durable; one commit (one fsync) serves the batch.
//!
//! If anything in the batch fails at the database, the transaction is rolled back and every job
//! is retried alone on the one-declaration path, so a batch never changes the semantics: only
//! the number of commits.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sqlx::{Any, Transaction};
use tokio::sync::{mpsc, oneshot};
use waiver_domain::drawdown::{AllowanceState, Standing};

use crate::audit::{self, Actor, Change};
use crate::declarations::{
    allowance_state, cause, draws_summary, quota_summary, record, replay, LineRecord,
    NewDeclaration, Outcome, Submitted, DECLARATION_COLUMNS,
};
use crate::{now_ms, Result, Store, StoreError};

/// Most declarations one transaction records.
pub const MAX_BATCH: usize = 128;
/// Jobs waiting beyond this make submitters wait (back-pressure).
const QUEUE: usize = 4096;

/// The caller's pure computation of a declaration's answer from the allowances as they stand.
pub(crate) type Compute = Box<dyn Fn(&Standing) -> Result<Outcome> + Send + Sync + 'static>;

pub(crate) struct Job {
    pub actor: Actor,
    pub d: NewDeclaration,
    pub compute: Compute,
    pub reply: oneshot::Sender<Result<Submitted>>,
}

/// How the writer has done since start (exposed in `/metrics` and checked by the tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchStats {
    /// Transactions the writer committed (or tried).
    pub batches: u64,
    /// Declarations those transactions carried.
    pub declarations: u64,
    /// The most declarations one transaction carried.
    pub largest: u64,
    /// Batches that failed at the database and were retried one by one.
    pub fallbacks: u64,
}

#[derive(Debug, Default)]
struct Inner {
    sender: std::sync::OnceLock<mpsc::Sender<Job>>,
    stats: std::sync::Mutex<BatchStats>,
}

/// The handle a [`Store`] keeps: the writer task is started on first use.
#[derive(Clone, Debug, Default)]
pub(crate) struct Batcher(Arc<Inner>);

impl Batcher {
    pub fn sender(&self, store: &Store) -> mpsc::Sender<Job> {
        self.0
            .sender
            .get_or_init(|| {
                let (tx, rx) = mpsc::channel(QUEUE);
                // The writer holds a store without a batcher of its own, so it ends when the
                // last user of this store is dropped.
                tokio::spawn(writer(
                    store.without_batcher(),
                    rx,
                    self.clone_stats_handle(),
                ));
                tx
            })
            .clone()
    }

    fn clone_stats_handle(&self) -> StatsHandle {
        StatsHandle(Arc::downgrade(&self.0))
    }

    pub fn stats(&self) -> BatchStats {
        self.0.stats.lock().map(|s| *s).unwrap_or_default()
    }
}

/// The writer's weak view of the stats (a strong one would keep the channel open forever).
struct StatsHandle(std::sync::Weak<Inner>);

impl StatsHandle {
    fn record(&self, n: usize, fallback: bool) {
        if let Some(inner) = self.0.upgrade() {
            if let Ok(mut s) = inner.stats.lock() {
                s.batches += 1;
                s.declarations += n as u64;
                s.largest = s.largest.max(n as u64);
                s.fallbacks += u64::from(fallback);
            }
        }
    }
}

async fn writer(store: Store, mut rx: mpsc::Receiver<Job>, stats: StatsHandle) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    loop {
        if rx.recv_many(&mut jobs, MAX_BATCH).await == 0 {
            return;
        }
        let n = jobs.len();
        let fallback = store.record_batch(std::mem::take(&mut jobs)).await;
        stats.record(n, fallback);
    }
}

/// A decided declaration waiting to be written.
struct Decided {
    job: usize,
    outcome: Outcome,
    /// Its quota draws, for the audit entry.
    quota_draws: serde_json::Value,
}

impl Store {
    /// Records the jobs and answers each; true when the batch had to fall back.
    async fn record_batch(&self, jobs: Vec<Job>) -> bool {
        if jobs.len() == 1 {
            for job in jobs {
                let r = self.submit_one(&job.actor, &job.d, &*job.compute).await;
                let _ = job.reply.send(r);
            }
            return false;
        }
        match self.try_batch(&jobs).await {
            Ok(results) => {
                for (job, r) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(r);
                }
                false
            }
            Err(e) => {
                tracing_fallback(&e, jobs.len());
                for job in jobs {
                    let r = self.submit_one(&job.actor, &job.d, &*job.compute).await;
                    let _ = job.reply.send(r);
                }
                true
            }
        }
    }

    /// The group-commit writer's figures since this store was opened.
    pub fn batch_stats(&self) -> BatchStats {
        self.batcher.stats()
    }

    /// Records the batch in one transaction; `Err` (nothing written) means retry one by one.
    async fn try_batch(&self, jobs: &[Job]) -> Result<Vec<Result<Submitted>>> {
        let mut tx = self.pool.begin().await?;
        let numbers: Vec<&str> = jobs.iter().map(|j| j.d.number.as_str()).collect();
        let mut existing = self.declarations_in(&mut tx, &numbers).await?;
        let mut states = self
            .lock_allowances_many(&mut tx, jobs.iter().flat_map(|j| j.d.claims.iter()))
            .await?;
        let ceilings: HashMap<String, i64> = states
            .iter()
            .map(|(n, s)| {
                (
                    n.clone(),
                    s.granted_g + s.granted_g * s.tolerance_ppm / 1_000_000,
                )
            })
            .collect();
        let start_used: HashMap<String, i64> =
            states.iter().map(|(n, s)| (n.clone(), s.used_g)).collect();
        let goods: Vec<_> = jobs
            .iter()
            .flat_map(|j| j.d.goods.iter().copied())
            .collect();
        let mut quotas = self.quotas_for_lines(&mut tx, &goods).await?;
        let mut quota_moves = Vec::new();

        let mut results: Vec<Option<Result<Submitted>>> = Vec::with_capacity(jobs.len());
        let mut decided: Vec<Decided> = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            if let Some(old) = existing.get(&job.d.number) {
                results.push(Some(replay(old.clone(), &job.d)));
                continue;
            }
            let standing = Standing {
                allowances: states,
                quotas,
            };
            let outcome = (job.compute)(&standing);
            (states, quotas) = (standing.allowances, standing.quotas);
            let outcome = match outcome {
                Ok(o) => o,
                Err(e) => {
                    results.push(Some(Err(e)));
                    continue;
                }
            };
            // Apply its draws to the in-memory balances, refusing any overdraw (the backstop
            // the one-declaration path has in its conditional UPDATE). Only the allowances it
            // draws on are touched: the batch's map is never copied per declaration.
            let mut want: BTreeMap<&str, i64> = BTreeMap::new();
            for l in &outcome.lines {
                if let (Some(a), true) = (&l.allowance, l.covered_g > 0) {
                    *want.entry(a.as_str()).or_default() += l.covered_g;
                }
            }
            let refused = want.iter().find(|(a, g)| {
                states
                    .get(**a)
                    .zip(ceilings.get(**a))
                    .is_none_or(|(s, c)| s.used_g + **g > *c)
            });
            if let Some((a, _)) = refused {
                results.push(Some(Err(StoreError::Conflict(format!(
                    "allowance {a}: draw refused, it would pass granted + tolerance"
                )))));
                continue;
            }
            for (a, g) in want {
                if let Some(s) = states.get_mut(a) {
                    s.used_g += g;
                }
            }
            let moves = Store::decide_quota_draws(
                &mut quotas,
                &outcome.lines,
                job.d.declared_at,
                &cause(&job.d.number, 1),
            );
            let quota_draws = quota_summary(&moves);
            quota_moves.extend(moves);
            let now = now_ms();
            existing.insert(
                job.d.number.clone(),
                crate::declarations::DeclarationRecord {
                    number: job.d.number.clone(),
                    importer: job.d.importer.clone(),
                    declared_at: job.d.declared_at,
                    revision: 1,
                    status: "accepted".into(),
                    request: job.d.request.clone(),
                    answer: outcome.answer.clone(),
                    total_fen: outcome.total_fen,
                    created_at_ms: now,
                    updated_at_ms: now,
                },
            );
            results.push(None);
            decided.push(Decided {
                job: i,
                outcome,
                quota_draws,
            });
        }

        if !decided.is_empty() {
            let now = now_ms();
            let moves = used_moves(&states, &start_used);
            match self.dialect() {
                crate::Dialect::Postgres => {
                    self.write_batch_pg(&mut tx, jobs, &decided, &moves, now)
                        .await?
                }
                crate::Dialect::Sqlite => {
                    self.insert_declarations(&mut tx, jobs, &decided, now)
                        .await?;
                    self.insert_lines(&mut tx, jobs, &decided).await?;
                    self.insert_draws(&mut tx, jobs, &decided, now).await?;
                    self.move_used_many(&mut tx, &moves).await?;
                }
            }
            self.write_quota_moves(&mut tx, &quota_moves, now).await?;
            let changes = decided
                .iter()
                .map(|x| {
                    let job = &jobs[x.job];
                    (
                        job.actor.clone(),
                        Change {
                            entity_type: "declaration",
                            entity_id: &job.d.number,
                            action: "submit",
                            before: serde_json::Value::Null,
                            after: serde_json::json!({ "importer": job.d.importer, "revision": 1, "total_fen": x.outcome.total_fen, "draws": draws_summary(&x.outcome.lines), "quota_draws": x.quota_draws }),
                        },
                    )
                })
                .collect();
            audit::append_many(self, &mut tx, changes).await?;
        }
        tx.commit().await?;

        let mut answers = decided.into_iter().map(|x| x.outcome.answer);
        Ok(results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Ok(Submitted::Created(answers.next().unwrap_or_default())))
            })
            .collect())
    }

    async fn declarations_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        numbers: &[&str],
    ) -> Result<HashMap<String, crate::declarations::DeclarationRecord>> {
        let mut out = HashMap::new();
        for chunk in numbers.chunks(500) {
            let sql = match self.dialect() {
                // One text for every batch size (see `PG_WRITE_BATCH`).
                crate::Dialect::Postgres => format!(
                    "SELECT {DECLARATION_COLUMNS} FROM declarations WHERE number IN (SELECT jsonb_array_elements_text($1::jsonb))"
                ),
                crate::Dialect::Sqlite => self.sql_owned(format!(
                    "SELECT {DECLARATION_COLUMNS} FROM declarations WHERE number IN ({})",
                    placeholders(chunk.len(), 1)
                )),
            };
            let mut q = sqlx::query(&sql);
            if self.dialect() == crate::Dialect::Postgres {
                q = q.bind(json(chunk)?);
            } else {
                for n in chunk {
                    q = q.bind(*n);
                }
            }
            for r in q.fetch_all(&mut **tx).await? {
                let rec = record(&r)?;
                out.insert(rec.number.clone(), rec);
            }
        }
        Ok(out)
    }

    /// Locks every claimed allowance in one statement (number order, like the one-declaration
    /// path, so writers never wait on each other in a cycle).
    async fn lock_allowances_many<'a>(
        &self,
        tx: &mut Transaction<'static, Any>,
        numbers: impl Iterator<Item = &'a String>,
    ) -> Result<BTreeMap<String, AllowanceState>> {
        let mut sorted: Vec<&String> = numbers.collect();
        sorted.sort();
        sorted.dedup();
        let mut out = BTreeMap::new();
        for chunk in sorted.chunks(500) {
            let list = match self.dialect() {
                crate::Dialect::Postgres => {
                    "SELECT jsonb_array_elements_text($1::jsonb)".to_owned()
                }
                crate::Dialect::Sqlite => placeholders(chunk.len(), 1),
            };
            let sql = self.sql_owned(format!(
                "SELECT number, holder, line_code, granted_g, tolerance_ppm, used_g, valid_from_s, valid_until_s, scopes FROM allowances WHERE number IN ({list}) ORDER BY number{}",
                self.for_update()
            ));
            let mut q = sqlx::query(&sql);
            if self.dialect() == crate::Dialect::Postgres {
                q = q.bind(json(chunk)?);
            } else {
                for n in chunk {
                    q = q.bind(n.as_str());
                }
            }
            for r in q.fetch_all(&mut **tx).await? {
                let s = allowance_state(&r)?;
                out.insert(s.number.clone(), s);
            }
        }
        Ok(out)
    }

    async fn insert_declarations(
        &self,
        tx: &mut Transaction<'static, Any>,
        jobs: &[Job],
        decided: &[Decided],
        now: i64,
    ) -> Result<()> {
        for chunk in decided.chunks(200) {
            let sql = self.sql_owned(format!(
                "INSERT INTO declarations (number, importer, declared_at_s, revision, status, request, answer, total_fen, created_at_ms, updated_at_ms) VALUES {}",
                rows(chunk.len(), 8, |b| format!("(${}, ${}, ${}, 1, 'accepted', ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8))
            ));
            let mut q = sqlx::query(&sql);
            for x in chunk {
                let d = &jobs[x.job].d;
                q = q
                    .bind(&d.number)
                    .bind(&d.importer)
                    .bind(d.declared_at.0)
                    .bind(crate::stored_json::encode(&d.request))
                    .bind(crate::stored_json::encode(&x.outcome.answer))
                    .bind(x.outcome.total_fen)
                    .bind(now)
                    .bind(now);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    async fn insert_lines(
        &self,
        tx: &mut Transaction<'static, Any>,
        jobs: &[Job],
        decided: &[Decided],
    ) -> Result<()> {
        let all: Vec<(&str, &LineRecord)> = decided
            .iter()
            .flat_map(|x| {
                let n = jobs[x.job].d.number.as_str();
                x.outcome.lines.iter().map(move |l| (n, l))
            })
            .collect();
        self.insert_line_rows(tx, &all).await
    }

    /// Inserts declaration lines (declaration number, line) with multi-row statements; the one
    /// insert both write paths use.
    pub(crate) async fn insert_line_rows(
        &self,
        tx: &mut Transaction<'static, Any>,
        all: &[(&str, &LineRecord)],
    ) -> Result<()> {
        for chunk in all.chunks(200) {
            let sql = self.sql_owned(format!(
                "INSERT INTO declaration_lines (declaration_number, line_no, code, origin, allowance_number, covered_g, uncovered_g, base_duty_fen, additional_duty_fen, excluded_duty_fen, vat_fen, total_fen) VALUES {}",
                rows(chunk.len(), 12, |b| format!("({})", placeholders(12, b + 1)))
            ));
            let mut q = sqlx::query(&sql);
            for (n, l) in chunk {
                q = q
                    .bind(*n)
                    .bind(i64::from(l.line_no))
                    .bind(&l.code)
                    .bind(&l.origin)
                    .bind(&l.allowance)
                    .bind(l.covered_g)
                    .bind(l.uncovered_g)
                    .bind(l.base_duty_fen)
                    .bind(l.additional_duty_fen)
                    .bind(l.excluded_duty_fen)
                    .bind(l.vat_fen)
                    .bind(l.total_fen);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    async fn insert_draws(
        &self,
        tx: &mut Transaction<'static, Any>,
        jobs: &[Job],
        decided: &[Decided],
        now: i64,
    ) -> Result<()> {
        let draws = draws(jobs, decided);
        for chunk in draws.chunks(500) {
            let sql = self.sql_owned(format!(
                "INSERT INTO allowance_entries (allowance_number, kind, quantity_g, cause, at_ms) VALUES {}",
                rows(chunk.len(), 4, |b| format!("(${}, 'draw', ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4))
            ));
            let mut q = sqlx::query(&sql);
            for (a, g, c) in chunk {
                q = q.bind(*a).bind(*g).bind(c.as_str()).bind(now);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Moves `used_g` of every allowance the batch drew on, under the conditional update that
    /// refuses to pass granted + tolerance; any refusal fails the batch.
    async fn move_used_many(
        &self,
        tx: &mut Transaction<'static, Any>,
        moves: &[(&str, i64)],
    ) -> Result<()> {
        for chunk in moves.chunks(500) {
            let sql = self.sql_owned(format!(
                "UPDATE allowances SET used_g = allowances.used_g + v.d FROM ({}) AS v \
                 WHERE allowances.number = v.n AND allowances.used_g + v.d >= 0 \
                 AND allowances.used_g + v.d <= allowances.granted_g + (allowances.granted_g * allowances.tolerance_ppm) / 1000000",
                (0..chunk.len())
                    .map(|i| format!("SELECT ${} AS n, ${} AS d", 2 * i + 1, 2 * i + 2))
                    .collect::<Vec<_>>()
                    .join(" UNION ALL ")
            ));
            let mut q = sqlx::query(&sql);
            for (n, d) in chunk {
                q = q.bind(*n).bind(*d);
            }
            let moved = q.execute(&mut **tx).await?.rows_affected();
            if moved != chunk.len() as u64 {
                return Err(StoreError::Conflict(format!(
                    "a batched draw was refused ({moved} of {} allowances moved)",
                    chunk.len()
                )));
            }
        }
        Ok(())
    }
}

/// How `used_g` of each allowance the batch drew on moves (allowance, grams).
fn used_moves<'a>(
    states: &'a BTreeMap<String, AllowanceState>,
    start_used: &HashMap<String, i64>,
) -> Vec<(&'a str, i64)> {
    states
        .iter()
        .filter_map(|(n, s)| {
            let d = s.used_g - start_used.get(n).copied().unwrap_or(s.used_g);
            (d != 0).then_some((n.as_str(), d))
        })
        .collect()
}

/// The batch's ledger draws: (allowance, grams, cause).
fn draws<'a>(jobs: &'a [Job], decided: &'a [Decided]) -> Vec<(&'a str, i64, String)> {
    decided
        .iter()
        .flat_map(|x| {
            let c = cause(&jobs[x.job].d.number, 1);
            x.outcome
                .lines
                .iter()
                .filter(|l| l.covered_g > 0)
                .filter_map(move |l| l.allowance.as_deref().map(|a| (a, l.covered_g, c.clone())))
        })
        .collect()
}

/// PostgreSQL: the batch's declarations, lines, ledger draws and balance moves in ONE statement
/// whose text never changes (the rows arrive as JSON parameters), so it is planned once per
/// connection instead of once per batch size, and costs one round trip. The balance update keeps
/// the conditional that refuses any overdraw; the statement answers how many allowances moved.
const PG_WRITE_BATCH: &str = "WITH d AS (\
    INSERT INTO declarations (number, importer, declared_at_s, revision, status, request, answer, total_fen, created_at_ms, updated_at_ms) \
    SELECT r.number, r.importer, r.declared_at_s, 1, 'accepted', r.request, r.answer, r.total_fen, $5, $5 \
    FROM jsonb_to_recordset($1::jsonb) AS r(number TEXT, importer TEXT, declared_at_s BIGINT, request BYTEA, answer BYTEA, total_fen BIGINT)\
), l AS (\
    INSERT INTO declaration_lines (declaration_number, line_no, code, origin, allowance_number, covered_g, uncovered_g, base_duty_fen, additional_duty_fen, excluded_duty_fen, vat_fen, total_fen) \
    SELECT r.n, r.line_no, r.code, r.origin, r.allowance, r.covered_g, r.uncovered_g, r.base_duty_fen, r.additional_duty_fen, r.excluded_duty_fen, r.vat_fen, r.total_fen \
    FROM jsonb_to_recordset($2::jsonb) AS r(n TEXT, line_no BIGINT, code TEXT, origin TEXT, allowance TEXT, covered_g BIGINT, uncovered_g BIGINT, base_duty_fen BIGINT, additional_duty_fen BIGINT, excluded_duty_fen BIGINT, vat_fen BIGINT, total_fen BIGINT)\
), e AS (\
    INSERT INTO allowance_entries (allowance_number, kind, quantity_g, cause, at_ms) \
    SELECT r.a, 'draw', r.g, r.c, $5 FROM jsonb_to_recordset($3::jsonb) AS r(a TEXT, g BIGINT, c TEXT)\
), u AS (\
    UPDATE allowances SET used_g = allowances.used_g + v.d \
    FROM jsonb_to_recordset($4::jsonb) AS v(n TEXT, d BIGINT) \
    WHERE allowances.number = v.n AND allowances.used_g + v.d >= 0 \
    AND allowances.used_g + v.d <= allowances.granted_g + (allowances.granted_g * allowances.tolerance_ppm) / 1000000 \
    RETURNING 1\
) SELECT CAST(COUNT(*) AS BIGINT) FROM u";

#[derive(serde::Serialize)]
struct PgDeclaration<'a> {
    number: &'a str,
    importer: &'a str,
    declared_at_s: i64,
    /// The stored bytes (`stored_json`) in PostgreSQL's `\x` hex form, which BYTEA reads.
    request: String,
    answer: String,
    total_fen: i64,
}

#[derive(serde::Serialize)]
struct PgLine<'a> {
    n: &'a str,
    #[serde(flatten)]
    line: &'a LineRecord,
}

impl Store {
    async fn write_batch_pg(
        &self,
        tx: &mut Transaction<'static, Any>,
        jobs: &[Job],
        decided: &[Decided],
        moves: &[(&str, i64)],
        now: i64,
    ) -> Result<()> {
        let declarations: Vec<PgDeclaration> = decided
            .iter()
            .map(|x| {
                let d = &jobs[x.job].d;
                PgDeclaration {
                    number: &d.number,
                    importer: &d.importer,
                    declared_at_s: d.declared_at.0,
                    request: bytea_hex(&crate::stored_json::encode(&d.request)),
                    answer: bytea_hex(&crate::stored_json::encode(&x.outcome.answer)),
                    total_fen: x.outcome.total_fen,
                }
            })
            .collect();
        let lines: Vec<PgLine> = decided
            .iter()
            .flat_map(|x| {
                let n = jobs[x.job].d.number.as_str();
                x.outcome.lines.iter().map(move |line| PgLine { n, line })
            })
            .collect();
        let draws: Vec<serde_json::Value> = draws(jobs, decided)
            .into_iter()
            .map(|(a, g, c)| serde_json::json!({ "a": a, "g": g, "c": c }))
            .collect();
        let moved: Vec<serde_json::Value> = moves
            .iter()
            .map(|(n, d)| serde_json::json!({ "n": n, "d": d }))
            .collect();
        let row = sqlx::query(PG_WRITE_BATCH)
            .bind(json(&declarations)?)
            .bind(json(&lines)?)
            .bind(json(&draws)?)
            .bind(json(&moved)?)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?;
        let n: i64 = sqlx::Row::try_get(&row, 0)?;
        if n != moves.len() as i64 {
            return Err(StoreError::Conflict(format!(
                "a batched draw was refused ({n} of {} allowances moved)",
                moves.len()
            )));
        }
        Ok(())
    }
}

/// Bytes in PostgreSQL's hex input form for BYTEA (`\x` then two hex digits a byte).
fn bytea_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("\\x");
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 15)]));
    }
    s
}

/// Rows as a JSON parameter (serialising these plain structs cannot fail; the error is kept).
fn json<T: serde::Serialize + ?Sized>(rows: &T) -> Result<String> {
    serde_json::to_string(rows).map_err(|e| StoreError::Invalid(format!("batch rows as JSON: {e}")))
}

/// `$from, $from+1, …` (n of them).
fn placeholders(n: usize, from: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `n` rows, the i-th built by `row(i * per_row)`.
fn rows(n: usize, per_row: usize, row: impl Fn(usize) -> String) -> String {
    (0..n)
        .map(|i| row(i * per_row))
        .collect::<Vec<_>>()
        .join(", ")
}

fn tracing_fallback(e: &StoreError, n: usize) {
    tracing::warn!(error = %e, declarations = n, "batch failed; retrying one by one");
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytea_hex_is_postgres_hex_input() {
        assert_eq!(super::bytea_hex(&[]), "\\x");
        assert_eq!(super::bytea_hex(&[0x01, 0xab, 0xff, 0x00]), "\\x01abff00");
    }
}
