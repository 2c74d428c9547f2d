//! `waiver serve`: the service on SQLite (default) or PostgreSQL.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use waiver_domain::Schedule;

use crate::admin::{open, DbArgs};
use crate::demo;

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Seed the demo (the 2019–2020 soybean story, fictional companies) if the database is empty.
    #[arg(long)]
    demo: bool,
}

pub async fn run(schedule: Schedule, a: ServeArgs) -> anyhow::Result<ExitCode> {
    let store = open(&a.db).await?;
    store
        .seed_programmes(&waiver_store::Actor::system())
        .await?;
    let state = waiver_web::AppState::new(store.clone(), schedule);
    if a.demo {
        let fresh = demo::seed(&store).await?;
        demo::seed_declarations(&state).await?;
        demo::seed_quota(&state).await?;
        println!(
            "{}",
            if fresh {
                "demo data seeded"
            } else {
                "demo data already present"
            }
        );
    }
    let listener = tokio::net::TcpListener::bind(&a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    let addr = listener.local_addr()?;
    println!(
        "Waiver is running at http://{addr}/  (database: {})",
        a.db.database
    );
    println!("  API: http://{addr}/api/v1/programmes   OpenAPI: http://{addr}/api/v1/openapi.json   health: /healthz   metrics: /metrics");
    if a.demo {
        println!("  demo logins (password `{}`):", demo::PASSWORD);
        for (name, display, role, _, _) in demo::USERS {
            println!("    {name:<16} {:<10} {display}", role.as_str());
        }
        println!(
            "  API clients: `waiver token create <username> --database {}` prints a bearer token",
            a.db.database
        );
    }
    waiver_web::serve(listener, state).await?;
    Ok(ExitCode::SUCCESS)
}
