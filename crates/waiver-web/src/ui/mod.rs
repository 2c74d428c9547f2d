//! The web interface: server-rendered HTML (maud), English and Simplified Chinese, no
//! JavaScript needed. Every page is built from the same store and engine calls as the API and
//! asks the same policy (`auth::permits`) before showing anything.
//!
//! Security: a Content-Security-Policy without `unsafe-inline` on every response (see
//! [`security_headers`]); forms carry a double-submit CSRF token that must equal the
//! `waiver_csrf` cookie; sessions are the API's (HttpOnly, SameSite=Strict, 8 h) and sign-in is
//! rate limited by username.

pub mod customs;
pub mod forms;
pub mod i18n;
pub mod layout;
pub mod officer;
pub mod refunds;
pub mod scenarios;

use axum::extract::{Form, Path, Query, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup};
use serde::Deserialize;
use waiver_domain::accounts::Role;
use waiver_domain::engine::{assess, Lift, LineInput};
use waiver_domain::{BjTime, Currency, Money, Origin, Precision, Quantity, RatePpm, TariffCode};

use crate::auth::{permits, Action, Caller};
use crate::AppState;
use i18n::{Lang, LANG_COOKIE};
use layout::{balance_bar, bar_chart, page, Bar, Ctx};

pub const CSRF_COOKIE: &str = "waiver_csrf";
const CSS: &str = include_str!("../../assets/waiver.css");
/// Our own script for checking the application form as the user types (no library, no build
/// step); pages work without it.
const VALIDATE_JS: &str = include_str!("../../assets/validate.js");
pub const VALIDATE_JS_PATH: &str = "/assets/validate.js";

/// The policy every response carries: only this origin's styles and scripts (no inline code),
/// no framing, forms post only here.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Adds the Content-Security-Policy and the other protective headers to every response.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    resp
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/assets/waiver.css", get(css))
        .route(VALIDATE_JS_PATH, get(validate_js))
        .route("/sign-in", get(sign_in_form).post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/tariff", get(tariff))
        .route("/register", get(register))
        .route("/applications", get(applications))
        .route(
            "/applications/new",
            get(forms::new_application_form).post(forms::new_application),
        )
        .route("/applications/validate", post(forms::validate_draft))
        .route("/applications/{number}", get(application))
        .route("/applications/{number}/screen", post(forms::screen))
        .route("/applications/{number}/assign", post(forms::assign))
        .route("/applications/{number}/conflict", post(forms::conflict))
        .route("/applications/{number}/score", post(forms::score))
        .route("/applications/{number}/decide", post(forms::decide))
        .route("/applications/{number}/appeal", post(forms::appeal))
        .route("/allowances", get(allowances))
        .route("/allowances/{number}", get(allowance))
        .route("/notifications", get(notifications))
        .route("/programmes/{id}/sla", get(sla))
        .merge(officer::routes())
        .route("/scenarios", get(scenarios::list))
        .route("/scenarios/{id}", get(scenarios::detail))
        .route("/landed-cost", get(scenarios::landed))
        .merge(customs::routes())
        .merge(refunds::routes())
}

#[derive(Deserialize, Default)]
pub struct LangQuery {
    pub lang: Option<String>,
}

fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn fresh_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Builds the page context; an invalid or expired session is shown as signed out.
pub(crate) async fn ctx(
    caller: Result<Caller, crate::error::ApiError>,
    headers: &HeaderMap,
    lang: Option<&str>,
    here: String,
) -> Ctx {
    let csrf = cookie_value(headers, CSRF_COOKIE)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map_or_else(fresh_token, str::to_owned);
    Ctx {
        lang: Lang::of(lang, headers),
        user: caller.ok().and_then(|c| c.0),
        csrf,
        here,
    }
}

/// An HTML answer that (re)sets the CSRF and language cookies.
pub(crate) fn respond(ctx: &Ctx, status: StatusCode, body: Markup) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    for c in [
        format!(
            "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
            ctx.csrf
        ),
        format!(
            "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
            ctx.lang.param()
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(SET_COOKIE, v);
        }
    }
    resp
}

