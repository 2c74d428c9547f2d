//! The audit log: every state change writes an entry in the same transaction, and each entry
//! carries the SHA-256 of its content and of the previous entry, so that an edited, removed or
//! reordered entry is detected by [`Store::verify_audit`].

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{Any, Row, Transaction};

use crate::{now_ms, Result, Store};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who makes a change, and on whose behalf (an association filing for a member, an officer for
/// the commission, `system` for the demo seed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Actor {
    pub user: String,
    pub on_behalf_of: Option<String>,
}

impl Actor {
    pub fn user(name: &str) -> Actor {
        Actor {
            user: name.to_owned(),
            on_behalf_of: None,
        }
    }
    pub fn system() -> Actor {
        Actor::user("system")
    }
}

/// One entry of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub on_behalf_of: Option<String>,
    pub entity_type: String,
    pub entity_id: String,
    pub action: String,
    /// `{"before": …, "after": …}` as JSON text, hashed as stored.
    pub diff: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// SHA-256 over the previous hash and the entry's content, as a JSON array (unambiguous).
    pub fn compute_hash(&self) -> String {
        let content = serde_json::json!([
            self.seq,
            self.at_ms,
            self.actor,
            self.on_behalf_of,
            self.entity_type,
            self.entity_id,
            self.action,
            self.diff,
            self.prev_hash
        ]);
        hex::encode(Sha256::digest(content.to_string().as_bytes()))
    }
}

/// The result of verifying the whole chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    pub entries: i64,
    /// The first entry that does not verify, and why; `None` when the chain is intact.
    pub first_bad: Option<(i64, String)>,
}

