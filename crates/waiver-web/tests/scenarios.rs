//! Scenarios, landed cost and the applicant aid through the API, on SQLite and PostgreSQL.

mod common;

use common::App;
use waiver_domain::accounts::Role;

const SCENARIO: &str = r#"{"name":"No 2018 layer","description":"What if the July 2018 25% had never applied","changes":[
    {"op":"remove","measure":"L301-1-soy"},
    {"op":"add","id":"BR-5","goods":"1201","origin":"BR","kind":"additional","duty":"5%","start":"2020-01-01","end":"2021-01-01"}]}"#;

async fn scenarios_are_created_edited_and_applied(app: &App) {
    let analyst = app.token(Role::Analyst).to_owned();
    let (s, j) = app
        .call("POST", "/api/v1/scenarios", Some(&analyst), Some(SCENARIO))
        .await;
    assert_eq!(s.as_u16(), 201, "{j}");
    let id = j["id"].as_i64().unwrap();
    assert_eq!(j["version"], 1);
    // Under the scenario: the 25% layer is gone for U.S. soybeans in July 2020.
    let (s, t) = app
        .call(
            "GET",
            &format!("/api/v1/scenarios/{id}/tariff?code=12019010&origin=US&at=2020-07-15"),
            None,
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{t}");
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(ids(&t["actual"]).contains(&"L301-1-soy".to_owned()));
    assert!(!ids(&t["scenario"]).contains(&"L301-1-soy".to_owned()));
    assert_eq!(t["actual"]["additional_rate_pct"], "27.5");
    assert_eq!(t["scenario"]["additional_rate_pct"], "2.5");
    // Replay: duty per line and month, actual vs scenario.
    let lines = r#"{"lines":[
        {"code":"12019010","origin":"US","declared_at":"2020-07-15","quantity":"60000","unit":"t","customs_value":"24000000"},
        {"code":"12019010","origin":"BR","declared_at":"2020-07-20","quantity":"60000","unit":"t","customs_value":"24000000"},
        {"code":"12019010","origin":"US","declared_at":"2020-08-03","quantity":"1000","unit":"t","customs_value":"400000","excluded":true}]}"#;
    let (s, r) = app
        .call(
            "POST",
            &format!("/api/v1/scenarios/{id}/replay"),
            None,
            Some(lines),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{r}");
    assert_eq!(r["lines"][0]["actual"]["duty_cny"], "7320000.00");
    assert_eq!(r["lines"][0]["scenario"]["duty_cny"], "1320000.00");
    assert_eq!(r["lines"][1]["duty_difference_cny"], "1200000.00");
    assert_eq!(r["lines"][2]["duty_difference_cny"], "0.00");
    assert_eq!(r["months"].as_array().unwrap().len(), 2);
    assert_eq!(r["duty_difference_cny"], "-4800000.00");
    // A bad line names its index and column.
    let (s, e) = app
        .call(
            "POST",
            &format!("/api/v1/scenarios/{id}/replay"),
            None,
            Some(r#"{"lines":[{"code":"1201","origin":"US","declared_at":"2020-07-15","quantity":"1","unit":"t","customs_value":"1"}]}"#),
        )
        .await;
    assert_eq!(
        (s.as_u16(), e["error"]["field"].as_str()),
        (422, Some("lines[0].code")),
        "{e}"
    );
    // Edit: a new version; the old one is kept; a stale edit is refused.
    let edited = SCENARIO.replace("No 2018 layer", "No 2018 layer, v2");
    let (s, j) = app
        .call(
            "PUT",
            &format!("/api/v1/scenarios/{id}?expected_version=1"),
            Some(app.token(Role::Officer)),
            Some(&edited),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{j}");
    assert_eq!(j["version"], 2);
    assert_eq!(j["versions"].as_array().unwrap().len(), 2);
    let (s, _) = app
        .call(
            "PUT",
            &format!("/api/v1/scenarios/{id}?expected_version=1"),
            Some(&analyst),
            Some(&edited),
        )
        .await;
    assert_eq!(s.as_u16(), 409);
    let (_, old) = app
        .call(
            "GET",
            &format!("/api/v1/scenarios/{id}?version=1"),
            None,
            None,
        )
        .await;
    assert_eq!(old["spec"]["name"], "No 2018 layer");
    assert_eq!(old["current_version"], 2);
    // Audited: create and edit, with the actors.
    let (_, trail) = app
        .call(
            "GET",
            &format!("/api/v1/audit/scenario/{id}"),
            Some(app.token(Role::Admin)),
            None,
        )
        .await;
    let trail = trail.to_string();
    assert!(
        trail.contains("\"create\"") && trail.contains("\"edit\""),
        "{trail}"
    );
}

async fn bad_scenarios_name_the_field_and_store_nothing(app: &App) {
    let analyst = app.token(Role::Analyst).to_owned();
    let bad = r#"{"name":"x","changes":[{"op":"change","measure":"L301-1-soy","duty":"lots"}]}"#;
    let (s, e) = app
        .call("POST", "/api/v1/scenarios", Some(&analyst), Some(bad))
        .await;
    assert_eq!(s.as_u16(), 422, "{e}");
    assert_eq!(e["error"]["field"], "changes[0].duty");
    assert!(e["error"]["message"].as_str().unwrap().contains("lots"));
    let (s, e) = app
        .call(
            "POST",
            "/api/v1/scenarios",
            Some(&analyst),
            Some(r#"{"name":"x","changes":[{"op":"shrink"}]}"#),
        )
        .await;
    assert_eq!(s.as_u16(), 422, "{e}");
    let (_, list) = app.call("GET", "/api/v1/scenarios", None, None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    let (s, _) = app
        .call(
            "GET",
            "/api/v1/scenarios/42/tariff?code=12019010&origin=US&at=2020-07-15",
            None,
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 404);
}

async fn landed_cost_under_a_scenario_and_the_aid(app: &App) {
    let (_, j) = app
        .call(
            "POST",
            "/api/v1/scenarios",
            Some(app.token(Role::Analyst)),
            Some(SCENARIO),
        )
        .await;
    let id = j["id"].as_i64().unwrap();
    let body = format!(
        r#"{{"scenario":{id},"at":"2020-07-15","quotes":[
        {{"label":"US Gulf","origin":"US","code":"12019010","cbot_c_bu":"900","premium_c_bu":"60","freight_usd_t":"40","port_charge_cny_t":"80"}},
        {{"label":"Brazil","origin":"BR","code":"12019010","cbot_c_bu":"900","premium_c_bu":"100","freight_usd_t":"32","port_charge_cny_t":"80"}}]}}"#
    );
    let (s, r) = app
        .call("POST", "/api/v1/landed-cost", None, Some(&body))
        .await;
    assert_eq!(s.as_u16(), 200, "{r}");
    let rows = r["rows"].as_array().unwrap();
    // Actual: the U.S. pays 3% + 27.5% and is dearer; under the scenario it is cheapest.
    assert_eq!(rows[0]["rank"], 2);
    assert_eq!(rows[0]["scenario_rank"], 1);
    assert_eq!(rows[1]["scenario_rank"], 2);
    let (s, e) = app
        .call(
            "POST",
            "/api/v1/landed-cost",
            None,
            Some(r#"{"quotes":[{"origin":"US","code":"12019010","at":"2020-07-15","fob_usd_t":"-1","freight_usd_t":"1"}]}"#),
        )
        .await;
    assert_eq!(
        (s.as_u16(), e["error"]["field"].as_str()),
        (422, Some("quotes[0].fob_usd_t")),
        "{e}"
    );
    let (s, a) = app
        .call(
            "GET",
            "/api/v1/applications/aid?programme=CN-2020-MKT&code=12019010&quantity=60000&unit=t&at=2020-07-15",
            None,
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{a}");
    assert_eq!(a["month"], "2020-07");
    assert!(a["saving_cny"].as_str().unwrap().parse::<f64>().unwrap() > 0.0);
    assert!(a["us_cheapest_with_exclusion"].is_boolean());
    assert!(a["quotes_note"].as_str().unwrap().contains("illustrative"));
    let (s, e) = app
        .call(
            "GET",
            "/api/v1/applications/aid?programme=CN-2020-MKT&code=12019010&quantity=0&unit=t",
            None,
            None,
        )
        .await;
    assert_eq!(
        (s.as_u16(), e["error"]["field"].as_str()),
        (422, Some("quantity"))
    );
}

/// Recorded declarations replayed under a scenario: a covered line keeps its exclusion, an
/// uncovered one pays the 2018 layer actually and not under the scenario; a partly covered line
/// is split pro rata; cancelled declarations are left out; only roles that read utilisation.
async fn recorded_declarations_replay_under_a_scenario(app: &App) {
    let analyst = app.token(Role::Analyst).to_owned();
    let customs = app.token(Role::Customs).to_owned();
    let (s, j) = app
        .call("POST", "/api/v1/scenarios", Some(&analyst), Some(SCENARIO))
        .await;
    assert_eq!(s.as_u16(), 201, "{j}");
    let id = j["id"].as_i64().unwrap();
    waiver_store::testing::seed_allowance(
        &app.state.store,
        "WVR-2020-000777",
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
    let decl = |number: &str, tonnes: &str, allowance: Option<&str>| {
        let mut l = serde_json::json!({"line": 1, "code": "12019010", "origin": "US", "quantity": tonnes,
            "unit": "t", "customs_value": "400000", "currency": "USD"});
        if let Some(a) = allowance {
            l["allowance"] = serde_json::json!(a);
        }
        serde_json::json!({"number": number, "importer": "3700HS0001", "declared_at": "2020-07-15", "lines": [l]})
            .to_string()
    };
    for (n, t, a) in [
        ("RP-COVERED", "50", Some("WVR-2020-000777")),
        ("RP-UNCOVERED", "1000", None),
        ("RP-PARTLY", "100", Some("WVR-2020-000777")),
        ("RP-CANCELLED", "10", None),
    ] {
        let (s, v) = app
            .call(
                "POST",
                "/api/v1/declarations",
                Some(&customs),
                Some(&decl(n, t, a)),
            )
            .await;
        assert_eq!(s.as_u16(), 201, "{v}");
    }
    let (s, _) = app
        .call(
            "POST",
            "/api/v1/declarations/RP-CANCELLED/cancel",
            Some(&customs),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 200);
    let url = format!("/api/v1/scenarios/{id}/replay?from=2020-07&to=2020-07");
    let (s, r) = app.call("GET", &url, Some(&analyst), None).await;
    assert_eq!(s.as_u16(), 200, "{r}");
    // Covered 50 t; uncovered 1000 t; 100 t of which 50 t covered (the allowance had 50 t
    // left) and 50 t not: four replay lines, the cancelled declaration absent.
    let lines = r["replay"]["lines"]
        .as_array()
        .or(r["lines"].as_array())
        .unwrap();
    assert_eq!(lines.len(), 4, "{r}");
    let actual: i64 = r["actual_duty_cny"]
        .as_str()
        .unwrap()
        .replace('.', "")
        .parse()
        .unwrap();
    let scen: i64 = r["scenario_duty_cny"]
        .as_str()
        .unwrap()
        .replace('.', "")
        .parse()
        .unwrap();
    assert!(
        scen < actual,
        "removing the 2018 layer lowers duty on uncovered lines: {r}"
    );
    // Only the months asked for.
    let (s, r) = app
        .call(
            "GET",
            &format!("/api/v1/scenarios/{id}/replay?from=2020-08&to=2020-09"),
            Some(&analyst),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{r}");
    assert_eq!(r["lines"].as_array().map_or(0, Vec::len), 0, "{r}");
    // A bad month names the field; an applicant may not read recorded declarations.
    let (s, e) = app
        .call(
            "GET",
            &format!("/api/v1/scenarios/{id}/replay?from=2020-13&to=2020-07"),
            Some(&analyst),
            None,
        )
        .await;
    assert_eq!(s.as_u16(), 422, "{e}");
    assert_eq!(e["error"]["field"], "from");
    let (s, _) = app
        .call("GET", &url, Some(app.token(Role::Applicant)), None)
        .await;
    assert_eq!(s.as_u16(), 403);
}

both!(
    recorded_declarations_replay_under_a_scenario,
    scenarios_are_created_edited_and_applied,
    bad_scenarios_name_the_field_and_store_nothing,
    landed_cost_under_a_scenario_and_the_aid
);
