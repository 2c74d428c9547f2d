//! Expert review through decisions, allowances, appeals and policy changes, on SQLite and
//! PostgreSQL: the whole life of an application, a product exclusion that the engine then
//! lifts for every importer, and authorisation for every new action.

mod common;

use common::{application_json, App};
use serde_json::{json, Value};
use waiver_domain::accounts::Role;

/// The review team of these tests: three officers, five experts (one affiliated with the
/// applicant's group) and their tokens.
struct Team {
    officer2: String,
    officer3: String,
    experts: Vec<(String, String)>,
}

async fn team(app: &App) -> Team {
    // The applicant of `app` is 3700HS0001 "Huasheng (fictional)"; expert.b is affiliated with it.
    // The per-role expert of `app` declares an interest in the applicant, so it is never drawn
    // and the draws below are fully determined by their seeds.
    app.state
        .store
        .declare_interest(
            &waiver_store::Actor::user("user.expert"),
            "user.expert",
            "3700HS0001",
        )
        .await
        .unwrap();
    let officer2 = app.add_user("officer.two", Role::Officer, None, None).await;
    let officer3 = app
        .add_user("officer.three", Role::Officer, None, None)
        .await;
    let mut experts = Vec::new();
    for (name, aff) in [
        ("expert.a", Some("China Agricultural University")),
        ("expert.b", Some("Huasheng (fictional)")),
        ("expert.c", Some("Dalian Commodity Exchange")),
        ("expert.d", None),
        ("expert.e", Some("CASS Institute of World Economics")),
    ] {
        let t = app.add_user(name, Role::Expert, None, aff).await;
        experts.push((name.to_owned(), t));
    }
    Team {
        officer2,
        officer3,
        experts,
    }
}

impl Team {
    fn expert(&self, name: &str) -> &str {
        &self.experts.iter().find(|(n, _)| n == name).unwrap().1
    }
}

fn sheet(score: u8, recommend: &str, quantity: Option<&str>) -> String {
    let mut v = json!({
        "scores": {
            "commercial_need": { "score": score, "rationale": "the crush plan needs the volume" },
            "contract_credibility": { "score": score, "rationale": "signed with a known exporter" },
            "plan_feasibility": { "score": score, "rationale": "two cargoes a month is realistic" }
        },
        "recommendation": recommend
    });
    if let Some(q) = quantity {
        v["recommended_quantity"] = json!(q);
    }
    v.to_string()
}

/// Files, submits and screens an application into review; returns its number.
async fn into_review(app: &App, line: &str) -> String {
    let (st, a) = app
        .call(
            "POST",
            "/api/v1/applications?submit=true",
            Some(app.token(Role::Applicant)),
            Some(&application_json("3700HS0001", line)),
        )
        .await;
    assert_eq!(st, 201, "{a}");
    let n = a["number"].as_str().unwrap().to_owned();
    let (st, a) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/screen"),
            Some(app.token(Role::Officer)),
            Some(r#"{"decision":"accept"}"#),
        )
        .await;
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["state"], "under_review");
    n
}

fn names(v: &Value, status: &str) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == status)
        .map(|a| a["expert"].as_str().unwrap().to_owned())
        .collect()
}