/// One state change to record.
pub(crate) struct Change<'a> {
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub action: &'a str,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// Appends an entry inside the caller's transaction. Updating the single head row first
/// serialises concurrent writers, so the chain never forks.
pub(crate) async fn append(
    store: &Store,
    tx: &mut Transaction<'_, Any>,
    actor: &Actor,
    change: Change<'_>,
) -> Result<i64> {
    let head = sqlx::query(
        &store.sql("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash"),
    )
    .fetch_one(&mut **tx)
    .await?;
    let seq: i64 = head.try_get(0)?;
    let prev_hash: String = head.try_get(1)?;
    let mut entry = AuditEntry {
        seq,
        at_ms: now_ms(),
        actor: actor.user.clone(),
        on_behalf_of: actor.on_behalf_of.clone(),
        entity_type: change.entity_type.to_owned(),
        entity_id: change.entity_id.to_owned(),
        action: change.action.to_owned(),
        diff: diff_text(&change),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    bind_entry(
        sqlx::query(&store.sql(
            "INSERT INTO audit_log (seq, at_ms, actor, on_behalf_of, entity_type, entity_id, action, diff, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )),
        &entry,
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query(&store.sql("UPDATE audit_head SET hash = $1 WHERE id = 1"))
        .bind(&entry.hash)
        .execute(&mut **tx)
        .await?;
    Ok(seq)
}

/// Appends several entries in one go (one head update, one multi-row insert): the same chain as
/// calling [`append`] for each in order. Used by the batched declaration writer.
pub(crate) async fn append_many(
    store: &Store,
    tx: &mut Transaction<'_, Any>,
    changes: Vec<(Actor, Change<'_>)>,
) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let n = changes.len() as i64;
    let head = sqlx::query(
        &store.sql("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash"),
    )
    .bind(n)
    .fetch_one(&mut **tx)
    .await?;
    let last_seq: i64 = head.try_get(0)?;
    let prev_hash: String = head.try_get(1)?;
    let entries = chain(changes, last_seq - n, prev_hash, now_ms());
    let prev_hash = entries.last().map(|e| e.hash.clone()).unwrap_or_default();
    if store.dialect() == crate::Dialect::Postgres {
        // One statement whose text never changes (planned once per connection): the entries
        // as a JSON parameter, mapped onto the table's columns by name, and the head's new hash.
        let rows = serde_json::to_string(&entries)
            .map_err(|e| crate::StoreError::Invalid(format!("audit entries as JSON: {e}")))?;
        sqlx::query(
            "WITH i AS (INSERT INTO audit_log SELECT * FROM jsonb_populate_recordset(NULL::audit_log, $1::jsonb)) \
             UPDATE audit_head SET hash = $2 WHERE id = 1",
        )
        .bind(rows)
        .bind(&prev_hash)
        .execute(&mut **tx)
        .await?;
        return Ok(());
    }
    // 10 parameters a row; 200 rows stay far below either database's parameter limit.
    for chunk in entries.chunks(200) {
        let mut sql = String::from(
            "INSERT INTO audit_log (seq, at_ms, actor, on_behalf_of, entity_type, entity_id, action, diff, prev_hash, hash) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            let b = i * 10;
            sql.push('(');
            for j in 1..=10 {
                if j > 1 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", b + j));
            }
            sql.push(')');
        }
        let sql = store.sql_owned(sql);
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = bind_entry(q, e);
        }
        q.execute(&mut **tx).await?;
    }
    sqlx::query(&store.sql("UPDATE audit_head SET hash = $1 WHERE id = 1"))
        .bind(&prev_hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The text an entry stores and hashes for a change: `{"before": …, "after": …}`.
fn diff_text(change: &Change<'_>) -> String {
    serde_json::json!({ "before": change.before, "after": change.after }).to_string()
}

/// Binds an entry's ten columns in `audit_log`'s order (seq, at_ms, actor, on_behalf_of,
/// entity_type, entity_id, action, diff, prev_hash, hash).
pub(crate) fn bind_entry<'q>(q: crate::AnyQuery<'q>, e: &'q AuditEntry) -> crate::AnyQuery<'q> {
    q.bind(e.seq)
        .bind(e.at_ms)
        .bind(&e.actor)
        .bind(&e.on_behalf_of)
        .bind(&e.entity_type)
        .bind(&e.entity_id)
        .bind(&e.action)
        .bind(&e.diff)
        .bind(&e.prev_hash)
        .bind(&e.hash)
}

/// The entries `changes` become when appended, in order, after the head `seq`/`prev_hash`.
pub(crate) fn chain(
    changes: Vec<(Actor, Change<'_>)>,
    seq: i64,
    mut prev_hash: String,
    at_ms: i64,
) -> Vec<AuditEntry> {
    let mut entries = Vec::with_capacity(changes.len());
    for (i, (actor, change)) in changes.into_iter().enumerate() {
        let mut entry = AuditEntry {
            seq: seq + 1 + i as i64,
            at_ms,
            actor: actor.user,
            on_behalf_of: actor.on_behalf_of,
            entity_type: change.entity_type.to_owned(),
            entity_id: change.entity_id.to_owned(),
            action: change.action.to_owned(),
            diff: diff_text(&change),
            prev_hash: std::mem::take(&mut prev_hash),
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        prev_hash.clone_from(&entry.hash);
        entries.push(entry);
    }
    entries
}

/// PostgreSQL: `changes` as the `entries` argument of the function `waiver_audit_append`
/// (migration 0015), which numbers, hashes and inserts them after the chain's head inside the
/// caller's statement: the same entries [`append_many`] would write, one round trip fewer and the
/// head held for less time.
pub(crate) fn pg_pending_entries(changes: Vec<(Actor, Change<'_>)>, at_ms: i64) -> Result<String> {
    #[derive(Serialize)]
    struct Pending<'a> {
        at_ms: i64,
        actor: String,
        on_behalf_of: Option<String>,
        entity_type: &'a str,
        entity_id: &'a str,
        action: &'a str,
        diff: String,
    }
    let pending: Vec<Pending> = changes
        .into_iter()
        .map(|(actor, change)| Pending {
            at_ms,
            actor: actor.user,
            on_behalf_of: actor.on_behalf_of,
            entity_type: change.entity_type,
            entity_id: change.entity_id,
            action: change.action,
            diff: diff_text(&change),
        })
        .collect();
    serde_json::to_string(&pending)
        .map_err(|e| crate::StoreError::Invalid(format!("audit entries as JSON: {e}")))
}

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        at_ms: row.try_get("at_ms")?,
        actor: row.try_get("actor")?,
        on_behalf_of: row.try_get("on_behalf_of")?,
        entity_type: row.try_get("entity_type")?,
        entity_id: row.try_get("entity_id")?,
        action: row.try_get("action")?,
        diff: row.try_get("diff")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

const COLUMNS: &str =
    "seq, at_ms, actor, on_behalf_of, entity_type, entity_id, action, diff, prev_hash, hash";

impl Store {
    /// The audit trail of one entity, oldest first.
    pub async fn audit_trail(&self, entity_type: &str, entity_id: &str) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(&self.sql(
            "SELECT seq, at_ms, actor, on_behalf_of, entity_type, entity_id, action, diff, prev_hash, hash \
             FROM audit_log WHERE entity_type = $1 AND entity_id = $2 ORDER BY seq",
        ))
        .bind(entity_type)
        .bind(entity_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Walks the whole chain in order and reports the first entry that was edited, removed or
    /// reordered (a hash that does not match its content, a broken link, a gap in `seq`, or a
    /// head that does not match the last entry).
    pub async fn verify_audit(&self) -> Result<AuditReport> {
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let (head_seq, head_hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
        let mut prev_hash = GENESIS_HASH.to_owned();
        let mut expected_seq = 1i64;
        let mut count = 0i64;
        let page = 1000i64;
        let mut after = 0i64;
        loop {
            let sql = format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq > {after} ORDER BY seq LIMIT {page}"
            );
            let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let e = entry_from_row(row)?;
                count += 1;
                let bad = if e.seq != expected_seq {
                    Some(format!("expected entry {expected_seq} here, found {}: an entry was removed or reordered", e.seq))
                } else if e.prev_hash != prev_hash {
                    Some("its previous-hash link does not match the entry before it: an entry was removed, inserted or reordered".to_owned())
                } else if e.compute_hash() != e.hash {
                    Some("its content does not match its hash: the entry was edited".to_owned())
                } else {
                    None
                };
                if let Some(why) = bad {
                    return Ok(AuditReport {
                        entries: count,
                        first_bad: Some((e.seq.min(expected_seq), why)),
                    });
                }
                prev_hash = e.hash;
                expected_seq += 1;
                after = e.seq;
            }
        }
        if head_seq != expected_seq - 1 || head_hash != prev_hash {
            return Ok(AuditReport {
                entries: count,
                first_bad: Some((expected_seq, format!("the chain ends at entry {} but the head records {head_seq}: the last entries were removed", expected_seq - 1))),
            });
        }
        Ok(AuditReport {
            entries: count,
            first_bad: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Actor, Change};

    /// The PostgreSQL function `waiver_audit_append` (the batched writer's audit append) must
    /// hash exactly as `AuditEntry::compute_hash`: every control character, quotes, backslashes,
    /// non-ASCII text and a missing `on_behalf_of`, followed by an append from Rust.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_audit_append_function_hashes_as_rust_does() {
        let Some(db) = crate::testing::postgres().await else {
            return;
        };
        let controls: String = (1u8..0x20).chain([0x7f]).map(char::from).collect();
        let odd = [
            controls.as_str(),
            "quote \" backslash \\ slash / end",
            "é 漢字 😀 \u{2028}\u{2029}",
            "",
        ];
        let changes: Vec<(Actor, Change)> = odd
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let actor = Actor {
                    user: format!("user {s}"),
                    on_behalf_of: (i % 2 == 0).then(|| format!("for {s}")),
                };
                let change = Change {
                    entity_type: "declaration",
                    entity_id: s,
                    action: "submit",
                    before: serde_json::Value::Null,
                    after: serde_json::json!({ "text": s, "n": i }),
                };
                (actor, change)
            })
            .collect();
        let entries = super::pg_pending_entries(changes, crate::now_ms()).expect("entries as JSON");
        let mut tx = db.store.pool.begin().await.expect("a transaction");
        let n: i64 = sqlx::query_scalar("SELECT waiver_audit_append($1::jsonb, 0)")
            .bind(&entries)
            .fetch_one(&mut *tx)
            .await
            .expect("the function appends");
        assert_eq!(n, odd.len() as i64);
        super::append(
            &db.store,
            &mut tx,
            &Actor::system(),
            Change {
                entity_type: "test",
                entity_id: "after",
                action: "check",
                before: serde_json::Value::Null,
                after: serde_json::Value::Null,
            },
        )
        .await
        .expect("a Rust append continues the chain");
        tx.commit().await.expect("commit");
        let report = db.store.verify_audit().await.expect("verify");
        assert_eq!(report.entries, odd.len() as i64 + 1);
        assert_eq!(report.first_bad, None, "{report:?}");
        db.finish().await;
    }
}
