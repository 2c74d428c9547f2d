//! Enterprises, associations, users (argon2id password hashes) and API tokens (stored as SHA-256).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use waiver_domain::accounts::{check_password, Role, Username};
use waiver_domain::RegistrationCode;

use crate::audit::{self, Actor, Change};
use crate::{now_ms, Result, Store, StoreError};

/// Limits on names from outside.
pub const MAX_NAME_CHARS: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Enterprise {
    pub id: i64,
    pub registration_code: String,
    pub name_en: String,
    pub name_zh: String,
    pub parent_group: Option<String>,
    pub is_association: bool,
}

#[derive(Clone, Debug)]
pub struct NewEnterprise {
    pub registration_code: RegistrationCode,
    pub name_en: String,
    pub name_zh: String,
    pub parent_group: Option<String>,
    pub is_association: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The enterprise an applicant acts for.
    pub enterprise: Option<String>,
    pub affiliation: Option<String>,
}

/// An API token as an administrator sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub username: String,
    pub label: String,
    pub created_at_ms: i64,
    /// When it was revoked; `None` while it works.
    pub revoked_at_ms: Option<i64>,
}

const TOKEN_SELECT: &str = "SELECT t.id, u.username, t.label, t.created_at_ms, t.revoked_at_ms FROM api_tokens t JOIN users u ON u.id = t.user_id";

fn token_from_row(row: &sqlx::any::AnyRow) -> Result<TokenInfo> {
    Ok(TokenInfo {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        label: row.try_get(2)?,
        created_at_ms: row.try_get(3)?,
        revoked_at_ms: row.try_get(4)?,
    })
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    pub enterprise: Option<RegistrationCode>,
    pub affiliation: Option<String>,
}

fn check_name(field: &str, v: &str) -> Result<()> {
    if v.trim().is_empty() || v.chars().count() > MAX_NAME_CHARS {
        return Err(StoreError::Invalid(format!(
            "{field} must be 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    if v.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{field} {v:?} contains a control character (a line break or tab?); use plain text on one line"
        )));
    }
    Ok(())
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Hash(e.to_string()))
}

/// Runs argon2 (tens of milliseconds of CPU) off the async runtime so that sign-ins do not stall other requests.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Hash(format!("password hashing task failed: {e}")))?
}

/// Verifies `password` against a PHC string; a missing user is checked against a fixed hash so that
/// unknown usernames take as long as wrong passwords.
fn verify_password(hash: Option<&str>, password: &str) -> Result<bool> {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("waiver-timing-equaliser").ok());
    let Some(phc) = hash.or(dummy.as_deref()) else {
        return Ok(false);
    };
    let parsed = PasswordHash::new(phc).map_err(|e| StoreError::Hash(e.to_string()))?;
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    Ok(ok && hash.is_some())
}

fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

const USER_SELECT: &str = "SELECT u.id, u.username, u.display_name, u.role, e.registration_code, u.affiliation, u.password_hash \
     FROM users u LEFT JOIN enterprises e ON e.id = u.enterprise_id";

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<(User, String)> {
    let role: String = row.try_get(3)?;
    let role = Role::parse(&role).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok((
        User {
            id: row.try_get(0)?,
            username: row.try_get(1)?,
            display_name: row.try_get(2)?,
            role,
            enterprise: row.try_get(4)?,
            affiliation: row.try_get(5)?,
        },
        row.try_get(6)?,
    ))
}