async fn an_application_lives_from_review_to_allowance_appeal_and_redating(app: &App) {
    let t = team(app).await;
    let officer = app.token(Role::Officer).to_owned();
    let applicant = app.token(Role::Applicant).to_owned();
    let n = into_review(app, "12019090").await;

    // Assignment: reproducible from the seed, never the conflicted expert.
    let (st, asg) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/assign"),
            Some(&officer),
            Some(r#"{"seed":"20190603"}"#),
        )
        .await;
    assert_eq!(st, 201, "{asg}");
    let first = names(&asg, "active");
    assert_eq!(first.len(), 3);
    assert!(!first.contains(&"expert.b".to_owned()), "{asg}");
    assert!(asg
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["seed"] == "20190603"));
    let (st, again) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/assign"),
            Some(&officer),
            Some("{}"),
        )
        .await;
    assert_eq!(st, 409, "assigning twice is refused: {again}");
    let trail = app
        .call(
            "GET",
            &format!("/api/v1/audit/application/{n}"),
            Some(&officer),
            None,
        )
        .await
        .1;
    let assign_entry = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "assign_experts")
        .unwrap();
    assert!(
        assign_entry["diff"].as_str().unwrap().contains("expert.b"),
        "the excluded conflict is recorded: {assign_entry}"
    );

    // An unassigned expert sees nothing of it.
    let outsider = ["expert.a", "expert.c", "expert.d", "expert.e"]
        .into_iter()
        .find(|e| !first.contains(&e.to_string()))
        .unwrap();
    let (st, _) = app
        .call(
            "GET",
            &format!("/api/v1/applications/{n}"),
            Some(t.expert(outsider)),
            None,
        )
        .await;
    assert_eq!(st, 404);
    let (st, _) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/scores"),
            Some(t.expert(outsider)),
            Some(&sheet(4, "approve", None)),
        )
        .await;
    assert_eq!(st, 404);

    // A conflict declared after assignment: replaced at once, the replacement recorded.
    let leaving = first[0].clone();
    let (st, rep) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/conflict"),
            Some(t.expert(&leaving)),
            Some(r#"{"reason":"consulted for Huasheng's parent in 2019"}"#),
        )
        .await;
    assert_eq!(st, 201, "{rep}");
    let replacement = rep["expert"].as_str().unwrap().to_owned();
    assert_eq!(replacement, outsider);
    let (_, asg) = app
        .call(
            "GET",
            &format!("/api/v1/applications/{n}/assignments"),
            Some(&officer),
            None,
        )
        .await;
    let replaced = asg
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["status"] == "replaced")
        .unwrap();
    assert_eq!(replaced["expert"], leaving.as_str());
    assert_eq!(replaced["replaced_by"], replacement.as_str());
    let current = names(&asg, "active");
    assert_eq!(current.len(), 3);
    let (st, _) = app
        .call(
            "GET",
            &format!("/api/v1/applications/{n}"),
            Some(t.expert(&leaving)),
            None,
        )
        .await;
    assert_eq!(
        st, 404,
        "an expert who withdrew over a conflict no longer sees the file"
    );

    // Scores: a bad sheet names its fields; experts never see each other's sheets.
    let (st, e) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/scores"),
            Some(t.expert(&current[0])),
            Some(&sheet(9, "approve", Some("70000"))),
        )
        .await;
    assert_eq!(st, 422, "{e}");
    assert_eq!(e["error"]["field"], "scores.commercial_need.score");
    for (i, name) in current.iter().enumerate() {
        // The first expert corrects a sheet: two versions are kept.
        if i == 0 {
            let (st, _) = app
                .call(
                    "POST",
                    &format!("/api/v1/applications/{n}/scores"),
                    Some(t.expert(name)),
                    Some(&sheet(2, "approve", Some("40000"))),
                )
                .await;
            assert_eq!(st, 201);
        }
        let (st, r) = app
            .call(
                "POST",
                &format!("/api/v1/applications/{n}/scores"),
                Some(t.expert(name)),
                Some(&sheet(4, "approve", Some("60000"))),
            )
            .await;
        assert_eq!(st, 201, "{r}");
    }
    let (_, mine) = app
        .call(
            "GET",
            &format!("/api/v1/applications/{n}/scores"),
            Some(t.expert(&current[0])),
            None,
        )
        .await;
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 2, "both versions, only mine");
    assert!(mine.iter().all(|s| s["expert"] == current[0].as_str()));
    assert_eq!(mine[1]["version"], 2);
    let (_, all) = app
        .call(
            "GET",
            &format!("/api/v1/applications/{n}/scores"),
            Some(&officer),
            None,
        )
        .await;
    assert_eq!(all.as_array().unwrap().len(), 4);
    let (_, review) = app
        .call(
            "GET",
            &format!("/api/v1/applications/{n}/review"),
            Some(&officer),
            None,
        )
        .await;
    assert_eq!(review["state"], "reviewed", "{review}");
    assert_eq!(review["aggregate"]["experts"], 3);
    assert_eq!(review["aggregate"]["overall_pct_milli"], 80_000);
    assert_eq!(review["aggregate"]["disagreement"], false);

    // The officer had contact with the applicant: the decision waits for a second officer.
    let (st, c) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/contacts"),
            Some(&officer),
            Some(
                r#"{"party":"Mr Wang, Huasheng trading desk","with_applicant":true,"at":"2026-11-20T10:30","channel":"phone","summary":"asked when the decision is due"}"#,
            ),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let decision = json!({
        "outcome": "partially_approve",
        "quantity": "50000",
        "reasons": {
            "commercial_need": "need shown for 50 000 t this season",
            "contract_credibility": "contract is credible",
            "plan_feasibility": "the second cargo is not yet chartered"
        }
    });
    let (st, e) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/decision"),
            Some(&officer),
            Some(&decision.to_string()),
        )
        .await;
    assert_eq!(st, 422, "departing from the experts needs a reason: {e}");
    assert_eq!(e["error"]["field"], "departure_reason");
    let mut decision = decision;
    decision["departure_reason"] =
        json!("experts recommended 60 000 t; the plan supports 50 000 t");
    let (st, d) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/decision"),
            Some(&officer),
            Some(&decision.to_string()),
        )
        .await;
    assert_eq!(st, 201, "{d}");
    assert_eq!(d["status"], "awaiting_countersignature");
    assert_eq!(d["departs"], true);
    let (st, _) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/decision/countersign"),
            Some(&officer),
            None,
        )
        .await;
    assert_eq!(st, 409, "the deciding officer cannot countersign");
    let (st, d) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/decision/countersign"),
            Some(&t.officer2),
            None,
        )
        .await;
    assert_eq!(st, 200, "{d}");
    assert_eq!(d["status"], "final");
    assert_eq!(d["countersigned_by"], "officer.two");

    // The allowance: WVR-<year>-000001, 50 000 t + 10% tolerance.
    let (_, list) = app
        .call("GET", "/api/v1/allowances", Some(&applicant), None)
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    let number = items[0]["number"].as_str().unwrap().to_owned();
    assert!(
        number.starts_with("WVR-") && number.ends_with("-000001"),
        "{number}"
    );
    let (st, al) = app
        .call(
            "GET",
            &format!("/api/v1/allowances/{number}"),
            Some(app.token(Role::Customs)),
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(al["granted_g"], 50_000_000_000i64);
    assert_eq!(al["tolerance_ppm"], 100_000);
    assert_eq!(al["remaining_g"], 55_000_000_000i64);
    assert_eq!(al["holder"], "3700HS0001");
    assert_eq!(al["entries"][0]["kind"], "grant");

    // Appeal of the partial approval; the officers who decided may not reconsider.
    let (st, ap) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/appeal"),
            Some(&applicant),
            Some(r#"{"grounds":"the second cargo is chartered: charter party attached"}"#),
        )
        .await;
    assert_eq!(st, 201, "{ap}");
    let amend = r#"{"outcome":"amend","quantity":"60000","reasons":"charter party shows the second cargo"}"#;
    for who in [&officer, &t.officer2] {
        let (st, _) = app
            .call(
                "POST",
                &format!("/api/v1/applications/{n}/reconsider"),
                Some(who),
                Some(amend),
            )
            .await;
        assert_eq!(st, 409);
    }
    let (st, r) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/reconsider"),
            Some(&t.officer3),
            Some(amend),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["outcome"], "amend");
    let (_, al) = app
        .call(
            "GET",
            &format!("/api/v1/allowances/{number}"),
            Some(&applicant),
            None,
        )
        .await;
    assert_eq!(al["granted_g"], 60_000_000_000i64);
    assert_eq!(al["granted"], "60000");
    assert_eq!(al["remaining"], "66000");
    assert_eq!(al["entries"][1]["kind"], "amend");
    assert_eq!(al["entries"][1]["quantity_g"], 10_000_000_000i64);

    // The 2025 episode as a policy change: every allowance re-dated, holders notified.
    let (st, pc) = app
        .call(
            "POST",
            "/api/v1/policy-changes",
            Some(&officer),
            Some(
                r#"{"programme":"CN-2020-MKT","effective_at":"2025-11-10","action":{"kind":"redate","valid_until":"2027-01-01"},"reason":"exclusions extended to 2026-12-31","source":"https://www.agbull.com/china-suspends-soybean-tariffs-under-trump-xi-agreement"}"#,
            ),
        )
        .await;
    assert_eq!(st, 201, "{pc}");
    assert_eq!(pc["affected"], 1);
    assert_eq!(pc["version"], 1);
    let first = pc["number"].as_str().unwrap().to_owned();
    let (_, al) = app
        .call(
            "GET",
            &format!("/api/v1/allowances/{number}"),
            Some(&applicant),
            None,
        )
        .await;
    assert_eq!(al["valid_until"], "2027-01-01T00:00:00+08:00");
    assert_eq!(al["entries"][2]["kind"], "policy_adjustment");
    let (_, notes) = app
        .call("GET", "/api/v1/notifications", Some(&applicant), None)
        .await;
    let kinds: Vec<&str> = notes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    for k in ["policy_change", "appeal_outcome", "decision"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }

    // A revision is the next version; the earlier record says who revised it.
    let revision = json!({
        "programme": "CN-2020-MKT", "effective_at": "2025-11-10",
        "action": { "kind": "redate", "valid_until": "2027-07-01" },
        "reason": "corrected end date", "supersedes": first
    });
    let (st, rev) = app
        .call(
            "POST",
            "/api/v1/policy-changes",
            Some(&officer),
            Some(&revision.to_string()),
        )
        .await;
    assert_eq!(st, 201, "{rev}");
    assert_eq!(rev["version"], 2);
    let (st, again) = app
        .call(
            "POST",
            "/api/v1/policy-changes",
            Some(&officer),
            Some(&revision.to_string()),
        )
        .await;
    assert_eq!(st, 409, "a revised change cannot be revised twice: {again}");
    let (_, all) = app.call("GET", "/api/v1/policy-changes", None, None).await;
    assert_eq!(all[0]["superseded_by"], rev["number"]);
    let (_, al) = app
        .call(
            "GET",
            &format!("/api/v1/allowances/{number}"),
            Some(&applicant),
            None,
        )
        .await;
    assert_eq!(al["valid_until"], "2027-07-01T00:00:00+08:00");

    // Suspending intake for a line: a new application for it is refused, naming the change.
    let (st, pc) = app
        .call(
            "POST",
            "/api/v1/policy-changes",
            Some(&officer),
            Some(r#"{"programme":"CN-2020-MKT","effective_at":"2025-08-01","action":{"kind":"suspend_intake","lines":["0203.21.90"]},"reason":"intake stopped for pork"}"#),
        )
        .await;
    assert_eq!(st, 201, "{pc}");
    let pol = pc["number"].as_str().unwrap().to_owned();
    let (st, e) = app
        .call(
            "POST",
            "/api/v1/applications",
            Some(&applicant),
            Some(&application_json("3700HS0001", "02032190")),
        )
        .await;
    assert_eq!(st, 422, "{e}");
    assert_eq!(e["error"]["field"], "line");
    assert!(
        e["error"]["message"].as_str().unwrap().contains(&pol),
        "{e}"
    );

    // The public register: aggregates, no enterprise, no confidential value; CSV too.
    let (st, reg) = app
        .call("GET", "/api/v1/register/decisions", None, None)
        .await;
    assert_eq!(st, 200);
    assert_eq!(reg["items"][0]["partially_approved"], 1);
    assert!(!reg.to_string().contains("3700HS0001"));
    assert!(!reg.to_string().contains("24000000"));
    let resp = common::raw_get(app, "/api/v1/register/decisions.csv").await;
    assert!(
        resp.starts_with("programme,line,decided,approved,partially_approved,rejected,amended_on_appeal,granted_kg\nCN-2020-MKT,12019090,1,0,1,0,1,60000000\n"),
        "{resp}"
    );

    // Service levels of the programme.
    let (st, sla) = app
        .call(
            "GET",
            "/api/v1/programmes/CN-2020-MKT/sla",
            Some(app.token(Role::Analyst)),
            None,
        )
        .await;
    assert_eq!(st, 200, "{sla}");
    assert_eq!(sla["by_state"]["reconsidered"], 1);
    assert_eq!(sla["decisions_per_week"].as_object().unwrap().len(), 1);

    let report = app.state.store.verify_audit().await.unwrap();
    assert_eq!(report.first_bad, None);
}

