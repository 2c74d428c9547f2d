//! The demo: the 2019–2020 soybean story with fictional companies, seeded into an empty database.

use anyhow::Context;
use waiver_domain::accounts::{Role, Username};
use waiver_domain::application::{ApplicationSpec, Contract, PlanMonth};
use waiver_domain::RegistrationCode;
use waiver_store::{Actor, NewEnterprise, NewUser, Store};

/// Every demo user's password (printed by `serve --demo`).
pub const PASSWORD: &str = "waiver-demo-2019";

const ENTERPRISES: [(&str, &str, &str, Option<&str>, bool); 5] = [
    (
        "3700HS0001",
        "Huasheng Oils & Grains (Rizhao) Co., Ltd. (fictional)",
        "华晟粮油（日照）有限公司（虚构）",
        Some("Huasheng Group"),
        false,
    ),
    (
        "3200JY0002",
        "Jiangyuan Soybean Crushing (Zhangjiagang) Co., Ltd. (fictional)",
        "江源大豆压榨（张家港）有限公司（虚构）",
        None,
        false,
    ),
    (
        "2100BH0003",
        "Bohai Grain Crushing (Dalian) Co., Ltd. (fictional)",
        "渤海粮食压榨（大连）有限公司（虚构）",
        Some("Huasheng Group"),
        false,
    ),
    (
        "4400NH0004",
        "Nanhai Feed Mill (Zhanjiang) Co., Ltd. (fictional)",
        "南海饲料（湛江）有限公司（虚构）",
        None,
        false,
    ),
    (
        "1100CSA001",
        "China Soybean Crushers Association (fictional)",
        "中国大豆压榨协会（虚构）",
        None,
        true,
    ),
];

/// (username, display name, role, enterprise, affiliation)
type DemoUser = (
    &'static str,
    &'static str,
    Role,
    Option<&'static str>,
    Option<&'static str>,
);

pub const USERS: [DemoUser; 13] = [
    ("admin", "System administrator", Role::Admin, None, None),
    (
        "officer.zhang",
        "Zhang Min (Commission officer)",
        Role::Officer,
        None,
        None,
    ),
    (
        "officer.chen",
        "Chen Jing (Commission officer)",
        Role::Officer,
        None,
        None,
    ),
    (
        "expert.wang",
        "Wang Lei (expert)",
        Role::Expert,
        None,
        Some("Huasheng Group"),
    ),
    (
        "expert.liu",
        "Liu Yang (expert)",
        Role::Expert,
        None,
        Some("Chinese Academy of Agricultural Sciences (fictional unit)"),
    ),
    (
        "expert.zhao",
        "Zhao Hui (expert)",
        Role::Expert,
        None,
        Some("Northeast Agricultural University (fictional unit)"),
    ),
    (
        "expert.sun",
        "Sun Qiang (expert)",
        Role::Expert,
        None,
        Some("China Feed Industry Research Centre (fictional)"),
    ),
    (
        "expert.gao",
        "Gao Fang (expert)",
        Role::Expert,
        None,
        Some("Dalian Commodity Exchange research (fictional unit)"),
    ),
    (
        "customs.qingdao",
        "Qingdao Customs clearance desk",
        Role::Customs,
        None,
        None,
    ),
    (
        "analyst.he",
        "He Ping (market analyst)",
        Role::Analyst,
        None,
        None,
    ),
    (
        "li.wei",
        "Li Wei (Huasheng trade compliance)",
        Role::Applicant,
        Some("3700HS0001"),
        None,
    ),
    (
        "ma.jun",
        "Ma Jun (Jiangyuan purchasing)",
        Role::Applicant,
        Some("3200JY0002"),
        None,
    ),
    (
        "zhou.assoc",
        "Zhou Yan (Crushers Association)",
        Role::Applicant,
        Some("1100CSA001"),
        None,
    ),
];

