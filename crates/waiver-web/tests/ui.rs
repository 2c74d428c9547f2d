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
    // Scripts only from this origin's assets, never inline.
    for (i, _) in html.match_indices("<script") {
        assert!(
            html[i..].starts_with("<script src=\"/assets/"),
            "inline script: {html}"
        );
    }
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

async fn the_application_form_is_checked_as_the_user_types(app: &App) {
    let session = |name: &'static str| async move {
        let u = app.state.store.user(name).await.unwrap().unwrap();
        let t = app.state.store.create_session(&u, 60_000).await.unwrap();
        format!("waiver_session={t}; waiver_csrf={}", "b".repeat(64))
    };
    let applicant = session("user.applicant").await;
    let (st, _, html) = send(
        app,
        "GET",
        "/applications/new",
        &[("cookie", &applicant)],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    check_page(&html, "en");
    assert!(
        html.contains("<script src=\"/assets/validate.js\" defer>"),
        "{html}"
    );
    assert!(
        html.contains("data-validate=\"/applications/validate\""),
        "{html}"
    );
    assert!(html.contains("id=\"monthly_plan\""), "{html}");
    let (st, h, js) = send(app, "GET", "/assets/validate.js", &[], None).await;
    assert_eq!(st, StatusCode::OK);
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(js.contains("/applications/validate") || js.contains("data-validate"));
    // A draft with a plan that does not add up and too much overfill: the problems come back by
    // input id, with the domain's words; nothing is stored.
    let draft = format!(
        "csrf={}&programme=CN-2020-MKT&enterprise=3700HS0001&line=12019090&quantity=40000&unit=t&value=16000000&currency=USD\
         &contract_number=C-1&contract_supplier=Gulf&contract_signed_on=2020-03-05&contract_quantity=40000&contract_overfill_pct=15\
         &plan_0_month=2020-04&plan_0_quantity=20000&plan_1_month=2020-05&plan_1_quantity=10000",
        "b".repeat(64)
    );
    let before = app
        .state
        .store
        .applications(&waiver_store::Scope::All, None, 500, 0)
        .await
        .unwrap()
        .len();
    let check = |body: String, cookie: String| async move {
        let req = Request::builder()
            .method("POST")
            .uri("/applications/validate")
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        let resp = router(app.state.clone()).oneshot(req).await.unwrap();
        let st = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            st,
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default(),
        )
    };
    let (st, v) = check(draft.clone(), applicant.clone()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let e = &v["errors"];
    assert!(
        e["monthly_plan"]
            .as_str()
            .unwrap()
            .contains("add up to 30000 t"),
        "{v}"
    );
    assert!(
        e["contract_overfill_pct"].as_str().unwrap().contains("10%"),
        "{v}"
    );
    assert!(
        e.get("line").is_none() && e.get("quantity").is_none(),
        "{v}"
    );
    // The same problems in Chinese for a Chinese page.
    let (_, v) = check(draft.clone(), format!("{applicant}; waiver_lang=zh")).await;
    assert!(
        v["errors"]["monthly_plan"]
            .as_str()
            .unwrap()
            .contains("各月合计"),
        "{v}"
    );
    // Fixed: no problems.
    let fixed = draft
        .replace("contract_overfill_pct=15", "contract_overfill_pct=10")
        .replace("plan_1_quantity=10000", "plan_1_quantity=20000")
        + "&evidence_commercial_need=a&evidence_contract_credibility=b&evidence_plan_feasibility=c&public_summary=s";
    let (st, v) = check(fixed, applicant.clone()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["errors"], serde_json::json!({}), "{v}");
    let after = app
        .state
        .store
        .applications(&waiver_store::Scope::All, None, 500, 0)
        .await
        .unwrap()
        .len();
    assert_eq!(before, after, "checking stores nothing");
    // Without the form token, or as another role: refused.
    let (st, _) = check(
        draft.replace(&"b".repeat(64), &"c".repeat(64)),
        applicant.clone(),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let officer = session("user.officer").await;
    let (st, _) = check(draft, officer).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn officer_expert_and_applicant_pages_follow_the_policy(app: &App) {
    let csrf = "d".repeat(64);
    let session = |name: &'static str| {
        let csrf = csrf.clone();
        async move {
            let u = app.state.store.user(name).await.unwrap().unwrap();
            let t = app.state.store.create_session(&u, 60_000).await.unwrap();
            format!("waiver_session={t}; waiver_csrf={csrf}")
        }
    };
    let officer = session("user.officer").await;
    let applicant = session("user.applicant").await;
    let expert = session("user.expert").await;
    // Every new page in both languages, for the role it is for.
    for (who, page) in [
        (&officer, "/programmes"),
        (&officer, "/programmes/CN-2020-MKT"),
        (&officer, "/programmes/new"),
        (&officer, "/programmes/new?from=CN-2020-MKT"),
        (&officer, "/policy-changes"),
        (&officer, "/reviews/overdue"),
        (&expert, "/queue"),
        (&applicant, "/enterprise"),
    ] {
        for (lang, tag) in [("en", "en"), ("zh", "zh-Hans")] {
            let sep = if page.contains('?') { '&' } else { '?' };
            let (st, _, html) = send(
                app,
                "GET",
                &format!("{page}{sep}lang={lang}"),
                &[("cookie", who)],
                None,
            )
            .await;
            assert_eq!(st, StatusCode::OK, "{page} {lang}: {html}");
            check_page(&html, tag);
        }
    }
    let (_, _, html) = send(app, "GET", "/enterprise", &[("cookie", &applicant)], None).await;
    assert!(html.contains("3700HS0001"), "{html}");
    // The wrong roles are refused; programmes and policy changes are public to read.
    for (who, page) in [
        (&applicant, "/programmes/new"),
        (&applicant, "/reviews/overdue"),
        (&officer, "/queue"),
        (&expert, "/enterprise"),
    ] {
        let (st, _, _) = send(app, "GET", page, &[("cookie", who)], None).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{page}");
    }
    let (st, _, _) = send(app, "GET", "/programmes", &[], None).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = send(app, "GET", "/reviews/overdue", &[], None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // A programme set up from the form, starting from an existing one.
    let (_, _, html) = send(
        app,
        "GET",
        "/programmes/new?from=CN-2020-MKT",
        &[("cookie", &officer)],
        None,
    )
    .await;
    assert!(html.contains("commercial_need |"), "{html}");
    let (p, _) = app
        .state
        .store
        .programme("CN-2020-MKT")
        .await
        .unwrap()
        .unwrap();
    let criteria = p
        .spec
        .review
        .criteria
        .iter()
        .map(|c| {
            format!(
                "{} | {} | {} | {} | {}",
                c.key, c.weight_pct, c.scale_max, c.name_en, c.name_zh
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let lines = p.spec.eligible_lines.join("\n");
    let good = |id: &str, criteria: &str| {
        form(&[
            ("csrf", &csrf),
            ("id", id),
            ("name_en", "Market-based exclusions 2021 (test)"),
            ("name_zh", "2021年市场化采购排除（测试）"),
            ("legal_basis", "Announcement (test)"),
            ("kind", "purchase"),
            ("eligible_lines", &lines),
            ("lifts_scopes", "l301"),
            ("applications_open", "2021-03-01"),
            ("applications_close", ""),
            ("validity_days", "365"),
            ("overfill_tolerance_pct", "10"),
            ("refunds", "none"),
            ("appeal_days", "30"),
            ("experts_per_application", "3"),
            ("review_days", "14"),
            ("criteria", criteria),
            ("sources", "https://example.org/announcement"),
            ("notes", ""),
        ])
    };
    // Weights that do not add up: the error sits beside the criteria, nothing is created.
    let bad = criteria
        .replacen(" | 40 | ", " | 45 | ", 1)
        .replacen(" | 30 | ", " | 35 | ", 1);
    let (st, _, html) = send(
        app,
        "POST",
        "/programmes/new",
        &[("cookie", &officer)],
        Some(&good("CN-2021-TST", &bad)),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("id=\"criteria-error\""), "{html}");
    assert!(app
        .state
        .store
        .programme("CN-2021-TST")
        .await
        .unwrap()
        .is_none());
    // The applicant cannot create one.
    let (st, _, _) = send(
        app,
        "POST",
        "/programmes/new",
        &[("cookie", &applicant)],
        Some(&good("CN-2021-TST", &criteria)),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, h, _) = send(
        app,
        "POST",
        "/programmes/new",
        &[("cookie", &officer)],
        Some(&good("CN-2021-TST", &criteria)),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(h["location"], "/programmes/CN-2021-TST");
    let (created, v) = app
        .state
        .store
        .programme("CN-2021-TST")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (created.spec.review.criteria.len(), v),
        (p.spec.review.criteria.len(), 1)
    );
    // The same id again is a conflict shown beside the id.
    let (st, _, html) = send(
        app,
        "POST",
        "/programmes/new",
        &[("cookie", &officer)],
        Some(&good("CN-2021-TST", &criteria)),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"id-error\""), "{html}");

    // Edited from its page while nothing is filed under it: a new version, audited.
    let (st, _, html) = send(
        app,
        "GET",
        "/programmes/CN-2021-TST/edit?lang=zh",
        &[("cookie", &officer)],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    check_page(&html, "zh-Hans");
    let edit = |version: &str, name: &str| {
        good("IGNORED", &criteria).replace(
            "name_en=Market-based%20exclusions%202021%20%28test%29",
            &format!("name_en={name}"),
        ) + &format!("&version={version}")
    };
    let (st, h, _) = send(
        app,
        "POST",
        "/programmes/CN-2021-TST/edit",
        &[("cookie", &officer)],
        Some(&edit("1", "Renamed")),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(h["location"], "/programmes/CN-2021-TST");
    let (edited, v) = app
        .state
        .store
        .programme("CN-2021-TST")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((edited.spec.name_en.as_str(), v), ("Renamed", 2));
    assert!(app
        .state
        .store
        .programme("IGNORED")
        .await
        .unwrap()
        .is_none());
    // From a stale version: refused, nothing changes.
    let (st, _, html) = send(
        app,
        "POST",
        "/programmes/CN-2021-TST/edit",
        &[("cookie", &officer)],
        Some(&edit("1", "Again")),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("reload it and edit again"), "{html}");
    let (_, v) = app
        .state
        .store
        .programme("CN-2021-TST")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v, 2);
    let (st, _, _) = send(
        app,
        "POST",
        "/programmes/CN-2021-TST/edit",
        &[("cookie", &applicant)],
        Some(&edit("2", "Mine")),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // A policy change published from the form, listed for everyone.
    let pc = |effective: &str| {
        form(&[
            ("csrf", &csrf),
            ("programme", "CN-2021-TST"),
            ("effective_at", effective),
            ("kind", "suspend_intake"),
            ("lines", ""),
            ("valid_until", ""),
            ("line", ""),
            ("holder", ""),
            ("reason", "Intake closed for the test programme"),
            ("source", "Announcement (test)"),
            ("supersedes", ""),
        ])
    };
    let (st, _, html) = send(
        app,
        "POST",
        "/policy-changes",
        &[("cookie", &officer)],
        Some(&pc("soon")),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"effective_at-error\""), "{html}");
    let (st, _, _) = send(
        app,
        "POST",
        "/policy-changes",
        &[("cookie", &applicant)],
        Some(&pc("2021-06-01")),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = send(
        app,
        "POST",
        "/policy-changes",
        &[("cookie", &officer)],
        Some(&pc("2021-06-01")),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, _, html) = send(
        app,
        "GET",
        "/policy-changes?programme=CN-2021-TST",
        &[],
        None,
    )
    .await;
    assert!(
        html.contains("Intake closed for the test programme"),
        "{html}"
    );

    // Escalating overdue reviews: officers only, with the form token.
    let (st, _, _) = send(
        app,
        "POST",
        "/reviews/escalate",
        &[("cookie", &officer)],
        Some("csrf=x"),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, h, _) = send(
        app,
        "POST",
        "/reviews/escalate",
        &[("cookie", &officer)],
        Some(&format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(h["location"], "/reviews/overdue");

    // A contact recorded on an application shows in its contact log and its history.
    let (st, a) = app
        .call(
            "POST",
            "/api/v1/applications?submit=true",
            Some(app.token(waiver_domain::accounts::Role::Applicant)),
            Some(&common::application_json("3700HS0001", "12019090")),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    let n = a["number"].as_str().unwrap().to_owned();
    let contact = form(&[
        ("csrf", &csrf),
        ("party", "Mr Li for Huasheng (fictional)"),
        ("with_applicant", "on"),
        ("at", "2020-04-02T10:00"),
        ("channel", "phone"),
        ("summary", "asked when the decision is due"),
    ]);
    let (st, _, _) = send(
        app,
        "POST",
        &format!("/applications/{n}/contact"),
        &[("cookie", &applicant)],
        Some(&contact),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // A contact without a time: refused with the store's reason, in Chinese on a Chinese page.
    let (st, _, html) = send(
        app,
        "POST",
        &format!("/applications/{n}/contact"),
        &[("cookie", &format!("{officer}; waiver_lang=zh"))],
        Some(&contact.replace("at=2020-04-02T10%3A00", "at=soon")),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    check_page(&html, "zh-Hans");
    assert!(html.contains("请按YYYY-MM-DDTHH:MM"), "{html}");
    let (st, _, _) = send(
        app,
        "POST",
        &format!("/applications/{n}/contact"),
        &[("cookie", &officer)],
        Some(&contact),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, _, html) = send(
        app,
        "GET",
        &format!("/applications/{n}"),
        &[("cookie", &officer)],
        None,
    )
    .await;
    check_page(&html, "en");
    assert!(html.contains("asked when the decision is due"), "{html}");
    assert!(
        html.contains("record_contact"),
        "the history shows it: {html}"
    );
    // A programme with an application filed under it is no longer edited in place.
    let (p, v) = app
        .state
        .store
        .programme("CN-2020-MKT")
        .await
        .unwrap()
        .unwrap();
    let mut fields: Vec<(String, String)> = vec![
        ("csrf".into(), csrf.clone()),
        ("version".into(), v.to_string()),
    ];
    for (k, val) in [
        ("name_en", p.spec.name_en.clone()),
        ("name_zh", p.spec.name_zh.clone()),
        ("legal_basis", p.spec.legal_basis.clone()),
        ("kind", "purchase".into()),
        ("eligible_lines", p.spec.eligible_lines.join("\n")),
        ("lifts_scopes", p.spec.lifts_scopes.join(",")),
        ("applications_open", p.spec.applications_open.clone()),
        (
            "applications_close",
            p.spec.applications_close.clone().unwrap_or_default(),
        ),
        ("validity_days", p.spec.validity_days.to_string()),
        (
            "overfill_tolerance_pct",
            p.spec.overfill_tolerance_pct.clone(),
        ),
        ("refunds", "none".into()),
        ("appeal_days", p.spec.appeal_days.to_string()),
        ("experts_per_application", "3".into()),
        ("review_days", p.spec.review.review_days.to_string()),
        ("criteria", criteria.clone()),
    ] {
        fields.push((k.into(), val));
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (st, _, html) = send(
        app,
        "POST",
        "/programmes/CN-2020-MKT/edit",
        &[("cookie", &officer)],
        Some(&form(&pairs)),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("policy change"), "{html}");
    assert_eq!(
        app.state
            .store
            .programme("CN-2020-MKT")
            .await
            .unwrap()
            .unwrap()
            .1,
        v
    );
    // The applicant does not see the contact log.
    let (_, _, html) = send(
        app,
        "GET",
        &format!("/applications/{n}"),
        &[("cookie", &applicant)],
        None,
    )
    .await;
    assert!(!html.contains("asked when the decision is due"), "{html}");
}

/// Every role on every page of the web interface that a GET opens (deny by default): the
/// status for anonymous, applicant, expert, officer, customs, analyst, admin.
async fn every_role_on_every_page(app: &App) {
    let mut cookies = vec![String::new()];
    for role in waiver_domain::accounts::Role::ALL {
        let u = app
            .state
            .store
            .user(&format!("user.{}", role.as_str()))
            .await
            .unwrap()
            .unwrap();
        let t = app.state.store.create_session(&u, 60_000).await.unwrap();
        cookies.push(format!("waiver_session={t}"));
    }
    let cases: [(&str, [u16; 7]); 20] = [
        ("/", [200; 7]),
        ("/tariff", [200; 7]),
        ("/register", [200; 7]),
        ("/programmes", [200; 7]),
        ("/programmes/CN-2020-MKT", [200; 7]),
        ("/policy-changes", [200; 7]),
        ("/programmes/new", [401, 403, 403, 200, 403, 403, 403]),
        ("/applications", [401, 200, 200, 200, 403, 403, 200]),
        ("/applications/new", [401, 200, 403, 403, 403, 403, 403]),
        ("/allowances", [401, 200, 403, 200, 200, 403, 200]),
        ("/reviews/overdue", [401, 403, 403, 200, 403, 403, 200]),
        ("/queue", [401, 403, 200, 403, 403, 403, 403]),
        ("/declarations/new", [401, 403, 403, 403, 200, 403, 403]),
        ("/declarations/csv", [401, 403, 403, 403, 200, 403, 403]),
        // Public: aggregates only (PRODUCT.md, analyst / public).
        ("/utilisation", [200; 7]),
        ("/utilisation.csv", [200; 7]),
        ("/quotas", [200; 7]),
        // Customs and officers see every claim, an importer its own.
        ("/refunds", [401, 200, 403, 200, 200, 403, 403]),
        // Officers and administrators have no enterprise of their own.
        ("/enterprise", [401, 200, 403, 404, 403, 403, 404]),
        (
            "/programmes/CN-2020-MKT/sla",
            [401, 403, 403, 200, 403, 200, 200],
        ),
    ];
    // Page weight: the document plus everything it loads (the stylesheet, and our script where
    // the page uses it) stays under 200 KB.
    let (_, _, css) = send(app, "GET", "/assets/waiver.css", &[], None).await;
    let (_, _, js) = send(app, "GET", "/assets/validate.js", &[], None).await;
    for (page, expected) in cases {
        for (who, want) in cookies.iter().zip(expected) {
            let headers: Vec<(&str, &str)> = if who.is_empty() {
                Vec::new()
            } else {
                vec![("cookie", who.as_str())]
            };
            let (st, _, html) = send(app, "GET", page, &headers, None).await;
            assert_eq!(st.as_u16(), want, "{page} as {who:?}");
            if page.ends_with(".csv") {
                continue;
            }
            check_page(&html, "en");
            let script = if html.contains("/assets/validate.js") {
                js.len()
            } else {
                0
            };
            assert!(
                html.len() + css.len() + script < 200 * 1024,
                "{page}: {} + {} + {script} bytes",
                html.len(),
                css.len()
            );
        }
    }
}

/// Customs declares through the form against an allowance: the assessment line by line, the
/// applicant sees the balance drop, a bad field is named, cancelling returns the quantity.
async fn customs_declares_through_the_form_and_the_holder_sees_the_balance_drop(app: &App) {
    waiver_store::testing::seed_allowance(
        &app.state.store,
        "WVR-2020-000900",
        "3700HS0001",
        "12019010",
        100 * 1_000_000,
        0,
        (
            waiver_domain::BjTime::parse_instant("2020-03-01").unwrap(),
            waiver_domain::BjTime::parse_instant("2021-03-01").unwrap(),
        ),
        &["l301"],
    )
    .await
    .unwrap();
    let csrf = "e".repeat(64);
    let session = |name: &'static str| {
        let csrf = csrf.clone();
        async move {
            let u = app.state.store.user(name).await.unwrap().unwrap();
            let t = app.state.store.create_session(&u, 60_000).await.unwrap();
            format!("waiver_session={t}; waiver_csrf={csrf}")
        }
    };
    let customs = session("user.customs").await;
    let applicant = session("user.applicant").await;
    for lang in [("en", "en"), ("zh", "zh-Hans")] {
        let (st, _, html) = send(
            app,
            "GET",
            &format!("/declarations/new?lang={}", lang.0),
            &[("cookie", &customs)],
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        check_page(&html, lang.1);
        assert!(html.contains("name=\"csrf\""), "{html}");
    }
    let fields = |qty: &str, token: &str| {
        form(&[
            ("csrf", token),
            ("number", "D-UI-1"),
            ("importer", "3700HS0001"),
            ("declared_at", "2020-06-01"),
            ("l1_code", "12019010"),
            ("l1_origin", "US"),
            ("l1_quantity", qty),
            ("l1_unit", "t"),
            ("l1_value", "40000"),
            ("l1_currency", "USD"),
            ("l1_allowance", "WVR-2020-000900"),
            ("l2_code", ""),
            ("l2_quantity", ""),
        ])
    };
    // No token, the wrong role: nothing declared.
    let (st, _, _) = send(
        app,
        "POST",
        "/declarations/new",
        &[("cookie", &customs)],
        Some(&fields("60", &"f".repeat(64))),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = send(
        app,
        "POST",
        "/declarations/new",
        &[("cookie", &applicant)],
        Some(&fields("60", &csrf)),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // A bad quantity is named beside its field, the input kept.
    let (st, _, html) = send(
        app,
        "POST",
        "/declarations/new",
        &[("cookie", &customs)],
        Some(&fields("abc", &csrf)),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    check_page(&html, "en");
    assert!(html.contains("href=\"#l1_quantity\""), "{html}");
    assert!(html.contains("value=\"abc\""), "{html}");
    // 60 t declared against 100 t: covered, the rest of the allowance shown.
    let (st, h, _) = send(
        app,
        "POST",
        "/declarations/new",
        &[("cookie", &customs)],
        Some(&fields("60", &csrf)),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(h["location"], "/declarations/D-UI-1");
    let (st, _, html) = send(
        app,
        "GET",
        "/declarations/D-UI-1",
        &[("cookie", &customs)],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    check_page(&html, "en");
    for s in [
        "WVR-2020-000900",
        "Covered by the allowance",
        "40",
        "L301",
        "lifted",
        "/declarations/D-UI-1/cancel",
    ] {
        assert!(html.contains(s), "{s} in {html}");
    }
    let (_, _, zh) = send(
        app,
        "GET",
        "/declarations/D-UI-1?lang=zh",
        &[("cookie", &customs)],
        None,
    )
    .await;
    check_page(&zh, "zh-Hans");
    // The holder sees the balance drop and may read the declaration, not cancel it.
    let (_, _, html) = send(
        app,
        "GET",
        "/allowances/WVR-2020-000900",
        &[("cookie", &applicant)],
        None,
    )
    .await;
    assert!(html.contains("<strong>40 t</strong>"), "{html}");
    let (st, _, html) = send(
        app,
        "GET",
        "/declarations/D-UI-1",
        &[("cookie", &applicant)],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert!(!html.contains("/cancel"), "{html}");
    // The holder files a purchase report from the allowance page.
    let (st, _, _) = send(
        app,
        "POST",
        "/allowances/WVR-2020-000900/purchase-reports",
        &[("cookie", &applicant)],
        Some(&form(&[
            ("csrf", &csrf),
            ("month", "2020-06"),
            ("quantity", "55"),
            ("price", "410.50"),
            ("currency", "USD"),
        ])),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, _, html) = send(
        app,
        "GET",
        "/allowances/WVR-2020-000900?lang=zh",
        &[("cookie", &applicant)],
        None,
    )
    .await;
    check_page(&html, "zh-Hans");
    assert!(
        html.contains("2020-06") && html.contains("410.50"),
        "{html}"
    );
    let (st, _, _) = send(
        app,
        "POST",
        "/allowances/WVR-2020-000900/purchase-reports",
        &[("cookie", &customs)],
        Some(&form(&[
            ("csrf", &csrf),
            ("month", "2020-07"),
            ("quantity", "1"),
            ("price", "1"),
            ("currency", "USD"),
        ])),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // Look-up by number.
    let (st, h, _) = send(
        app,
        "GET",
        "/allowances?number=WVR-2020-000900",
        &[("cookie", &customs)],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    assert_eq!(h["location"], "/allowances/WVR-2020-000900");
    // Cancelling needs the token and returns the quantity.
    let (st, _, _) = send(
        app,
        "POST",
        "/declarations/D-UI-1/cancel",
        &[("cookie", &customs)],
        Some("csrf=x"),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = send(
        app,
        "POST",
        "/declarations/D-UI-1/cancel",
        &[("cookie", &customs)],
        Some(&form(&[("csrf", &csrf)])),
    )
    .await;
    assert_eq!(st, StatusCode::SEE_OTHER);
    let (_, _, html) = send(
        app,
        "GET",
        "/allowances/WVR-2020-000900",
        &[("cookie", &applicant)],
        None,
    )
    .await;
    assert!(html.contains("<strong>100 t</strong>"), "{html}");
    let (_, _, html) = send(
        app,
        "GET",
        "/declarations/D-UI-1",
        &[("cookie", &customs)],
        None,
    )
    .await;
    assert!(
        html.contains("cancelled") && !html.contains("/cancel\""),
        "{html}"
    );
    let (st, _, _) = send(
        app,
        "GET",
        "/declarations/NOPE",
        &[("cookie", &customs)],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
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

/// Customs pastes a CSV of declarations: good declarations are recorded, a bad row is named by
/// row and column and its declaration recorded not at all; the wrong role and a missing token
/// change nothing.
async fn customs_declares_a_csv_and_every_row_is_accounted_for(app: &App) {
    waiver_store::testing::seed_allowance(
        &app.state.store,
        "WVR-2020-000901",
        "3700HS0001",
        "12019010",
        100 * 1_000_000,
        0,
        (
            waiver_domain::BjTime::parse_instant("2020-03-01").unwrap(),
            waiver_domain::BjTime::parse_instant("2021-03-01").unwrap(),
        ),
        &["l301"],
    )
    .await
    .unwrap();
    let csrf = "f".repeat(64);
    let session = |name: &'static str| {
        let csrf = csrf.clone();
        async move {
            let u = app.state.store.user(name).await.unwrap().unwrap();
            let t = app.state.store.create_session(&u, 60_000).await.unwrap();
            format!("waiver_session={t}; waiver_csrf={csrf}")
        }
    };
    let customs = session("user.customs").await;
    let applicant = session("user.applicant").await;
    for (lang, tag) in [("en", "en"), ("zh", "zh-Hans")] {
        let (st, _, html) = send(
            app,
            "GET",
            &format!("/declarations/csv?lang={lang}"),
            &[("cookie", &customs)],
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        check_page(&html, tag);
        assert!(html.contains("number,importer,declared_at"), "{html}");
    }
    let csv = "number,importer,declared_at,shipped_on,line,code,origin,quantity,unit,customs_value,currency,allowance\n\
               CSV-1,3700HS0001,2020-06-01,,1,12019010,US,10,t,4000,USD,WVR-2020-000901\n\
               CSV-1,3700HS0001,2020-06-01,,2,12019010,US,5,t,2000,USD,\n\
               CSV-2,3700HS0001,2020-06-02,,1,12019010,US,-3,t,1200,USD,\n\
               CSV-3,3700HS0001,2020-06-03,,1,12019010,US,20,t,8000,USD,WVR-2020-000901\n";
    let body = |token: &str| form(&[("csrf", token), ("csv", csv)]);
    let (st, _, _) = send(
        app,
        "POST",
        "/declarations/csv",
        &[
            ("cookie", &applicant),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        Some(&body(&csrf)),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _, _) = send(
        app,
        "POST",
        "/declarations/csv",
        &[
            ("cookie", &customs),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        Some(&body("wrong")),
    )
    .await;
    assert_ne!(st, StatusCode::OK);
    assert!(app
        .state
        .store
        .declaration("CSV-1")
        .await
        .unwrap()
        .is_none());
    let (st, _, html) = send(
        app,
        "POST",
        "/declarations/csv",
        &[
            ("cookie", &customs),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        Some(&body(&csrf)),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    check_page(&html, "en");
    // Two good declarations recorded (one of two lines), the bad one named by row and column.
    assert!(app
        .state
        .store
        .declaration("CSV-1")
        .await
        .unwrap()
        .is_some());
    assert!(app
        .state
        .store
        .declaration("CSV-3")
        .await
        .unwrap()
        .is_some());
    assert!(app
        .state
        .store
        .declaration("CSV-2")
        .await
        .unwrap()
        .is_none());
    assert!(html.contains("row 3, column quantity"), "{html}");
    assert!(html.contains("href=\"/declarations/CSV-1\""), "{html}");
    let a = app
        .state
        .store
        .allowance("WVR-2020-000901")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.used_g, 30 * 1_000_000);
    // A missing column is named, nothing recorded.
    let (st, _, html) = send(
        app,
        "POST",
        "/declarations/csv",
        &[
            ("cookie", &customs),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        Some(&form(&[
            ("csrf", &csrf),
            ("csv", "number,importer\nX,3700HS0001\n"),
        ])),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("no `declared_at` column"), "{html}");
}

/// A `multipart/form-data` body: (field name, file name, content) per part.
fn multipart(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, file, content) in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes(),
            ),
            None => out.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// Posts a multipart body (the CSV page's form) with the cookie.
async fn send_multipart(
    app: &App,
    uri: &str,
    cookie: &str,
    boundary: &str,
    body: Vec<u8>,
) -> (StatusCode, String) {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("cookie", cookie)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let resp = router(app.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

/// Customs uploads a CSV file (multipart, the page's real form): the same limits and the same
/// "every row accounted for" answer as the paste box; the file wins over the box; the token is
/// read from the multipart form; the wrong role, a wrong token, a file over the limit and a
/// file that is not UTF-8 record nothing.
async fn customs_uploads_a_csv_file_and_every_row_is_accounted_for(app: &App) {
    waiver_store::testing::seed_allowance(
        &app.state.store,
        "WVR-2020-000903",
        "3700HS0001",
        "12019010",
        100 * 1_000_000,
        0,
        (
            waiver_domain::BjTime::parse_instant("2020-03-01").unwrap(),
            waiver_domain::BjTime::parse_instant("2021-03-01").unwrap(),
        ),
        &["l301"],
    )
    .await
    .unwrap();
    let csrf = "d".repeat(64);
    let session = |name: &'static str| {
        let csrf = csrf.clone();
        async move {
            let u = app.state.store.user(name).await.unwrap().unwrap();
            let t = app.state.store.create_session(&u, 60_000).await.unwrap();
            format!("waiver_session={t}; waiver_csrf={csrf}")
        }
    };
    let customs = session("user.customs").await;
    let applicant = session("user.applicant").await;
    // The page's form is multipart with a labelled file field, in both languages.
    for (lang, tag) in [("en", "en"), ("zh", "zh-Hans")] {
        let (st, _, html) = send(
            app,
            "GET",
            &format!("/declarations/csv?lang={lang}"),
            &[("cookie", &customs)],
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        check_page(&html, tag);
        for s in [
            "enctype=\"multipart/form-data\"",
            "<label for=\"csv_file\"",
            "id=\"csv_file\" name=\"file\" type=\"file\"",
        ] {
            assert!(html.contains(s), "{s} in {html}");
        }
    }
    let file = "\u{feff}number,importer,declared_at,shipped_on,line,code,origin,quantity,unit,customs_value,currency,allowance\n\
                UP-1,3700HS0001,2020-06-01,,1,12019010,US,10,t,4000,USD,WVR-2020-000903\n\
                UP-1,3700HS0001,2020-06-01,,2,12019010,US,5,t,2000,USD,\n\
                UP-2,3700HS0001,2020-06-02,,1,12019010,US,-3,t,1200,USD,\n\
                UP-3,3700HS0001,2020-06-03,,1,12019010,US,20,t,8000,USD,WVR-2020-000903\n";
    let b = "----waiver-test-boundary";
    // The paste box holds only the header (as the page pre-fills it): the file is used.
    let body = |token: &str, content: &[u8]| {
        multipart(
            b,
            &[
                ("csrf", None, token.as_bytes()),
                ("csv", None, b"number,importer,declared_at\n"),
                ("file", Some("june.csv"), content),
            ],
        )
    };
    let (st, _) = send_multipart(
        app,
        "/declarations/csv",
        &applicant,
        b,
        body(&csrf, file.as_bytes()),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = send_multipart(
        app,
        "/declarations/csv",
        &customs,
        b,
        body(&"0".repeat(64), file.as_bytes()),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = send_multipart(
        app,
        "/declarations/csv",
        &customs,
        b,
        multipart(b, &[("file", Some("june.csv"), file.as_bytes())]),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "no token at all");
    assert!(app.state.store.declaration("UP-1").await.unwrap().is_none());
    let (st, html) = send_multipart(
        app,
        "/declarations/csv",
        &customs,
        b,
        body(&csrf, file.as_bytes()),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    check_page(&html, "en");
    for (n, recorded) in [("UP-1", true), ("UP-2", false), ("UP-3", true)] {
        assert_eq!(
            app.state.store.declaration(n).await.unwrap().is_some(),
            recorded,
            "{n}"
        );
    }
    for s in [
        "row 3, column quantity",
        "href=\"/declarations/UP-1\"",
        "href=\"/declarations/UP-3\"",
        "june.csv",
    ] {
        assert!(html.contains(s), "{s} in {html}");
    }
    let a = app
        .state
        .store
        .allowance("WVR-2020-000903")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.used_g, 30 * 1_000_000);
    // The same file again: every declaration replayed or refused again, nothing drawn twice.
    let (_, html) = send_multipart(
        app,
        "/declarations/csv",
        &customs,
        b,
        body(&csrf, file.as_bytes()),
    )
    .await;
    assert!(html.contains("Already recorded"), "{html}");
    let a = app
        .state
        .store
        .allowance("WVR-2020-000903")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.used_g, 30 * 1_000_000);
    // Limits: over 1 MB is refused as a whole, so is a file that is not UTF-8; in Chinese too.
    let mut big = b"number,importer,declared_at,shipped_on,line,code,origin,quantity,unit,customs_value,currency,allowance\n".to_vec();
    while big.len() <= 1 << 20 {
        big.extend_from_slice(b"BIG-1,3700HS0001,2020-06-01,,1,12019010,US,1,t,400,USD,\n");
    }
    let (st, html) = send_multipart(app, "/declarations/csv", &customs, b, body(&csrf, &big)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("larger than 1048576 bytes"), "{html}");
    let (st, html) = send_multipart(
        app,
        "/declarations/csv",
        &customs,
        b,
        body(&csrf, b"number\n\xff\xfe\n"),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("not UTF-8"), "{html}");
    assert!(app
        .state
        .store
        .declaration("BIG-1")
        .await
        .unwrap()
        .is_none());
    // More than 2 000 rows (under 1 MB) is refused with nothing recorded.
    let mut rows = b"number,importer,declared_at,shipped_on,line,code,origin,quantity,unit,customs_value,currency,allowance\n".to_vec();
    for i in 0..2_001 {
        rows.extend_from_slice(
            format!("R-{i},3700HS0001,2020-06-01,,1,12019010,US,1,t,400,USD,\n").as_bytes(),
        );
    }
    let (st, html) =
        send_multipart(app, "/declarations/csv", &customs, b, body(&csrf, &rows)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("more than 2000 rows"), "{html}");
    assert!(app.state.store.declaration("R-0").await.unwrap().is_none());
    // With no file chosen, the paste box is used (multipart, as the browser sends it).
    let paste = "number,importer,declared_at,shipped_on,line,code,origin,quantity,unit,customs_value,currency,allowance\n\
                 UP-4,3700HS0001,2020-06-04,,1,12019010,US,1,t,400,USD,WVR-2020-000903\n";
    let (st, html) = send_multipart(
        app,
        "/declarations/csv?lang=zh",
        &customs,
        b,
        multipart(
            b,
            &[
                ("csrf", None, csrf.as_bytes()),
                ("csv", None, paste.as_bytes()),
                ("file", Some(""), b""),
            ],
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{html}");
    assert!(app.state.store.declaration("UP-4").await.unwrap().is_some());
}

/// The allowance page compares the monthly plan with imports (chart and table); utilisation is
/// public, aggregates only, with the duty-forgone chart; the SLA page charts open applications
/// by age. Both languages.
async fn plan_against_imports_public_utilisation_and_sla_ages(app: &App) {
    waiver_store::testing::seed_allowance(
        &app.state.store,
        "WVR-2020-000904",
        "3700HS0001",
        "12019010",
        60_000 * 1_000_000,
        0,
        (
            waiver_domain::BjTime::parse_instant("2020-03-01").unwrap(),
            waiver_domain::BjTime::parse_instant("2021-03-01").unwrap(),
        ),
        &["l301"],
    )
    .await
    .unwrap();
    let spec = common::application_json("3700HS0001", "12019010");
    app.state
        .store
        .execute_raw(&format!(
            "UPDATE applications SET spec = '{spec}' WHERE number = 'APP-WVR-2020-000904'"
        ))
        .await
        .unwrap();
    let csrf = "c".repeat(64);
    let session = |name: &'static str| {
        let csrf = csrf.clone();
        async move {
            let u = app.state.store.user(name).await.unwrap().unwrap();
            let t = app.state.store.create_session(&u, 60_000).await.unwrap();
            format!("waiver_session={t}; waiver_csrf={csrf}")
        }
    };
    let customs = session("user.customs").await;
    let applicant = session("user.applicant").await;
    let analyst = session("user.analyst").await;
    let officer = session("user.officer").await;
    // 25 000 t in April, 1 000 t in June.
    for (n, at, t) in [
        ("PL-1", "2020-04-03", "25000"),
        ("PL-2", "2020-06-01", "1000"),
    ] {
        let (st, _, html) = send(
            app,
            "POST",
            "/declarations/new",
            &[("cookie", &customs)],
            Some(&form(&[
                ("csrf", &csrf),
                ("number", n),
                ("importer", "3700HS0001"),
                ("declared_at", at),
                ("l1_code", "12019010"),
                ("l1_origin", "US"),
                ("l1_quantity", t),
                ("l1_unit", "t"),
                ("l1_value", "4000000"),
                ("l1_currency", "USD"),
                ("l1_allowance", "WVR-2020-000904"),
            ])),
        )
        .await;
        assert_eq!(st, StatusCode::SEE_OTHER, "{html}");
    }
    let (st, _, html) = send(
        app,
        "GET",
        "/allowances/WVR-2020-000904",
        &[("cookie", &applicant)],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    check_page(&html, "en");
    for s in [
        "Purchase plan and imports per month",
        // The chart: an image with a name and a text alternative, bars per month.
        "role=\"img\" aria-label=\"Planned, imported and reported quantities per month\"",
        "<desc>The table below gives the same figures.</desc>",
        "class=\"planned\"",
        "class=\"imported\"",
        "30,000 t",
        "25,000 t",
        // The table: April planned 30 000, imported 25 000, −5 000; May −30 000; June +1 000.
        "<td>2020-04</td><td class=\"num\">30,000</td><td class=\"num\">25,000</td><td class=\"num\">-5,000</td>",
        "<td>2020-05</td><td class=\"num\">30,000</td><td class=\"num\">0</td><td class=\"num\">-30,000</td>",
        "<td>2020-06</td><td class=\"num\">0</td><td class=\"num\">1,000</td><td class=\"num\">1,000</td>",
        "/api/v1/allowances/WVR-2020-000904/plan?format=csv",
    ] {
        assert!(html.contains(s), "{s} in {html}");
    }
    let (_, _, zh) = send(
        app,
        "GET",
        "/allowances/WVR-2020-000904?lang=zh",
        &[("cookie", &applicant)],
        None,
    )
    .await;
    check_page(&zh, "zh-Hans");
    assert!(
        zh.contains("每月采购计划与实际进口") && zh.contains("30,000 t"),
        "{zh}"
    );
    // Utilisation without signing in: aggregates, the duty-forgone chart, no importer and no
    // allowance named, no link to the (signed-in) API report.
    let a = app
        .state
        .store
        .utilisation(waiver_domain::BjTime::parse_instant("2026-01-01").unwrap())
        .await
        .unwrap();
    let april = a
        .iter()
        .find(|u| u.month.as_deref() == Some("2020-04"))
        .unwrap();
    assert!(april.duty_forgone_fen > 0);
    let april_cny = waiver_domain::Fen(april.duty_forgone_fen).to_string();
    for (lang, tag, unit) in [("en", "en", "CNY"), ("zh", "zh-Hans", "元")] {
        let (st, _, html) = send(app, "GET", &format!("/utilisation?lang={lang}"), &[], None).await;
        assert_eq!(st, StatusCode::OK, "{html}");
        check_page(&html, tag);
        assert!(html.contains("class=\"forgone\""), "{html}");
        let (int, frac) = april_cny.split_once('.').unwrap();
        let grouped = waiver_web::ui::i18n::Lang::En.number(int);
        assert!(
            html.contains(&format!("{grouped}.{frac} {unit}")),
            "{grouped}.{frac} {unit} in {html}"
        );
        for secret in [
            "3700HS0001",
            "WVR-2020-000904",
            "PL-1",
            "reports/utilisation",
        ] {
            assert!(!html.contains(secret), "{secret} in {html}");
        }
    }
    // The page's CSV, for everyone: the same aggregates as the API report (public too).
    let (_, _, html) = send(app, "GET", "/utilisation", &[], None).await;
    assert!(html.contains("href=\"/utilisation.csv\""), "{html}");
    let (st, h, csv) = send(app, "GET", "/utilisation.csv", &[], None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(h["content-type"], "text/csv; charset=utf-8");
    assert!(
        !csv.contains("3700HS0001") && !csv.contains("WVR-"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(
            "CN-2020-MKT,12019010,2020-04,,25000000,,,{april_cny}"
        )),
        "{csv}"
    );
    let (st, _, api_csv) = send(
        app,
        "GET",
        "/api/v1/reports/utilisation?format=csv",
        &[("cookie", &analyst)],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(api_csv, csv);
    let (st, _, anon_csv) = send(
        app,
        "GET",
        "/api/v1/reports/utilisation?format=csv",
        &[],
        None,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(anon_csv, csv);
    // The SLA page charts open applications by age, every band shown.
    for (lang, tag, band) in [("en", "en", "0–7 days"), ("zh", "zh-Hans", "0–7 天")] {
        let (st, _, html) = send(
            app,
            "GET",
            &format!("/programmes/CN-2020-MKT/sla?lang={lang}"),
            &[("cookie", &officer)],
            None,
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        check_page(&html, tag);
        assert!(html.contains(band), "{band} in {html}");
        assert_eq!(html.matches("<svg class=\"chart\"").count(), 2, "{html}");
    }
}

/// The quotas page: public use, reached date and notices in both languages; the ledger (whose
/// causes name declarations) only for the roles that may read it.
async fn the_quotas_page_shows_use_and_notices_and_the_ledger_to_customs(app: &App) {
    let store = &app.state.store;
    let us = waiver_domain::CountryCode::parse("US").unwrap();
    store
        .create_quota(
            &waiver_store::Actor::user("user.officer"),
            &waiver_store::quotas::NewQuota {
                measure: "SG-2026-beef".into(),
                origin: us,
                goods: vec![
                    waiver_domain::CodePrefix::parse("0201").unwrap(),
                    waiver_domain::CodePrefix::parse("0202").unwrap(),
                ],
                year: 2026,
                quota_g: 1_000_000_000,
            },
        )
        .await
        .unwrap();
    store
        .record_quota_imports(
            &waiver_store::Actor::user("user.officer"),
            "SG-2026-beef/US/2026",
            1_000_000_000,
            waiver_domain::BjTime::parse_instant("2026-03-10T16:00").unwrap(),
            "imports recorded: SECRET-SOURCE",
        )
        .await
        .unwrap();
    for (lang, tag, reached, from) in [
        ("en", "en", "10 Mar 2026 16:00", "13 Mar 2026"),
        ("zh", "zh-Hans", "2026年3月10日 16:00", "2026年3月13日"),
    ] {
        let (st, _, html) = send(app, "GET", &format!("/quotas?lang={lang}"), &[], None).await;
        assert_eq!(st, StatusCode::OK, "{html}");
        check_page(&html, tag);
        for want in ["SG-2026-beef", "1,000", "100.00%", reached, from, "<svg"] {
            assert!(html.contains(want), "{want} in {html}");
        }
        assert!(!html.contains("SECRET-SOURCE"), "{html}");
    }
    let u = store.user("user.customs").await.unwrap().unwrap();
    let t = store.create_session(&u, 60_000).await.unwrap();
    let cookie = format!("waiver_session={t}");
    let (_, _, html) = send(app, "GET", "/quotas", &[("cookie", cookie.as_str())], None).await;
    assert!(html.contains("SECRET-SOURCE"), "{html}");
}

both!(
    the_quotas_page_shows_use_and_notices_and_the_ledger_to_customs,
    customs_uploads_a_csv_file_and_every_row_is_accounted_for,
    plan_against_imports_public_utilisation_and_sla_ages,
    customs_declares_a_csv_and_every_row_is_accounted_for,
    scenario_and_landed_pages_and_the_aid_panel,
    customs_declares_through_the_form_and_the_holder_sees_the_balance_drop,
    every_role_on_every_page,
    officer_expert_and_applicant_pages_follow_the_policy,
    the_application_form_is_checked_as_the_user_types,
    workflow_forms_refuse_a_missing_token_and_the_wrong_role,
    pages_speak_english_and_chinese_and_carry_the_security_headers,
    the_tariff_page_shows_every_layer_and_names_a_bad_field,
    signing_in_needs_the_form_token_and_opens_the_role_pages,
    the_register_is_public_and_role_pages_follow_the_policy,
);
