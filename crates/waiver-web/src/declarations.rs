//! Declarations over the API (issue 5): customs submits a declaration, Waiver assesses every
//! line and draws the covered quantity from the allowance each line claims, in one transaction,
//! exactly once; cancellation reverses the draws; an amendment is a cancellation plus a new
//! revision, atomically.
//!
//! Contract (customs systems integrate against it; fields are only ever added):
//! `POST /api/v1/declarations` → `201` `{number, lines:[{line, covered_quantity,
//! uncovered_quantity, base_duty_cny, additional_duty_cny, excluded_duty_cny, vat_cny, total_cny,
//! measures, allowance?:{number, remaining}, notes}], total_cny}`; an identical re-send → `200`
//! with the original answer; the same number with different content → `409`
//! `declaration_exists`. Quantities are decimals in the line's unit; money is CNY.

use std::collections::BTreeMap;

use axum::extract::State as AxState;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use waiver_domain::amount::format_scaled;
use waiver_domain::drawdown::{
    assess_split_with, claim, AllowanceState, DeMinimis, LineMeasure, Standing,
    MAX_ALLOWANCE_CHARS, MAX_LINES,
};
use waiver_domain::quota::QuotaState;
use waiver_domain::{Fen, ParsedLine, QtyUnit, RawLine};
use waiver_store::declarations::{
    DeclarationRecord, LineRecord, NewDeclaration, Outcome, Submitted,
};
use waiver_store::{Actor, ProductExclusion, StoreError};

use crate::auth::{authorize, Action, Caller};
use crate::error::Path;
use crate::error::Query;
use crate::error::{ApiError, JsonBody};
use crate::AppState;

type Res<T> = Result<T, ApiError>;

/// A declaration as customs sends it. Decimals are strings.
#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclarationIn {
    /// 1 to 32 characters; with `line`, the idempotency key.
    pub number: String,
    /// The importer's 10-character customs registration code.
    pub importer: String,
    /// Beijing time, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`.
    pub declared_at: String,
    #[serde(default)]
    pub shipped_on: Option<String>,
    /// 1 to 200 lines, distinct line numbers.
    pub lines: Vec<DeclarationLineIn>,
}