/// Seeds an empty database; returns false (and changes nothing) if it already has users.
pub async fn seed(store: &Store) -> anyhow::Result<bool> {
    if store.count_raw("SELECT COUNT(*) FROM users").await? > 0 {
        store.seed_programmes(&Actor::system()).await?;
        return Ok(false);
    }
    let actor = Actor::system();
    store.seed_programmes(&actor).await?;
    // One what-if scenario for the analyst pages, written by the demo analyst.
    let scenario: waiver_domain::scenario::ScenarioSpec =
        serde_json::from_str(include_str!("../../../data/scenarios/no-2018-layer.json"))?;
    let scenario = scenario
        .validate(&waiver_domain::schedule_csv::demo_schedule()?)
        .map_err(|e| anyhow::anyhow!("demo scenario: {e}"))?;
    store
        .create_scenario(&Actor::user("analyst.he"), &scenario.spec)
        .await?;
    for (code, en, zh, group, assoc) in ENTERPRISES {
        let e = NewEnterprise {
            registration_code: RegistrationCode::parse(code)?,
            name_en: en.into(),
            name_zh: zh.into(),
            parent_group: group.map(Into::into),
            is_association: assoc,
        };
        store.create_enterprise(&actor, &e).await?;
    }
    let assoc = RegistrationCode::parse("1100CSA001")?;
    for member in ["3700HS0001", "3200JY0002", "2100BH0003"] {
        store
            .add_member(&actor, &assoc, &RegistrationCode::parse(member)?)
            .await?;
    }
    for (name, display, role, enterprise, affiliation) in USERS {
        let u = NewUser {
            username: Username::parse(name)?,
            display_name: display.into(),
            role,
            enterprise: enterprise.map(RegistrationCode::parse).transpose()?,
            affiliation: affiliation.map(Into::into),
        };
        store.create_user(&actor, &u, PASSWORD).await?;
    }
    seed_applications(store).await?;
    seed_reviews(store).await?;
    Ok(true)
}

