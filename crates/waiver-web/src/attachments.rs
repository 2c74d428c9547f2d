//! Attachments of an application: uploaded as the raw request body, stored with SHA-256.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;
use waiver_store::{Actor, Attachment};

use crate::applications::load;
use crate::auth::{authorize, Action, Caller};
use crate::error::ApiError;
use crate::error::Path;
use crate::error::Query;
use crate::AppState;

#[derive(Deserialize, IntoParams)]
pub struct Upload {
    pub filename: String,
}

#[utoipa::path(post, path = "/api/v1/applications/{number}/attachments", params(("number" = String, Path), Upload),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Object), (status = 413, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn upload(
    State(s): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(q): Query<Upload>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<Attachment>), ApiError> {
    authorize(&caller, Action::FileApplications)?;
    let body = body.map_err(|_| {
        let max = waiver_store::sessions::MAX_ATTACHMENT_BYTES >> 20;
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("an attachment is at most {max} MiB"),
        )
    })?;
    load(&s, &caller, &number).await?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream");
    let a = s
        .store
        .add_attachment(
            &Actor::user(caller.name()),
            &number,
            &q.filename,
            content_type,
            &body,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

#[utoipa::path(get, path = "/api/v1/applications/{number}/attachments", params(("number" = String, Path)), responses((status = 200, body = Object)), security(("bearer" = [])))]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Result<Json<Vec<Attachment>>, ApiError> {
    authorize(&caller, Action::ReadApplications)?;
    load(&s, &caller, &number).await?;
    Ok(Json(s.store.attachments(&number).await?))
}

#[utoipa::path(get, path = "/api/v1/applications/{number}/attachments/{id}", params(("number" = String, Path), ("id" = i64, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn download(
    State(s): State<AppState>,
    caller: Caller,
    Path((number, id)): Path<(String, i64)>,
) -> Result<impl IntoResponse, ApiError> {
    authorize(&caller, Action::ReadApplications)?;
    load(&s, &caller, &number).await?;
    let (meta, bytes) = s
        .store
        .attachment(&number, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no attachment {id} on {number}")))?;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        meta.filename.replace(['"', '\r', '\n'], "_")
    );
    Ok((
        [
            (CONTENT_TYPE, meta.content_type),
            (CONTENT_DISPOSITION, disposition),
            (
                axum::http::HeaderName::from_static("x-content-sha256"),
                meta.sha256,
            ),
        ],
        bytes,
    ))
}
