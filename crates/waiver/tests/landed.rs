//! `waiver landed` and `waiver landed-series` through the built binary: the published Cofeed
//! import-cost table (2020-12-23) reproduced, the CSV contract, bad rows, JSON, charts, and the
//! demo series.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn waiver(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_waiver"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cents(s: &str) -> i64 {
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    let frac = format!("{frac:0<2}");
    let v = int.trim_start_matches('-').parse::<i64>().unwrap() * 100
        + frac[..2].parse::<i64>().unwrap();
    if s.starts_with('-') {
        -v
    } else {
        v
    }
}

/// The published table as a quotes file: ISO origin, the quote date, port charge 80, insurance
/// 0, and the U.S. rows excluded (the table's "tariff exclusion case"). Its own columns are
/// carried through, `cfr_usd_t` (an output column) is recomputed.
fn published_quotes() -> String {
    let src =
        std::fs::read_to_string(repo().join("data/reference/soybean-import-cost-2020-12-23.csv"))
            .unwrap();
    let mut rdr = csv::Reader::from_reader(src.as_bytes());
    let h = rdr.headers().unwrap().clone();
    let mut out = String::from("label,origin,code,at,insurance_usd_t,port_charge_cny_t,excluded,");
    out += &h
        .iter()
        .map(|c| if c == "origin" { "published_origin" } else { c })
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for r in rdr.records() {
        let r = r.unwrap();
        let origin = match &r[0] {
            "US Gulf" | "US PNW" => "US",
            "Brazil" => "BR",
            "Argentina" => "AR",
            other => panic!("unexpected origin {other}"),
        };
        out += &format!(
            "{} {},{origin},12019010,2020-12-23,0,80,{},{}\n",
            &r[0],
            &r[1],
            origin == "US",
            r.iter().collect::<Vec<_>>().join(",")
        );
    }
    out
}

#[test]
fn reproduces_the_published_duty_paid_cost_within_one_yuan() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("q.csv"), published_quotes()).unwrap();
    let o = waiver(&["landed", "q.csv", "--csv"], d.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut rdr = csv::Reader::from_reader(o.stdout.as_slice());
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    let tail: Vec<&str> = headers
        .iter()
        .rev()
        .take(8)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail.join(","),
        "fob_usd_t,cfr_usd_t,customs_value_cny_t,duty_cny_t,vat_cny_t,landed_cny_t,rank,spread_cny_t"
    );
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 15, "every published row");
    let mut ranks = Vec::new();
    for r in &rows {
        let published = cents(&r[col("duty_paid_cny_t")]);
        let landed = cents(&r[col("landed_cny_t")]);
        assert!(
            (landed - published).abs() <= 100,
            "{}: landed {} vs published {}",
            &r[col("label")],
            &r[col("landed_cny_t")],
            &r[col("duty_paid_cny_t")]
        );
        // The published CFR is rounded to the dollar.
        assert!(
            (cents(&r[col("cfr_usd_t")])
                - cents(&r[col("fob_usd_t")])
                - cents(&r[col("freight_usd_t")]))
            .abs()
                <= 1
        );
        // Duty 3% and VAT 9% of customs value plus duty, each half-up to the fen.
        let cv = cents(&r[col("customs_value_cny_t")]);
        assert_eq!(cents(&r[col("duty_cny_t")]), (cv * 3 + 50) / 100);
        assert_eq!(
            cents(&r[col("vat_cny_t")]),
            ((cv + cents(&r[col("duty_cny_t")])) * 9 + 50) / 100
        );
        ranks.push(r[col("rank")].parse::<u32>().unwrap());
    }
    ranks.sort();
    assert_eq!(
        ranks,
        (1..=15).collect::<Vec<_>>(),
        "one group, ranks a permutation"
    );
    let cheapest = rows.iter().find(|r| &r[col("rank")] == "1").unwrap();
    assert_eq!(&cheapest[col("label")], "US PNW Oct");
    assert_eq!(&cheapest[col("spread_cny_t")], "0.00");
}

