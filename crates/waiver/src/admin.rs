//! Administration commands on the database: `migrate`, `user add`, `token create`, `audit verify`.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use waiver_domain::accounts::{Role, Username};
use waiver_domain::RegistrationCode;
use waiver_store::{Actor, NewUser, Store};

/// Where the database is: a SQLite file path, `sqlite://PATH`, or `postgres://…`.
#[derive(Args, Clone)]
pub struct DbArgs {
    #[arg(
        long,
        global = true,
        env = "WAIVER_DATABASE",
        default_value = "waiver.db"
    )]
    pub database: String,
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user (the password is read from WAIVER_PASSWORD or standard input).
    Add {
        username: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
        /// The enterprise (customs registration code) an applicant acts for.
        #[arg(long)]
        enterprise: Option<String>,
        /// An expert's affiliation (used for conflict-of-interest checks).
        #[arg(long)]
        affiliation: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum EnterpriseCommand {
    /// Register an enterprise by its 10-character customs registration code.
    Add {
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        name_zh: String,
        #[arg(long)]
        group: Option<String>,
        /// An industry association that may file on behalf of its members.
        #[arg(long)]
        association: bool,
        /// For an association: its members' registration codes.
        #[arg(long, value_delimiter = ',')]
        members: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (only its hash is stored).
    Create {
        username: String,
        #[arg(long, default_value = "api")]
        label: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain and report the first entry that was edited, removed or reordered.
    Verify,
}

pub async fn open(db: &DbArgs) -> anyhow::Result<Store> {
    let store = Store::connect(&db.database)
        .await
        .with_context(|| format!("cannot open the database {}", db.database))?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

pub async fn migrate(db: DbArgs) -> anyhow::Result<ExitCode> {
    open(&db).await?;
    println!("migrated {}", db.database);
    Ok(ExitCode::SUCCESS)
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("WAIVER_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

pub async fn user(db: DbArgs, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let UserCommand::Add {
        username,
        role,
        name,
        enterprise,
        affiliation,
    } = cmd;
    let new = NewUser {
        username: Username::parse(&username)?,
        display_name: name,
        role: Role::parse(&role)?,
        enterprise: enterprise
            .as_deref()
            .map(RegistrationCode::parse)
            .transpose()?,
        affiliation,
    };
    let password = read_password()?;
    let store = open(&db).await?;
    let user = store
        .create_user(&Actor::user("cli"), &new, &password)
        .await?;
    println!("added {} ({})", user.username, user.role);
    Ok(ExitCode::SUCCESS)
}

pub async fn enterprise(db: DbArgs, cmd: EnterpriseCommand) -> anyhow::Result<ExitCode> {
    let EnterpriseCommand::Add {
        code,
        name,
        name_zh,
        group,
        association,
        members,
    } = cmd;
    let code = RegistrationCode::parse(&code)?;
    let store = open(&db).await?;
    let new = waiver_store::NewEnterprise {
        registration_code: code,
        name_en: name,
        name_zh,
        parent_group: group,
        is_association: association,
    };
    let actor = Actor::user("cli");
    store.create_enterprise(&actor, &new).await?;
    for m in &members {
        store
            .add_member(&actor, &code, &RegistrationCode::parse(m)?)
            .await?;
    }
    println!("added {code}");
    Ok(ExitCode::SUCCESS)
}

pub async fn token(db: DbArgs, cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    let TokenCommand::Create { username, label } = cmd;
    let store = open(&db).await?;
    let token = store
        .create_token(&Actor::user("cli"), &username, &label)
        .await?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

pub async fn audit(db: DbArgs, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let AuditCommand::Verify = cmd;
    let store = open(&db).await?;
    let report = store.verify_audit().await?;
    match report.first_bad {
        None => {
            println!("audit chain intact: {} entries", report.entries);
            Ok(ExitCode::SUCCESS)
        }
        Some((seq, why)) => {
            println!("audit chain broken at entry {seq}: {why}");
            Ok(ExitCode::from(1))
        }
    }
}