#[derive(Clone, Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclarationLineIn {
    /// 1 to 9999.
    pub line: u32,
    /// 8- or 10-digit tariff code.
    pub code: String,
    /// ISO 3166 country code, or `unknown`.
    pub origin: String,
    pub quantity: String,
    /// `kg` or `t`.
    pub unit: String,
    /// CIF value.
    pub customs_value: String,
    pub currency: String,
    /// The allowance claimed (`WVR-<year>-<6 digits>`), if any.
    #[serde(default)]
    pub allowance: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AllowanceRef {
    pub number: String,
    /// What remains of granted + tolerance after this declaration, in the line's unit.
    pub remaining: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DeclarationLineOut {
    pub line: u32,
    /// In the line's unit.
    pub covered_quantity: String,
    pub uncovered_quantity: String,
    #[schema(value_type = String, example = "1234.50")]
    pub base_duty_cny: Fen,
    #[schema(value_type = String, example = "1234.50")]
    pub additional_duty_cny: Fen,
    /// Duty lifted by the allowance and any product exclusion.
    #[schema(value_type = String, example = "1234.50")]
    pub excluded_duty_cny: Fen,
    #[schema(value_type = String, example = "1234.50")]
    pub vat_cny: Fen,
    #[schema(value_type = String, example = "1234.50")]
    pub total_cny: Fen,
    /// Every layer: id, kind, legal basis, scope, status, charged and lifted CNY.
    #[schema(value_type = Vec<Object>)]
    pub measures: Vec<LineMeasure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowance: Option<AllowanceRef>,
    /// Why a claim drew nothing or only part, de minimis, engine warnings.
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DeclarationOut {
    pub number: String,
    pub lines: Vec<DeclarationLineOut>,
    #[schema(value_type = String, example = "1234.50")]
    pub total_cny: Fen,
}

/// A recorded declaration: its state and the answer of its current revision.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DeclarationView {
    pub number: String,
    pub importer: String,
    /// `accepted` or `cancelled`.
    pub status: String,
    /// 1, then one more per amendment.
    pub revision: i64,
    #[schema(value_type = Object)]
    pub request: serde_json::Value,
    #[schema(value_type = Object)]
    pub answer: serde_json::Value,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl DeclarationView {
    fn of(r: DeclarationRecord) -> DeclarationView {
        DeclarationView {
            request: serde_json::from_str(&r.request).unwrap_or(serde_json::Value::Null),
            answer: serde_json::from_str(&r.answer).unwrap_or(serde_json::Value::Null),
            number: r.number,
            importer: r.importer,
            status: r.status,
            revision: r.revision,
            created_at_ms: r.created_at_ms,
            updated_at_ms: r.updated_at_ms,
        }
    }
}

fn in_unit(grams: i64, unit: QtyUnit) -> String {
    format_scaled(i128::from(grams), unit.grams().ilog10(), 0)
}

/// A declaration parsed and checked against the schedule, ready to be drawn.
pub(crate) struct Parsed {
    body: DeclarationIn,
    pub(crate) lines: Vec<(ParsedLine, QtyUnit)>,
}

pub(crate) fn parse(s: &AppState, body: DeclarationIn) -> Res<Parsed> {
    if body.lines.is_empty() || body.lines.len() > MAX_LINES {
        return Err(ApiError::validation(
            "lines",
            format!("a declaration has 1 to {MAX_LINES} lines"),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut lines = Vec::with_capacity(body.lines.len());
    for (i, l) in body.lines.iter().enumerate() {
        let field = |f: &str| format!("lines[{i}].{f}");
        if !seen.insert(l.line) {
            return Err(ApiError::validation(
                field("line"),
                format!("line {} appears twice; line numbers are distinct", l.line),
            ));
        }
        if let Some(a) = &l.allowance {
            if a.trim().is_empty() || a.chars().count() > MAX_ALLOWANCE_CHARS {
                return Err(ApiError::validation(
                    field("allowance"),
                    format!("an allowance number is 1 to {MAX_ALLOWANCE_CHARS} characters, e.g. WVR-2020-000123"),
                ));
            }
        }
        let line_no = l.line.to_string();
        let raw = RawLine {
            declaration: &body.number,
            line: &line_no,
            importer: &body.importer,
            code: &l.code,
            origin: &l.origin,
            declared_at: &body.declared_at,
            quantity: &l.quantity,
            unit: &l.unit,
            customs_value: &l.customs_value,
            currency: &l.currency,
            shipped_on: body.shipped_on.as_deref(),
            in_quota: None,
        };
        let p = raw.parse().map_err(|e| {
            let f = match e.column {
                "declaration" => "number".to_owned(),
                "importer" | "declared_at" | "shipped_on" => e.column.to_owned(),
                c => field(c),
            };
            ApiError::validation(f, format!("`{}`: {}", e.value, e.message))
        })?;
        // Anything the engine refuses is refused before a transaction starts.
        waiver_domain::assess(&s.schedule, &p.input, waiver_domain::Lift::Nothing).map_err(
            |e| {
                let f = match e {
                    waiver_domain::AssessError::NoExchangeRate { .. } => "currency",
                    waiver_domain::AssessError::LineNotInForce { .. } => "code",
                    _ => "code",
                };
                ApiError::validation(field(f), e.to_string())
            },
        )?;
        let unit = QtyUnit::parse(&l.unit).unwrap_or(QtyUnit::Kg);
        lines.push((p, unit));
    }
    Ok(Parsed { body, lines })
}

/// The pure computation run inside the store's transaction, on the allowances as they stand.
fn compute(
    s: &AppState,
    p: &Parsed,
    exclusions: &[ProductExclusion],
    standing: &Standing,
) -> Result<Outcome, StoreError> {
    // Only the allowances this declaration claims (the writer's map holds the whole batch's).
    let mut states: BTreeMap<String, AllowanceState> = p
        .body
        .lines
        .iter()
        .filter_map(|l| l.allowance.as_ref())
        .filter_map(|n| standing.allowances.get(n).map(|a| (n.clone(), a.clone())))
        .collect();
    let mut quotas_drawn: Vec<Option<String>> = Vec::with_capacity(p.lines.len());
    let mut assessed = Vec::with_capacity(p.lines.len());
    // What remains of the claimed allowance right after each line drew.
    let mut remaining_after: Vec<Option<i64>> = Vec::with_capacity(p.lines.len());
    for ((pl, _), raw) in p.lines.iter().zip(&p.body.lines) {
        let input = &pl.input;
        let line = input.code.to_string();
        let parent = input.code.parent8().map(|c| c.to_string());
        let at = input.declared_at;
        let exclusion = exclusions.iter().find(|e| {
            (e.line == line || parent.as_deref() == Some(e.line.as_str()))
                && e.valid_from <= at
                && at < e.valid_until
        });
        let product_scopes: Vec<&str> = exclusion
            .map(|e| e.scopes.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let (covered, refusal, scopes) = match &raw.allowance {
            Some(n) => {
                let c = claim(
                    n,
                    states.get(n.as_str()),
                    &pl.importer,
                    &input.code,
                    at,
                    input.quantity,
                );
                let scopes: Vec<String> = states
                    .get(n.as_str())
                    .map(|a| a.scopes.clone())
                    .unwrap_or_default();
                if let Some(a) = states.get_mut(n.as_str()) {
                    a.used_g += c.covered_g;
                }
                remaining_after.push(states.get(n.as_str()).map(AllowanceState::remaining_g));
                (c.covered_g, c.refusal, scopes)
            }
            None => {
                remaining_after.push(None);
                (0, None, Vec::new())
            }
        };
        let scope_refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        // A country quota the line counts against; its layer applies once it is used up.
        let quota = standing
            .quotas
            .values()
            .find(|q| q.covers(&input.code, &input.origin, at));
        let conditions: Vec<&str> = quota
            .filter(|q| q.surcharge_applies(at))
            .map(|q| q.measure.as_str())
            .into_iter()
            .collect();
        let mut a = assess_split_with(
            &s.schedule,
            input,
            covered,
            &scope_refs,
            &product_scopes,
            &conditions,
        )
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
        if let Some(q) = quota {
            // The quota's own note replaces the engine's generic one on its measure.
            let generic = format!("{} (", q.measure);
            a.notes
                .retain(|n| !(n.starts_with(&generic) && n.contains("condition holds")));
            a.notes.push(quota_note(q, at));
        }
        quotas_drawn.push(quota.map(|q| q.id.clone()));
        if let Some(r) = refusal {
            a.notes.insert(0, r.to_string());
        } else if let Some(n) = &raw.allowance {
            if a.uncovered_g > 0 {
                a.notes.insert(
                    0,
                    format!(
                        "allowance {n} covered only part of the line; the rest pays the full duty"
                    ),
                );
            }
        }
        if let Some(e) = exclusion {
            a.notes.push(format!(
                "product exclusion of {} on {} lifts scope(s) {} for every importer",
                e.programme,
                e.line,
                e.scopes.join(", ")
            ));
        }
        assessed.push(a);
    }
    let declared_at = p
        .lines
        .first()
        .map_or(waiver_domain::BjTime(0), |l| l.0.input.declared_at);
    let dm_notes = DeMinimis::default().apply(declared_at, &mut assessed);
    let mut out = DeclarationOut {
        number: p.body.number.clone(),
        lines: Vec::with_capacity(assessed.len()),
        total_cny: Fen(0),
    };
    let mut records = Vec::with_capacity(assessed.len());
    for (((((pl, unit), raw), mut a), remaining), quota) in p
        .lines
        .iter()
        .zip(&p.body.lines)
        .zip(assessed)
        .zip(remaining_after)
        .zip(quotas_drawn)
    {
        a.notes.extend(dm_notes.iter().cloned());
        let allowance = raw.allowance.as_ref().map(|n| AllowanceRef {
            number: n.clone(),
            remaining: in_unit(remaining.unwrap_or(0), *unit),
        });
        out.total_cny = out.total_cny + a.total();
        records.push(LineRecord {
            line_no: pl.line_no,
            code: pl.input.code.to_string(),
            origin: raw.origin.clone(),
            allowance: raw.allowance.clone().filter(|_| a.covered_g > 0),
            covered_g: a.covered_g,
            uncovered_g: a.uncovered_g,
            base_duty_fen: a.base_duty.0,
            additional_duty_fen: a.additional_duty.0,
            excluded_duty_fen: a.excluded_duty.0,
            vat_fen: a.vat.0,
            total_fen: a.total().0,
            quota,
        });
        out.lines.push(DeclarationLineOut {
            line: pl.line_no,
            covered_quantity: in_unit(a.covered_g, *unit),
            uncovered_quantity: in_unit(a.uncovered_g, *unit),
            base_duty_cny: a.base_duty,
            additional_duty_cny: a.additional_duty,
            excluded_duty_cny: a.excluded_duty,
            vat_cny: a.vat,
            total_cny: a.total(),
            measures: a.measures,
            allowance,
            notes: a.notes,
        });
    }
    Ok(Outcome {
        answer: serde_json::to_string(&out).map_err(|e| StoreError::Invalid(e.to_string()))?,
        total_fen: out.total_cny.0,
        lines: records,
    })
}

/// What a line's note says of the country quota it counts against.
fn quota_note(q: &QuotaState, at: waiver_domain::BjTime) -> String {
    let bp = q.used_bp();
    let used = format!("{}.{:02}%", bp / 100, bp % 100);
    match (q.reached_at, q.surcharge_from()) {
        (Some(r), Some(from)) if from <= at => format!(
            "country quota {} was reached on {r} ({used} used): {} applies to lines declared from {from}",
            q.id, q.measure
        ),
        (Some(r), Some(from)) => format!(
            "country quota {} was reached on {r} ({used} used): {} applies to lines declared from {from}, not yet to this one",
            q.id, q.measure
        ),
        _ => format!(
            "counts against country quota {} ({used} used before this declaration; {} applies from the third day after it is reached)",
            q.id, q.measure
        ),
    }
}

fn json_text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Records a declaration as `user` through the same path as `POST /api/v1/declarations` (parse,
/// assess, draw in the store's writer); the stored answer, created or replayed. For the demo seed.
pub async fn declare_as(s: &AppState, user: &str, body: DeclarationIn) -> Res<Submitted> {
    record_as(s, user, body, None).await
}

async fn record(
    s: &AppState,
    caller: &Caller,
    body: DeclarationIn,
    amend: Option<&str>,
) -> Res<Response> {
    let r = record_as(s, caller.name(), body, amend).await?;
    Ok(match r {
        Submitted::Created(a) => json_text(
            if amend.is_some() {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            },
            a,
        ),
        Submitted::Replayed(a) => json_text(StatusCode::OK, a),
    })
}

/// Records a declaration (or, with `amend`, an amendment) and answers whether it was new and
/// the [`DeclarationOut`] as JSON. Shared by the API and the customs page, so both parse,
/// assess and draw by the same rules.
pub(crate) async fn record_answer(
    s: &AppState,
    caller: &Caller,
    body: DeclarationIn,
    amend: Option<&str>,
) -> Res<(bool, String)> {
    Ok(match record_as(s, caller.name(), body, amend).await? {
        Submitted::Created(a) => (true, a),
        Submitted::Replayed(a) => (false, a),
    })
}

async fn record_as(
    s: &AppState,
    user: &str,
    body: DeclarationIn,
    amend: Option<&str>,
) -> Res<Submitted> {
    if let Some(n) = amend {
        if n != body.number {
            return Err(ApiError::validation(
                "number",
                format!(
                    "the body's number `{}` is not the declaration amended ({n})",
                    body.number
                ),
            ));
        }
    }
    let p = parse(s, body)?;
    let request = serde_json::to_string(&p.body)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    let exclusions = s.store.product_exclusions_cached().await?;
    let first = &p.lines[0].0;
    let d = NewDeclaration {
        number: p.body.number.trim().to_owned(),
        importer: first.importer.as_str().to_owned(),
        declared_at: first.input.declared_at,
        request,
        claims: p
            .body
            .lines
            .iter()
            .filter_map(|l| l.allowance.clone())
            .collect(),
        goods: p
            .lines
            .iter()
            .map(|(l, _)| (l.input.origin, l.input.code, l.input.declared_at))
            .collect(),
    };
    let actor = Actor::user(user);
    let r = match amend {
        None => {
            // The store's group-commit writer runs the computation, so it owns what it needs.
            let state = s.clone();
            let f = move |a: &Standing| compute(&state, &p, &exclusions, a);
            s.store.submit_declaration(&actor, &d, f).await?
        }
        Some(_) => {
            let f = |a: &Standing| compute(s, &p, &exclusions, a);
            s.store.amend_declaration(&actor, &d, f).await?
        }
    };
    Ok(r)
}

/// Submits a declaration: every line assessed, the covered quantity drawn from the allowance it
/// claims, exactly once. Customs only.
#[utoipa::path(post, path = "/api/v1/declarations", request_body = DeclarationIn,
    responses((status = 201, body = DeclarationOut, description = "recorded and drawn"),
        (status = 200, body = DeclarationOut, description = "an identical re-send: the original answer"),
        (status = 409, body = crate::error::ErrorEnvelope, description = "`declaration_exists`: the number was used with different content; `declaration_cancelled`"),
        (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn submit(
    AxState(s): AxState<AppState>,
    caller: Caller,
    body: Res<JsonBody<DeclarationIn>>,
) -> Res<Response> {
    authorize(&caller, Action::Declare)?;
    record(&s, &caller, body?.0, None).await
}

/// Amends a declaration atomically: the current revision's draws are reversed and the new
/// content assessed and drawn in one transaction. Re-sending the same amendment replays it.
#[utoipa::path(post, path = "/api/v1/declarations/{number}/amend", request_body = DeclarationIn,
    params(("number" = String, Path, description = "the declaration number")),
    responses((status = 200, body = DeclarationOut), (status = 404, body = crate::error::ErrorEnvelope),
        (status = 409, body = crate::error::ErrorEnvelope), (status = 422, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn amend(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    body: Res<JsonBody<DeclarationIn>>,
) -> Res<Response> {
    authorize(&caller, Action::Declare)?;
    record(&s, &caller, body?.0, Some(&number)).await
}

/// Cancels a declaration and reverses every draw it made; cancelling again changes nothing.
#[utoipa::path(post, path = "/api/v1/declarations/{number}/cancel",
    params(("number" = String, Path, description = "the declaration number")),
    responses((status = 200, body = DeclarationView), (status = 404, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn cancel(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Res<Json<DeclarationView>> {
    authorize(&caller, Action::Declare)?;
    let r = s
        .store
        .cancel_declaration(&Actor::user(caller.name()), &number)
        .await?;
    Ok(Json(DeclarationView::of(r)))
}

/// A declaration with its current answer. Customs and officers see all; an importer its own.
#[utoipa::path(get, path = "/api/v1/declarations/{number}",
    params(("number" = String, Path, description = "the declaration number")),
    responses((status = 200, body = DeclarationView), (status = 404, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn get(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> Res<Json<DeclarationView>> {
    authorize(&caller, Action::ReadDeclarations)?;
    let scope = crate::review::holder_scope(&s, &caller).await?;
    s.store
        .declaration(&number)
        .await?
        .filter(|d| scope.as_ref().is_none_or(|h| h.contains(&d.importer)))
        .map(|d| Json(DeclarationView::of(d)))
        .ok_or_else(|| ApiError::not_found(format!("no declaration {number} that you may see")))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct Format {
    /// `csv` for CSV; JSON otherwise.
    pub format: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UtilisationReport {
    /// Whole-life rows (`month` null: granted, used, unused, expired, duty forgone) then one
    /// row per month of declaration (used and duty forgone). Quantities in grams, money in fen.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<waiver_store::declarations::Utilisation>,
}

/// Utilisation per programme, tariff line and month: granted, used, unused, expired, duty
/// forgone. `?format=csv` for CSV (quantities in kg, money in CNY). Public: aggregates only.
#[utoipa::path(get, path = "/api/v1/reports/utilisation", params(Format),
    responses((status = 200, body = UtilisationReport), (status = 200, content_type = "text/csv", body = String)))]
pub async fn utilisation(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Query(f): Query<Format>,
) -> Res<Response> {
    authorize(&caller, Action::ReadUtilisation)?;
    let items = s.store.utilisation(crate::applications::now()).await?;
    if f.format.as_deref() != Some("csv") {
        return Ok(Json(UtilisationReport { items }).into_response());
    }
    let body = crate::reports::utilisation_csv(items)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response())
}

/// One month of an allowance's purchase plan against what was imported under it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PlanRow {
    /// `YYYY-MM`.
    pub month: String,
    /// In the allowance's unit; `0` for a month outside the plan.
    pub planned: String,
    /// Drawn by accepted declarations declared in the month, in the allowance's unit.
    pub imported: String,
    /// imported − planned.
    pub difference: String,
    /// What the holder reported buying in the month (purchase reports), if filed.
    pub reported: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PlanReport {
    pub allowance: String,
    pub unit: String,
    pub months: Vec<PlanRow>,
}

/// The monthly purchase plan of an allowance's application against actual imports (the
/// quantity its declarations drew), per month. `?format=csv` for CSV. Holder, customs, officers.
#[utoipa::path(get, path = "/api/v1/allowances/{number}/plan", params(("number" = String, Path), Format),
    responses((status = 200, body = PlanReport), (status = 404, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn plan(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(f): Query<Format>,
) -> Res<Response> {
    authorize(&caller, Action::ReadAllowances)?;
    let scope = crate::review::holder_scope(&s, &caller).await?;
    let a = s
        .store
        .allowance(&number)
        .await?
        .filter(|a| scope.as_ref().is_none_or(|h| h.contains(&a.holder)))
        .ok_or_else(|| ApiError::not_found(format!("no allowance {number} that you may see")))?;
    let unit = QtyUnit::parse(&a.unit).unwrap_or(QtyUnit::Kg);
    let rows: Vec<PlanRow> = crate::plan::plan_vs_imports(&s.store, &a, unit)
        .await?
        .into_iter()
        .map(|m| PlanRow {
            planned: in_unit(m.planned_g, unit),
            imported: in_unit(m.imported_g, unit),
            difference: in_unit(m.imported_g - m.planned_g, unit),
            reported: m.reported_g.map(|g| in_unit(g, unit)),
            month: m.month,
        })
        .collect();
    if f.format.as_deref() != Some("csv") {
        return Ok(Json(PlanReport {
            allowance: a.number,
            unit: unit.as_str().to_owned(),
            months: rows,
        })
        .into_response());
    }
    let internal = |e: String| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e);
    let mut w = csv::Writer::from_writer(Vec::new());
    let columns = [
        "allowance",
        "unit",
        "month",
        "planned",
        "imported",
        "difference",
        "reported",
    ];
    w.write_record(columns)
        .map_err(|e| internal(e.to_string()))?;
    for r in rows {
        let reported = r.reported.unwrap_or_default();
        w.write_record([
            &a.number,
            unit.as_str(),
            &r.month,
            &r.planned,
            &r.imported,
            &r.difference,
            &reported,
        ])
        .map_err(|e| internal(e.to_string()))?;
    }
    let body = w.into_inner().map_err(|e| internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response())
}

/// A holder's purchase report for one month.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseReportIn {
    /// `YYYY-MM`.
    pub month: String,
    /// Bought in the month, in the allowance's unit.
    pub quantity: String,
    /// Average price per unit of the allowance (e.g. per tonne).
    pub price: String,
    pub currency: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PurchaseReportOut {
    pub allowance: String,
    pub month: String,
    /// In the allowance's unit.
    pub quantity: String,
    pub price: String,
    pub currency: String,
    pub filed_by: String,
    pub filed_at_ms: i64,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PurchaseReportList {
    pub items: Vec<PurchaseReportOut>,
}

async fn visible_allowance(
    s: &AppState,
    caller: &Caller,
    number: &str,
) -> Res<waiver_store::Allowance> {
    let scope = crate::review::holder_scope(s, caller).await?;
    s.store
        .allowance(number)
        .await?
        .filter(|a| scope.as_ref().is_none_or(|h| h.contains(&a.holder)))
        .ok_or_else(|| ApiError::not_found(format!("no allowance {number} that you may see")))
}

/// Files the holder's purchase report for a month (one per month).
#[utoipa::path(post, path = "/api/v1/allowances/{number}/purchase-reports", request_body = PurchaseReportIn,
    params(("number" = String, Path)),
    responses((status = 201, body = PurchaseReportOut), (status = 404, body = crate::error::ErrorEnvelope),
        (status = 409, body = crate::error::ErrorEnvelope, description = "`report_exists`"), (status = 422, body = crate::error::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn file_purchase_report(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    body: Res<JsonBody<PurchaseReportIn>>,
) -> Res<(StatusCode, Json<PurchaseReportOut>)> {
    authorize(&caller, Action::FilePurchaseReports)?;
    let out = file_report(&s, &caller, &number, body?.0).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Validates and stores a purchase report; shared by the API and the allowance page.
pub(crate) async fn file_report(
    s: &AppState,
    caller: &Caller,
    number: &str,
    b: PurchaseReportIn,
) -> Res<PurchaseReportOut> {
    authorize(caller, Action::FilePurchaseReports)?;
    let a = visible_allowance(s, caller, number).await?;
    let month = waiver_domain::Month::parse(&b.month).ok_or_else(|| {
        ApiError::validation(
            "month",
            format!(
                "`{}` is not a month; write YYYY-MM",
                b.month.chars().take(20).collect::<String>()
            ),
        )
    })?;
    let unit = QtyUnit::parse(&a.unit).unwrap_or(QtyUnit::Kg);
    let quantity = waiver_domain::Quantity::parse(&b.quantity, unit).map_err(|e| {
        ApiError::validation(
            "quantity",
            format!(
                "{e}; a positive number of {} exact to the gram",
                unit.as_str()
            ),
        )
    })?;
    let currency = waiver_domain::Currency::parse(&b.currency)
        .map_err(|e| ApiError::validation("currency", e.to_string()))?;
    let price = waiver_domain::Money::parse(&b.price, currency).map_err(|e| {
        ApiError::validation(
            "price",
            format!("{e}; a positive amount with at most 2 decimals"),
        )
    })?;
    let r = waiver_store::declarations::PurchaseReport {
        allowance: a.number.clone(),
        month: month.to_string(),
        quantity_g: quantity.grams,
        price_minor: price.minor,
        currency: currency.as_str().to_owned(),
        filed_by: caller.name().to_owned(),
        filed_at_ms: crate::review::now_ms(),
    };
    s.store
        .file_purchase_report(&Actor::user(caller.name()), &r)
        .await?;
    Ok(report_out(r, unit))
}

fn report_out(r: waiver_store::declarations::PurchaseReport, unit: QtyUnit) -> PurchaseReportOut {
    PurchaseReportOut {
        quantity: in_unit(r.quantity_g, unit),
        price: format_scaled(i128::from(r.price_minor), 2, 2),
        allowance: r.allowance,
        month: r.month,
        currency: r.currency,
        filed_by: r.filed_by,
        filed_at_ms: r.filed_at_ms,
    }
}

/// The holder's purchase reports, by month. `?format=csv` for CSV. Holder, customs, officers.
#[utoipa::path(get, path = "/api/v1/allowances/{number}/purchase-reports", params(("number" = String, Path), Format),
    responses((status = 200, body = PurchaseReportList), (status = 404, body = crate::error::ErrorEnvelope)), security(("bearer" = [])))]
pub async fn purchase_reports(
    AxState(s): AxState<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(f): Query<Format>,
) -> Res<Response> {
    authorize(&caller, Action::ReadAllowances)?;
    let a = visible_allowance(&s, &caller, &number).await?;
    let unit = QtyUnit::parse(&a.unit).unwrap_or(QtyUnit::Kg);
    let items: Vec<PurchaseReportOut> = s
        .store
        .purchase_reports(&a.number)
        .await?
        .into_iter()
        .map(|r| report_out(r, unit))
        .collect();
    if f.format.as_deref() != Some("csv") {
        return Ok(Json(PurchaseReportList { items }).into_response());
    }
    let internal = |e: String| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "allowance",
        "month",
        "quantity",
        "unit",
        "price",
        "currency",
        "filed_by",
    ])
    .map_err(|e| internal(e.to_string()))?;
    for r in items {
        w.write_record([
            &r.allowance,
            &r.month,
            &r.quantity,
            unit.as_str(),
            &r.price,
            &r.currency,
            &r.filed_by,
        ])
        .map_err(|e| internal(e.to_string()))?;
    }
    let body = w.into_inner().map_err(|e| internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response())
}
