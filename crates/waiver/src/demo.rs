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

pub const USERS: [DemoUser; 12] = [
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
