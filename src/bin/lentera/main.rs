//! The `lentera` command: arguments ([`args`]) read once into typed values, then one module per
//! command family running it over the library.

// The command line is where Lentera talks to its user: it prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod accounts;
mod args;
mod config;
mod export;
mod generate;
mod geocode;
mod goals;
mod households;
mod indicators;
mod programs;
mod regions;
mod render;
mod rounds;
mod serve;
mod shared;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use args::{Cli, Command, GenerateCommand};
use lentera::store::{open_store, StoreConfig};

/// mimalloc instead of the system allocator: household imports allocate and free millions of
/// small strings across threads, where it measured 25 % faster than glibc's malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs the command line and turns errors into a one-line message and exit code 1.
fn main() -> ExitCode {
    // Before the arguments are parsed and before any thread starts: a configuration file's
    // settings become defaults through the options' environment variables.
    if let Err(e) = config::apply(std::env::args_os()) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    init_tracing(&cli);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error with its causes, on one line.
fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
        .replace('\n', " ")
}

fn init_tracing(cli: &Cli) {
    let default = match (cli.verbose, &cli.command) {
        (0, Command::Serve(_) | Command::Demo(_)) => "info",
        (0, _) => "warn",
        (1, _) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LENTERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // A log line that cannot be written (stderr closed by a supervisor or a pipe reader that
    // went away) is dropped: reporting it would panic on the same closed stream and take the
    // server down with it.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false);
    let _ = match cli.log_format {
        args::LogFormat::Text => logs.try_init(),
        args::LogFormat::Json => logs.json().flatten_event(true).try_init(),
    };
}

async fn run(cli: Cli) -> Result<()> {
    let cfg = StoreConfig {
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
    };
    let store = open_store(&cfg).await.context("cannot open the store")?;
    match cli.command {
        Command::Regions(cmd) => regions::run(store.as_ref(), cmd).await,
        Command::Households(cmd) => households::run(store.as_ref(), &cfg, cmd).await,
        Command::Geocode(args) => geocode::run(store.as_ref(), args).await,
        Command::Generate(GenerateCommand::Households(args)) => {
            generate::run(store.as_ref(), args).await
        }
        Command::Indicators(args) => indicators::run(store.as_ref(), args).await,
        Command::Export(args) => export::run(&store, args).await,
        Command::Serve(args) => serve::serve_store(store, &cfg, &args).await,
        Command::Demo(args) => serve::demo(store, &cfg, args).await,
        Command::Users(cmd) => accounts::users(store.as_ref(), cmd).await,
        Command::Tokens(cmd) => accounts::tokens(store.as_ref(), cmd).await,
        Command::Audit(args) => accounts::audit(store.as_ref(), args).await,
        Command::Backup { output } => accounts::backup(store.as_ref(), &output).await,
        Command::Restore { file } => accounts::restore(store.as_ref(), &file).await,
        Command::Rounds(cmd) => rounds::run(store.as_ref(), cmd).await,
        Command::Programs(cmd) => programs::run(store.as_ref(), cmd).await,
        Command::Goals(cmd) => goals::run(store.as_ref(), cmd).await,
        Command::Render(cmd) => render::run(store, cmd).await,
    }
}
