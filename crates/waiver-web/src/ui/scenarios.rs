//! Pages for what-if scenarios and landed cost: the scenario list, a scenario with its changes,
//! versions and a chart of landed cost per origin (actual vs scenario), the landed-cost page,
//! and the applicant-aid panel of the application form. Server-rendered; no script.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use waiver_domain::aid::{applicant_aid, applicant_aid_lifting, Aid, DEMO_MONTHLY};
use waiver_domain::amount::{QtyUnit, Quantity};
use waiver_domain::{BjTime, Schedule, TariffCode};

use super::layout::{page, Ctx};
use super::{ctx, not_found, refused, respond};
use crate::auth::{permits, Action, Caller};
use crate::AppState;

type Caught = Result<Caller, crate::error::ApiError>;

#[derive(Deserialize)]
pub struct PageQuery {
    pub lang: Option<String>,
    /// Month of the quotes, YYYY-MM.
    pub month: Option<String>,
    pub scenario: Option<i64>,
}

fn instant_of(month: Option<&str>) -> BjTime {
    month
        .and_then(|m| BjTime::parse(&format!("{}-15T12:00", m.trim())).ok())
        .map_or_else(
            || BjTime(crate::review::now_ms() / 1000 + 8 * 3600),
            |t| t.0,
        )
}

/// The demo quotes of a month, landed under a schedule (one tonne, soybeans 12019010).
fn costs(s: &Schedule, at: BjTime) -> Option<Aid> {
    let code = TariffCode::parse("12019010").ok()?;
    applicant_aid(s, DEMO_MONTHLY, code, Quantity { grams: 1_000_000 }, at).ok()
}

/// Horizontal bars per origin: actual, and (if given) under the scenario.
fn chart(c: &Ctx, actual: &Aid, scenario: Option<&Aid>, label: &str) -> Markup {
    let mut max = 1;
    for o in actual
        .origins
        .iter()
        .chain(scenario.into_iter().flat_map(|a| a.origins.iter()))
    {
        max = max.max(o.landed_cny_t.0);
    }
    let per = if scenario.is_some() { 2 } else { 1 };
    let h = actual.origins.len() * (per * 5 + 3) + 2;
    let w = |v: i64| v * 55 / max;
    html! {
        svg.chart viewBox=(format!("0 0 100 {h}")) role="img" aria-label=(label) {
            @for (i, o) in actual.origins.iter().enumerate() {
                @let y = i * (per * 5 + 3);
                text x="0" y=(y + 4) font-size="3" { (o.label) }
                rect.used x="25" y=(y + 1) width=(w(o.landed_cny_t.0)) height="4" {}
                text x=(26 + w(o.landed_cny_t.0)) y=(y + 4) font-size="3" { (c.lang.number(&o.landed_cny_t.to_string())) }
                @if let Some(sc) = scenario.and_then(|a| a.origins.get(i)) {
                    rect.scen x="25" y=(y + 6) width=(w(sc.landed_cny_t.0)) height="4" {}
                    text x=(26 + w(sc.landed_cny_t.0)) y=(y + 9) font-size="3" { (c.lang.number(&sc.landed_cny_t.to_string())) " (" (c.t("scen.scenario")) ")" }
                }
            }
        }
    }
}

fn table(c: &Ctx, actual: &Aid, scenario: Option<&Aid>) -> Markup {
    html! {
        table {
            thead { tr {
                th scope="col" { (c.t("landed.origin")) }
                th.num scope="col" { (c.t("landed.actual")) }
                th.num scope="col" { (c.t("landed.excluded")) }
                @if scenario.is_some() { th.num scope="col" { (c.t("scen.scenario")) } }
                th scope="col" { (c.t("landed.source")) }
            } }
            tbody {
                @for (i, o) in actual.origins.iter().enumerate() {
                    tr {
                        td { (o.label) " (" (o.origin) ")" }
                        td.num { (c.lang.number(&o.landed_cny_t.to_string())) }
                        td.num { (c.lang.number(&o.landed_excluded_cny_t.to_string())) }
                        @if let Some(sc) = scenario { td.num { (sc.origins.get(i).map_or("–".to_owned(), |x| c.lang.number(&x.landed_cny_t.to_string()))) } }
                        td { (o.source) }
                    }
                }
            }
        }
        p { (c.t("landed.note")) " " (actual.quotes_note) }
    }
}

