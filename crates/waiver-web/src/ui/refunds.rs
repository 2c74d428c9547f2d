//! The refund claims page: customs and officers see every claim, an importer its own. Officers
//! generate claims, customs mark open ones settled; both through the API's own code
//! ([`crate::refunds::generate_claims`], [`waiver_store::Store::settle_refund`]).

use axum::extract::{Form, Path, Query, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;
use serde::Deserialize;
use waiver_domain::Fen;

use super::layout::page;
use super::{csrf_ok, ctx, expired, may, refused, respond, urlencode};
use crate::auth::{Action, Caller};
use crate::refunds::RefundOut;
use crate::AppState;

/// Claims the page lists (the most recent); the CSV has them all.
const SHOWN: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/refunds", get(list))
        .route("/refunds/generate", post(generate))
        .route("/refunds/{id}/settle", post(settle))
}

/// What the last action did, carried in the query after its redirect. Strings, so that a
/// hand-edited query shows the page rather than a bare 400.
#[derive(Deserialize)]
pub struct RefundsQuery {
    lang: Option<String>,
    created: Option<String>,
    settled: Option<String>,
    refused: Option<String>,
    code: Option<String>,
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn list(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Query(q): Query<RefundsQuery>,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let scope = crate::review::holder_scope(&s, &caller).await.ok();
    let c = ctx(Ok(caller), &headers, q.lang.as_deref(), "/refunds".into()).await;
    if !may(&c, Action::ReadRefunds) {
        return refused(&c);
    }
    let Some(scope) = scope else {
        return refused(&c);
    };
    let raw = match s.store.refund_claims(scope.as_deref()).await {
        Ok(v) => v,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let now_ms = crate::review::now_ms();
    let late: std::collections::HashSet<i64> = raw
        .iter()
        .filter(|c| now_ms > c.deadline_ms)
        .map(|c| c.id)
        .collect();
    let claims: Vec<RefundOut> = raw.into_iter().map(RefundOut::of).collect();
    let sum = |f: &dyn Fn(&RefundOut) -> bool| -> (usize, Fen) {
        claims
            .iter()
            .filter(|r| f(r))
            .fold((0, Fen(0)), |(n, t), r| (n + 1, Fen(t.0 + r.refund_cny.0)))
    };
    let (open_n, open_fen) = sum(&|r| r.status == "open");
    let (settled_n, settled_fen) = sum(&|r| r.status == "settled");
    let (withdrawn_n, _) = sum(&|r| r.status == "withdrawn");
    let (recover_n, recover_fen) =
        sum(&|r| r.status == "settled" && r.declaration_status == "cancelled");
    let money = |f: Fen| format!("{} CNY", c.lang.number(&f.to_string()));
    let settles = may(&c, Action::SettleRefunds);
    let declarations = may(&c, Action::ReadDeclarations);
    let refusal = q.code.as_deref().and_then(|code| match code {
        "refund_deadline_passed" | "refund_claim_withdrawn" => Some(code),
        _ => None,
    });
    let shown = claims.iter().rev().take(SHOWN);
    let body = html! {
        p.hint { (c.t("refund.intro")) }
        @if let Some(n) = q.created.as_deref().and_then(|n| n.parse::<usize>().ok()) {
            p role="status" { (c.t("refund.generated").replace("{}", &n.to_string())) }
        }
        @if let Some(id) = q.settled.as_deref().and_then(|n| n.parse::<i64>().ok()) {
            p role="status" { (c.t("refund.settled_flash").replace("{}", &id.to_string())) }
        }
        @if let (Some(id), Some(code)) = (q.refused.as_deref().and_then(|n| n.parse::<i64>().ok()), refusal) {
            div.error-summary role="alert" {
                p.error { (c.t(&format!("refund.err.{code}")).replace("{}", &id.to_string())) }
            }
        }
        @if may(&c, Action::GenerateRefunds) {
            form.stack method="post" action="/refunds/generate" {
                input type="hidden" name="csrf" value=(c.csrf);
                button type="submit" { (c.t("refund.generate")) }
            }
        }
        dl.facts {
            dt { (c.t("refund.open")) } dd { (open_n) " — " (money(open_fen)) }
            dt { (c.t("refund.settled")) } dd { (settled_n) " — " (money(settled_fen)) }
            dt { (c.t("refund.withdrawn")) } dd { (withdrawn_n) }
            dt { (c.t("refund.recover")) } dd { (recover_n) " — " (money(recover_fen)) }
        }
        @if claims.is_empty() {
            p { (c.t("refund.none")) }
        } @else {
            p { a href="/api/v1/refunds?format=csv" download="refunds.csv" { (c.t("refund.csv")) } }
            @if claims.len() > SHOWN { p.hint { (c.t("refund.more").replace("{}", &SHOWN.to_string())) } }
            table {
                caption { (c.t("refund.caption")) }
                thead { tr {
                    th scope="col" { (c.t("refund.id")) }
                    th scope="col" { (c.t("refund.exclusion")) }
                    th scope="col" { (c.t("refund.declaration")) }
                    th scope="col" { (c.t("refund.importer")) }
                    th scope="col" { (c.t("refund.code")) }
                    th scope="col" { (c.t("refund.declared_at")) }
                    th.num scope="col" { (c.t("refund.paid")) }
                    th.num scope="col" { (c.t("refund.amount")) }
                    th scope="col" { (c.t("refund.deadline")) }
                    th scope="col" { (c.t("refund.status")) }
                } }
                tbody { @for r in shown {
                    tr id=(format!("claim-{}", r.id)) {
                        td { (r.id) }
                        td { (r.exclusion) br; small { (r.programme) } }
                        td {
                            @if declarations {
                                a href=(format!("/declarations/{}", urlencode(&r.declaration))) { (r.declaration) }
                            } @else { (r.declaration) }
                            " " small { (c.t("refund.revision")) " " (r.revision) ", " (c.t("refund.line")) " " (r.line) }
                            @if r.declaration_status == "cancelled" { br; span.tag.bad { (c.t("decl.state.cancelled")) } }
                        }
                        td { (r.importer) }
                        td { (r.code) }
                        td { (r.declared_at) }
                        td.num { (money(r.paid_additional_duty_cny)) }
                        td.num { (money(r.refund_cny)) }
                        td { (r.deadline) }
                        td {
                            span class=(match r.status.as_str() { "settled" => "tag ok", "withdrawn" => "tag bad", _ => "tag" }) {
                                (c.t(&format!("refund.state.{}", r.status)))
                            }
                            @if let Some(reason) = &r.withdrawn_reason { br; small { (c.lang.problem_of(reason)) } }
                            @if r.status == "settled" && r.declaration_status == "cancelled" { br; small { (c.t("refund.to_recover")) } }
                            @if settles && r.status == "open" {
                                @if late.contains(&r.id) {
                                    br; small { (c.t("refund.late")) }
                                } @else {
                                    form method="post" action=(format!("/refunds/{}/settle", r.id)) {
                                        input type="hidden" name="csrf" value=(c.csrf);
                                        button type="submit" aria-label=(c.t("refund.settle_claim").replace("{}", &r.id.to_string())) { (c.t("refund.settle")) }
                                    }
                                }
                            }
                        }
                    }
                } }
            }
        }
    };
    let title = c.t("refund.title");
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

fn back(query: String) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(LOCATION, format!("/refunds?{query}"))],
    )
        .into_response()
}

async fn generate(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let name = caller.name().to_owned();
    let c = ctx(Ok(caller), &headers, None, "/refunds".into()).await;
    if !may(&c, Action::GenerateRefunds) {
        return refused(&c);
    }
    if !csrf_ok(&headers, &f.csrf) {
        return expired(&c);
    }
    match crate::refunds::generate_claims(&s, &name).await {
        Ok(out) => back(format!("created={}", out.created)),
        Err(e) => e.into_response(),
    }
}

async fn settle(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let name = caller.name().to_owned();
    let c = ctx(Ok(caller), &headers, None, "/refunds".into()).await;
    if !may(&c, Action::SettleRefunds) {
        return refused(&c);
    }
    if !csrf_ok(&headers, &f.csrf) {
        return expired(&c);
    }
    match s
        .store
        .settle_refund(
            &waiver_store::Actor::user(&name),
            id,
            crate::review::now_ms(),
        )
        .await
    {
        Ok(_) => back(format!("settled={id}#claim-{id}")),
        Err(waiver_store::StoreError::Rejected { code, .. }) => {
            back(format!("refused={id}&code={code}#claim-{id}"))
        }
        Err(e) => crate::error::ApiError::from(e).into_response(),
    }
}