async fn a_product_exclusion_lifts_the_layers_for_every_importer(app: &App) {
    let t = team(app).await;
    let officer = app.token(Role::Officer).to_owned();
    // A product programme open now (the real 2019 rounds closed long ago).
    let mut spec = waiver_domain::programme::seed_programmes()
        .unwrap()
        .remove(0)
        .spec;
    spec.id = "CN-TEST-PRODUCT".into();
    spec.applications_open = "2020-01-01".into();
    spec.applications_close = None;
    spec.eligible_lines = vec!["12019090".into()];
    let (st, p) = app
        .call(
            "POST",
            "/api/v1/programmes",
            Some(&officer),
            Some(&serde_json::to_string(&spec).unwrap()),
        )
        .await;
    assert_eq!(st, 201, "{p}");
    let mut doc: Value = serde_json::from_str(&application_json("3700HS0001", "12019090")).unwrap();
    doc["programme"] = json!("CN-TEST-PRODUCT");
    doc["contract"]["overfill_pct"] = json!("0");
    doc["evidence"] = json!({ "alternative_sources": "Brazil only", "economic_damage": "crush margins", "structural_impact": "feed chain" });
    let (st, a) = app
        .call(
            "POST",
            "/api/v1/applications?submit=true",
            Some(app.token(Role::Applicant)),
            Some(&doc.to_string()),
        )
        .await;
    assert_eq!(st, 201, "{a}");
    let n = a["number"].as_str().unwrap().to_owned();
    app.call(
        "POST",
        &format!("/api/v1/applications/{n}/screen"),
        Some(&officer),
        Some(r#"{"decision":"accept"}"#),
    )
    .await;
    let (_, asg) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/assign"),
            Some(&officer),
            Some(r#"{"seed":"1"}"#),
        )
        .await;
    let sheet = json!({
        "scores": {
            "alternative_sources": { "score": 4, "rationale": "few alternatives in the off-season" },
            "economic_damage": { "score": 3, "rationale": "margins thin" },
            "structural_impact": { "score": 2, "rationale": "limited" }
        },
        "recommendation": "approve"
    })
    .to_string();
    for e in names(&asg, "active") {
        let (st, r) = app
            .call(
                "POST",
                &format!("/api/v1/applications/{n}/scores"),
                Some(t.expert(&e)),
                Some(&sheet),
            )
            .await;
        assert_eq!(st, 201, "{r}");
    }
    let line = json!({
        "code": "1201.90.90", "origin": "US", "declared_at": "2026-12-01",
        "quantity": "1000", "unit": "t", "customs_value": "3200000", "currency": "CNY"
    })
    .to_string();
    let (st, before) = app.call("POST", "/api/v1/assess", None, Some(&line)).await;
    assert_eq!(st, 200, "{before}");
    assert!(before["product_exclusion"].is_null());
    // A declaration before publication pays every layer (and fills the exclusions cache).
    let customs = app.token(Role::Customs).to_owned();
    let declaration = |number: &str| {
        json!({
            "number": number, "importer": "3200JY0002", "declared_at": "2026-12-01",
            "lines": [{ "line": 1, "code": "12019090", "origin": "US", "quantity": "1000",
                        "unit": "t", "customs_value": "3200000", "currency": "CNY" }]
        })
        .to_string()
    };
    let (st, d_before) = app
        .call(
            "POST",
            "/api/v1/declarations",
            Some(&customs),
            Some(&declaration("PX-BEFORE")),
        )
        .await;
    assert_eq!(st, 201, "{d_before}");
    assert_eq!(
        d_before["lines"][0]["excluded_duty_cny"], "0.00",
        "{d_before}"
    );
    // Refund candidates, all before publication: the importer of the applicant's enterprise
    // (half the cargo), one declaration then cancelled, one declared before the validity.
    let refund_declaration = |number: &str, importer: &str, at: &str, t: &str, v: &str| {
        json!({
            "number": number, "importer": importer, "declared_at": at,
            "lines": [{ "line": 1, "code": "12019090", "origin": "US", "quantity": t,
                        "unit": "t", "customs_value": v, "currency": "CNY" }]
        })
        .to_string()
    };
    for (number, importer, at, tonnes, value) in [
        ("PX-OWN", "3700HS0001", "2026-12-02", "500", "1600000"),
        ("PX-CANCEL", "3200JY0002", "2026-12-03", "1000", "3200000"),
        ("PX-OLD", "3200JY0002", "2026-10-15", "1000", "3200000"),
    ] {
        let (st, d) = app
            .call(
                "POST",
                "/api/v1/declarations",
                Some(&customs),
                Some(&refund_declaration(number, importer, at, tonnes, value)),
            )
            .await;
        assert_eq!(st, 201, "{d}");
    }
    let (st, c) = app
        .call(
            "POST",
            "/api/v1/declarations/PX-CANCEL/cancel",
            Some(&customs),
            None,
        )
        .await;
    assert_eq!(st, 200, "{c}");
    let decision = json!({
        "outcome": "approve",
        "valid_from": "2026-11-01",
        "reasons": { "alternative_sources": "shown", "economic_damage": "shown", "structural_impact": "weak but sufficient" }
    });
    let (st, d) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/decision"),
            Some(&officer),
            Some(&decision.to_string()),
        )
        .await;
    assert_eq!(st, 201, "{d}");
    assert_eq!(d["status"], "final");
    let (_, reg) = app
        .call("GET", "/api/v1/register/exclusions", None, None)
        .await;
    assert_eq!(reg["items"][0]["line"], "12019090", "{reg}");
    // Any importer, no claim: the layers in the programme's scope are lifted.
    let (st, after) = app.call("POST", "/api/v1/assess", None, Some(&line)).await;
    assert_eq!(st, 200, "{after}");
    assert_eq!(after["product_exclusion"]["application"], n.as_str());
    let lifted: Vec<&Value> = after["assessment"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["status"] != "charged")
        .collect();
    assert!(!lifted.is_empty(), "{after}");
    assert!(lifted.iter().all(|l| l["scope"] == "l301"));
    let total = |v: &Value| {
        v["assessment"]["total_cny"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    assert!(total(&after) < total(&before));
    // A declaration by an importer with no claim after publication has the same layers lifted.
    let (st, d_after) = app
        .call(
            "POST",
            "/api/v1/declarations",
            Some(&customs),
            Some(&declaration("PX-AFTER")),
        )
        .await;
    assert_eq!(st, 201, "{d_after}");
    assert_ne!(
        d_after["lines"][0]["excluded_duty_cny"], "0.00",
        "{d_after}"
    );
    assert_eq!(
        d_after["total_cny"], after["assessment"]["total_cny"],
        "{d_after} {after}"
    );
    // Refunds: the declarations that paid the lifted layers inside the validity get a claim
    // for the additional duty of those layers (no VAT); the cancelled one, the one before the
    // validity and the one after publication (paid nothing lifted) get none.
    let fen = |v: &Value| -> i64 {
        let s = v.as_str().unwrap();
        let (i, f) = s.split_once('.').unwrap();
        i.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap()
    };
    let (st, g) = app
        .call("POST", "/api/v1/refunds/generate", Some(&officer), None)
        .await;
    assert_eq!(st, 200, "{g}");
    assert_eq!(g["created"], 2, "{g}");
    let (st, again) = app
        .call("POST", "/api/v1/refunds/generate", Some(&officer), None)
        .await;
    assert_eq!(st, 200, "{again}");
    assert_eq!(again["created"], 0, "{again}");
    let (st, list) = app
        .call("GET", "/api/v1/refunds", Some(&customs), None)
        .await;
    assert_eq!(st, 200, "{list}");
    let items = list["items"].as_array().unwrap();
    let decls: Vec<&str> = items
        .iter()
        .map(|i| i["declaration"].as_str().unwrap())
        .collect();
    assert_eq!(decls, ["PX-BEFORE", "PX-OWN"], "{list}");
    let before_claim = &items[0];
    let paid = fen(&d_before["lines"][0]["additional_duty_cny"]);
    let still_owed = fen(&d_after["lines"][0]["additional_duty_cny"]);
    assert!(still_owed < paid);
    assert_eq!(fen(&before_claim["paid_additional_duty_cny"]), paid);
    assert_eq!(
        fen(&before_claim["refund_cny"]),
        paid - still_owed,
        "{list}"
    );
    // The engine's figure for the same line: the additional duty lifted, not the VAT on it.
    assert_eq!(
        fen(&before_claim["refund_cny"]),
        fen(&before["assessment"]["additional_duty_cny"])
            - fen(&after["assessment"]["additional_duty_cny"])
    );
    assert!(
        fen(&before_claim["refund_cny"])
            < fen(&before["assessment"]["total_cny"]) - fen(&after["assessment"]["total_cny"])
    );
    assert_eq!(before_claim["status"], "open");
    assert_eq!(before_claim["exclusion"], n.as_str());
    assert!(before_claim["deadline"].as_str().unwrap().len() >= 10);
    let own = &items[1];
    assert!(
        fen(&own["refund_cny"]) > 0
            && fen(&own["refund_cny"]) <= fen(&own["paid_additional_duty_cny"])
    );
    // The importer sees its own claims only.
    let (st, mine) = app
        .call(
            "GET",
            "/api/v1/refunds",
            Some(app.token(Role::Applicant)),
            None,
        )
        .await;
    assert_eq!(st, 200, "{mine}");
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine["items"][0]["declaration"], "PX-OWN");
    // CSV.
    let req = axum::http::Request::builder()
        .uri("/api/v1/refunds?format=csv")
        .header("authorization", format!("Bearer {customs}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(waiver_web::router(app.state.clone()), req)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = http_body_util::BodyExt::collect(resp.into_body())
        .await
        .unwrap()
        .to_bytes();
    let csv = String::from_utf8(bytes.to_vec()).unwrap();
    // Shown with --nocapture (the README tour quotes it).
    println!("{g}\n{}\n{csv}", serde_json::to_string(&items[0]).unwrap());
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some("id,exclusion,programme,declaration,line,importer,code,declared_at,paid_additional_duty_cny,refund_cny,deadline,status,revision,declaration_status,withdrawn_reason"),
        "{csv}"
    );
    assert_eq!(rows.count(), 2, "{csv}");
    // The refunds page: customs see every claim with a settle button, the importer its own,
    // the officer generates from it; forms need the CSRF token.
    let page = |method: &str, uri: &str, token: &str, form: Option<&str>| {
        let mut b = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"));
        if form.is_some() {
            b = b
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", format!("waiver_csrf={}", "c".repeat(64)));
        }
        let req = b
            .body(axum::body::Body::from(form.unwrap_or("").to_owned()))
            .unwrap();
        let router = waiver_web::router(app.state.clone());
        async move {
            let resp = tower::ServiceExt::oneshot(router, req).await.unwrap();
            let status = resp.status().as_u16();
            let location = resp
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned());
            let bytes = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, location, String::from_utf8(bytes.to_vec()).unwrap())
        }
    };
    let csrf = format!("csrf={}", "c".repeat(64));
    let (st, _, html) = page("GET", "/refunds", &customs, None).await;
    assert_eq!(st, 200, "{html}");
    for want in [
        "PX-BEFORE",
        "PX-OWN",
        "Mark settled",
        "/api/v1/refunds?format=csv",
        n.as_str(),
    ] {
        assert!(html.contains(want), "{want} in {html}");
    }
    assert_eq!(html.matches("action=\"/refunds/").count(), 2, "{html}");
    let (_, _, zh) = page("GET", "/refunds?lang=zh", &customs, None).await;
    assert!(zh.contains("标记为已退还") && !zh.contains('⟦'), "{zh}");
    let (st, _, mine) = page("GET", "/refunds", app.token(Role::Applicant), None).await;
    assert_eq!(st, 200);
    assert!(
        mine.contains("PX-OWN") && !mine.contains("PX-BEFORE"),
        "{mine}"
    );
    assert!(!mine.contains("Mark settled"), "{mine}");
    let (st, loc, _) = page("POST", "/refunds/generate", &officer, Some(&csrf)).await;
    assert_eq!(st, 303);
    assert_eq!(loc.as_deref(), Some("/refunds?created=0"));
    let (st, _, _) = page("POST", "/refunds/generate", &customs, Some(&csrf)).await;
    assert_eq!(st, 403, "customs do not generate");
    let before_id = items[0]["id"].as_i64().unwrap();
    let (st, _, _) = page(
        "POST",
        &format!("/refunds/{before_id}/settle"),
        &customs,
        Some("csrf=wrong"),
    )
    .await;
    assert_eq!(st, 403, "a wrong form token settles nothing");
    let (st, loc, _) = page(
        "POST",
        &format!("/refunds/{before_id}/settle"),
        &customs,
        Some(&csrf),
    )
    .await;
    assert_eq!(st, 303);
    assert_eq!(
        loc,
        Some(format!("/refunds?settled={before_id}#claim-{before_id}"))
    );
    let (_, _, html) = page(
        "GET",
        &format!("/refunds?settled={before_id}"),
        &customs,
        None,
    )
    .await;
    assert!(
        html.contains(&format!("Claim {before_id} marked settled.")),
        "{html}"
    );
    assert_eq!(html.matches("action=\"/refunds/").count(), 1, "{html}");
    // Settling: customs only, twice is the same answer, after the deadline refused.
    let id = before_claim["id"].as_i64().unwrap();
    let settle = format!("/api/v1/refunds/{id}/settle");
    let (st, s1) = app.call("POST", &settle, Some(&customs), None).await;
    assert_eq!(st, 200, "{s1}");
    assert_eq!(s1["status"], "settled");
    assert_eq!(
        s1["settled_by"], "user.customs",
        "settled through the page: {s1}"
    );
    let (st, s2) = app.call("POST", &settle, Some(&customs), None).await;
    assert_eq!(st, 200, "{s2}");
    assert_eq!(s2["settled_at_ms"], s1["settled_at_ms"]);
    assert_eq!(s1["declaration_status"], "accepted");
    // The claims follow their declaration. Amending PX-OWN after publication withdraws its open
    // claim, which can then not be settled; the amended revision is assessed with the exclusion
    // in force, so generating again finds nothing more due.
    let own_id = own["id"].as_i64().unwrap();
    assert_eq!(own["revision"], 1);
    let (st, amended) = app
        .call(
            "POST",
            "/api/v1/declarations/PX-OWN/amend",
            Some(&customs),
            Some(&refund_declaration(
                "PX-OWN",
                "3700HS0001",
                "2026-12-02",
                "400",
                "1280000",
            )),
        )
        .await;
    assert_eq!(st, 200, "{amended}");
    assert_ne!(
        amended["lines"][0]["excluded_duty_cny"], "0.00",
        "{amended}"
    );
    let (st, withdrawn) = app
        .call(
            "POST",
            &format!("/api/v1/refunds/{own_id}/settle"),
            Some(&customs),
            None,
        )
        .await;
    assert_eq!(st, 409, "{withdrawn}");
    assert_eq!(withdrawn["error"]["code"], "refund_claim_withdrawn");
    assert!(
        withdrawn["error"]["message"]
            .as_str()
            .unwrap()
            .contains("amended to revision 2"),
        "{withdrawn}"
    );
    let (st, g2) = app
        .call("POST", "/api/v1/refunds/generate", Some(&officer), None)
        .await;
    assert_eq!(st, 200, "{g2}");
    assert_eq!(g2["created"], 0, "{g2}");
    // Cancelling PX-BEFORE after its claim was settled leaves the claim settled and says the
    // declaration is cancelled: a refund for customs to recover.
    let (st, c) = app
        .call(
            "POST",
            "/api/v1/declarations/PX-BEFORE/cancel",
            Some(&customs),
            None,
        )
        .await;
    assert_eq!(st, 200, "{c}");
    let (_, list) = app
        .call("GET", "/api/v1/refunds", Some(&customs), None)
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert_eq!(items[0]["declaration"], "PX-BEFORE");
    assert_eq!(items[0]["status"], "settled");
    assert_eq!(items[0]["declaration_status"], "cancelled");
    assert_eq!(items[1]["declaration"], "PX-OWN");
    assert_eq!(items[1]["revision"], 1);
    assert_eq!(items[1]["status"], "withdrawn");
    assert_eq!(
        items[1]["withdrawn_reason"],
        "declaration amended to revision 2"
    );
    assert!(items[1]["withdrawn_at_ms"].as_i64().is_some());
    // After the deadline an open claim cannot be settled (the claim is re-opened and made late
    // on purpose), and cancelling its declaration withdraws it.
    app.state
        .store
        .execute_raw(&format!(
            "UPDATE refund_claims SET deadline_ms = 1000, status = 'open' WHERE id = {own_id}"
        ))
        .await
        .unwrap();
    let (st, late) = app
        .call(
            "POST",
            &format!("/api/v1/refunds/{own_id}/settle"),
            Some(&customs),
            None,
        )
        .await;
    assert_eq!(st, 409, "{late}");
    assert_eq!(late["error"]["code"], "refund_deadline_passed");
    let (st, _) = app
        .call(
            "POST",
            "/api/v1/declarations/PX-OWN/cancel",
            Some(&customs),
            None,
        )
        .await;
    assert_eq!(st, 200);
    let (_, list) = app
        .call("GET", "/api/v1/refunds", Some(&customs), None)
        .await;
    assert_eq!(list["items"][1]["status"], "withdrawn", "{list}");
    assert_eq!(
        list["items"][1]["withdrawn_reason"],
        "declaration cancelled"
    );
    assert_eq!(list["items"][1]["declaration_status"], "cancelled");
    let report = app.state.store.verify_audit().await.unwrap();
    assert_eq!(report.first_bad, None);
    // Outside validity nothing is lifted.
    let old = line.replace("2026-12-01", "2026-10-15");
    let (_, out) = app.call("POST", "/api/v1/assess", None, Some(&old)).await;
    assert!(out["product_exclusion"].is_null());
    // Without a price in a month that has no customs rate, the error names the field.
    let usd = line.replace("CNY", "USD");
    let (st, e) = app.call("POST", "/api/v1/assess", None, Some(&usd)).await;
    assert_eq!(st, 422);
    assert_eq!(e["error"]["field"], "currency");
}

