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
    /// Disable a user: no sign-in, their sessions end and their API tokens stop working (in a
    /// running server within 2 s).
    Disable { username: String },
    /// Enable a disabled user again (their API tokens work again; sessions do not come back).
    Enable { username: String },
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
    /// List API tokens (id, user, label, when created and revoked; never the token itself).
    List {
        /// Only this user's tokens.
        #[arg(long)]
        user: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API token by its id (from `waiver token list`); a running server refuses it
    /// within 2 s.
    Revoke { id: i64 },
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
    let (username, role, name, enterprise, affiliation) = match cmd {
        UserCommand::Add {
            username,
            role,
            name,
            enterprise,
            affiliation,
        } => (username, role, name, enterprise, affiliation),
        UserCommand::Disable { username } => return set_disabled(db, &username, true).await,
        UserCommand::Enable { username } => return set_disabled(db, &username, false).await,
    };
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

async fn set_disabled(db: DbArgs, username: &str, disabled: bool) -> anyhow::Result<ExitCode> {
    let store = open(&db).await?;
    let changed = store
        .set_user_disabled(&Actor::user("cli"), username, disabled)
        .await?;
    let state = if disabled { "disabled" } else { "enabled" };
    if changed {
        println!("{username} is now {state}");
    } else {
        println!("{username} was already {state}; nothing changed");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn token(db: DbArgs, cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    let store = open(&db).await?;
    match cmd {
        TokenCommand::Create { username, label } => {
            let token = store
                .create_token(&Actor::user("cli"), &username, &label)
                .await?;
            println!("{token}");
        }
        TokenCommand::List { user, json } => {
            let tokens = store.tokens(user.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                print!("{}", token_table(&tokens));
            }
        }
        TokenCommand::Revoke { id } => {
            let t = store.revoke_token(&Actor::user("cli"), id).await?;
            println!("revoked token {} ({}) of {}", t.id, t.label, t.username);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Milliseconds since the epoch as Beijing time, to the minute.
fn beijing(ms: i64) -> String {
    let t = waiver_domain::time::BjTime(ms.div_euclid(1000) + 8 * 3600);
    let (y, mo, d, h, mi, _) = t.civil();
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}")
}

fn token_table(tokens: &[waiver_store::TokenInfo]) -> String {
    let rows: Vec<[String; 5]> = tokens
        .iter()
        .map(|t| {
            [
                t.id.to_string(),
                t.username.clone(),
                t.label.clone(),
                beijing(t.created_at_ms),
                t.revoked_at_ms.map_or_else(|| "-".into(), beijing),
            ]
        })
        .collect();
    let head = [
        "id",
        "user",
        "label",
        "created (Beijing)",
        "revoked (Beijing)",
    ];
    let mut width = head.map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(width).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(head);
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    if rows.is_empty() {
        out.push_str("(no tokens)\n");
    }
    out
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
