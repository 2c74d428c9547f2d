//! Refund claims over the API (issue 5, item 6).
//!
//! `POST /api/v1/refunds/generate` (officer) scans every published product exclusion whose
//! programme refunds additional duty, finds the accepted declarations declared inside its
//! validity on its line that paid additional duty, re-assesses each stored line through the
//! engine with the exclusion's scope lifted and records one claim per line with a positive
//! refund (the additional duty of the lifted layers; import VAT is not refunded — see
//! `waiver_domain::refund`). Generation is explicit rather than a side effect of publishing, so
//! that the officer runs it after publication (and again after late declarations arrive); it is
//! idempotent. `GET /api/v1/refunds` (customs, officer; an importer sees its own) lists them,
//! `?format=csv` as CSV; `POST /api/v1/refunds/{id}/settle` (customs) marks one settled —
//! twice is a no-op, after the deadline (six months after publication) a `409`
//! `refund_deadline_passed`, a claim withdrawn because its declaration was cancelled or amended
//! a `409` `refund_claim_withdrawn`. Generating again after an amendment claims for the new
//! revision.

use axum::extract::State as AxState;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use waiver_domain::programme::RefundRule;
use waiver_domain::refund::{line_refund, refund_deadline};
use waiver_domain::{BjTime, Fen};
use waiver_store::refunds::{NewRefundClaim, RefundClaim};
use waiver_store::Actor;

use crate::auth::{authorize, Action, Caller};
use crate::declarations::{DeclarationIn, Format};
use crate::error::ApiError;
use crate::error::Path;
use crate::error::Query;
use crate::AppState;

type Res<T> = Result<T, ApiError>;

const BEIJING_OFFSET_S: i64 = 8 * 3600;

fn bj_of_ms(ms: i64) -> BjTime {
    BjTime(ms.div_euclid(1000) + BEIJING_OFFSET_S)
}

fn ms_of_bj(t: BjTime) -> i64 {
    (t.0 - BEIJING_OFFSET_S) * 1000
}

#[derive(Serialize, ToSchema)]
pub struct GenerateOut {
    /// Declaration lines examined (accepted, inside a refunding exclusion's validity, paid
    /// additional duty).
    pub examined: usize,
    /// Lines whose re-assessment gives a positive refund.
    pub refundable: usize,
    /// Claims recorded by this run (0 when run again).
    pub created: usize,
}

#[derive(Clone, Serialize, ToSchema)]
pub struct RefundOut {
    pub id: i64,
    /// The exclusion, by the application that obtained it.
    pub exclusion: String,
    pub programme: String,
    pub declaration: String,
    /// The revision of the declaration the claim is for.
    pub revision: i64,
    pub line: i64,
    pub importer: String,
    pub code: String,
    /// Beijing time.
    pub declared_at: String,
    /// The additional duty the line paid.
    #[schema(value_type = String, example = "1234.50")]
    pub paid_additional_duty_cny: Fen,
    /// The additional duty of the lifted layers (import VAT is not refunded).
    #[schema(value_type = String, example = "1234.50")]
    pub refund_cny: Fen,
    /// Six months after the exclusion's publication, Beijing time.
    pub deadline: String,
    /// `open`, `settled` or `withdrawn` (its declaration was cancelled or amended while the
    /// claim was open).
    pub status: String,
    pub settled_at_ms: Option<i64>,
    pub settled_by: Option<String>,
    pub withdrawn_at_ms: Option<i64>,
    pub withdrawn_reason: Option<String>,
    /// The declaration's status now: a settled claim whose declaration is `cancelled` is a
    /// refund to recover.
    pub declaration_status: String,
}