async fn a_rejection_within_the_appeal_period_is_upheld_and_overdue_reviews_escalate(app: &App) {
    let t = team(app).await;
    let officer = app.token(Role::Officer).to_owned();
    let n = into_review(app, "12019010").await;
    let (_, asg) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/assign"),
            Some(&officer),
            Some(r#"{"seed":"99"}"#),
        )
        .await;
    let experts = names(&asg, "active");
    // Nothing is overdue yet; move one deadline into the past as time would.
    let (_, overdue) = app
        .call("GET", "/api/v1/reviews/overdue", Some(&officer), None)
        .await;
    assert_eq!(overdue.as_array().unwrap().len(), 0);
    app.state
        .store
        .execute_raw(&format!(
            "UPDATE assignments SET due_at_ms = 1000 WHERE application_number = '{n}' AND expert = '{}'",
            experts[0]
        ))
        .await
        .unwrap();
    let (_, overdue) = app
        .call("GET", "/api/v1/reviews/overdue", Some(&officer), None)
        .await;
    assert_eq!(overdue.as_array().unwrap().len(), 1);
    let (st, esc) = app
        .call("POST", "/api/v1/reviews/escalate", Some(&officer), None)
        .await;
    assert_eq!(st, 200);
    assert_eq!(esc.as_array().unwrap().len(), 1);
    let (_, esc2) = app
        .call("POST", "/api/v1/reviews/escalate", Some(&officer), None)
        .await;
    assert_eq!(esc2.as_array().unwrap().len(), 0, "escalated once");
    let (_, notes) = app
        .call(
            "GET",
            "/api/v1/notifications",
            Some(t.expert(&experts[0])),
            None,
        )
        .await;
    assert!(notes.to_string().contains("overdue"), "{notes}");

    for e in &experts {
        app.call(
            "POST",
            &format!("/api/v1/applications/{n}/scores"),
            Some(t.expert(e)),
            Some(&sheet(2, "reject", None)),
        )
        .await;
    }
    let reasons = json!({
        "commercial_need": "no crush capacity for the volume",
        "contract_credibility": "contract unsigned",
        "plan_feasibility": "no shipping plan"
    });
    let (st, e) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/decision"),
            Some(&officer),
            Some(
                &json!({ "outcome": "reject", "reasons": { "commercial_need": "x" } }).to_string(),
            ),
        )
        .await;
    assert_eq!(st, 422, "a reason for every criterion: {e}");
    assert_eq!(e["error"]["field"], "reasons.contract_credibility");
    let (st, d) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/decision"),
            Some(&officer),
            Some(&json!({ "outcome": "reject", "reasons": reasons }).to_string()),
        )
        .await;
    assert_eq!(st, 201, "{d}");
    assert_eq!(d["status"], "final");
    assert_eq!(d["departs"], false);
    let (st, _) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/appeal"),
            Some(app.token(Role::Applicant)),
            Some(r#"{"grounds":"the contract was signed on 2020-03-05; copy attached"}"#),
        )
        .await;
    assert_eq!(st, 201);
    let (st, r) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n}/reconsider"),
            Some(&t.officer2),
            Some(r#"{"outcome":"uphold","reasons":"the signed contract does not cure the missing capacity"}"#),
        )
        .await;
    assert_eq!(st, 200, "{r}");
    let (_, list) = app
        .call(
            "GET",
            "/api/v1/allowances",
            Some(app.token(Role::Applicant)),
            None,
        )
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // The appeal period: a decision older than it cannot be appealed.
    let n2 = into_review(app, "02032190").await;
    let (_, asg) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n2}/assign"),
            Some(&officer),
            Some(r#"{"seed":"5"}"#),
        )
        .await;
    for e in names(&asg, "active") {
        app.call(
            "POST",
            &format!("/api/v1/applications/{n2}/scores"),
            Some(t.expert(&e)),
            Some(&sheet(2, "reject", None)),
        )
        .await;
    }
    app.call(
        "POST",
        &format!("/api/v1/applications/{n2}/decision"),
        Some(&t.officer3),
        Some(&json!({ "outcome": "reject", "reasons": reasons }).to_string()),
    )
    .await;
    app.state
        .store
        .execute_raw(&format!(
            "UPDATE decisions SET final_at_ms = 1000 WHERE application_number = '{n2}'"
        ))
        .await
        .unwrap();
    let (st, e) = app
        .call(
            "POST",
            &format!("/api/v1/applications/{n2}/appeal"),
            Some(app.token(Role::Applicant)),
            Some(r#"{"grounds":"late"}"#),
        )
        .await;
    assert_eq!(st, 409, "{e}");
    assert_eq!(e["error"]["code"], "appeal_period_over");
}