fn demo_spec(enterprise: &str, line: &str, quantity_t: u32, usd_per_t: u32) -> ApplicationSpec {
    let half = quantity_t / 2;
    ApplicationSpec {
        programme: "CN-2020-MKT".into(),
        enterprise: enterprise.into(),
        line: line.into(),
        add_product_request: false,
        quantity: quantity_t.to_string(),
        unit: "t".into(),
        value: (u64::from(quantity_t) * u64::from(usd_per_t)).to_string(),
        currency: "USD".into(),
        contract: Some(Contract {
            number: format!("{enterprise}-2020-{line}"),
            supplier: "Gulf Coast Grain Exporters LLC (fictional)".into(),
            signed_on: "2020-03-05".into(),
            quantity: quantity_t.to_string(),
            overfill_pct: "10".into(),
        }),
        monthly_plan: vec![
            PlanMonth {
                month: "2020-04".into(),
                quantity: half.to_string(),
            },
            PlanMonth {
                month: "2020-05".into(),
                quantity: (quantity_t - half).to_string(),
            },
        ],
        evidence: [
            (
                "commercial_need",
                "Crush capacity of 12 000 t/day; Brazilian new crop not available before March.",
            ),
            (
                "contract_credibility",
                "Signed contract with a named U.S. exporter, FOB Gulf, two cargoes.",
            ),
            (
                "plan_feasibility",
                "Two Panamax cargoes, April and May loading.",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
        confidential: vec!["value".into(), "contract.supplier".into()],
        public_summary: format!(
            "{quantity_t} t of U.S. goods under tariff line {line} for processing"
        ),
    }
}

/// Applications in every state reached so far: draft, submitted, returned, resubmitted,
/// under review, withdrawn.
async fn seed_applications(store: &Store) -> anyhow::Result<()> {
    use waiver_domain::application::Event as E;
    let programme = store
        .programme("CN-2020-MKT")
        .await?
        .context("the seed programme CN-2020-MKT is missing")?
        .0;
    let schedule = waiver_domain::schedule_csv::demo_schedule()?;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let now = waiver_domain::BjTime(secs + 8 * 3600);
    let year = now.civil().0;
    let officer = Actor::user("officer.zhang");
    // (filed by, enterprise, line, tonnes, USD/t, submit, then events)
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        u32,
        u32,
        bool,
        &'static [E],
    );
    let cases: [Case; 6] = [
        (
            "li.wei",
            "3700HS0001",
            "12019010",
            120_000,
            400,
            true,
            &[E::StartScreening, E::Accept],
        ),
        ("li.wei", "3700HS0001", "12019090", 30_000, 395, false, &[]),
        (
            "ma.jun",
            "3200JY0002",
            "12019010",
            60_000,
            402,
            true,
            &[E::StartScreening, E::Return],
        ),
        ("ma.jun", "3200JY0002", "02032900", 5_000, 2_300, true, &[]),
        (
            "zhou.assoc",
            "2100BH0003",
            "12019010",
            90_000,
            401,
            true,
            &[E::StartScreening, E::Return, E::Resubmit],
        ),
        (
            "zhou.assoc",
            "1100CSA001",
            "10059000",
            200_000,
            180,
            true,
            &[E::Withdraw],
        ),
    ];
    for (by, enterprise, line, tonnes, price, submit, events) in cases {
        let spec = demo_spec(enterprise, line, tonnes, price);
        let v = spec
            .validate(&programme, &schedule, now)
            .map_err(|p| anyhow::anyhow!("demo application invalid: {p:?}"))?;
        let a = store
            .create_application(&Actor::user(by), &spec, &v, submit, year)
            .await?;
        for e in events {
            let (actor, notes) = match e {
                E::Return => (
                    &officer,
                    Some(
                        serde_json::json!({ "contract.supplier": "give the supplier's full legal name and address", "monthly_plan": "split May into two cargoes as in the contract" }),
                    ),
                ),
                E::Resubmit | E::Withdraw => (&Actor::user(by), None),
                _ => (&officer, None),
            };
            store
                .transition(actor, &a.number, &[*e], None, None, notes)
                .await?;
        }
    }
    Ok(())
}

/// One demo review: experts drawn from `seed`, optionally one declares a conflict, each scores,
/// an officer decides (validity from 2025-03-03, so that the 2025 re-dating applies).
struct Review {
    number: String,
    seed: u64,
    conflict: bool,
    /// (score for every criterion, recommend approval, recommended tonnes)
    sheets: [(u8, bool, Option<u32>); 3],
    outcome: waiver_domain::review::Outcome,
    tonnes: Option<u32>,
    officer: &'static str,
    departure: Option<&'static str>,
}

async fn review_and_decide(store: &Store, r: Review) -> anyhow::Result<()> {
    use waiver_domain::review::{
        aggregate, validate_decision, CriterionScore, DecisionSpec, Recommendation, ScoreSheetSpec,
    };
    let app = store
        .application(&r.number)
        .await?
        .context("demo application missing")?;
    let programme = store
        .programme(&app.programme)
        .await?
        .context("demo programme missing")?
        .0;
    let policy = &programme.spec.review;
    let days = i64::from(policy.review_days);
    let officer = Actor::user(r.officer);
    store
        .assign_experts(
            &Actor::user("officer.zhang"),
            &r.number,
            r.seed,
            usize::from(policy.experts_per_application),
            days,
        )
        .await?;
    if r.conflict {
        let first = store
            .assignments(&r.number)
            .await?
            .into_iter()
            .find(|a| a.status == "active")
            .context("no expert assigned")?;
        store
            .declare_conflict(
                &Actor::user(&first.expert),
                &r.number,
                "advised Jiangyuan's parent company on hedging in 2019",
                days,
            )
            .await?;
    }
    let experts: Vec<String> = store
        .assignments(&r.number)
        .await?
        .into_iter()
        .filter(|a| a.status == "active")
        .map(|a| a.expert)
        .collect();
    for (expert, (score, approve, tonnes)) in experts.iter().zip(r.sheets) {
        let sheet = ScoreSheetSpec {
            scores: policy
                .criteria
                .iter()
                .map(|c| {
                    let why = if approve {
                        format!("{}: evidence is specific and consistent", c.name_en)
                    } else {
                        format!("{}: the evidence does not support the request", c.name_en)
                    };
                    (
                        c.key.clone(),
                        CriterionScore {
                            score,
                            rationale: why,
                        },
                    )
                })
                .collect(),
            recommendation: if approve {
                Recommendation::Approve
            } else {
                Recommendation::Reject
            },
            recommended_quantity: tonnes.map(|t| t.to_string()),
        };
        store
            .add_score(&Actor::user(expert), &r.number, &sheet)
            .await?;
    }
    let unit = waiver_domain::QtyUnit::parse(&app.spec.unit).context("demo unit")?;
    let requested = waiver_domain::Quantity::parse(&app.spec.quantity, unit)?;
    let overfill = match &app.spec.contract {
        Some(c) => waiver_domain::RatePpm::parse_pct(&c.overfill_pct)?,
        None => waiver_domain::RatePpm(0),
    };
    let sheets = store
        .latest_sheets(&r.number, |s| s.validate(policy, requested, unit).ok())
        .await?;
    let agg = aggregate(policy, &sheets);
    let reasons = policy
        .criteria
        .iter()
        .map(|c| {
            let why = match r.outcome {
                waiver_domain::review::Outcome::Reject => format!(
                    "{}: not shown; the contract is unsigned and no shipping plan was given",
                    c.name_en
                ),
                _ => format!("{}: shown by the contract and the purchase plan", c.name_en),
            };
            (c.key.clone(), why)
        })
        .collect();
    let spec = DecisionSpec {
        outcome: r.outcome,
        quantity: r.tonnes.map(|t| t.to_string()),
        valid_from: Some("2025-03-03".into()),
        reasons,
        departure_reason: r.departure.map(Into::into),
    };
    let d = validate_decision(&spec, &programme, requested, overfill, unit, &agg, now())
        .map_err(|p| anyhow::anyhow!("demo decision invalid: {p:?}"))?;
    store
        .decide(&officer, &r.number, &programme, &spec, &d, false)
        .await?;
    Ok(())
}

fn now() -> waiver_domain::BjTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    waiver_domain::BjTime(secs + 8 * 3600)
}

