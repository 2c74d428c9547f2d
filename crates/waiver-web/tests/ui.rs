//! The web interface through the router, on SQLite and PostgreSQL: pages in English and
//! Chinese, the security headers, CSRF on forms, sign-in, and role-scoped pages.

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use common::App;
use http_body_util::BodyExt;
use tower::ServiceExt;
use waiver_web::router;

async fn send(
    app: &App,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if body.is_some() {
        req = req.header("content-type", "application/x-www-form-urlencoded");
    }
    let req = req
        .body(body.map_or(Body::empty(), |b| Body::from(b.to_owned())))
        .unwrap();
    let resp = router(app.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

fn set_cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

/// Every page: a language, no missing translation, no inline script or style.
fn check_page(html: &str, lang: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains(&format!("<html lang=\"{lang}\"")), "{html}");
    assert!(
        !html.contains('⟦'),
        "a label is missing a translation: {html}"
    );
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains(" style="), "{html}");
    assert!(html.len() < 200 * 1024, "pages stay under 200 KB");
}

async fn pages_speak_english_and_chinese_and_carry_the_security_headers(app: &App) {
    let (st, h, html) = send(app, "GET", "/", &[], None).await;
    assert_eq!(st, StatusCode::OK);
    check_page(&html, "en");
    assert!(html.contains("Tariff look-up"));
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    let (_, _, zh) = send(
        app,
        "GET",
        "/",
        &[("accept-language", "zh-CN,zh;q=0.9")],
        None,
    )
    .await;
    check_page(&zh, "zh-Hans");
    assert!(zh.contains("税率查询"), "{zh}");
    // The switch is remembered in a cookie.
    let (_, h, _) = send(app, "GET", "/register?lang=zh", &[], None).await;
    assert_eq!(
        set_cookie(&h, "waiver_lang").as_deref(),
        Some("waiver_lang=zh")
    );
    // The API answers carry the same policy.
    let (_, h, _) = send(app, "GET", "/api/v1/programmes", &[], None).await;
    assert!(h.contains_key("content-security-policy"));
    let (st, h, css) = send(app, "GET", "/assets/waiver.css", &[], None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(css.contains(":focus"));
}

async fn the_tariff_page_shows_every_layer_and_names_a_bad_field(app: &App) {
    let (st, _, html) = send(
        app,
        "GET",
        "/tariff?code=1201.90.90&origin=US&at=2026-11-15",
        &[],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    check_page(&html, "en");
    for layer in ["MFN-12019090", "L301-1-soy", "L2025-all-10", "40.5%", "13%"] {
        assert!(html.contains(layer), "{layer} in {html}");
    }
    let (st, _, zh) = send(
        app,
        "GET",
        "/tariff?code=12019090&origin=US&at=2026-11-15&lang=zh",
        &[],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    check_page(&zh, "zh-Hans");
    assert!(zh.contains("其他非种用大豆"), "{zh}");
    let (st, _, bad) = send(app, "GET", "/tariff?code=12&origin=US", &[], None).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.contains("error-summary") && bad.contains("href=\"#code\""),
        "{bad}"
    );
    assert!(bad.contains("aria-invalid=\"true\""), "{bad}");
}

async fn signing_in_needs_the_form_token_and_opens_the_role_pages(app: &App) {
    // Anonymous: role pages ask to sign in.
    let (st, _, _) = send(app, "GET", "/applications", &[], None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, h, form) = send(app, "GET", "/sign-in", &[], None).await;
    assert_eq!(st, StatusCode::OK);
    check_page(&form, "en");
    let csrf_cookie = set_cookie(&h, "waiver_csrf").unwrap();
    let token = csrf_cookie.trim_start_matches("waiver_csrf=").to_owned();
    assert!(form.contains(&format!("value=\"{token}\"")));
    // A form without the matching token is refused, and nothing is signed in.
    let (st, h, _) = send(
        app,
        "POST",
        "/sign-in",
        &[("cookie", &csrf_cookie)],
        Some(&format!(
            "username=user.applicant&password=correct+horse+battery&csrf={}",
            "0".repeat(64)
        )),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(set_cookie(&h, "waiver_session").is_none());
    let (st, _, wrong) = send(
        app,
        "POST",
        "/sign-in",
        &[("cookie", &csrf_cookie)],
        Some(&format!(
            "username=user.applicant&password=nope+nope+nope&csrf={token}"
        )),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(wrong.contains("Wrong username or password"));
    let (st, h, _) = send(
        app,
        "POST",
        "/sign-in",
        &[("cookie", &csrf_cookie)],
        Some(&format!(
            "username=user.applicant&password=correct+horse+battery&csrf={token}"
        )),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let session = set_cookie(&h, "waiver_session").unwrap();
    let both = format!("{session}; {csrf_cookie}");
    let (st, _, home) = send(app, "GET", "/", &[("cookie", &both)], None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        home.contains("user.applicant") && home.contains("Sign out"),
        "{home}"
    );
    for page in ["/applications", "/allowances", "/notifications"] {
        let (st, _, html) = send(app, "GET", page, &[("cookie", &both)], None).await;
        assert_eq!(st, StatusCode::OK, "{page}");
        check_page(&html, "en");
        let (st, _, html) = send(
            app,
            "GET",
            &format!("{page}?lang=zh"),
            &[("cookie", &both)],
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{page}");
        check_page(&html, "zh-Hans");
    }
    // Someone else's record reads as absent.
    let (st, _, _) = send(
        app,
        "GET",
        "/allowances/WVR-2026-000099",
        &[("cookie", &both)],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // Signing out needs the token too.
    let (st, _, _) = send(
        app,
        "POST",
        "/sign-out",
        &[("cookie", &both)],
        Some("csrf=x"),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = send(
        app,
        "POST",
        "/sign-out",
        &[("cookie", &both)],
        Some(&format!("csrf={token}")),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (st, _, _) = send(app, "GET", "/applications", &[("cookie", &both)], None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "the session is gone");
}

async fn the_register_is_public_and_role_pages_follow_the_policy(app: &App) {
    let (st, _, html) = send(app, "GET", "/register", &[], None).await;
    assert_eq!(st, StatusCode::OK);
    check_page(&html, "en");
    assert!(html.contains("/api/v1/register/decisions.csv"));
    // A customs officer's session: allowances yes, applications no.
    let user = app.state.store.user("user.customs").await.unwrap().unwrap();
    let token = app.state.store.create_session(&user, 60_000).await.unwrap();
    let cookie = format!("waiver_session={token}");
    let (st, _, _) = send(app, "GET", "/allowances", &[("cookie", &cookie)], None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, html) = send(app, "GET", "/applications", &[("cookie", &cookie)], None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    check_page(&html, "en");
}

async fn workflow_forms_refuse_a_missing_token_and_the_wrong_role(app: &App) {
    // An applicant's submitted application to act on.
    let (st, a) = app
        .call(
            "POST",
            "/api/v1/applications?submit=true",
            Some(app.token(waiver_domain::accounts::Role::Applicant)),
            Some(&common::application_json("3700HS0001", "12019090")),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let n = a["number"].as_str().unwrap().to_owned();
    let session = |name: &'static str| async move {
        let u = app.state.store.user(name).await.unwrap().unwrap();
        let t = app.state.store.create_session(&u, 60_000).await.unwrap();
        format!("waiver_session={t}; waiver_csrf={}", "a".repeat(64))
    };
    let officer = session("user.officer").await;
    let applicant = session("user.applicant").await;
    let path = format!("/applications/{n}/screen");
    // No token: nothing happens.
    let (st, _, _) = send(
        app,
        "POST",
        &path,
        &[("cookie", &officer)],
        Some("decision=accept"),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // The wrong role, even with the token: refused.
    let token = format!("decision=accept&csrf={}", "a".repeat(64));
    let (st, _, _) = send(app, "POST", &path, &[("cookie", &applicant)], Some(&token)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (_, a) = app
        .call(
            "GET",
            &format!("/api/v1/applications/{n}"),
            Some(app.token(waiver_domain::accounts::Role::Officer)),
            None,
        )
        .await;
    assert_eq!(a["state"], "submitted", "nothing changed");
    // The officer with the token: accepted, back to the application.
    let (st, h, _) = send(app, "POST", &path, &[("cookie", &officer)], Some(&token)).await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(h["location"], format!("/applications/{n}"));
    let (_, a) = app
        .call(
            "GET",
            &format!("/api/v1/applications/{n}"),
            Some(app.token(waiver_domain::accounts::Role::Officer)),
            None,
        )
        .await;
    assert_eq!(a["state"], "under_review");
    // The application form re-renders with the error beside the field and keeps the input.
    let form = format!(
        "csrf={}&programme=CN-2020-MKT&enterprise=3700HS0001&line=12&quantity=5&unit=t&value=10&currency=USD&public_summary=keep+me",
        "a".repeat(64)
    );
    let (st, _, html) = send(
        app,
        "POST",
        "/applications/new",
        &[("cookie", &applicant)],
        Some(&form),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"line-error\""), "{html}");
    assert!(html.contains("value=\"keep me\""), "{html}");
}

async fn scenario_and_landed_pages_and_the_aid_panel(app: &App) {
    use waiver_domain::accounts::Role;
    let (st, _) = app
        .call(
            "POST",
            "/api/v1/scenarios",
            Some(app.token(Role::Analyst)),
            Some(r#"{"name":"No 2018 layer","changes":[{"op":"remove","measure":"L301-1-soy"}]}"#),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    for (q, lang) in [("", "en"), ("?lang=zh", "zh-Hans")] {
        let (st, _, html) = send(app, "GET", &format!("/scenarios{q}"), &[], None).await;
        assert_eq!(st, StatusCode::OK);
        check_page(&html, lang);
        assert!(html.contains("href=\"/scenarios/1\""), "{html}");
        let sep = if q.is_empty() { "?" } else { "&" };
        let (st, _, html) = send(
            app,
            "GET",
            &format!("/scenarios/1{q}{sep}month=2020-07"),
            &[],
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        check_page(&html, lang);
        assert!(
            html.contains("<svg") && html.contains("class=\"scen\""),
            "{html}"
        );
        let (st, _, html) = send(
            app,
            "GET",
            &format!("/landed-cost{q}{sep}month=2020-07&scenario=1"),
            &[],
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        check_page(&html, lang);
        assert!(html.contains("illustrative"), "{html}");
    }
    let (st, _, _) = send(app, "GET", "/scenarios/99", &[], None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The applicant's form: "Check the saving" shows the panel and files nothing.
    let (_, h, _) = send(app, "GET", "/sign-in", &[], None).await;
    let csrf_cookie = set_cookie(&h, "waiver_csrf").unwrap();
    let token = csrf_cookie.trim_start_matches("waiver_csrf=").to_owned();
    let (_, h, _) = send(
        app,
        "POST",
        "/sign-in",
        &[("cookie", &csrf_cookie)],
        Some(&format!(
            "username=user.applicant&password=correct+horse+battery&csrf={token}"
        )),
    )
    .await;
    let session = set_cookie(&h, "waiver_session").unwrap();
    let both = format!("{session}; {csrf_cookie}");
    let (st, _, html) = send(app, "GET", "/applications/new", &[("cookie", &both)], None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        html.contains("id=\"aid-title\"") && html.contains("name=\"action\""),
        "{html}"
    );
    let (st, _, html) = send(
        app,
        "POST",
        "/applications/new",
        &[("cookie", &both)],
        Some(&format!(
            "csrf={token}&programme=CN-2020-MKT&line=12019010&quantity=60000&unit=t&action=aid"
        )),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    check_page(&html, "en");
    assert!(html.contains("Saved on the requested quantity"), "{html}");
    assert!(html.contains("value=\"60000\""), "input kept: {html}");
    let (_, list) = app
        .call(
            "GET",
            "/api/v1/applications",
            Some(app.token(Role::Applicant)),
            None,
        )
        .await;
    assert_eq!(
        list["items"].as_array().map_or(0, Vec::len),
        0,
        "nothing filed: {list}"
    );
}

both!(
    workflow_forms_refuse_a_missing_token_and_the_wrong_role,
    pages_speak_english_and_chinese_and_carry_the_security_headers,
    the_tariff_page_shows_every_layer_and_names_a_bad_field,
    signing_in_needs_the_form_token_and_opens_the_role_pages,
    the_register_is_public_and_role_pages_follow_the_policy,
    scenario_and_landed_pages_and_the_aid_panel,
);