async fn every_role_on_every_review_endpoint(app: &App) {
    let _t = team(app).await;
    let n = into_review(app, "12019090").await;
    let none = None::<String>;
    let b = |s: &str| Some(s.to_owned());
    // (method, uri, body, expected for: anonymous, applicant, expert, officer, customs,
    // analyst, admin). Authorisation is decided before the record or the body is looked at,
    // so a permitted role may still get 404/409/422 from the rules.
    let cases: Vec<(&str, String, Option<String>, [u16; 7])> = vec![
        (
            "GET",
            "/api/v1/experts".into(),
            none.clone(),
            [401, 403, 403, 200, 403, 403, 403],
        ),
        (
            "POST",
            "/api/v1/me/interests".into(),
            b(r#"{"interest":"COFCO"}"#),
            [401, 403, 201, 403, 403, 403, 403],
        ),
        (
            "GET",
            format!("/api/v1/applications/{n}/assignments"),
            none.clone(),
            [401, 403, 403, 200, 403, 403, 200],
        ),
        (
            "POST",
            format!("/api/v1/applications/{n}/assign"),
            b(r#"{"seed":"3"}"#),
            [401, 403, 403, 201, 403, 403, 403],
        ),
        (
            "GET",
            "/api/v1/assignments".into(),
            none.clone(),
            [401, 403, 200, 403, 403, 403, 403],
        ),
        (
            "POST",
            format!("/api/v1/applications/{n}/conflict"),
            b(r#"{"reason":"x"}"#),
            [401, 403, 404, 403, 403, 403, 403],
        ),
        (
            "GET",
            "/api/v1/reviews/overdue".into(),
            none.clone(),
            [401, 403, 403, 200, 403, 403, 200],
        ),
        (
            "POST",
            "/api/v1/reviews/escalate".into(),
            none.clone(),
            [401, 403, 403, 200, 403, 403, 403],
        ),
        (
            "POST",
            format!("/api/v1/applications/{n}/scores"),
            b(&sheet(3, "approve", None)),
            [401, 403, 404, 403, 403, 403, 403],
        ),
        (
            "GET",
            format!("/api/v1/applications/{n}/scores"),
            none.clone(),
            [401, 403, 404, 200, 403, 403, 200],
        ),
        (
            "GET",
            format!("/api/v1/applications/{n}/review"),
            none.clone(),
            [401, 403, 403, 200, 403, 403, 200],
        ),
        (
            "POST",
            format!("/api/v1/applications/{n}/contacts"),
            b(
                r#"{"party":"p","with_applicant":false,"at":"2026-11-01T09:00","channel":"email","summary":"s"}"#,
            ),
            [401, 403, 404, 201, 403, 403, 403],
        ),
        (
            "GET",
            format!("/api/v1/applications/{n}/contacts"),
            none.clone(),
            [401, 403, 403, 200, 403, 403, 200],
        ),
        (
            "POST",
            format!("/api/v1/applications/{n}/decision"),
            b(r#"{"outcome":"reject","reasons":{}}"#),
            [401, 403, 403, 422, 403, 403, 403],
        ),
        (
            "GET",
            format!("/api/v1/applications/{n}/decision"),
            none.clone(),
            [401, 404, 403, 404, 403, 403, 404],
        ),
        (
            "POST",
            format!("/api/v1/applications/{n}/decision/countersign"),
            none.clone(),
            [401, 403, 403, 404, 403, 403, 403],
        ),
        (
            "POST",
            format!("/api/v1/applications/{n}/appeal"),
            b(r#"{"grounds":"g"}"#),
            [401, 404, 403, 403, 403, 403, 403],
        ),
        (
            "GET",
            format!("/api/v1/applications/{n}/appeal"),
            none.clone(),
            [401, 404, 403, 404, 403, 403, 404],
        ),
        (
            "POST",
            format!("/api/v1/applications/{n}/reconsider"),
            b(r#"{"outcome":"uphold","reasons":"r"}"#),
            [401, 403, 403, 404, 403, 403, 403],
        ),
        (
            "GET",
            "/api/v1/allowances".into(),
            none.clone(),
            [401, 200, 403, 200, 200, 403, 200],
        ),
        (
            "GET",
            "/api/v1/allowances/WVR-2026-999999".into(),
            none.clone(),
            [401, 404, 403, 404, 404, 403, 404],
        ),
        (
            "GET",
            "/api/v1/policy-changes".into(),
            none.clone(),
            [200; 7],
        ),
        (
            "POST",
            "/api/v1/policy-changes".into(),
            b(
                r#"{"programme":"CN-2020-MKT","effective_at":"2030-01-01","action":{"kind":"suspend_intake"},"reason":"test"}"#,
            ),
            [401, 403, 403, 201, 403, 403, 403],
        ),
        (
            "GET",
            "/api/v1/notifications".into(),
            none.clone(),
            [401, 200, 200, 200, 200, 200, 200],
        ),
        (
            "GET",
            "/api/v1/register/exclusions".into(),
            none.clone(),
            [200; 7],
        ),
        (
            "GET",
            "/api/v1/register/exclusions.csv".into(),
            none.clone(),
            [200; 7],
        ),
        (
            "GET",
            "/api/v1/register/decisions".into(),
            none.clone(),
            [200; 7],
        ),
        (
            "GET",
            "/api/v1/register/decisions.csv".into(),
            none.clone(),
            [200; 7],
        ),
        (
            "GET",
            "/api/v1/programmes/CN-2020-MKT/sla".into(),
            none.clone(),
            [401, 403, 403, 200, 403, 200, 200],
        ),
        (
            "POST",
            "/api/v1/assess".into(),
            b(
                r#"{"code":"12019090","origin":"US","declared_at":"2026-01-05","quantity":"1","unit":"t","customs_value":"400","currency":"USD"}"#,
            ),
            [200; 7],
        ),
    ];
    let callers: Vec<Option<Role>> = std::iter::once(None).chain(Role::ALL.map(Some)).collect();
    for (method, uri, body, expected) in &cases {
        for (caller, want) in callers.iter().zip(expected) {
            let token = caller.map(|r| app.token(r).to_owned());
            let (status, json) = app
                .call(method, uri, token.as_deref(), body.as_deref())
                .await;
            assert_eq!(
                status.as_u16(),
                *want,
                "{method} {uri} as {caller:?}: {json}"
            );
            if status.is_client_error() {
                assert!(json["error"]["code"].is_string(), "{method} {uri}: {json}");
            }
        }
    }
}

async fn concurrent_assignments_and_decisions_happen_once(app: &App) {
    let t = team(app).await;
    let officer = app.token(Role::Officer).to_owned();
    let n = into_review(app, "12019090").await;
    let uri = format!("/api/v1/applications/{n}/assign");
    let calls = (0..8).map(|i| {
        let body = format!(r#"{{"seed":"{i}"}}"#);
        let (uri, officer) = (uri.clone(), officer.clone());
        async move { app.call("POST", &uri, Some(&officer), Some(&body)).await.0 }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert_eq!(
        statuses.iter().filter(|s| s.as_u16() == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| matches!(s.as_u16(), 201 | 409)),
        "{statuses:?}"
    );
    let (_, asg) = app
        .call(
            "GET",
            &format!("/api/v1/applications/{n}/assignments"),
            Some(&officer),
            None,
        )
        .await;
    assert_eq!(asg.as_array().unwrap().len(), 3, "{asg}");
    for e in names(&asg, "active") {
        app.call(
            "POST",
            &format!("/api/v1/applications/{n}/scores"),
            Some(t.expert(&e)),
            Some(&sheet(4, "approve", None)),
        )
        .await;
    }
    let decision = json!({ "outcome": "approve", "reasons": {
        "commercial_need": "a", "contract_credibility": "b", "plan_feasibility": "c" } })
    .to_string();
    let uri = format!("/api/v1/applications/{n}/decision");
    let calls = (0..6).map(|_| {
        let (uri, officer, decision) = (uri.clone(), officer.clone(), decision.clone());
        async move {
            app.call("POST", &uri, Some(&officer), Some(&decision))
                .await
                .0
        }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert_eq!(
        statuses.iter().filter(|s| s.as_u16() == 201).count(),
        1,
        "{statuses:?}"
    );
    let (_, list) = app
        .call("GET", "/api/v1/allowances", Some(&officer), None)
        .await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "one allowance: {list}"
    );
}

both!(
    concurrent_assignments_and_decisions_happen_once,
    an_application_lives_from_review_to_allowance_appeal_and_redating,
    a_product_exclusion_lifts_the_layers_for_every_importer,
    a_rejection_within_the_appeal_period_is_upheld_and_overdue_reviews_escalate,
    every_role_on_every_review_endpoint,
);
