//! Handlers of the JSON API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use waiver_domain::programme::ProgrammeSpec;
use waiver_store::{AuditEntry, User};

use crate::auth::{authorize, Action, Caller};
use crate::error::Path;
use crate::error::{ApiError, JsonBody};
use crate::AppState;

/// A programme document with its version.
#[derive(Serialize, ToSchema)]
pub struct ProgrammeOut {
    pub version: i64,
    /// The programme as validated (see `ProgrammeSpec`).
    #[schema(value_type = Object)]
    pub programme: ProgrammeSpec,
}

#[derive(Serialize, ToSchema)]
pub struct ProgrammeList {
    pub items: Vec<ProgrammeOut>,
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub database: &'static str,
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(s): State<AppState>) -> (StatusCode, Json<Health>) {
    match s.store.count_raw("SELECT COUNT(*) FROM audit_head").await {
        Ok(_) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                database: "ok",
            }),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "degraded",
                database: "unreachable",
            }),
        ),
    }
}

#[utoipa::path(get, path = "/api/v1/programmes", responses((status = 200, body = ProgrammeList)))]
pub async fn list_programmes(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<ProgrammeList>, ApiError> {
    authorize(&caller, Action::ReadProgrammes)?;
    let items = s
        .store
        .programmes()
        .await?
        .into_iter()
        .map(|(p, version)| ProgrammeOut {
            version,
            programme: p.spec,
        })
        .collect();
    Ok(Json(ProgrammeList { items }))
}

#[utoipa::path(get, path = "/api/v1/programmes/{id}", params(("id" = String, Path, description = "e.g. CN-2020-MKT")),
    responses((status = 200, body = ProgrammeOut), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn get_programme(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ProgrammeOut>, ApiError> {
    authorize(&caller, Action::ReadProgrammes)?;
    let (p, version) = s.store.programme(&id).await?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no programme {id}; GET /api/v1/programmes lists them"
        ))
    })?;
    Ok(Json(ProgrammeOut {
        version,
        programme: p.spec,
    }))
}

#[utoipa::path(post, path = "/api/v1/programmes", request_body(content = Object, description = "a programme document (ProgrammeSpec)"),
    responses((status = 201, body = ProgrammeOut), (status = 409, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn create_programme(
    State(s): State<AppState>,
    caller: Caller,
    body: Result<JsonBody<ProgrammeSpec>, ApiError>,
) -> Result<(StatusCode, Json<ProgrammeOut>), ApiError> {
    // Who may act is decided before the body is looked at.
    authorize(&caller, Action::ManageProgrammes)?;
    let programme = body?
        .0
        .validate()
        .map_err(|e| ApiError::validation(e.field, e.message))?;
    for (i, code) in programme.eligible_lines.iter().enumerate() {
        if s.schedule
            .lines()
            .iter()
            .all(|l| l.code != *code && code.parent8() != Some(l.code))
        {
            return Err(ApiError::validation(
                format!("eligible_lines[{i}]"),
                format!("tariff line {code} is not in the schedule"),
            ));
        }
    }
    let actor = waiver_store::Actor::user(caller.name());
    s.store.create_programme(&actor, &programme).await?;
    Ok((
        StatusCode::CREATED,
        Json(ProgrammeOut {
            version: 1,
            programme: programme.spec,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn me(caller: Caller) -> Result<Json<User>, ApiError> {
    authorize(&caller, Action::ReadOwnAccount)?;
    caller.0.map(Json).ok_or_else(ApiError::unauthenticated)
}

#[utoipa::path(get, path = "/api/v1/audit/{entity_type}/{entity_id}", params(("entity_type" = String, Path), ("entity_id" = String, Path)),
    responses((status = 200, body = Object), (status = 403, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn audit_trail(
    State(s): State<AppState>,
    caller: Caller,
    Path((entity_type, entity_id)): Path<(String, String)>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    authorize(&caller, Action::ReadAuditTrail)?;
    if entity_type.len() > 32 || entity_id.len() > 64 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "entity type or id too long",
        ));
    }
    Ok(Json(s.store.audit_trail(&entity_type, &entity_id).await?))
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /api/v1/openapi.json")
}

#[derive(Serialize, ToSchema)]
pub struct EnterpriseOut {
    #[schema(value_type = Object)]
    pub enterprise: waiver_store::Enterprise,
    /// For an association: its members' registration codes.
    pub members: Vec<String>,
}

/// One enterprise: officers and administrators see any; an applicant sees its own (and, for an
/// association, its members).
#[utoipa::path(get, path = "/api/v1/enterprises/{code}", params(("code" = String, Path, description = "customs registration code")),
    responses((status = 200, body = EnterpriseOut), (status = 404, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn get_enterprise(
    State(s): State<AppState>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Json<EnterpriseOut>, ApiError> {
    authorize(&caller, Action::ReadEnterprises)?;
    let code = waiver_domain::RegistrationCode::parse(&code).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", e.to_string()).field("code")
    })?;
    let visible = match caller.0.as_ref().map(|u| (u.role, u.enterprise.as_deref())) {
        Some((waiver_domain::accounts::Role::Applicant, Some(own))) => {
            let own_code = waiver_domain::RegistrationCode::parse(own).map_err(|e| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            })?;
            own == code.as_str()
                || s.store
                    .members(&own_code)
                    .await?
                    .iter()
                    .any(|m| m == code.as_str())
        }
        _ => true,
    };
    let e = s
        .store
        .enterprise(&code)
        .await?
        .filter(|_| visible)
        .ok_or_else(|| ApiError::not_found(format!("no enterprise {code} that you may see")))?;
    let members = if e.is_association {
        s.store.members(&code).await?
    } else {
        Vec::new()
    };
    Ok(Json(EnterpriseOut {
        enterprise: e,
        members,
    }))
}