/// Review and decisions: allowances for three crushers (one partially approved, appealed and
/// amended), a rejection with reasons, a conflict declared and replaced, and the 2025 re-dating
/// of every allowance to the end of 2026.
async fn seed_reviews(store: &Store) -> anyhow::Result<()> {
    use waiver_domain::review::Outcome;
    let programme = store
        .programme("CN-2020-MKT")
        .await?
        .context("the seed programme CN-2020-MKT is missing")?
        .0;
    let schedule = waiver_domain::schedule_csv::demo_schedule()?;
    let year = now().civil().0;
    let officer = Actor::user("officer.zhang");
    let file = |by: &'static str, enterprise: &'static str, line: &'static str, t: u32| {
        let spec = demo_spec(enterprise, line, t, 398);
        let v = spec.validate(&programme, &schedule, now());
        (by, spec, v)
    };
    let new_cases = [
        file("ma.jun", "3200JY0002", "12019090", 80_000),
        file("zhou.assoc", "2100BH0003", "12019090", 50_000),
    ];
    let mut numbers = Vec::new();
    for (by, spec, v) in new_cases {
        let v = v.map_err(|p| anyhow::anyhow!("demo application invalid: {p:?}"))?;
        let a = store
            .create_application(&Actor::user(by), &spec, &v, true, year)
            .await?;
        store
            .transition(
                &officer,
                &a.number,
                &[
                    waiver_domain::application::Event::StartScreening,
                    waiver_domain::application::Event::Accept,
                ],
                None,
                None,
                None,
            )
            .await?;
        numbers.push(a.number);
    }
    // The applications already under review or submitted, by enterprise and line.
    let find = |enterprise: &'static str, line: &'static str| async move {
        store
            .applications(&waiver_store::Scope::All, None, 200, 0)
            .await
            .map(|all| {
                all.into_iter()
                    .find(|a| a.enterprise == enterprise && a.line == line && a.state.is_open())
                    .map(|a| a.number)
            })
    };
    let huasheng = find("3700HS0001", "12019010")
        .await?
        .context("demo: Huasheng application missing")?;
    let pork = find("3200JY0002", "02032900")
        .await?
        .context("demo: Jiangyuan pork application missing")?;
    store
        .transition(
            &officer,
            &pork,
            &[
                waiver_domain::application::Event::StartScreening,
                waiver_domain::application::Event::Accept,
            ],
            None,
            None,
            None,
        )
        .await?;
    // Huasheng: expert.wang (Huasheng Group) is excluded by the conflict check; approved.
    review_and_decide(
        store,
        Review {
            number: huasheng,
            seed: 20_200_302,
            conflict: false,
            sheets: [(4, true, None), (5, true, None), (4, true, None)],
            outcome: Outcome::Approve,
            tonnes: None,
            officer: "officer.zhang",
            departure: None,
        },
    )
    .await?;
    // Jiangyuan: an expert declares a conflict and is replaced; partially approved, appealed,
    // and amended on reconsideration by the other officer.
    let jiangyuan = numbers[0].clone();
    review_and_decide(
        store,
        Review {
            number: jiangyuan.clone(),
            seed: 20_200_303,
            conflict: true,
            sheets: [
                (4, true, Some(60_000)),
                (3, true, Some(60_000)),
                (4, true, Some(70_000)),
            ],
            outcome: Outcome::PartiallyApprove,
            tonnes: Some(60_000),
            officer: "officer.chen",
            departure: None,
        },
    )
    .await?;
    store
        .file_appeal(
            &Actor {
                user: "ma.jun".into(),
                on_behalf_of: Some("3200JY0002".into()),
            },
            &jiangyuan,
            "The second cargo (20 000 t) is chartered; the charter party is attached.",
        )
        .await?;
    let app = store
        .application(&jiangyuan)
        .await?
        .context("demo application missing")?;
    let programme_now = store
        .programme(&app.programme)
        .await?
        .context("demo programme missing")?
        .0;
    store
        .reconsider(
            &officer,
            &jiangyuan,
            &programme_now,
            "amend",
            Some(70_000 * 1_000_000),
            "The charter party shows the second cargo; 70 000 t is supported by the plan.",
        )
        .await?;
    // Bohai, filed by the association: approved.
    review_and_decide(
        store,
        Review {
            number: numbers[1].clone(),
            seed: 20_200_304,
            conflict: false,
            sheets: [(4, true, None), (4, true, None), (3, true, None)],
            outcome: Outcome::Approve,
            tonnes: None,
            officer: "officer.chen",
            departure: None,
        },
    )
    .await?;
    // Jiangyuan pork: rejected with a reason per criterion.
    review_and_decide(
        store,
        Review {
            number: pork,
            seed: 20_200_305,
            conflict: false,
            sheets: [(2, false, None), (1, false, None), (2, false, None)],
            outcome: Outcome::Reject,
            tonnes: None,
            officer: "officer.zhang",
            departure: None,
        },
    )
    .await?;
    // The 2025 episode (cn-exclusion-policy-changes.csv) as three versions of one change:
    // re-dated to end 2025-09-14, then to 2025-12-13, then to the end of 2026.
    let episode = [
        (
            "2025-08-01",
            "2025-09-15",
            "intake of new applications stopped for most U.S. agricultural lines (announced only by a pop-up on the application platform); approved exclusions re-dated to end 2025-09-14",
            "https://www.freshplaza.com/north-america/article/9753673/china-to-halt-u-s-ag-tariff-exclusions-from-august-1",
        ),
        (
            "2025-08-12T12:01",
            "2025-12-14",
            "intake reportedly extended to 2025-10-30; approved exclusions valid to 2025-12-13",
            "https://www.agbull.com/china-suspends-soybean-tariffs-under-trump-xi-agreement",
        ),
        (
            "2025-11-10T13:01",
            "2027-01-01",
            "exclusions reportedly extended to 2026-12-31 (U.S. account of the November 2025 arrangement; no Chinese text found)",
            "https://www.agbull.com/china-suspends-soybean-tariffs-under-trump-xi-agreement",
        ),
    ];
    let mut previous: Option<String> = None;
    for (effective, until, reason, source) in episode {
        let spec = waiver_domain::policy::PolicyChangeSpec {
            programme: "CN-2020-MKT".into(),
            effective_at: effective.into(),
            action: waiver_domain::policy::PolicyAction::Redate {
                valid_until: until.into(),
                line: None,
                holder: None,
            },
            reason: reason.into(),
            source: Some(source.into()),
            supersedes: previous.clone(),
        };
        let change = spec
            .validate()
            .map_err(|p| anyhow::anyhow!("demo policy change invalid: {p:?}"))?;
        previous = Some(
            store
                .publish_policy_change(&officer, &spec, &change)
                .await?
                .number,
        );
    }
    Ok(())
}