impl Store {
    pub async fn create_enterprise(
        &self,
        actor: &Actor,
        new: &NewEnterprise,
    ) -> Result<Enterprise> {
        check_name("name_en", &new.name_en)?;
        let code = new.registration_code.as_str();
        let mut tx = self.pool.begin().await?;
        let exists =
            sqlx::query(&self.sql("SELECT id FROM enterprises WHERE registration_code = $1"))
                .bind(code)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "an enterprise with registration code {code} already exists"
            )));
        }
        let row = sqlx::query(&self.sql(
            "INSERT INTO enterprises (registration_code, name_en, name_zh, parent_group, is_association, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        ))
        .bind(code)
        .bind(&new.name_en)
        .bind(&new.name_zh)
        .bind(&new.parent_group)
        .bind(i64::from(new.is_association))
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        let e = Enterprise {
            id: row.try_get(0)?,
            registration_code: code.to_owned(),
            name_en: new.name_en.clone(),
            name_zh: new.name_zh.clone(),
            parent_group: new.parent_group.clone(),
            is_association: new.is_association,
        };
        audit::append(
            self,
            &mut tx,
            actor,
            Change {
                entity_type: "enterprise",
                entity_id: code,
                action: "create",
                before: serde_json::Value::Null,
                after: serde_json::to_value(&e).unwrap_or_default(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(e)
    }

    pub async fn enterprise(&self, code: &RegistrationCode) -> Result<Option<Enterprise>> {
        let row = sqlx::query(&self.sql(
            "SELECT id, registration_code, name_en, name_zh, parent_group, is_association FROM enterprises WHERE registration_code = $1",
        ))
        .bind(code.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Enterprise {
                id: r.try_get(0)?,
                registration_code: r.try_get(1)?,
                name_en: r.try_get(2)?,
                name_zh: r.try_get(3)?,
                parent_group: r.try_get(4)?,
                is_association: r.try_get::<i64, _>(5)? == 1,
            })
        })
        .transpose()
    }

    /// Records that `member` belongs to the association `association`.
    pub async fn add_member(
        &self,
        actor: &Actor,
        association: &RegistrationCode,
        member: &RegistrationCode,
    ) -> Result<()> {
        let a = self
            .enterprise(association)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no enterprise {association}")))?;
        let m = self
            .enterprise(member)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("no enterprise {member}")))?;
        if !a.is_association {
            return Err(StoreError::Invalid(format!(
                "{association} is not an association"
            )));
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            &self
                .sql("INSERT INTO association_members (association_id, member_id) VALUES ($1, $2)"),
        )
        .bind(a.id)
        .bind(m.id)
        .execute(&mut *tx)
        .await?;
        audit::append(
            self,
            &mut tx,
            actor,
            Change {
                entity_type: "enterprise",
                entity_id: association.as_str(),
                action: "add_member",
                before: serde_json::Value::Null,
                after: serde_json::json!({ "member": member.as_str() }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The registration codes of an association's members.
    pub async fn members(&self, association: &RegistrationCode) -> Result<Vec<String>> {
        let rows = sqlx::query(&self.sql(
            "SELECT m.registration_code FROM association_members am \
             JOIN enterprises a ON a.id = am.association_id JOIN enterprises m ON m.id = am.member_id \
             WHERE a.registration_code = $1 ORDER BY m.registration_code",
        ))
        .bind(association.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    pub async fn create_user(&self, actor: &Actor, new: &NewUser, password: &str) -> Result<User> {
        check_name("display_name", &new.display_name)?;
        check_password(password).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let enterprise_id = match (&new.role, &new.enterprise) {
            (Role::Applicant, Some(code)) => Some(
                self.enterprise(code)
                    .await?
                    .ok_or_else(|| {
                        StoreError::NotFound(format!(
                            "no enterprise with registration code {code}; register it first"
                        ))
                    })?
                    .id,
            ),
            (Role::Applicant, None) => {
                return Err(StoreError::Invalid(
                    "an applicant must be bound to an enterprise".into(),
                ))
            }
            (_, Some(_)) => {
                return Err(StoreError::Invalid(format!(
                    "only applicants are bound to an enterprise, not a {}",
                    new.role
                )))
            }
            (_, None) => None,
        };
        let owned = password.to_owned();
        let hash = blocking(move || hash_password(&owned)).await?;
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query(&self.sql("SELECT id FROM users WHERE username = $1"))
            .bind(new.username.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "the username {} is taken",
                new.username
            )));
        }
        let row = sqlx::query(&self.sql(
            "INSERT INTO users (username, display_name, role, enterprise_id, affiliation, password_hash, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        ))
        .bind(new.username.as_str())
        .bind(&new.display_name)
        .bind(new.role.as_str())
        .bind(enterprise_id)
        .bind(&new.affiliation)
        .bind(&hash)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await?;
        let user = User {
            id: row.try_get(0)?,
            username: new.username.to_string(),
            display_name: new.display_name.clone(),
            role: new.role,
            enterprise: new.enterprise.map(|c| c.to_string()),
            affiliation: new.affiliation.clone(),
        };
        audit::append(
            self,
            &mut tx,
            actor,
            Change {
                entity_type: "user",
                entity_id: new.username.as_str(),
                action: "create",
                before: serde_json::Value::Null,
                after: serde_json::to_value(&user).unwrap_or_default(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn user(&self, username: &str) -> Result<Option<User>> {
        let sql = format!("{USER_SELECT} WHERE u.username = $1 AND u.disabled = 0");
        let row = sqlx::query(&self.sql_owned(sql))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| user_from_row(&r).map(|(u, _)| u)).transpose()
    }

    /// The user if the password matches (argon2id verification); `None` otherwise.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<Option<User>> {
        let sql = format!("{USER_SELECT} WHERE u.username = $1 AND u.disabled = 0");
        let row = sqlx::query(&self.sql_owned(sql))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        let found = row.map(|r| user_from_row(&r)).transpose()?;
        let (user, hash) = match found {
            Some((u, h)) => (Some(u), Some(h)),
            None => (None, None),
        };
        let owned = password.to_owned();
        let ok = blocking(move || verify_password(hash.as_deref(), &owned)).await?;
        Ok(user.filter(|_| ok))
    }

    /// Creates an API token for a user and returns it; only its SHA-256 is stored.
    pub async fn create_token(&self, actor: &Actor, username: &str, label: &str) -> Result<String> {
        check_name("label", label)?;
        let Some(user) = self.user(username).await? else {
            // Say why: no such user, or a disabled one.
            self.user_disabled(username).await?;
            return Err(StoreError::Rejected {
                code: "user_disabled",
                message: format!("user {username} is disabled; enable it first with `waiver user enable {username}`"),
            });
        };
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = format!("wvr_{}", hex::encode(bytes));
        let mut tx = self.pool.begin().await?;
        sqlx::query(&self.sql("INSERT INTO api_tokens (user_id, token_sha256, label, created_at_ms) VALUES ($1, $2, $3, $4)"))
            .bind(user.id)
            .bind(token_digest(&token))
            .bind(label)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        audit::append(
            self,
            &mut tx,
            actor,
            Change {
                entity_type: "user",
                entity_id: username,
                action: "create_token",
                before: serde_json::Value::Null,
                after: serde_json::json!({ "label": label }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// API tokens, oldest first, of one user or of everyone (never the tokens themselves: only
    /// their hashes are stored).
    pub async fn tokens(&self, username: Option<&str>) -> Result<Vec<TokenInfo>> {
        let rows = match username {
            Some(name) => {
                self.user_disabled(name).await?;
                sqlx::query(&self.sql_owned(format!(
                    "{TOKEN_SELECT} WHERE u.username = $1 ORDER BY t.id"
                )))
                .bind(name)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&self.sql_owned(format!("{TOKEN_SELECT} ORDER BY t.id")))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(token_from_row).collect()
    }

    /// Whether a user is disabled; NotFound names the user.
    async fn user_disabled(&self, username: &str) -> Result<bool> {
        let row = sqlx::query(&self.sql("SELECT disabled FROM users WHERE username = $1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "no user {username:?}; check the spelling (user names are case-sensitive)"
                ))
            })?;
        Ok(row.try_get::<i64, _>(0)? == 1)
    }

    /// Revokes an API token by its id (see [`Store::tokens`]). It stops working at once in this
    /// process; another process serving the same database (a server, when the CLI revokes)
    /// trusts a token it has just seen for at most [`crate::db::TOKEN_CACHE_TTL`].
    pub async fn revoke_token(&self, actor: &Actor, id: i64) -> Result<TokenInfo> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        // The write comes first: of two revocations one wins, and on SQLite the transaction
        // takes the write lock before it reads (no stale snapshot to upgrade).
        let done = sqlx::query(&self.sql(
            "UPDATE api_tokens SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL",
        ))
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let token = sqlx::query(&self.sql_owned(format!("{TOKEN_SELECT} WHERE t.id = $1")))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| token_from_row(&r))
            .transpose()?
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "no API token with id {id}; the token list (`waiver token list`, GET /api/v1/tokens) shows the ids"
                ))
            })?;
        if done != 1 {
            let when = token.revoked_at_ms.unwrap_or(at);
            return Err(StoreError::Rejected {
                code: "token_revoked",
                message: format!(
                    "API token {id} ({}) was already revoked at {} (Beijing time); nothing to do",
                    token.label,
                    waiver_domain::time::BjTime(when.div_euclid(1000) + 8 * 3600)
                ),
            });
        }
        audit::append(
            self,
            &mut tx,
            actor,
            Change {
                entity_type: "user",
                entity_id: &token.username,
                action: "revoke_token",
                before: serde_json::json!({ "token": id, "label": token.label }),
                after: serde_json::json!({ "token": id, "revoked_at_ms": at }),
            },
        )
        .await?;
        tx.commit().await?;
        self.cache.forget_tokens();
        Ok(token)
    }

    /// Disables or re-enables a user. A disabled user cannot sign in, and their sessions and API
    /// tokens stop working (sessions are ended; tokens are kept, and work again once enabled).
    /// Returns whether anything changed: setting the state a user already has is not an error.
    pub async fn set_user_disabled(
        &self,
        actor: &Actor,
        username: &str,
        disabled: bool,
    ) -> Result<bool> {
        let state = i64::from(disabled);
        let mut tx = self.pool.begin().await?;
        if disabled && self.dialect() == crate::Dialect::Postgres {
            // Two administrators disabling each other at once: the second waits here for the
            // first, then sees it (SQLite's write lock already orders them).
            sqlx::query("SELECT id FROM users WHERE role = 'admin' AND disabled = 0 FOR UPDATE")
                .fetch_all(&mut *tx)
                .await?;
        }
        // The write comes first and only changes a user in the other state: of two concurrent
        // calls one changes it (and writes the audit entry), the other finds nothing to do. The
        // last enabled administrator is not disabled.
        let done = sqlx::query(&self.sql(
            "UPDATE users SET disabled = $1 WHERE username = $2 AND disabled <> $1 \
             AND ($1 = 0 OR role <> 'admin' OR EXISTS (SELECT 1 FROM users o WHERE o.role = 'admin' AND o.disabled = 0 AND o.username <> $2))",
        ))
        .bind(state)
        .bind(username)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done == 0 {
            tx.rollback().await?;
            if self.user_disabled(username).await? != disabled {
                return Err(StoreError::Rejected {
                    code: "last_admin",
                    message: format!("{username} is the last enabled administrator; enable or add another administrator first (`waiver user add NAME --role admin`)"),
                });
            }
            return Ok(false);
        }
        if disabled {
            sqlx::query(&self.sql(
                "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = $1)",
            ))
            .bind(username)
            .execute(&mut *tx)
            .await?;
        }
        audit::append(
            self,
            &mut tx,
            actor,
            Change {
                entity_type: "user",
                entity_id: username,
                action: if disabled { "disable" } else { "enable" },
                before: serde_json::json!({ "disabled": !disabled }),
                after: serde_json::json!({ "disabled": disabled }),
            },
        )
        .await?;
        tx.commit().await?;
        self.cache.forget_tokens();
        Ok(true)
    }

    /// The user a bearer token belongs to, if it exists and is not revoked.
    /// Known tokens are remembered for [`crate::db::TOKEN_CACHE_TTL`], so a machine client's
    /// requests do not each queue for a database read: a token revoked or a user disabled by
    /// this process stops working at once, by another process within that time.
    pub async fn user_by_token(&self, token: &str) -> Result<Option<User>> {
        let digest = token_digest(token);
        let generation = match self.cache.token(&digest) {
            Ok(u) => return Ok(Some(u)),
            Err(generation) => generation,
        };
        let sql = format!("{USER_SELECT} JOIN api_tokens t ON t.user_id = u.id WHERE t.token_sha256 = $1 AND t.revoked_at_ms IS NULL AND u.disabled = 0");
        let row = sqlx::query(&self.sql_owned(sql))
            .bind(&digest)
            .fetch_optional(&self.pool)
            .await?;
        let user = row.map(|r| user_from_row(&r).map(|(u, _)| u)).transpose()?;
        if let Some(u) = &user {
            self.cache.remember_token(digest, u.clone(), generation);
        }
        Ok(user)
    }
}