#[test]
fn without_the_exclusion_us_soybeans_pay_30_5_percent_in_december_2020() {
    let d = tempfile::tempdir().unwrap();
    let q = "label,origin,code,at,cbot_c_bu,premium_c_bu,freight_usd_t,insurance_usd_t,fx_cny_usd,port_charge_cny_t,excluded\n\
             gulf,US,12019010,2020-12-23,1247.25,112,38,0,6.5616,80,false\n\
             gulf excl,US,12019010,2020-12-23,1247.25,112,38,0,6.5616,80,true\n\
             brazil,BR,12019010,2020-12-23,1250,126,29,0,6.5616,80,\n";
    std::fs::write(d.path().join("q.csv"), q).unwrap();
    let o = waiver(&["landed", "q.csv", "--json", "--chart", "c.svg"], d.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let q = v["quotes"].as_array().unwrap();
    assert_eq!(q[0]["duty_rate_pct"], "30.5");
    assert_eq!(q[1]["duty_rate_pct"], "3");
    assert_eq!(q[0]["with_exclusion"]["landed_cny_t"], q[1]["landed_cny_t"]);
    assert_eq!(q[0]["rank"], 3);
    assert_eq!(q[1]["input"]["label"], "gulf excl");
    // The dearest needs a cut of more than 27 points to be level with the cheapest (Brazil).
    let be = &q[0]["break_even"];
    assert_eq!(be["against_label"], "brazil");
    assert!(be["additional_rate_pct"]
        .as_str()
        .unwrap()
        .starts_with("-2"));
    assert!(
        (cents(be["landed_cny_t"].as_str().unwrap())
            - cents(q[2]["landed_cny_t"].as_str().unwrap()))
        .abs()
            <= 1
    );
    let layers: Vec<&str> = q[0]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert!(layers.contains(&"L301-1-soy") && layers.contains(&"L301-4A-soy-halved"));
    let svg = std::fs::read_to_string(d.path().join("c.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("gulf excl") && !svg.contains("<script"));
}

#[test]
fn bad_rows_are_all_reported_with_row_column_value_and_fix() {
    let d = tempfile::tempdir().unwrap();
    let q = "label,origin,code,at,fob_usd_t,freight_usd_t,excluded,note\n\
             ok,BR,12019010,2020-12-23,500,30,,x\n\
             bad price,BR,12019010,2020-12-23,abc,30,,y\n\
             bad origin,XX,12019010,2020-12-23,500,30,,z\n\
             bad flag,US,12019010,2020-12-23,500,30,perhaps,w\n\
             unknown code,US,99999999,2020-12-23,500,30,,v\n";
    std::fs::write(d.path().join("q.csv"), q).unwrap();
    let o = waiver(&["landed", "q.csv"], d.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty(), "nothing is printed when a row is bad");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("row 2 (line 3), column `fob_usd_t`, value `abc`"),
        "{err}"
    );
    assert!(
        err.contains("row 3 (line 4), column `origin`, value `XX`"),
        "{err}"
    );
    assert!(
        err.contains("row 4 (line 5), column `excluded`, value `perhaps`: write `true`"),
        "{err}"
    );
    assert!(err.contains("3 of 5 row(s) have errors"), "{err}");

    // The engine's errors name the column too (reported once parsing succeeds).
    let q = "label,origin,code,at,fob_usd_t,freight_usd_t\nx,US,99999999,2020-12-23,500,30\n";
    std::fs::write(d.path().join("q2.csv"), q).unwrap();
    let o = waiver(&["landed", "q2.csv"], d.path());
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("row 1 (line 2), column `code`, value `99999999`: tariff code"),
        "{err}"
    );

    // A missing column or instant is a file-level error.
    std::fs::write(
        d.path().join("q3.csv"),
        "label,origin,code,fob_usd_t,freight_usd_t\nx,US,12019010,500,30\n",
    )
    .unwrap();
    let o = waiver(&["landed", "q3.csv"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no `at` column; add one or give --at"));
    let o = waiver(
        &["landed", "q3.csv", "--at", "2020-12-23", "--csv"],
        d.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_demo_series_covers_2017_to_2026_and_shows_each_layer() {
    let d = tempfile::tempdir().unwrap();
    let input = repo().join("data/landed/soybeans-monthly.csv");
    let input = input.to_str().unwrap();
    let o = waiver(
        &["landed-series", input, "--csv", "--chart", "s.svg"],
        d.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut rdr = csv::Reader::from_reader(o.stdout.as_slice());
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 240, "120 months × US and BR");
    let get = |month: &str, origin: &str, c: &str| -> String {
        rows.iter()
            .find(|r| &r[col("month")] == month && &r[col("origin")] == origin)
            .unwrap()[col(c)]
        .to_owned()
    };
    for (month, us, us_excl) in [
        ("2018-06", "3", "3"),
        ("2018-07", "28", "3"),
        ("2019-09", "33", "3"),
        ("2020-02", "30.5", "3"),
        ("2025-03", "40.5", "13"),
        ("2025-04", "165.5", "138"),
        ("2025-06", "50.5", "23"),
    ] {
        assert_eq!(get(month, "US", "duty_rate_pct"), us, "{month}");
        assert_eq!(
            get(month, "US", "duty_rate_excluded_pct"),
            us_excl,
            "{month}"
        );
        assert_eq!(get(month, "BR", "duty_rate_pct"), "3", "{month}");
    }
    assert_eq!(get("2017-03", "BR", "at"), "2017-03-15 12:00");
    assert!(rows
        .iter()
        .all(|r| r[col("source")].starts_with("sourced: ")
            || r[col("source")].starts_with("illustrative")));
    let svg = std::fs::read_to_string(d.path().join("s.svg")).unwrap();
    assert_eq!(
        svg.matches("<path").count(),
        3,
        "US, US with exclusion, Brazil"
    );

    // --from/--to select months; JSON has both variants.
    let o = waiver(
        &[
            "landed-series",
            input,
            "--from",
            "2019-09",
            "--to",
            "2019-09",
            "--json",
        ],
        d.path(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let s = v["series"].as_array().unwrap();
    assert_eq!(s.len(), 2);
    let us = s.iter().find(|r| r["origin"] == "US").unwrap();
    assert_eq!(us["without_exclusion"]["duty_rate_pct"], "33");
    assert_eq!(us["with_exclusion"]["duty_rate_pct"], "3");
}

#[test]
fn an_overlong_record_is_refused_not_truncated() {
    let d = tempfile::tempdir().unwrap();
    let q = format!(
        "label,origin,code,at,fob_usd_t,freight_usd_t\n{},BR,12019010,2020-12-23,500,30\n",
        "x".repeat(70_000)
    );
    std::fs::write(d.path().join("q.csv"), q).unwrap();
    let o = waiver(&["landed", "q.csv"], d.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr)
        .contains("line 2: the record is longer than 65536 bytes"));
}
