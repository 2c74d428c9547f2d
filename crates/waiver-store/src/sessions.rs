//! Browser sessions (the cookie value is random; only its SHA-256 is stored) and application
//! attachments (stored with their SHA-256 and size; size limits enforced here).

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::audit::{self, Actor, Change};
use crate::{now_ms, Result, Store, StoreError, User};

/// Attachment limits.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_ATTACHMENTS_PER_APPLICATION: i64 = 50;
pub const MAX_FILENAME_CHARS: usize = 200;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub id: i64,
    pub application: String,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub created_at_ms: i64,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Store {
    /// Starts a session for a user; returns the cookie value.
    pub async fn create_session(&self, user: &User, ttl_ms: i64) -> Result<String> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let now = now_ms();
        // Only for a user not disabled meanwhile: a sign-in checked just before a disable
        // commits must not leave a session that works again once the user is enabled.
        let done = sqlx::query(&self.sql("INSERT INTO sessions (token_sha256, user_id, created_at_ms, expires_at_ms) SELECT $1, id, $2, $3 FROM users WHERE id = $4 AND disabled = 0"))
            .bind(sha256_hex(token.as_bytes()))
            .bind(now)
            .bind(now + ttl_ms)
            .bind(user.id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Rejected {
                code: "user_disabled",
                message: format!("user {} is disabled; an administrator can enable it with `waiver user enable {}`", user.username, user.username),
            });
        }
        Ok(token)
    }

    /// The user of a live (unexpired) session.
    pub async fn user_by_session(&self, token: &str) -> Result<Option<User>> {
        let row = sqlx::query(&self.sql(
            "SELECT u.username FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = $1 AND s.expires_at_ms > $2",
        ))
        .bind(sha256_hex(token.as_bytes()))
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => self.user(&r.try_get::<String, _>(0)?).await,
            None => Ok(None),
        }
    }

    /// Ends a session (and sweeps expired ones).
    pub async fn delete_session(&self, token: &str) -> Result<()> {
        sqlx::query(
            &self.sql("DELETE FROM sessions WHERE token_sha256 = $1 OR expires_at_ms <= $2"),
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Stores an attachment of an application, audited.
    pub async fn add_attachment(
        &self,
        actor: &Actor,
        application: &str,
        filename: &str,
        content_type: &str,
        content: &[u8],
    ) -> Result<Attachment> {
        if content.is_empty() || content.len() > MAX_ATTACHMENT_BYTES {
            return Err(StoreError::Invalid(format!(
                "an attachment is 1 byte to {} MiB; this one is {} bytes",
                MAX_ATTACHMENT_BYTES >> 20,
                content.len()
            )));
        }
        if filename.trim().is_empty()
            || filename.chars().count() > MAX_FILENAME_CHARS
            || filename.contains(['/', '\\', '\0'])
        {
            return Err(StoreError::Invalid(format!(
                "a file name is 1 to {MAX_FILENAME_CHARS} characters without `/` or `\\`"
            )));
        }
        if content_type.len() > 100 || !content_type.contains('/') {
            return Err(StoreError::Invalid(
                "the content type must look like type/subtype, e.g. application/pdf".into(),
            ));
        }
        let mut tx = self.pool.begin().await?;
        let count: i64 = sqlx::query(
            &self.sql("SELECT COUNT(*) FROM attachments WHERE application_number = $1"),
        )
        .bind(application)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if count >= MAX_ATTACHMENTS_PER_APPLICATION {
            return Err(StoreError::Invalid(format!(
                "an application holds at most {MAX_ATTACHMENTS_PER_APPLICATION} attachments"
            )));
        }
        let sha = sha256_hex(content);
        let now = now_ms();
        let row = sqlx::query(&self.sql(
            "INSERT INTO attachments (application_number, filename, content_type, size_bytes, sha256, content, uploaded_by, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        ))
        .bind(application)
        .bind(filename)
        .bind(content_type)
        .bind(content.len() as i64)
        .bind(&sha)
        .bind(content.to_vec())
        .bind(&actor.user)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let a = Attachment {
            id: row.try_get(0)?,
            application: application.to_owned(),
            filename: filename.to_owned(),
            content_type: content_type.to_owned(),
            size_bytes: content.len() as i64,
            sha256: sha,
            uploaded_by: actor.user.clone(),
            created_at_ms: now,
        };
        let change = Change {
            entity_type: "application",
            entity_id: application,
            action: "attach",
            before: serde_json::Value::Null,
            after: serde_json::to_value(&a).unwrap_or_default(),
        };
        audit::append(self, &mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(a)
    }

    pub async fn attachments(&self, application: &str) -> Result<Vec<Attachment>> {
        let rows = sqlx::query(&self.sql(
            "SELECT id, application_number, filename, content_type, size_bytes, sha256, uploaded_by, created_at_ms FROM attachments WHERE application_number = $1 ORDER BY id",
        ))
        .bind(application)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Attachment {
                    id: r.try_get(0)?,
                    application: r.try_get(1)?,
                    filename: r.try_get(2)?,
                    content_type: r.try_get(3)?,
                    size_bytes: r.try_get(4)?,
                    sha256: r.try_get(5)?,
                    uploaded_by: r.try_get(6)?,
                    created_at_ms: r.try_get(7)?,
                })
            })
            .collect()
    }

    /// An attachment's metadata and content.
    pub async fn attachment(
        &self,
        application: &str,
        id: i64,
    ) -> Result<Option<(Attachment, Vec<u8>)>> {
        let Some(meta) = self
            .attachments(application)
            .await?
            .into_iter()
            .find(|a| a.id == id)
        else {
            return Ok(None);
        };
        let row = sqlx::query(&self.sql("SELECT content FROM attachments WHERE id = $1"))
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok(Some((meta, row.try_get(0)?)))
    }
}
