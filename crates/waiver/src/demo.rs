//! The demo: the 2019–2020 soybean story with fictional companies, seeded into an empty database.

use waiver_domain::accounts::{Role, Username};
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
    Ok(true)
}
