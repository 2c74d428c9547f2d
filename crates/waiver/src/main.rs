//! `waiver`: the one binary. Subcommands for tariff look-ups, bulk assessment, landed cost; the service
//! arrives with later work.

mod admin;
mod assess;
mod chart;
mod demo;
mod fast;
mod landed;
mod output;
mod records;
mod scenario;
mod serve;
mod tariff;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use waiver_domain::schedule_csv::{self, ScheduleFiles};
use waiver_domain::Schedule;

#[derive(Parser)]
#[command(
    name = "waiver",
    version,
    about = "Tariff exclusions end to end: look-ups, assessment, allowances."
)]
struct Cli {
    /// Use the schedule in this directory (lines.csv, measures.csv, exchange_rates.csv; see
    /// docs/schedule-format.md) instead of the embedded demo schedule.
    #[arg(long, global = true, value_name = "DIR")]
    schedule: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Every duty layer in force for a tariff line, origin and instant.
    Tariff(tariff::TariffArgs),
    /// Assess a CSV file of declaration lines (streaming; any size).
    Assess(assess::AssessArgs),
    /// Landed cost per tonne by origin: duty and VAT paid, with and without exclusion, ranked.
    Landed(landed::LandedArgs),
    /// Landed cost per origin month by month, with the tariff timeline applied.
    LandedSeries(landed::SeriesArgs),
    /// Run the service: JSON API, OpenAPI, health and metrics.
    Serve(serve::ServeArgs),
    /// Create or upgrade the database schema.
    Migrate(admin::DbArgs),
    /// Manage users.
    User {
        #[command(flatten)]
        db: admin::DbArgs,
        #[command(subcommand)]
        command: admin::UserCommand,
    },
    /// Manage enterprises.
    Enterprise {
        #[command(flatten)]
        db: admin::DbArgs,
        #[command(subcommand)]
        command: admin::EnterpriseCommand,
    },
    /// Manage API tokens for machine clients.
    Token {
        #[command(flatten)]
        db: admin::DbArgs,
        #[command(subcommand)]
        command: admin::TokenCommand,
    },
    /// Seed the demo plus N approved allowances and a customs token, for load tests; prints JSON.
    #[command(hide = true)]
    SeedBench {
        #[command(flatten)]
        db: admin::DbArgs,
        /// How many allowances to create.
        #[arg(long, default_value_t = 1000)]
        allowances: usize,
        /// Tonnes granted per allowance.
        #[arg(long, default_value_t = 1000)]
        tonnes: u32,
    },
    /// What-if scenarios: overlays of measure changes, from a JSON file or the database.
    Scenario {
        #[command(flatten)]
        db: admin::DbArgs,
        #[command(subcommand)]
        command: scenario::ScenarioCommand,
    },
    /// Check the tamper-evident audit log.
    Audit {
        #[command(flatten)]
        db: admin::DbArgs,
        #[command(subcommand)]
        command: admin::AuditCommand,
    },
}

/// Runs an async command on a fresh runtime.
fn block_on<F: std::future::Future<Output = anyhow::Result<ExitCode>>>(
    f: F,
) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(f)
}

/// Loads the schedule named by `--schedule`, or the embedded demo.
fn load_schedule(dir: Option<&Path>) -> anyhow::Result<Schedule> {
    let Some(dir) = dir else {
        return Ok(schedule_csv::demo_schedule()?);
    };
    let read = |name: &str| -> anyhow::Result<String> {
        let path = dir.join(name);
        let meta = std::fs::metadata(&path)
            .with_context(|| format!("cannot read schedule file {}", path.display()))?;
        if meta.len() > schedule_csv::MAX_FILE_BYTES as u64 {
            anyhow::bail!(
                "schedule file {} is larger than {} bytes",
                path.display(),
                schedule_csv::MAX_FILE_BYTES
            );
        }
        std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read schedule file {} as UTF-8 text", path.display()))
    };
    let (lines, measures, rates) = (
        read(schedule_csv::LINES_FILE)?,
        read(schedule_csv::MEASURES_FILE)?,
        read(schedule_csv::RATES_FILE)?,
    );
    Ok(schedule_csv::parse_schedule(&ScheduleFiles {
        lines: &lines,
        measures: &measures,
        exchange_rates: &rates,
    })?)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let schedule = match load_schedule(cli.schedule.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Tariff(a) => tariff::run(&schedule, a),
        Command::Assess(a) => assess::run(&schedule, a),
        Command::Landed(a) => landed::run(&schedule, a),
        Command::LandedSeries(a) => landed::run_series(&schedule, a),
        Command::Serve(a) => block_on(serve::run(schedule, a)),
        Command::Migrate(db) => block_on(admin::migrate(db)),
        Command::User { db, command } => block_on(admin::user(db, command)),
        Command::Enterprise { db, command } => block_on(admin::enterprise(db, command)),
        Command::Token { db, command } => block_on(admin::token(db, command)),
        Command::SeedBench {
            db,
            allowances,
            tonnes,
        } => block_on(async move {
            let store = admin::open(&db).await?;
            let seeded = demo::seed_bench(&store, allowances, tonnes).await?;
            println!("{}", serde_json::to_string_pretty(&seeded)?);
            Ok(ExitCode::SUCCESS)
        }),
        Command::Audit { db, command } => block_on(admin::audit(db, command)),
        Command::Scenario { db, command } => block_on(scenario::run(schedule, db, command)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
