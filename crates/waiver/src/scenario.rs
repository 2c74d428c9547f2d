//! `waiver scenario`: what-if overlays on the schedule.
//!
//! A SCENARIO argument is either a number (a scenario stored in the database named by
//! `--database`, as the service sees it) or the path of a scenario JSON file (worked on purely
//! locally, nothing stored): an analyst drafts a file, checks it with `show`, compares with
//! `tariff` and `landed`, then `create`s it for colleagues and the web pages.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Subcommand;
use serde::Serialize;
use waiver_domain::amount::{Money, Quantity};
use waiver_domain::engine::{assess, Lift, LineInput};
use waiver_domain::landed::{landed_cost, rank, RawQuote};
use waiver_domain::scenario::{ChangeSpec, Scenario, ScenarioSpec};
use waiver_domain::{BjTime, Currency, Origin, Schedule, TariffCode};
use waiver_store::Actor;

use crate::admin::{open, DbArgs};
use crate::landed::print_table;

#[derive(Subcommand)]
pub enum ScenarioCommand {
    /// Store a scenario from a JSON or CSV file (validated against the schedule first); prints its id.
    Create {
        file: PathBuf,
        /// Recorded as the author in the audit log.
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Store a new version of a stored scenario from a JSON file.
    Edit {
        id: i64,
        file: PathBuf,
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// The stored scenarios.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A scenario's changes (and, stored, its versions); checks a file against the schedule.
    Show {
        scenario: String,
        #[arg(long)]
        json: bool,
    },
    /// Every layer for a line, origin and instant: actual vs under the scenario.
    Tariff {
        scenario: String,
        code: String,
        #[arg(long)]
        origin: String,
        #[arg(long)]
        at: String,
        #[arg(long)]
        json: bool,
    },
    /// Landed cost of a quotes CSV (the `waiver landed` columns): actual vs scenario, ranked.
    Landed {
        scenario: String,
        quotes: PathBuf,
        /// Default instant for rows without `at`.
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn read_spec(path: &std::path::Path) -> anyhow::Result<ScenarioSpec> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.len() > 1024 * 1024 {
        bail!(
            "{} is larger than 1 MiB; a scenario is at most 100 changes",
            path.display()
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return spec_from_csv(path, &text);
    }
    serde_json::from_str(&text).with_context(|| {
        format!("{} is not a scenario document ({{\"name\", \"description\", \"changes\": [{{\"op\": \"add\"|\"remove\"|\"change\", …}}]}})", path.display())
    })
}

/// A scenario as CSV, one change per row: `op` (add, remove, change), `measure` (remove and
/// change), and the add/change fields as columns (`id,goods,origin,kind,duty,start,end,
/// legal_basis,scope,excludable,note`); empty cells are "not given". The name is the file name
/// without `.csv` unless a `# name: …` first line gives it.
fn spec_from_csv(path: &std::path::Path, text: &str) -> anyhow::Result<ScenarioSpec> {
    let (name, body) = match text.strip_prefix("# name:") {
        Some(rest) => {
            let (n, b) = rest.split_once('\n').unwrap_or((rest, ""));
            (n.trim().to_owned(), b)
        }
        None => (
            path.file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
            text,
        ),
    };
    let mut rd = csv::Reader::from_reader(body.as_bytes());
    let header = rd.headers()?.clone();
    let mut changes = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let rec = rec?;
        let get = |n: &str| -> Option<String> {
            header
                .iter()
                .position(|h| h.trim() == n)
                .and_then(|c| rec.get(c))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let row = i + 2;
        let req = |n: &str| -> anyhow::Result<String> {
            get(n).with_context(|| {
                format!(
                    "{} row {row}: column `{n}` is required for this op",
                    path.display()
                )
            })
        };
        let op = req("op")?;
        changes.push(match op.as_str() {
            "remove" => ChangeSpec::Remove {
                measure: req("measure")?,
            },
            "change" => ChangeSpec::Change {
                measure: req("measure")?,
                duty: get("duty"),
                start: get("start"),
                end: get("end"),
            },
            "add" => ChangeSpec::Add {
                id: req("id")?,
                goods: req("goods")?,
                origin: req("origin")?,
                kind: get("kind").unwrap_or_else(|| "additional".into()),
                duty: req("duty")?,
                start: req("start")?,
                end: get("end"),
                legal_basis: get("legal_basis").unwrap_or_default(),
                scope: get("scope"),
                excludable: matches!(get("excludable").as_deref(), Some("yes" | "true")),
                note: get("note").unwrap_or_default(),
            },
            other => bail!(
                "{} row {row}: column `op`, value `{other}`: use add, remove or change",
                path.display()
            ),
        });
    }
    Ok(ScenarioSpec {
        name,
        description: String::new(),
        changes,
    })
}

fn validate(schedule: &Schedule, spec: ScenarioSpec) -> anyhow::Result<Scenario> {
    spec.validate(schedule).map_err(|e| {
        let mut msg = format!("the scenario is invalid ({} problem(s)):", e.problems.len());
        for p in &e.problems {
            msg.push_str(&format!("\n  {p}"));
        }
        anyhow::anyhow!(msg)
    })
}

/// Resolves a SCENARIO argument: a stored id, or a file.
async fn resolve(
    schedule: &Schedule,
    db: &DbArgs,
    arg: &str,
) -> anyhow::Result<(Scenario, Option<(i64, i64)>)> {
    if let Ok(id) = arg.parse::<i64>() {
        let store = open(db).await?;
        let rec = store.scenario(id, None).await?.with_context(|| {
            format!(
                "no scenario {id} in {}; `waiver scenario list` shows them",
                db.database
            )
        })?;
        let v = rec.version;
        store.close().await;
        return Ok((validate(schedule, rec.spec)?, Some((id, v))));
    }
    Ok((
        validate(schedule, read_spec(std::path::Path::new(arg))?)?,
        None,
    ))
}

pub async fn run(schedule: Schedule, db: DbArgs, c: ScenarioCommand) -> anyhow::Result<ExitCode> {
    match c {
        ScenarioCommand::Create { file, by } => {
            let sc = validate(&schedule, read_spec(&file)?)?;
            let store = open(&db).await?;
            let rec = store.create_scenario(&Actor::user(&by), &sc.spec).await?;
            println!(
                "created scenario {} (version 1, {} change(s)) in {}",
                rec.id,
                sc.len(),
                db.database
            );
            store.close().await;
        }
        ScenarioCommand::Edit { id, file, by } => {
            let sc = validate(&schedule, read_spec(&file)?)?;
            let store = open(&db).await?;
            let rec = store
                .update_scenario(&Actor::user(&by), id, None, &sc.spec)
                .await?;
            println!("scenario {id} is now version {}", rec.version);
            store.close().await;
        }
        ScenarioCommand::List { json } => {
            let store = open(&db).await?;
            let items = store.scenarios().await?;
            store.close().await;
            if json {
                println!("{}", serde_json::to_string_pretty(&items)?);
            } else {
                let rows: Vec<Vec<String>> = items
                    .iter()
                    .map(|s| {
                        vec![
                            s.id.to_string(),
                            s.current_version.to_string(),
                            s.name.clone(),
                            s.created_by.clone(),
                        ]
                    })
                    .collect();
                print_table(
                    &["id", "version", "name", "created_by"],
                    &rows,
                    &[true, true, false, false],
                );
            }
        }
        ScenarioCommand::Show { scenario, json } => {
            let (sc, stored) = resolve(&schedule, &db, &scenario).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&sc.spec)?);
            } else {
                match stored {
                    Some((id, v)) => println!("scenario {id}, version {v}: {}", sc.spec.name),
                    None => println!(
                        "scenario file (valid against the schedule): {}",
                        sc.spec.name
                    ),
                }
                if !sc.spec.description.is_empty() {
                    println!("{}", sc.spec.description);
                }
                for (i, c) in sc.spec.changes.iter().enumerate() {
                    println!("  {i}: {}", serde_json::to_string(c)?);
                }
            }
        }
        ScenarioCommand::Tariff {
            scenario,
            code,
            origin,
            at,
            json,
        } => {
            let (sc, _) = resolve(&schedule, &db, &scenario).await?;
            let applied = sc.apply(&schedule);
            let (at, p) = BjTime::parse(&at)?;
            let input = LineInput {
                code: TariffCode::parse(&code)?,
                origin: Origin::parse(&origin)?,
                declared_at: at,
                declared_precision: p,
                shipped_on: None,
                quantity: Quantity { grams: 1_000_000 },
                customs_value: Money {
                    minor: 1_000_000,
                    currency: Currency::CNY,
                },
                in_quota: false,
            };
            let a = assess(&schedule, &input, Lift::Nothing)?;
            let b = assess(&applied, &input, Lift::Nothing)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({"actual": a, "scenario": b}))?
                );
            } else {
                let mut rows = Vec::new();
                let mut ids: Vec<&str> = a.layers.iter().map(|l| l.measure.id.as_str()).collect();
                for l in &b.layers {
                    if !ids.contains(&l.measure.id.as_str()) {
                        ids.push(&l.measure.id);
                    }
                }
                for id in ids {
                    let find = |x: &waiver_domain::Assessment| {
                        x.layers
                            .iter()
                            .find(|l| l.measure.id == id)
                            .map_or("—".to_owned(), |l| l.measure.duty.to_string())
                    };
                    rows.push(vec![id.to_owned(), find(&a), find(&b)]);
                }
                rows.push(vec![
                    "duty rate".into(),
                    format!(
                        "{}",
                        waiver_domain::RatePpm(a.base_rate.0 + a.additional_rate.0)
                    ),
                    format!(
                        "{}",
                        waiver_domain::RatePpm(b.base_rate.0 + b.additional_rate.0)
                    ),
                ]);
                print_table(
                    &["layer", "actual", "scenario"],
                    &rows,
                    &[false, true, true],
                );
            }
        }
        ScenarioCommand::Landed {
            scenario,
            quotes,
            at,
            json,
        } => {
            let (sc, _) = resolve(&schedule, &db, &scenario).await?;
            let applied = sc.apply(&schedule);
            return landed(&schedule, &applied, &quotes, at.as_deref(), json);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct Row {
    label: String,
    origin: String,
    code: String,
    at: String,
    landed_cny_t: String,
    rank: u32,
    scenario_landed_cny_t: String,
    scenario_rank: u32,
    difference_cny_t: String,
}

fn landed(
    actual: &Schedule,
    scenario: &Schedule,
    path: &std::path::Path,
    at: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let default_at = at.map(BjTime::parse).transpose()?;
    let mut rd =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let header = rd.headers()?.clone();
    let mut quotes = Vec::new();
    let mut labels = Vec::new();
    let mut bad = 0;
    for (i, rec) in rd.records().enumerate() {
        let rec = rec?;
        let get = |n: &str| header.iter().position(|h| h == n).and_then(|c| rec.get(c));
        let raw = RawQuote {
            code: get("code").unwrap_or(""),
            origin: get("origin").unwrap_or(""),
            at: get("at"),
            cbot_c_bu: get("cbot_c_bu"),
            premium_c_bu: get("premium_c_bu"),
            fob_usd_t: get("fob_usd_t"),
            freight_usd_t: get("freight_usd_t"),
            insurance_usd_t: get("insurance_usd_t"),
            fx_cny_usd: get("fx_cny_usd"),
            port_charge_cny_t: get("port_charge_cny_t"),
            excluded: get("excluded"),
        };
        match raw.parse(default_at) {
            Ok(q) => {
                quotes.push(q);
                labels.push(get("label").unwrap_or("").to_owned());
            }
            Err(e) => {
                eprintln!("row {} (line {}): {e}", i + 1, i + 2);
                bad += 1;
            }
        }
    }
    if bad > 0 {
        eprintln!("{bad} row(s) rejected; nothing computed");
        return Ok(ExitCode::from(1));
    }
    let cost = |s| -> anyhow::Result<Vec<_>> {
        quotes
            .iter()
            .enumerate()
            .map(|(i, q)| landed_cost(s, q).with_context(|| format!("row {}", i + 1)))
            .collect()
    };
    let a = cost(actual)?;
    let b = cost(scenario)?;
    let (ra, rb) = (rank(&quotes, &a), rank(&quotes, &b));
    let rows: Vec<Row> = quotes
        .iter()
        .enumerate()
        .map(|(i, q)| Row {
            label: labels[i].clone(),
            origin: q.origin.to_string(),
            code: q.code.to_string(),
            at: q.at.to_string(),
            landed_cny_t: a[i].charged.landed_fen_per_t.to_string(),
            rank: ra[i].rank,
            scenario_landed_cny_t: b[i].charged.landed_fen_per_t.to_string(),
            scenario_rank: rb[i].rank,
            difference_cny_t: (b[i].charged.landed_fen_per_t - a[i].charged.landed_fen_per_t)
                .to_string(),
        })
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        let t: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.label.clone(),
                    r.origin.clone(),
                    r.at.clone(),
                    r.landed_cny_t.clone(),
                    r.rank.to_string(),
                    r.scenario_landed_cny_t.clone(),
                    r.scenario_rank.to_string(),
                    r.difference_cny_t.clone(),
                ]
            })
            .collect();
        print_table(
            &[
                "label",
                "origin",
                "at",
                "landed_cny_t",
                "rank",
                "scenario_cny_t",
                "scenario_rank",
                "difference",
            ],
            &t,
            &[false, false, false, true, true, true, true, true],
        );
    }
    Ok(ExitCode::SUCCESS)
}
