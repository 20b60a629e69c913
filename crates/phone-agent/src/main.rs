//! `phone-agent`: run the whole system on one machine.
//!
//! - `serve`: every HTTP route of every function (and the stream host) in one process, on the
//!   embedded defaults unless configured otherwise.

mod serve;

use clap::{Parser, Subcommand};

/// The phone-agent command line.
#[derive(Debug, Parser)]
#[command(
    name = "phone-agent",
    version,
    about = "An open phone AI assistant: local server and tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every route and the stream host in one process.
    Serve(serve::ServeArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A `.env` file, when present, configures a local deployment; the environment wins.
    let _ = dotenvy::dotenv();
    phone_config::logging::init();
    match Cli::parse().command {
        Command::Serve(args) => serve::run(args).await,
    }
}