pub async fn list(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let c = ctx(caller, &headers, q.lang.as_deref(), "/scenarios".into()).await;
    if !permits(c.role(), Action::ReadScenarios) {
        return refused(&c);
    }
    let items = match s.store.scenarios().await {
        Ok(x) => x,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let body = html! {
        p.lead { (c.t("scen.intro")) }
        @if items.is_empty() { p { (c.t("scen.none")) } } @else {
            table {
                thead { tr { th scope="col" { (c.t("scen.name")) } th.num scope="col" { (c.t("scen.version")) } th scope="col" { (c.t("scen.author")) } } }
                tbody { @for i in &items { tr {
                    td { a href=(format!("/scenarios/{}", i.id)) { (i.name) } }
                    td.num { (i.current_version) }
                    td { (i.created_by) }
                } } }
            }
        }
        p { a href="/landed-cost" { (c.t("landed.title")) } }
    };
    let title = c.t("scen.title");
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

pub async fn detail(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<PageQuery>,
) -> Response {
    let c = ctx(
        caller,
        &headers,
        q.lang.as_deref(),
        format!("/scenarios/{id}"),
    )
    .await;
    if !permits(c.role(), Action::ReadScenarios) {
        return refused(&c);
    }
    let rec = match s.store.scenario(id, None).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found(&c),
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let versions = s.store.scenario_versions(id).await.unwrap_or_default();
    let applied = rec
        .spec
        .clone()
        .validate(&s.schedule)
        .map(|sc| sc.apply(&s.schedule));
    let month = q.month.clone().unwrap_or_else(|| "2020-07".into());
    let at = instant_of(Some(&month));
    let actual = costs(&s.schedule, at);
    let scen = applied.as_ref().ok().and_then(|a| costs(a, at));
    let body = html! {
        @if !rec.spec.description.is_empty() { p.lead { (rec.spec.description) } }
        h2 { (c.t("scen.changes")) }
        ol { @for ch in &rec.spec.changes { li { code { (serde_json::to_string(ch).unwrap_or_default()) } } } }
        @if let Err(e) = &applied {
            div.error-summary role="alert" { p.error { (e.to_string()) } }
        }
        h2 { (c.t("scen.chart")) " — " (month) }
        form.stack method="get" action=(format!("/scenarios/{id}")) {
            div.row { div { label for="month" { (c.t("landed.month")) } input id="month" name="month" type="text" value=(month); } }
            input type="hidden" name="lang" value=(c.lang.param());
            button.primary type="submit" { (c.t("landed.show")) }
        }
        @match &actual {
            Some(a) => {
                (chart(&c, a, scen.as_ref(), &c.t("scen.chart")))
                (table(&c, a, scen.as_ref()))
            }
            None => p { (c.t("landed.no_quotes")) }
        }
        h2 { (c.t("scen.versions")) }
        table {
            thead { tr { th.num scope="col" { (c.t("scen.version")) } th scope="col" { (c.t("scen.name")) } th scope="col" { (c.t("scen.author")) } } }
            tbody { @for v in &versions { tr { td.num { (v.version) } td { (v.name) } td { (v.created_by) } } } }
        }
    };
    let title = format!("{} — {}", c.t("scen.title"), rec.spec.name);
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

pub async fn landed(
    State(s): State<AppState>,
    caller: Caught,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let c = ctx(caller, &headers, q.lang.as_deref(), "/landed-cost".into()).await;
    if !permits(c.role(), Action::ReadPublic) {
        return refused(&c);
    }
    let month = q.month.clone().unwrap_or_else(|| "2020-07".into());
    let at = instant_of(Some(&month));
    let scenarios = s.store.scenarios().await.unwrap_or_default();
    let chosen = match q.scenario {
        Some(id) => s.store.scenario(id, None).await.ok().flatten(),
        None => None,
    };
    let applied = chosen
        .as_ref()
        .and_then(|r| r.spec.clone().validate(&s.schedule).ok())
        .map(|sc| sc.apply(&s.schedule));
    let actual = costs(&s.schedule, at);
    let scen = applied.as_ref().and_then(|a| costs(a, at));
    let body = html! {
        p.lead { (c.t("landed.intro")) }
        form.stack method="get" action="/landed-cost" {
            div.row {
                div { label for="month" { (c.t("landed.month")) } input id="month" name="month" type="text" value=(month); }
                div { label for="scenario" { (c.t("scen.scenario")) }
                    select id="scenario" name="scenario" {
                        option value="" { "–" }
                        @for sc in &scenarios { option value=(sc.id) selected[q.scenario == Some(sc.id)] { (sc.name) } }
                    }
                }
            }
            input type="hidden" name="lang" value=(c.lang.param());
            button.primary type="submit" { (c.t("landed.show")) }
        }
        @match &actual {
            Some(a) => {
                (chart(&c, a, scen.as_ref(), &c.t("landed.title")))
                (table(&c, a, scen.as_ref()))
            }
            None => p { (c.t("landed.no_quotes")) }
        }
    };
    let title = c.t("landed.title");
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

/// The applicant-aid panel of the application form, when the line and quantity are given.
/// `scopes`: the chosen programme's (what an approval would lift).
pub fn aid_panel(
    s: &AppState,
    c: &Ctx,
    scopes: &[String],
    line: &str,
    quantity: &str,
    unit: &str,
) -> Markup {
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let parsed = (|| {
        let code = TariffCode::parse(line).ok()?;
        let unit = QtyUnit::parse(if unit.trim().is_empty() { "t" } else { unit })?;
        let q = Quantity::parse(quantity, unit).ok()?;
        let at = BjTime(crate::review::now_ms() / 1000 + 8 * 3600);
        applicant_aid_lifting(
            &s.schedule,
            DEMO_MONTHLY,
            code,
            q,
            at,
            waiver_domain::Lift::Scopes(&scopes),
        )
        .ok()
    })();
    html! {
        section.aid aria-labelledby="aid-title" {
            h2 id="aid-title" { (c.t("aid.title")) }
            @match parsed {
                None => p { (c.t("aid.fill")) }
                Some(a) => {
                    dl.facts {
                        dt { (c.t("aid.saving_t")) } dd { "CNY " (c.lang.number(&a.saving_cny_t.to_string())) }
                        dt { (c.t("aid.saving")) } dd { "CNY " (c.lang.number(&a.saving_cny.to_string())) }
                        dt { (c.t("aid.cheapest")) }
                        dd { @if a.us_cheapest_with_exclusion { span.tag.ok { (c.t("yes")) } } @else { span.tag.bad { (c.t("no")) } }
                            @if let Some(g) = a.us_gap_cny_t { " (" (c.t("aid.gap")) ": CNY " (c.lang.number(&g.to_string())) ")" } }
                    }
                    p { (c.t("landed.note")) " " (a.quotes_note) }
                }
            }
        }
    }
}
