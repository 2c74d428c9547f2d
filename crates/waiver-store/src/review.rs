//! Expert review: declared interests, reproducible assignment with conflict exclusion and
//! automatic replacement, append-only score sheets, the contact log, overdue reviews and their
//! escalation. Every change is audited in its own transaction.

use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use waiver_domain::application::State;
use waiver_domain::review::{
    conflict, pick_experts, Candidate, Party, Recommendation, ScoreSheet, ScoreSheetSpec,
};
use waiver_domain::RegistrationCode;

use crate::audit::{self, Actor, Change};
use crate::{now_ms, Result, Store, StoreError};

pub const MAX_INTERESTS_PER_EXPERT: i64 = 50;
pub const MAX_CONTACT_TEXT_CHARS: usize = 2_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assignment {
    pub id: i64,
    pub application: String,
    pub expert: String,
    /// The seed that chose this expert (decimal u64), so the draw can be repeated.
    pub seed: String,
    pub assigned_at_ms: i64,
    pub due_at_ms: i64,
    /// `active`, `scored` or `replaced`.
    pub status: String,
    pub replaced_by: Option<String>,
    pub replaced_reason: Option<String>,
    pub escalated_at_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Expert {
    pub username: String,
    pub display_name: String,
    pub affiliation: Option<String>,
    pub interests: Vec<String>,
    pub open_assignments: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScoreRecord {
    pub application: String,
    pub expert: String,
    /// 1 for the first sheet; a correction is a new version.
    pub version: i64,
    pub sheet: ScoreSheetSpec,
    pub created_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Who was in contact (a person and the party they speak for).
    pub party: String,
    /// Whether the party is the applicant (or speaks for it).
    pub with_applicant: bool,
    /// When, Beijing time, `YYYY-MM-DDTHH:MM`.
    pub at: String,
    /// `phone`, `meeting`, `email`, `letter` or `other`.
    pub channel: String,
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContactRecord {
    pub id: i64,
    pub application: String,
    pub recorded_by: String,
    #[serde(flatten)]
    pub contact: Contact,
    pub created_at_ms: i64,
}

const ASSIGNMENT_SELECT: &str = "SELECT id, application_number, expert, seed, assigned_at_ms, due_at_ms, status, replaced_by, replaced_reason, escalated_at_ms FROM assignments";

fn assignment_from_row(r: &sqlx::any::AnyRow) -> Result<Assignment> {
    Ok(Assignment {
        id: r.try_get(0)?,
        application: r.try_get(1)?,
        expert: r.try_get(2)?,
        seed: r.try_get(3)?,
        assigned_at_ms: r.try_get(4)?,
        due_at_ms: r.try_get(5)?,
        status: r.try_get(6)?,
        replaced_by: r.try_get(7)?,
        replaced_reason: r.try_get(8)?,
        escalated_at_ms: r.try_get(9)?,
    })
}

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

/// Adds a notification inside the caller's transaction. `recipient` is `enterprise:<code>`,
/// `user:<name>` or `role:<role>`.
pub(crate) async fn notify(
    store: &Store,
    tx: &mut Transaction<'_, Any>,
    recipient: &str,
    kind: &str,
    subject: &str,
    entity: (&str, &str),
) -> Result<()> {
    sqlx::query(&store.sql(
        "INSERT INTO notifications (recipient, kind, subject, entity_type, entity_id, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    ))
    .bind(recipient)
    .bind(kind)
    .bind(subject)
    .bind(entity.0)
    .bind(entity.1)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves an application from `from` to `to` inside the caller's transaction; fails if it is no
/// longer in `from` (a concurrent change).
pub(crate) async fn set_state(
    store: &Store,
    tx: &mut Transaction<'_, Any>,
    number: &str,
    from: State,
    to: State,
) -> Result<()> {
    let n = sqlx::query(&store.sql(
        "UPDATE applications SET state = $1, version = version + 1, updated_at_ms = $2 WHERE number = $3 AND state = $4",
    ))
    .bind(to.as_str())
    .bind(now_ms())
    .bind(number)
    .bind(from.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(StoreError::Conflict(format!(
            "application {number} is no longer {}; reload it",
            from.as_str()
        )));
    }
    Ok(())
}

/// Locks an application's row for the rest of the transaction (concurrent actions on the same
/// application queue here) and checks it is still in `state`.
pub(crate) async fn lock_application(
    store: &Store,
    tx: &mut Transaction<'_, Any>,
    number: &str,
    state: State,
) -> Result<()> {
    let n = sqlx::query(
        &store.sql("UPDATE applications SET updated_at_ms = $1 WHERE number = $2 AND state = $3"),
    )
    .bind(now_ms())
    .bind(number)
    .bind(state.as_str())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(StoreError::Conflict(format!(
            "application {number} is no longer {}; reload it",
            state.as_str()
        )));
    }
    Ok(())
}

impl Store {
    /// Names a conflict check compares against: the enterprise's code and names, its group,
    /// and the codes and names of the associations it belongs to.
    pub async fn party_names(&self, enterprise: &str) -> Result<Party> {
        let mut names = vec![enterprise.to_owned()];
        let code = RegistrationCode::parse(enterprise).map_err(invalid)?;
        if let Some(e) = self.enterprise(&code).await? {
            names.push(e.name_en);
            names.push(e.name_zh);
            names.extend(e.parent_group);
        }
        let rows = sqlx::query(&self.sql(
            "SELECT a.registration_code, a.name_en, a.name_zh FROM association_members am JOIN enterprises a ON a.id = am.association_id \
             JOIN enterprises m ON m.id = am.member_id WHERE m.registration_code = $1",
        ))
        .bind(enterprise)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            for i in 0..3 {
                names.push(r.try_get(i)?);
            }
        }
        names.retain(|n| !n.trim().is_empty());
        Ok(Party { names })
    }

    /// Records an interest an expert declares (an employer, a client, a shareholding…).
    pub async fn declare_interest(
        &self,
        actor: &Actor,
        expert: &str,
        interest: &str,
    ) -> Result<()> {
        let interest = interest.trim();
        if interest.is_empty() || interest.chars().count() > 200 {
            return Err(StoreError::Invalid(
                "interest must be 1 to 200 characters, e.g. the name or customs code of a company"
                    .into(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let count: i64 =
            sqlx::query(&self.sql("SELECT COUNT(*) FROM expert_interests WHERE username = $1"))
                .bind(expert)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        if count >= MAX_INTERESTS_PER_EXPERT {
            return Err(StoreError::Invalid(format!(
                "{expert} already declares {count} interests, the most allowed"
            )));
        }
        sqlx::query(&self.sql(
            "INSERT INTO expert_interests (username, interest, declared_at_ms) VALUES ($1, $2, $3)",
        ))
        .bind(expert)
        .bind(interest)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let change = Change {
            entity_type: "expert",
            entity_id: expert,
            action: "declare_interest",
            before: serde_json::Value::Null,
            after: serde_json::json!({ "interest": interest }),
        };
        audit::append(self, &mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The expert pool with affiliations, declared interests and open workload.
    pub async fn experts(&self) -> Result<Vec<Expert>> {
        let rows = sqlx::query(&self.sql(
            "SELECT u.username, u.display_name, u.affiliation, \
             (SELECT COUNT(*) FROM assignments a WHERE a.expert = u.username AND a.status = 'active') \
             FROM users u WHERE u.role = 'expert' AND u.disabled = 0 ORDER BY u.username",
        ))
        .fetch_all(&self.pool)
        .await?;
        let interests =
            sqlx::query(&self.sql("SELECT username, interest FROM expert_interests ORDER BY id"))
                .fetch_all(&self.pool)
                .await?;
        let mut out = Vec::new();
        for r in rows {
            let username: String = r.try_get(0)?;
            let mut mine = Vec::new();
            for i in &interests {
                if i.try_get::<String, _>(0)? == username {
                    mine.push(i.try_get(1)?);
                }
            }
            out.push(Expert {
                username,
                display_name: r.try_get(1)?,
                affiliation: r.try_get(2)?,
                interests: mine,
                open_assignments: r.try_get(3)?,
            });
        }
        Ok(out)
    }

    async fn candidates(&self, enterprise: &str, exclude: &[String]) -> Result<Vec<Candidate>> {
        let party = self.party_names(enterprise).await?;
        Ok(self
            .experts()
            .await?
            .into_iter()
            .filter(|e| !exclude.contains(&e.username))
            .map(|e| {
                let mut aff: Vec<String> = e.affiliation.into_iter().collect();
                aff.extend(e.interests);
                Candidate {
                    conflict: conflict(&aff, &party),
                    username: e.username,
                    open_assignments: u32::try_from(e.open_assignments).unwrap_or(u32::MAX),
                }
            })
            .collect())
    }

    /// Assigns `n` experts to an application under review, reproducibly from `seed`, excluding
    /// conflicts and balancing workload; due `review_days` from now.
    pub async fn assign_experts(
        &self,
        actor: &Actor,
        number: &str,
        seed: u64,
        n: usize,
        review_days: i64,
    ) -> Result<Vec<Assignment>> {
        let app = self
            .application(number)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no application {number}")))?;
        if app.state != State::UnderReview {
            return Err(StoreError::Conflict(format!(
                "application {number} is {}; experts are assigned once screening accepts it",
                app.state.as_str()
            )));
        }
        let existing = self.assignments(number).await?;
        if existing.iter().any(|a| a.status != "replaced") {
            return Err(StoreError::Conflict(format!(
                "application {number} already has experts assigned; a conflicted expert is replaced automatically"
            )));
        }
        let candidates = self.candidates(&app.enterprise, &[]).await?;
        let picked =
            pick_experts(seed, n, &candidates).map_err(|e| StoreError::Conflict(e.to_string()))?;
        let now = now_ms();
        let due = now + review_days * 86_400_000;
        let mut tx = self.pool.begin().await?;
        lock_application(self, &mut tx, number, State::UnderReview).await?;
        let assigned: i64 = sqlx::query(&self.sql(
            "SELECT COUNT(*) FROM assignments WHERE application_number = $1 AND status <> 'replaced'",
        ))
        .bind(number)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if assigned > 0 {
            return Err(StoreError::Conflict(format!(
                "application {number} already has experts assigned; a conflicted expert is replaced automatically"
            )));
        }
        for expert in &picked {
            sqlx::query(&self.sql(
                "INSERT INTO assignments (application_number, expert, seed, assigned_at_ms, due_at_ms, status) VALUES ($1, $2, $3, $4, $5, 'active')",
            ))
            .bind(number)
            .bind(expert)
            .bind(seed.to_string())
            .bind(now)
            .bind(due)
            .execute(&mut *tx)
            .await?;
            notify(
                self,
                &mut tx,
                &format!("user:{expert}"),
                "assignment",
                &format!(
                    "review {number} by {}",
                    waiver_domain::time::BjTime((due / 1000) + 8 * 3600)
                ),
                ("application", number),
            )
            .await?;
        }
        let excluded: Vec<serde_json::Value> = candidates
            .iter()
            .filter_map(|c| {
                c.conflict
                    .as_ref()
                    .map(|r| serde_json::json!({ "expert": c.username, "conflict": r }))
            })
            .collect();
        let change = Change {
            entity_type: "application",
            entity_id: number,
            action: "assign_experts",
            before: serde_json::Value::Null,
            after: serde_json::json!({ "seed": seed.to_string(), "experts": picked, "due_at_ms": due, "excluded": excluded }),
        };
        audit::append(self, &mut tx, actor, change).await?;
        tx.commit().await?;
        self.assignments(number).await
    }

    pub async fn assignments(&self, number: &str) -> Result<Vec<Assignment>> {
        let sql = format!("{ASSIGNMENT_SELECT} WHERE application_number = $1 ORDER BY id");
        sqlx::query(&self.sql_owned(sql))
            .bind(number)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(assignment_from_row)
            .collect()
    }

    /// An expert's assignments (all states), newest first.
    pub async fn assignments_of(&self, expert: &str) -> Result<Vec<Assignment>> {
        let sql = format!("{ASSIGNMENT_SELECT} WHERE expert = $1 ORDER BY id DESC LIMIT 500");
        sqlx::query(&self.sql_owned(sql))
            .bind(expert)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(assignment_from_row)
            .collect()
    }

    /// An expert declares a conflict on an assignment: it is marked replaced, the conflict is
    /// recorded as an interest, and another expert is drawn (seed recorded) in one transaction.
    pub async fn declare_conflict(
        &self,
        actor: &Actor,
        number: &str,
        reason: &str,
        review_days: i64,
    ) -> Result<Assignment> {
        let expert = actor.user.as_str();
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(StoreError::Invalid(
                "reason must be 1 to 200 characters: name the party you are connected with".into(),
            ));
        }
        let all = self.assignments(number).await?;
        let mine = all
            .iter()
            .find(|a| a.expert == expert && a.status == "active")
            .ok_or_else(|| {
                StoreError::NotFound(format!("no open assignment of {expert} on {number}"))
            })?;
        let app = self
            .application(number)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no application {number}")))?;
        let exclude: Vec<String> = all.iter().map(|a| a.expert.clone()).collect();
        let candidates = self.candidates(&app.enterprise, &exclude).await?;
        // The replacement's seed derives from the original one and the assignment, so the
        // whole history can be replayed.
        let base: u64 = mine.seed.parse().unwrap_or(0);
        let seed = base ^ (mine.id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let replacement = pick_experts(seed, 1, &candidates)
            .map_err(|e| StoreError::Conflict(e.to_string()))?
            .remove(0);
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(&self.sql(
            "UPDATE assignments SET status = 'replaced', replaced_by = $1, replaced_reason = $2 WHERE id = $3 AND status = 'active'",
        ))
        .bind(&replacement)
        .bind(reason)
        .bind(mine.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict(format!(
                "the assignment of {expert} on {number} changed; reload it"
            )));
        }
        sqlx::query(&self.sql(
            "INSERT INTO expert_interests (username, interest, declared_at_ms) VALUES ($1, $2, $3)",
        ))
        .bind(expert)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&self.sql(
            "INSERT INTO assignments (application_number, expert, seed, assigned_at_ms, due_at_ms, status) VALUES ($1, $2, $3, $4, $5, 'active')",
        ))
        .bind(number)
        .bind(&replacement)
        .bind(seed.to_string())
        .bind(now)
        .bind(now + review_days * 86_400_000)
        .execute(&mut *tx)
        .await?;
        notify(
            self,
            &mut tx,
            &format!("user:{replacement}"),
            "assignment",
            &format!("review {number} (replacing an expert who declared a conflict)"),
            ("application", number),
        )
        .await?;
        let change = Change {
            entity_type: "application",
            entity_id: number,
            action: "replace_expert",
            before: serde_json::json!({ "expert": expert }),
            after: serde_json::json!({ "expert": replacement, "seed": seed.to_string(), "conflict": reason }),
        };
        audit::append(self, &mut tx, actor, change).await?;
        tx.commit().await?;
        self.assignments(number)
            .await?
            .into_iter()
            .find(|a| a.expert == replacement && a.status == "active")
            .ok_or_else(|| StoreError::NotFound("replacement assignment".into()))
    }

    /// Active assignments past their deadline at `now_ms`, oldest deadline first.
    pub async fn overdue_reviews(&self, now_ms: i64) -> Result<Vec<Assignment>> {
        let sql = format!(
            "{ASSIGNMENT_SELECT} WHERE status = 'active' AND due_at_ms < $1 ORDER BY due_at_ms LIMIT 1000"
        );
        sqlx::query(&self.sql_owned(sql))
            .bind(now_ms)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(assignment_from_row)
            .collect()
    }

    /// Escalates overdue reviews not escalated yet: marks them, tells the expert and the
    /// officers. Returns the ones escalated now.
    pub async fn escalate_overdue(&self, actor: &Actor, now: i64) -> Result<Vec<Assignment>> {
        let due: Vec<Assignment> = self
            .overdue_reviews(now)
            .await?
            .into_iter()
            .filter(|a| a.escalated_at_ms.is_none())
            .collect();
        let mut tx = self.pool.begin().await?;
        for a in &due {
            sqlx::query(&self.sql("UPDATE assignments SET escalated_at_ms = $1 WHERE id = $2"))
                .bind(now)
                .bind(a.id)
                .execute(&mut *tx)
                .await?;
            let subject = format!("review of {} by {} is overdue", a.application, a.expert);
            notify(
                self,
                &mut tx,
                &format!("user:{}", a.expert),
                "overdue",
                &subject,
                ("application", &a.application),
            )
            .await?;
            notify(
                self,
                &mut tx,
                "role:officer",
                "overdue",
                &subject,
                ("application", &a.application),
            )
            .await?;
            let change = Change {
                entity_type: "application",
                entity_id: &a.application,
                action: "escalate_review",
                before: serde_json::Value::Null,
                after: serde_json::json!({ "expert": a.expert, "due_at_ms": a.due_at_ms }),
            };
            audit::append(self, &mut tx, actor, change).await?;
        }
        tx.commit().await?;
        Ok(due)
    }

    /// Stores an expert's score sheet (a new version; earlier ones stay). The last active
    /// assignment scored completes the review.
    pub async fn add_score(
        &self,
        actor: &Actor,
        number: &str,
        spec: &ScoreSheetSpec,
    ) -> Result<ScoreRecord> {
        let expert = actor.user.as_str();
        let app = self
            .application(number)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no application {number}")))?;
        if !matches!(app.state, State::UnderReview | State::Reviewed) {
            return Err(StoreError::Conflict(format!(
                "application {number} is {}; scores are taken while it is under review",
                app.state.as_str()
            )));
        }
        let mut tx = self.pool.begin().await?;
        let assigned = sqlx::query(&self.sql(
            "SELECT id, status FROM assignments WHERE application_number = $1 AND expert = $2 AND status IN ('active', 'scored')",
        ))
        .bind(number)
        .bind(expert)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("{expert} is not assigned to {number}")))?;
        let assignment_id: i64 = assigned.try_get(0)?;
        let version: i64 = sqlx::query(&self.sql(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM scores WHERE application_number = $1 AND expert = $2",
        ))
        .bind(number)
        .bind(expert)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let sheet = serde_json::to_string(spec).map_err(invalid)?;
        let now = now_ms();
        sqlx::query(&self.sql(
            "INSERT INTO scores (application_number, expert, version, sheet, recommendation, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        ))
        .bind(number)
        .bind(expert)
        .bind(version)
        .bind(&sheet)
        .bind(match spec.recommendation {
            Recommendation::Approve => "approve",
            Recommendation::Reject => "reject",
        })
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&self.sql("UPDATE assignments SET status = 'scored' WHERE id = $1"))
            .bind(assignment_id)
            .execute(&mut *tx)
            .await?;
        let open: i64 = sqlx::query(&self.sql(
            "SELECT COUNT(*) FROM assignments WHERE application_number = $1 AND status = 'active'",
        ))
        .bind(number)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let completes = open == 0 && app.state == State::UnderReview;
        if completes {
            set_state(self, &mut tx, number, State::UnderReview, State::Reviewed).await?;
            notify(
                self,
                &mut tx,
                "role:officer",
                "review_complete",
                &format!("every expert has scored {number}; it awaits a decision"),
                ("application", number),
            )
            .await?;
        }
        let change = Change {
            entity_type: "application",
            entity_id: number,
            action: if completes {
                "score+complete_review"
            } else {
                "score"
            },
            before: serde_json::Value::Null,
            after: serde_json::json!({ "expert": expert, "version": version, "sheet": spec }),
        };
        audit::append(self, &mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(ScoreRecord {
            application: number.to_owned(),
            expert: expert.to_owned(),
            version,
            sheet: spec.clone(),
            created_at_ms: now,
        })
    }

    /// Every version of every sheet (or only `expert`'s), oldest first.
    pub async fn scores(&self, number: &str, expert: Option<&str>) -> Result<Vec<ScoreRecord>> {
        let rows = sqlx::query(&self.sql(
            "SELECT expert, version, sheet, created_at_ms FROM scores WHERE application_number = $1 ORDER BY id",
        ))
        .bind(number)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let who: String = r.try_get(0)?;
            if expert.is_some_and(|e| e != who) {
                continue;
            }
            let sheet: String = r.try_get(2)?;
            out.push(ScoreRecord {
                application: number.to_owned(),
                expert: who,
                version: r.try_get(1)?,
                sheet: serde_json::from_str(&sheet).map_err(invalid)?,
                created_at_ms: r.try_get(3)?,
            });
        }
        Ok(out)
    }

    /// The latest sheet of each expert whose assignment was not replaced, validated again
    /// against the programme (they were valid when stored).
    pub async fn latest_sheets(
        &self,
        number: &str,
        validate: impl Fn(&ScoreSheetSpec) -> Option<ScoreSheet>,
    ) -> Result<Vec<ScoreSheet>> {
        let current: Vec<String> = self
            .assignments(number)
            .await?
            .into_iter()
            .filter(|a| a.status != "replaced")
            .map(|a| a.expert)
            .collect();
        let mut latest: std::collections::BTreeMap<String, ScoreRecord> = Default::default();
        for s in self.scores(number, None).await? {
            if current.contains(&s.expert) {
                latest.insert(s.expert.clone(), s);
            }
        }
        Ok(latest.values().filter_map(|s| validate(&s.sheet)).collect())
    }

    /// Records a contact with a party outside the record.
    pub async fn record_contact(
        &self,
        actor: &Actor,
        number: &str,
        c: &Contact,
    ) -> Result<ContactRecord> {
        for (field, v, max) in [
            ("party", &c.party, 200),
            ("channel", &c.channel, 20),
            ("summary", &c.summary, MAX_CONTACT_TEXT_CHARS),
        ] {
            if v.trim().is_empty() || v.chars().count() > max {
                return Err(StoreError::Invalid(format!(
                    "{field} must be 1 to {max} characters"
                )));
            }
        }
        if !["phone", "meeting", "email", "letter", "other"].contains(&c.channel.as_str()) {
            return Err(StoreError::Invalid(format!(
                "channel `{}` is not one of phone, meeting, email, letter, other",
                c.channel
            )));
        }
        waiver_domain::BjTime::parse(&c.at).map_err(|e| {
            StoreError::Invalid(format!(
                "at: {}; write YYYY-MM-DDTHH:MM (Beijing time)",
                e.0
            ))
        })?;
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query(&self.sql(
            "INSERT INTO contacts (application_number, recorded_by, party, with_applicant, contact_at, channel, summary, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        ))
        .bind(number)
        .bind(&actor.user)
        .bind(&c.party)
        .bind(i64::from(c.with_applicant))
        .bind(&c.at)
        .bind(&c.channel)
        .bind(&c.summary)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let change = Change {
            entity_type: "application",
            entity_id: number,
            action: "record_contact",
            before: serde_json::Value::Null,
            after: serde_json::to_value(c).map_err(invalid)?,
        };
        audit::append(self, &mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(ContactRecord {
            id,
            application: number.to_owned(),
            recorded_by: actor.user.clone(),
            contact: c.clone(),
            created_at_ms: now,
        })
    }

    pub async fn contacts(&self, number: &str) -> Result<Vec<ContactRecord>> {
        let rows = sqlx::query(&self.sql(
            "SELECT id, recorded_by, party, with_applicant, contact_at, channel, summary, created_at_ms FROM contacts WHERE application_number = $1 ORDER BY id",
        ))
        .bind(number)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ContactRecord {
                    id: r.try_get(0)?,
                    application: number.to_owned(),
                    recorded_by: r.try_get(1)?,
                    contact: Contact {
                        party: r.try_get(2)?,
                        with_applicant: r.try_get::<i64, _>(3)? != 0,
                        at: r.try_get(4)?,
                        channel: r.try_get(5)?,
                        summary: r.try_get(6)?,
                    },
                    created_at_ms: r.try_get(7)?,
                })
            })
            .collect()
    }
}