/// The page for a caller who may not see it: sign in first, or not for this role.
pub(crate) fn refused(ctx: &Ctx) -> Response {
    if ctx.user.is_none() {
        let title = ctx.t("nav.sign_in");
        let body = html! {
            p { (ctx.t("error.sign_in")) }
            p { a href="/sign-in" { (ctx.t("nav.sign_in")) } }
        };
        respond(ctx, StatusCode::UNAUTHORIZED, page(ctx, &title, body))
    } else {
        let title = ctx.t("error.forbidden");
        respond(ctx, StatusCode::FORBIDDEN, page(ctx, &title, html! {}))
    }
}

/// A form whose CSRF token does not match: nothing was done.
pub(crate) fn expired(ctx: &Ctx) -> Response {
    let title = ctx.t("csrf.bad");
    respond(ctx, StatusCode::FORBIDDEN, page(ctx, &title, html! {}))
}

pub(crate) fn not_found(ctx: &Ctx) -> Response {
    let title = ctx.t("error.not_found");
    respond(ctx, StatusCode::NOT_FOUND, page(ctx, &title, html! {}))
}

fn may(ctx: &Ctx, action: Action) -> bool {
    permits(ctx.role(), action)
}

async fn css() -> Response {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

async fn validate_js() -> Response {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        VALIDATE_JS,
    )
        .into_response()
}

fn role_key(r: Role) -> String {
    format!("role.{}", r.as_str())
}