/// What `seed-bench` created: the holder, line and allowances a load generator draws on.
#[derive(serde::Serialize)]
pub struct BenchSeed {
    pub holder: String,
    pub line: String,
    pub allowances: Vec<String>,
    pub customs_token: String,
}

/// Seeds the demo (if the database is empty), then `count` more approved applications of
/// Huasheng (3700HS0001) for line 12019010, `tonnes` each, through the real workflow (filing,
/// screening, expert draw, scores, decision), so each becomes an allowance; and a customs API
/// token. For the declaration benchmark and load tests.
pub async fn seed_bench(store: &Store, count: usize, tonnes: u32) -> anyhow::Result<BenchSeed> {
    use waiver_domain::application::Event;
    use waiver_domain::review::Outcome;
    seed(store).await?;
    let programme = store
        .programme("CN-2020-MKT")
        .await?
        .context("the seed programme CN-2020-MKT is missing")?
        .0;
    let schedule = waiver_domain::schedule_csv::demo_schedule()?;
    let year = now().civil().0;
    let (holder, line) = ("3700HS0001", "12019010");
    let mut allowances = Vec::with_capacity(count);
    for i in 0..count {
        let mut spec = demo_spec(holder, line, tonnes, 400);
        if let Some(c) = spec.contract.as_mut() {
            c.number = format!("{holder}-BENCH-{i:06}");
        }
        let v = spec
            .validate(&programme, &schedule, now())
            .map_err(|p| anyhow::anyhow!("bench application invalid: {p:?}"))?;
        let a = store
            .create_application(&Actor::user("li.wei"), &spec, &v, true, year)
            .await?;
        store
            .transition(
                &Actor::user("officer.zhang"),
                &a.number,
                &[Event::StartScreening, Event::Accept],
                None,
                None,
                None,
            )
            .await?;
        review_and_decide(
            store,
            Review {
                number: a.number.clone(),
                seed: 7_000_000 + i as u64,
                conflict: false,
                sheets: [(4, true, None), (4, true, None), (4, true, None)],
                outcome: Outcome::Approve,
                tonnes: None,
                officer: "officer.zhang",
                departure: None,
            },
        )
        .await?;
        let allowance = store
            .allowances(Some(&[holder.to_owned()]))
            .await?
            .into_iter()
            .find(|al| al.application == a.number)
            .context("bench: the approval created no allowance")?;
        allowances.push(allowance.number);
    }
    let customs_token = store
        .create_token(&Actor::user("cli"), "customs.qingdao", "seed-bench")
        .await?;
    Ok(BenchSeed {
        holder: holder.into(),
        line: line.into(),
        allowances,
        customs_token,
    })
}