impl RefundOut {
    pub(crate) fn of(c: RefundClaim) -> RefundOut {
        RefundOut {
            id: c.id,
            exclusion: c.exclusion_application,
            programme: c.programme,
            declaration: c.declaration,
            revision: c.revision,
            line: c.line_no,
            importer: c.importer,
            code: c.code,
            declared_at: c.declared_at.to_string(),
            paid_additional_duty_cny: Fen(c.paid_additional_fen),
            refund_cny: Fen(c.amount_fen),
            deadline: bj_of_ms(c.deadline_ms).to_string(),
            status: c.status,
            settled_at_ms: c.settled_at_ms,
            settled_by: c.settled_by,
            withdrawn_at_ms: c.withdrawn_at_ms,
            withdrawn_reason: c.withdrawn_reason,
            declaration_status: c.declaration_status,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RefundList {
    pub items: Vec<RefundOut>,
}

/// Generates the refund claims of every refunding product exclusion (idempotent).
#[utoipa::path(post, path = "/api/v1/refunds/generate",
    responses((status = 200, body = GenerateOut)), security(("bearer" = [])))]
pub async fn generate(AxState(s): AxState<AppState>, caller: Caller) -> Res<Json<GenerateOut>> {
    authorize(&caller, Action::GenerateRefunds)?;
    Ok(Json(generate_claims(&s, caller.name()).await?))
}

/// Examines every refunding product exclusion and records the claims not recorded yet (the API's
/// and the page's one path; the caller has been authorised).
pub(crate) async fn generate_claims(s: &AppState, actor: &str) -> Res<GenerateOut> {
    let mut out = GenerateOut {
        examined: 0,
        refundable: 0,
        created: 0,
    };
    let mut claims = Vec::new();
    for e in s.store.product_exclusions(None).await? {
        let rule = match e.refunds.as_str() {
            "additional_duty" => RefundRule::AdditionalDuty,
            _ => continue,
        };
        let deadline_ms = ms_of_bj(refund_deadline(bj_of_ms(e.published_at_ms)));
        let scopes: Vec<&str> = e.scopes.iter().map(String::as_str).collect();
        for c in s.store.refund_candidates(&e).await? {
            out.examined += 1;
            let body: DeclarationIn = serde_json::from_str(&c.request).map_err(|err| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!(
                        "declaration {} has an unreadable request: {err}",
                        c.declaration
                    ),
                )
            })?;
            let parsed = crate::declarations::parse(s, body)?;
            let Some((pl, _)) = parsed
                .lines
                .iter()
                .find(|(pl, _)| i64::from(pl.line_no) == c.line_no)
            else {
                continue;
            };
            let amount = line_refund(
                &s.schedule,
                &pl.input,
                &scopes,
                rule,
                Fen(c.paid_additional_fen),
            )
            .map_err(|err| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    err.to_string(),
                )
            })?;
            if amount.0 <= 0 {
                continue;
            }
            out.refundable += 1;
            claims.push(NewRefundClaim {
                exclusion_application: e.application.clone(),
                programme: e.programme.clone(),
                declaration: c.declaration,
                revision: c.revision,
                line_no: c.line_no,
                importer: c.importer,
                code: c.code,
                declared_at: c.declared_at,
                paid_additional_fen: c.paid_additional_fen,
                amount_fen: amount.0,
                deadline_ms,
            });
        }
    }
    out.created = s
        .store
        .record_refund_claims(&Actor::user(actor), &claims, crate::review::now_ms())
        .await?;
    Ok(out)
}

/// Refund claims: customs and officers see all, an importer its own. `?format=csv` for CSV.
#[utoipa::path(get, path = "/api/v1/refunds", params(Format),
    responses((status = 200, body = RefundList), (status = 200, content_type = "text/csv", body = String)), security(("bearer" = [])))]
pub async fn list(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Query(f): Query<Format>,
) -> Res<Response> {
    authorize(&caller, Action::ReadRefunds)?;
    let scope = crate::review::holder_scope(&s, &caller).await?;
    let items: Vec<RefundOut> = s
        .store
        .refund_claims(scope.as_deref())
        .await?
        .into_iter()
        .map(RefundOut::of)
        .collect();
    if f.format.as_deref() != Some("csv") {
        return Ok(Json(RefundList { items }).into_response());
    }
    let internal = |e: String| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id",
        "exclusion",
        "programme",
        "declaration",
        "line",
        "importer",
        "code",
        "declared_at",
        "paid_additional_duty_cny",
        "refund_cny",
        "deadline",
        "status",
        "revision",
        "declaration_status",
        "withdrawn_reason",
    ])
    .map_err(|e| internal(e.to_string()))?;
    for r in items {
        w.write_record([
            r.id.to_string(),
            r.exclusion,
            r.programme,
            r.declaration,
            r.line.to_string(),
            r.importer,
            r.code,
            r.declared_at,
            r.paid_additional_duty_cny.to_string(),
            r.refund_cny.to_string(),
            r.deadline,
            r.status,
            r.revision.to_string(),
            r.declaration_status,
            r.withdrawn_reason.unwrap_or_default(),
        ])
        .map_err(|e| internal(e.to_string()))?;
    }
    let body = w.into_inner().map_err(|e| internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response())
}

/// Marks a refund claim settled (customs). Idempotent; refused after the deadline.
#[utoipa::path(post, path = "/api/v1/refunds/{id}/settle",
    params(("id" = i64, Path, description = "the claim id")),
    responses((status = 200, body = RefundOut), (status = 404, body = crate::error::ErrorEnvelope), (status = 409, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn settle(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Res<Json<RefundOut>> {
    authorize(&caller, Action::SettleRefunds)?;
    let c = s
        .store
        .settle_refund(&Actor::user(caller.name()), id, crate::review::now_ms())
        .await?;
    Ok(Json(RefundOut::of(c)))
}