async fn home(
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(caller, &headers, q.lang.as_deref(), "/".into()).await;
    let body = html! {
        p.lead { (c.t("app.tagline")) }
        @match &c.user {
            None => { p { (c.t("home.anonymous")) } p { a href="/sign-in" { (c.t("nav.sign_in")) } } }
            Some(u) => {
                p { (c.t("home.signed_in_as")) " " strong { (u.display_name) } " (" (c.t(&role_key(u.role))) ")" }
                ul {
                    @if may(&c, Action::ReadApplications) { li { a href="/applications" { (c.t("nav.applications")) } } }
                    @if may(&c, Action::ReadAllowances) { li { a href="/allowances" { (c.t("nav.allowances")) } } }
                    @if may(&c, Action::Declare) { li { a href="/declarations/new" { (c.t("decl.new")) } } }
                    li { a href="/notifications" { (c.t("nav.notifications")) } }
                    @if u.role == Role::Applicant { li { a href="/enterprise" { (c.t("nav.enterprise")) } } }
                    @if may(&c, Action::Review) { li { a href="/queue" { (c.t("nav.queue")) } } }
                    @if may(&c, Action::ManageProgrammes) {
                        li { a href="/programmes/new" { (c.t("prog.new")) } }
                        li { a href="/reviews/overdue" { (c.t("nav.overdue")) } }
                    }
                }
            }
        }
        ul {
            li { a href="/tariff" { (c.t("nav.tariff")) } }
            li { a href="/register" { (c.t("nav.register")) } }
            li { a href="/programmes" { (c.t("nav.programmes")) } }
            li { a href="/policy-changes" { (c.t("nav.policy")) } }
            li { a href="/utilisation" { (c.t("nav.utilisation")) } }
            li { a href="/quotas" { (c.t("nav.quotas")) } }
        }
    };
    let title = c.t("app.name");
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

#[derive(Deserialize)]
pub struct SignInForm {
    pub username: String,
    pub password: String,
    pub csrf: String,
}

fn sign_in_page(c: &Ctx, error: Option<&str>, username: &str) -> Markup {
    let title = c.t("signin.title");
    page(
        c,
        &title,
        html! {
            @if let Some(e) = error {
                div.error-summary role="alert" { p.error { (c.t(e)) } }
            }
            form.stack method="post" action="/sign-in" {
                input type="hidden" name="csrf" value=(c.csrf);
                label for="username" { (c.t("signin.username")) }
                input id="username" name="username" type="text" autocomplete="username" required value=(username);
                label for="password" { (c.t("signin.password")) }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                button.primary type="submit" { (c.t("signin.submit")) }
            }
        },
    )
}

async fn sign_in_form(
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(caller, &headers, q.lang.as_deref(), "/sign-in".into()).await;
    respond(&c, StatusCode::OK, sign_in_page(&c, None, ""))
}

/// Whether the form's token equals the cookie (double submit).
pub(crate) fn csrf_ok(headers: &HeaderMap, form_token: &str) -> bool {
    cookie_value(headers, CSRF_COOKIE).is_some_and(|c| {
        c.len() == 64
            && c.len() == form_token.len()
            && c.bytes()
                .zip(form_token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    })
}

async fn sign_in(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    let c = ctx(Ok(Caller(None)), &headers, None, "/sign-in".into()).await;
    if !csrf_ok(&headers, &f.csrf) {
        return respond(
            &c,
            StatusCode::FORBIDDEN,
            sign_in_page(&c, Some("csrf.bad"), ""),
        );
    }
    let now = crate::review::now_ms();
    if f.username.len() > 64 || f.password.len() > 512 {
        return respond(
            &c,
            StatusCode::UNAUTHORIZED,
            sign_in_page(&c, Some("signin.wrong"), ""),
        );
    }
    if s.sign_in_limiter.check(&f.username, now).is_err() {
        return respond(
            &c,
            StatusCode::TOO_MANY_REQUESTS,
            sign_in_page(&c, Some("signin.locked"), &f.username),
        );
    }
    let user = match s.store.authenticate(&f.username, &f.password).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            s.sign_in_limiter.failed(&f.username, now);
            return respond(
                &c,
                StatusCode::UNAUTHORIZED,
                sign_in_page(&c, Some("signin.wrong"), &f.username),
            );
        }
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    s.sign_in_limiter.succeeded(&f.username);
    let token = match s
        .store
        .create_session(&user, crate::session::SESSION_TTL_MS)
        .await
    {
        Ok(t) => t,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let mut resp = (StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response();
    let cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        crate::session::COOKIE,
        crate::session::SESSION_TTL_MS / 1000
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

async fn sign_out(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !csrf_ok(&headers, &f.csrf) {
        return (
            StatusCode::FORBIDDEN,
            "the form has expired; reload the page",
        )
            .into_response();
    }
    if let Some(token) = crate::session::cookie(&headers) {
        if let Err(e) = s.store.delete_session(token).await {
            return crate::error::ApiError::from(e).into_response();
        }
    }
    let mut resp = (StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response();
    let clear = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
        crate::session::COOKIE
    );
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().append(SET_COOKIE, v);
    }
    resp
}

#[derive(Deserialize, Default)]
pub struct TariffQuery {
    pub code: Option<String>,
    pub origin: Option<String>,
    pub at: Option<String>,
    pub lang: Option<String>,
}

fn now_bj() -> BjTime {
    BjTime(crate::review::now_ms() / 1000 + 8 * 3600)
}

async fn tariff(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Query(q): Query<TariffQuery>,
) -> Response {
    let code_raw = q.code.clone().unwrap_or_default();
    let origin_raw = q.origin.clone().unwrap_or_else(|| "US".into());
    let at_raw = q.at.clone().unwrap_or_default();
    let here = format!(
        "/tariff?code={}&origin={}&at={}",
        urlencode(&code_raw),
        urlencode(&origin_raw),
        urlencode(&at_raw)
    );
    let c = ctx(caller, &headers, q.lang.as_deref(), here).await;
    let mut error: Option<(&str, String)> = None;
    let mut result = None;
    if !code_raw.trim().is_empty() {
        let parsed = (|| -> Result<LineInput, (&'static str, String)> {
            let code = TariffCode::parse(&code_raw).map_err(|e| ("code", e.to_string()))?;
            let origin = Origin::parse(&origin_raw).map_err(|e| ("origin", e.to_string()))?;
            let (at, precision) = if at_raw.trim().is_empty() {
                (now_bj(), Precision::Second)
            } else {
                BjTime::parse(&at_raw).map_err(|e| ("at", e.0))?
            };
            Ok(LineInput {
                code,
                origin,
                declared_at: at,
                declared_precision: precision,
                shipped_on: None,
                quantity: Quantity { grams: 1_000_000 },
                customs_value: Money {
                    minor: 1_000_000,
                    currency: Currency::CNY,
                },
                in_quota: false,
            })
        })();
        match parsed {
            Err(e) => error = Some(e),
            Ok(input) => match (
                assess(&s.schedule, &input, Lift::Nothing),
                assess(&s.schedule, &input, Lift::AllExcludable),
            ) {
                (Ok(full), Ok(lifted)) => result = Some((input, full, lifted)),
                (Err(e), _) | (_, Err(e)) => error = Some(("code", e.to_string())),
            },
        }
    }
    let body = html! {
        p.lead { (c.t("tariff.intro")) }
        @if let Some((field, msg)) = &error {
            div.error-summary role="alert" {
                p.error { (c.t("error.input")) }
                p { a href=(format!("#{field}")) { (msg) } }
            }
        }
        form.stack method="get" action="/tariff" {
            div.row {
                div { label for="code" { (c.t("tariff.code")) } input id="code" name="code" type="text" inputmode="numeric" required value=(code_raw) aria-invalid=[error.as_ref().filter(|e| e.0 == "code").map(|_| "true")]; }
                div { label for="origin" { (c.t("tariff.origin")) } input id="origin" name="origin" type="text" value=(origin_raw) aria-invalid=[error.as_ref().filter(|e| e.0 == "origin").map(|_| "true")]; }
                div { label for="at" { (c.t("tariff.at")) } input id="at" name="at" type="text" placeholder="2026-11-28" value=(at_raw) aria-invalid=[error.as_ref().filter(|e| e.0 == "at").map(|_| "true")]; }
            }
            input type="hidden" name="lang" value=(c.lang.param());
            button.primary type="submit" { (c.t("tariff.show")) }
        }
        @if let Some((input, full, lifted)) = &result {
            h2 { (full.line.code) " — " (match c.lang { Lang::En => &full.line.description_en, Lang::Zh => &full.line.description_zh }) }
            p { (input.origin) ", " (c.lang.date(input.declared_at)) }
            table {
                thead { tr {
                    th scope="col" { (c.t("tariff.layer")) } th scope="col" { (c.t("tariff.kind")) }
                    th.num scope="col" { (c.t("tariff.rate")) } th scope="col" { (c.t("tariff.scope")) }
                    th scope="col" { (c.t("tariff.excludable")) } th scope="col" { (c.t("tariff.from")) }
                    th scope="col" { (c.t("tariff.legal_basis")) }
                } }
                tbody {
                    @for l in &full.layers {
                        tr {
                            td { (l.measure.id) }
                            td { (l.measure.kind.as_str()) }
                            td.num { (l.measure.duty) }
                            td { (l.measure.scope) }
                            td { @if l.measure.excludable { span.tag.ok { (c.t("yes")) } } @else { (c.t("no")) } }
                            td { (c.lang.date(l.measure.validity.start)) }
                            td { (l.measure.legal_basis) }
                        }
                    }
                }
            }
            dl.facts {
                dt { (c.t("tariff.total")) }
                dd { (RatePpm(full.base_rate.0.saturating_add(full.additional_rate.0))) " (" (c.t("tariff.with_exclusion")) ": " (RatePpm(lifted.base_rate.0.saturating_add(lifted.additional_rate.0))) ")" }
                dt { (c.t("tariff.vat")) }
                dd { (full.vat_rate) }
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let title = c.t("tariff.title");
    respond(&c, status, page(&c, &title, body))
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn register(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(caller, &headers, q.lang.as_deref(), "/register".into()).await;
    let (ex, dec) = match (
        s.store.product_exclusions(None).await,
        s.store.register_decisions().await,
    ) {
        (Ok(e), Ok(d)) => (e, d),
        (Err(e), _) | (_, Err(e)) => return crate::error::ApiError::from(e).into_response(),
    };
    let t_of = |g: i64| {
        c.lang
            .number(&waiver_domain::amount::format_scaled(i128::from(g), 6, 0))
    };
    let body = html! {
        h2 { (c.t("register.exclusions")) }
        @if ex.is_empty() { p { (c.t("register.none")) } } @else {
            table {
                thead { tr { th scope="col" { (c.t("register.programme")) } th scope="col" { (c.t("register.line")) } th scope="col" { (c.t("register.valid")) } } }
                tbody { @for e in &ex { tr { td { (e.programme) } td { (e.line) } td { (c.lang.date(e.valid_from)) " – " (c.lang.date(e.valid_until)) } } } }
            }
        }
        p { a href="/api/v1/register/exclusions.csv" download { (c.t("register.csv")) } }
        h2 { (c.t("register.decisions")) }
        @if dec.is_empty() { p { (c.t("register.none")) } } @else {
            table {
                thead { tr {
                    th scope="col" { (c.t("register.programme")) } th scope="col" { (c.t("register.line")) }
                    th.num scope="col" { (c.t("register.decided")) } th.num scope="col" { (c.t("register.approved")) }
                    th.num scope="col" { (c.t("register.partial")) } th.num scope="col" { (c.t("register.rejected")) }
                    th.num scope="col" { (c.t("register.amended")) } th.num scope="col" { (c.t("register.granted")) }
                } }
                tbody { @for r in &dec { tr {
                    td { (r.programme) } td { (r.line) } td.num { (r.decided) } td.num { (r.approved) }
                    td.num { (r.partially_approved) } td.num { (r.rejected) } td.num { (r.amended_on_appeal) }
                    td.num { (t_of(r.granted_g)) }
                } } }
            }
        }
        p { a href="/api/v1/register/decisions.csv" download { (c.t("register.csv")) } }
    };
    let title = c.t("register.title");
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

fn state_tag(c: &Ctx, state: waiver_domain::application::State) -> Markup {
    use waiver_domain::application::State as S;
    let class = match state {
        S::Approved | S::PartiallyApproved => "tag ok",
        S::Rejected | S::Withdrawn => "tag bad",
        _ => "tag",
    };
    html! { span class=(class) { (c.t(&format!("state.{}", state.as_str()))) } }
}

async fn applications(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let scope = crate::applications::caller_scope(&s, &caller).await;
    let c = ctx(
        Ok(caller),
        &headers,
        q.lang.as_deref(),
        "/applications".into(),
    )
    .await;
    if !may(&c, Action::ReadApplications) {
        return refused(&c);
    }
    let items = match scope {
        Ok(scope) => match s.store.applications(&scope, None, 200, 0).await {
            Ok(i) => i,
            Err(e) => return crate::error::ApiError::from(e).into_response(),
        },
        Err(_) => return refused(&c),
    };
    let body = html! {
        @if may(&c, Action::FileApplications) {
            p { a href="/applications/new" { (c.t("form.new.title")) } }
        }
        @if items.is_empty() { p { (c.t("apps.none")) } } @else {
            table {
                thead { tr {
                    th scope="col" { (c.t("apps.number")) } th scope="col" { (c.t("apps.enterprise")) }
                    th scope="col" { (c.t("apps.line")) } th.num scope="col" { (c.t("apps.quantity")) }
                    th scope="col" { (c.t("apps.state")) }
                } }
                tbody { @for a in &items { tr {
                    td { a href=(format!("/applications/{}", a.number)) { (a.number) } }
                    td { (a.enterprise) } td { (a.line) }
                    td.num { (c.lang.number(&a.spec.quantity)) " " (a.spec.unit) }
                    td { (state_tag(&c, a.state)) }
                } } }
            }
        }
    };
    let title = c.t("apps.title");
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

async fn application(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Path(number): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let loaded = if permits(caller.role(), Action::ReadApplications) {
        crate::applications::load(&s, &caller, &number).await.ok()
    } else {
        None
    };
    let c = ctx(
        Ok(caller),
        &headers,
        q.lang.as_deref(),
        format!("/applications/{number}"),
    )
    .await;
    if !may(&c, Action::ReadApplications) {
        return refused(&c);
    }
    let Some(a) = loaded else {
        return not_found(&c);
    };
    let decision = s.store.decision(&number).await.ok().flatten();
    let history = if may(&c, Action::ReadAuditTrail) {
        s.store
            .audit_trail("application", &number)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let panel = forms::workflow_panel(&s, &c, &a).await;
    let contacts = officer::contact_panel(&s, &c, &number).await;
    let body = html! {
        dl.facts {
            dt { (c.t("apps.state")) } dd { (state_tag(&c, a.state)) }
            dt { (c.t("apps.programme")) } dd { (a.programme) }
            dt { (c.t("apps.enterprise")) } dd { (a.enterprise) }
            dt { (c.t("apps.line")) } dd { (a.line) }
            dt { (c.t("apps.quantity")) } dd { (c.lang.number(&a.spec.quantity)) " " (a.spec.unit) }
            dt { (c.t("apps.value")) } dd { (c.lang.number(&a.spec.value)) " " (a.spec.currency) }
            dt { (c.t("apps.summary")) } dd { (a.spec.public_summary) }
        }
        @if let Some(d) = &decision {
            h2 { (c.t("apps.decision")) }
            div.panel {
                p { strong { (c.t(&format!("state.{}", match d.outcome {
                    waiver_domain::review::Outcome::Approve => "approved",
                    waiver_domain::review::Outcome::PartiallyApprove => "partially_approved",
                    waiver_domain::review::Outcome::Reject => "rejected",
                }))) } }
                ul { @for (k, r) in &d.spec.reasons { li { strong { (k) } ": " (r) } } }
            }
        }
        (panel)
        (contacts)
        @if !history.is_empty() {
            h2 { (c.t("apps.history")) }
            table {
                tbody { @for h in &history { tr {
                    td { (c.lang.date(BjTime(h.at_ms / 1000 + 8 * 3600))) }
                    td { (h.actor) }
                    td { (h.action) }
                } } }
            }
        }
    };
    respond(&c, StatusCode::OK, page(&c, &number, body))
}

#[derive(Deserialize, Default)]
pub struct AllowancesQuery {
    pub lang: Option<String>,
    /// An allowance number to look up (the look-up form).
    pub number: Option<String>,
}

async fn allowances(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Query(q): Query<AllowancesQuery>,
) -> Response {
    if let Some(n) = q.number.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        let to = format!("/allowances/{}", urlencode(n));
        return (StatusCode::SEE_OTHER, [(LOCATION, to)]).into_response();
    }
    let caller = caller.unwrap_or(Caller(None));
    let holders = crate::review::holder_scope(&s, &caller).await.ok();
    let c = ctx(
        Ok(caller),
        &headers,
        q.lang.as_deref(),
        "/allowances".into(),
    )
    .await;
    if !may(&c, Action::ReadAllowances) {
        return refused(&c);
    }
    let Some(holders) = holders else {
        return refused(&c);
    };
    let items = match s.store.allowances(holders.as_deref()).await {
        Ok(i) => i,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let body = html! {
        form.stack method="get" action="/allowances" role="search" {
            label for="number" { (c.t("allow.lookup")) }
            input id="number" name="number" type="text" placeholder="WVR-2020-000123";
            button type="submit" { (c.t("allow.lookup.submit")) }
        }
        @if may(&c, Action::Declare) { p { a href="/declarations/new" { (c.t("decl.new")) } } }
        @if items.is_empty() { p { (c.t("allow.none")) } } @else {
            table {
                thead { tr {
                    th scope="col" { (c.t("allow.number")) } th scope="col" { (c.t("allow.holder")) }
                    th scope="col" { (c.t("apps.line")) } th.num scope="col" { (c.t("allow.granted")) }
                    th.num scope="col" { (c.t("allow.remaining")) } th scope="col" { (c.t("allow.valid")) }
                } }
                tbody { @for a in &items { tr {
                    td { a href=(format!("/allowances/{}", a.number)) { (a.number) } }
                    td { (a.holder) } td { (a.line) }
                    td.num { (c.lang.number(&a.granted)) " " (a.unit) }
                    td.num { (c.lang.number(&a.remaining)) " " (a.unit) }
                    td { (c.lang.date(a.valid_from)) " – " (c.lang.date(a.valid_until)) }
                } } }
            }
        }
    };
    let title = c.t("allow.title");
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

async fn allowance(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Path(number): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let caller = caller.unwrap_or(Caller(None));
    let holders = crate::review::holder_scope(&s, &caller).await.ok();
    let c = ctx(
        Ok(caller),
        &headers,
        q.lang.as_deref(),
        format!("/allowances/{number}"),
    )
    .await;
    if !may(&c, Action::ReadAllowances) {
        return refused(&c);
    }
    let found = match s.store.allowance(&number).await {
        Ok(a) => a,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let Some(a) = found.filter(|a| {
        holders
            .as_ref()
            .is_some_and(|h| h.as_ref().is_none_or(|h| h.contains(&a.holder)))
    }) else {
        return not_found(&c);
    };
    let reports = customs::reports_panel(&s, &c, &a.number).await;
    // The balance is the page's purpose: a plan that cannot be read is said, not fatal.
    let plan = match customs::plan_panel(&s, &c, &a).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(allowance = %a.number, error = %e, "purchase plan unreadable");
            html! { h2 id="plan" { (c.t("plan.title")) } p.error { (c.t("plan.unreadable")) } }
        }
    };
    let qty = |g: i64| {
        c.lang
            .number(&waiver_domain::amount::format_scaled(i128::from(g), 6, 0))
    };
    let body = html! {
        dl.facts {
            dt { (c.t("allow.holder")) } dd { (a.holder) }
            dt { (c.t("apps.line")) } dd { (a.line) }
            dt { (c.t("allow.granted")) } dd { (c.lang.number(&a.granted)) " " (a.unit) }
            dt { (c.t("allow.ceiling")) } dd { (c.lang.number(&a.ceiling)) " " (a.unit) }
            dt { (c.t("allow.used")) } dd { (c.lang.number(&a.used)) " " (a.unit) }
            dt { (c.t("allow.remaining")) } dd { strong { (c.lang.number(&a.remaining)) " " (a.unit) } }
            dt { (c.t("allow.valid")) } dd { (c.lang.date(a.valid_from)) " – " (c.lang.date(a.valid_until)) }
        }
        (balance_bar(&c.t("allow.chart"), a.used_g, a.ceiling_g))
        p.legend { (c.t("allow.used")) ": " (c.lang.number(&a.used)) " / " (c.lang.number(&a.ceiling)) " " (a.unit) }
        h2 { (c.t("allow.over_time")) }
        (customs::balance_chart(&c.t("allow.over_time"), a.ceiling_g, &a.entries.iter().map(|e| (e.quantity_g, e.kind.as_str())).collect::<Vec<_>>()))
        (plan)
        h2 { (c.t("allow.entries")) }
        table {
            thead { tr {
                th scope="col" { (c.t("allow.entry.at")) } th scope="col" { (c.t("allow.entry.kind")) }
                th.num scope="col" { (c.t("allow.entry.quantity")) } th scope="col" { (c.t("allow.entry.cause")) }
            } }
            tbody { @for e in &a.entries { tr {
                td { (c.lang.date(BjTime(e.at_ms / 1000 + 8 * 3600))) }
                td { (c.t(&format!("entry.{}", e.kind))) }
                td.num { (qty(e.quantity_g)) }
                td { (e.cause) }
            } } }
        }
        (reports)
    };
    respond(&c, StatusCode::OK, page(&c, &number, body))
}

async fn notifications(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(caller, &headers, q.lang.as_deref(), "/notifications".into()).await;
    let Some(u) = &c.user else {
        return refused(&c);
    };
    let mut r = vec![
        format!("user:{}", u.username),
        format!("role:{}", u.role.as_str()),
    ];
    if let Some(e) = &u.enterprise {
        r.push(format!("enterprise:{e}"));
    }
    let items = match s.store.notifications(&r, 200).await {
        Ok(i) => i,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let body = html! {
        @if items.is_empty() { p { (c.t("notes.none")) } } @else {
            ul { @for n in &items { li {
                (c.lang.date(BjTime(n.created_at_ms / 1000 + 8 * 3600))) " — " (n.subject)
            } } }
        }
    };
    let title = c.t("notes.title");
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

/// Service levels of a programme for officers and analysts: applications per state (a bar
/// chart), ages, overdue reviews, decisions per week.
async fn sla(
    State(s): State<AppState>,
    caller: Result<Caller, crate::error::ApiError>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let c = ctx(
        caller,
        &headers,
        q.lang.as_deref(),
        format!("/programmes/{id}/sla"),
    )
    .await;
    if !may(&c, Action::ReadSla) {
        return refused(&c);
    }
    match s.store.programme(&id).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(&c),
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    }
    let sla = match s.store.sla(&id, crate::review::now_ms()).await {
        Ok(x) => x,
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    let state_groups: Vec<(String, Vec<Bar>)> = sla
        .by_state
        .iter()
        .map(|(state, n)| {
            let bar = Bar {
                class: "used",
                value: *n,
                text: c.lang.number(&n.to_string()),
            };
            (c.t(&format!("state.{state}")), vec![bar])
        })
        .collect();
    let days = |d: Option<i64>| d.map_or("–".to_owned(), |d| d.to_string());
    let bands = age_bands(&c, &sla.open_ages_days);
    let age_groups: Vec<(String, Vec<Bar>)> = bands
        .iter()
        .map(|(band, n)| {
            let bar = Bar {
                class: "used",
                value: *n,
                text: c.lang.number(&n.to_string()),
            };
            (band.clone(), vec![bar])
        })
        .collect();
    let body = html! {
        h2 { (c.t("sla.states")) }
        (bar_chart(&c.t("sla.states"), &c.t("chart.desc_table"), &state_groups))
        table {
            thead { tr { th scope="col" { (c.t("apps.state")) } th.num scope="col" { (c.t("sla.count")) } } }
            tbody { @for (state, n) in &sla.by_state { tr { td { (c.t(&format!("state.{state}"))) } td.num { (n) } } } }
        }
        h2 { (c.t("sla.ages")) }
        figure {
            (bar_chart(&c.t("sla.ages"), &c.t("chart.desc_table"), &age_groups))
            figcaption.legend { (c.t("sla.ages_legend")) }
        }
        table {
            caption { (c.t("sla.ages")) }
            thead { tr { th scope="col" { (c.t("sla.band")) } th.num scope="col" { (c.t("sla.count")) } } }
            tbody { @for (band, n) in &bands { tr { td { (band) } td.num { (c.lang.number(&n.to_string())) } } } }
        }
        dl.facts {
            dt { (c.t("sla.open")) } dd { (sla.open) }
            dt { (c.t("sla.age_median")) } dd { (days(sla.open_age_median_days)) }
            dt { (c.t("sla.age_max")) } dd { (days(sla.open_age_max_days)) }
            dt { (c.t("sla.overdue")) } dd { (sla.overdue_reviews) }
            dt { (c.t("sla.decision_median")) } dd { (days(sla.decision_median_days)) }
        }
        h2 { (c.t("sla.per_week")) }
        table {
            tbody { @for (week, n) in &sla.decisions_per_week { tr { td { (week) } td.num { (n) } } } }
        }
    };
    let title = format!("{} — {id}", c.t("sla.title"));
    respond(&c, StatusCode::OK, page(&c, &title, body))
}

/// Upper bounds (days, inclusive) of the age bands of the SLA page; the last band is open.
const AGE_BANDS: [i64; 5] = [7, 14, 30, 60, 90];

/// Open applications per age band (`0–7 days`, …, `more than 90 days`), every band shown.
fn age_bands(c: &Ctx, ages_days: &[i64]) -> Vec<(String, i64)> {
    let mut out = Vec::with_capacity(AGE_BANDS.len() + 1);
    let mut low = 0;
    for high in AGE_BANDS {
        let n = ages_days
            .iter()
            .filter(|a| (low..=high).contains(*a))
            .count();
        out.push((
            format!("{low}–{high} {}", c.t("sla.days")),
            i64::try_from(n).unwrap_or(i64::MAX),
        ));
        low = high + 1;
    }
    let last = AGE_BANDS[AGE_BANDS.len() - 1];
    let n = ages_days.iter().filter(|a| **a > last).count();
    out.push((
        c.t("sla.over").replace("{}", &last.to_string()),
        i64::try_from(n).unwrap_or(i64::MAX),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_applications_fall_into_every_age_band() {
        let c = Ctx {
            lang: Lang::En,
            user: None,
            csrf: String::new(),
            here: "/".into(),
        };
        let bands = age_bands(&c, &[0, 7, 8, 30, 31, 90, 91, 400]);
        let n: Vec<i64> = bands.iter().map(|(_, n)| *n).collect();
        assert_eq!(n, [2, 1, 1, 1, 1, 2]);
        assert_eq!(bands[0].0, "0–7 days");
        assert_eq!(bands[5].0, "more than 90 days");
        let zh = Ctx {
            lang: Lang::Zh,
            ..c
        };
        assert_eq!(age_bands(&zh, &[])[5], ("90天以上".to_owned(), 0));
    }
}