/// One demo declaration line: (line, code, tonnes, customs value USD, allowance claimed).
type DemoLine = (u32, &'static str, u32, u32, Option<String>);

fn demo_declaration(
    number: &str,
    importer: &str,
    declared_at: &str,
    lines: Vec<DemoLine>,
) -> waiver_web::declarations::DeclarationIn {
    waiver_web::declarations::DeclarationIn {
        number: number.into(),
        importer: importer.into(),
        declared_at: declared_at.into(),
        shipped_on: None,
        lines: lines
            .into_iter()
            .map(|(line, code, tonnes, usd, allowance)| {
                waiver_web::declarations::DeclarationLineIn {
                    line,
                    code: code.into(),
                    origin: "US".into(),
                    quantity: tonnes.to_string(),
                    unit: "t".into(),
                    customs_value: usd.to_string(),
                    currency: "USD".into(),
                    allowance,
                }
            })
            .collect(),
    }
}

/// Seeded declarations (issue 5 item 8), recorded by `customs.qingdao` through the path
/// `POST /api/v1/declarations` uses: Bohai's allowance filled past its grant inside the
/// tolerance, then exhausted (a line split into covered and uncovered, then a claim refused);
/// Huasheng claiming Bohai's allowance (wrong holder: assessed without exclusion, the note says
/// why); a Huasheng declaration cancelled, its draw reversed. Huasheng's and Jiangyuan's
/// allowances are left whole for the README tour. Does nothing if the declarations exist.
pub async fn seed_declarations(state: &waiver_web::AppState) -> anyhow::Result<()> {
    let store = &state.store;
    if store.declaration("DEMO-2025-0001").await?.is_some() {
        return Ok(());
    }
    let allowance = |holder: &'static str, line: &'static str| async move {
        store
            .allowances(Some(&[holder.to_owned()]))
            .await?
            .into_iter()
            .find(|a| a.line == line)
            .map(|a| a.number)
            .with_context(|| format!("demo: no allowance of {holder} for {line}"))
    };
    let bohai = allowance("2100BH0003", "12019090").await?;
    let huasheng = allowance("3700HS0001", "12019010").await?;
    let customs = "customs.qingdao";
    let declarations = [
        // 52 000 t on a 50 000 t grant: an overfill inside the 10% tolerance, fully covered.
        demo_declaration(
            "DEMO-2025-0001",
            "2100BH0003",
            "2025-05-20T10:00",
            vec![(1, "12019090", 52_000, 20_800_000, Some(bohai.clone()))],
        ),
        // 5 000 t with 3 000 t left: 3 000 t covered, 2 000 t pays the full duty; exhausted.
        demo_declaration(
            "DEMO-2025-0002",
            "2100BH0003",
            "2025-06-17T10:00",
            vec![(1, "12019090", 5_000, 2_000_000, Some(bohai.clone()))],
        ),
        // A claim on the exhausted allowance: nothing covered, the note says so.
        demo_declaration(
            "DEMO-2025-0003",
            "2100BH0003",
            "2025-07-15T10:00",
            vec![(1, "12019090", 1_000, 400_000, Some(bohai.clone()))],
        ),
        // Huasheng claims Bohai's allowance (same group, different holder): refused.
        demo_declaration(
            "DEMO-2025-0004",
            "3700HS0001",
            "2025-07-15T11:00",
            vec![(1, "12019090", 800, 320_000, Some(bohai.clone()))],
        ),
        // Declared, then cancelled below: the draw is reversed.
        demo_declaration(
            "DEMO-2025-0005",
            "3700HS0001",
            "2025-07-16T09:00",
            vec![(1, "12019010", 10_000, 4_000_000, Some(huasheng))],
        ),
    ];
    for d in declarations {
        let number = d.number.clone();
        waiver_web::declarations::declare_as(state, customs, d)
            .await
            .map_err(|e| anyhow::anyhow!("demo declaration {number}: {}", e.message))?;
    }
    store
        .cancel_declaration(&Actor::user(customs), "DEMO-2025-0005")
        .await?;
    Ok(())
}

/// The demo's country quota (issue 5 item 8): the U.S. 2026 beef quota under SG-2026-beef at
/// the 164 000 t reported (single weak source, see `../shared/data`), imports to the end of
/// October recorded from customs statistics (an illustrative figure, labelled so), and three
/// declarations of U.S. beef through the declaration path: the quota stands near 80%, past its
/// 50% notice, so one more large declaration gives the 80% notice. Does nothing if it exists.
pub async fn seed_quota(state: &waiver_web::AppState) -> anyhow::Result<()> {
    let store = &state.store;
    let measure = "SG-2026-beef";
    let id =
        waiver_domain::quota::quota_id(measure, waiver_domain::CountryCode::parse("US")?, 2026);
    if store.quota(&id).await?.is_some() {
        return Ok(());
    }
    let m = state
        .schedule
        .measure(measure)
        .with_context(|| format!("demo: the schedule has no {measure}"))?;
    let waiver_domain::schedule::GoodsSelector::Codes(goods) = &m.goods else {
        anyhow::bail!("demo: {measure} names no tariff lines");
    };
    let officer = Actor::user("officer.zhang");
    store
        .create_quota(
            &officer,
            &waiver_store::quotas::NewQuota {
                measure: measure.into(),
                origin: waiver_domain::CountryCode::parse("US")?,
                goods: goods.clone(),
                year: 2026,
                quota_g: 164_000 * 1_000_000,
            },
        )
        .await?;
    store
        .record_quota_imports(
            &officer,
            &id,
            130_000 * 1_000_000,
            waiver_domain::BjTime::parse_instant("2026-10-31")?,
            "imports recorded: customs statistics January-October 2026 (illustrative demo figure, not sourced)",
        )
        .await?;
    let customs = "customs.qingdao";
    for (number, at, lines) in [
        (
            "DEMO-2026-0101",
            "2026-11-03T10:00",
            vec![
                (1, "02023000", 25, 225_000, None),
                (2, "02023000", 25, 225_000, None),
            ],
        ),
        (
            "DEMO-2026-0102",
            "2026-11-12T14:30",
            vec![(1, "02023000", 20, 190_000, None)],
        ),
        (
            "DEMO-2026-0103",
            "2026-11-24T09:15",
            vec![
                (1, "02023000", 25, 230_000, None),
                (2, "02023000", 25, 230_000, None),
                (3, "02023000", 25, 230_000, None),
            ],
        ),
    ] {
        waiver_web::declarations::declare_as(
            state,
            customs,
            demo_declaration(number, "3700HS0001", at, lines),
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo declaration {number}: {}", e.message))?;
    }
    Ok(())
}
