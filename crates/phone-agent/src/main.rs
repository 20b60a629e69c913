//! `phone-agent`: run the whole system on one machine.
//!
//! - `serve`: every HTTP route of every function (and the stream host) in one process, on the
//!   embedded defaults unless configured otherwise.
//! - `call`: a simulated Twilio call against a server (or one started here).
//! - `demo`: everything on this machine and one checked call, with no account and no network
//!   (`--scenario reminder`: a reminder call placed by the assistant and answered).
//! - `load`: the stream host's load measurement through the real `serve` binary.
//! - `email`: one run of the email processor (optionally after dropping a message into the
//!   embedded inbox).
//! - `openapi`: print the REST API's OpenAPI 3.1 document (docs/openapi.json).

mod call;
mod demo;
mod demo_reminder;
mod email;
mod load;
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
    /// Place a simulated Twilio call: signed webhook, TwiML, signed media stream, real-time audio.
    Call(Box<call::CallArgs>),
    /// Run everything locally and place one scripted call through the whole path.
    Demo(demo::DemoArgs),
    /// Measure the bridge under N concurrent simulated calls through `serve`.
    Load(load::LoadArgs),
    /// Run the email processor once, as the scheduled Lambda does.
    Email(email::EmailArgs),
    /// Print the REST API's OpenAPI 3.1 document (`> docs/openapi.json` to update it).
    Openapi,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A `.env` file, when present, configures a local deployment; the environment wins.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        // Nothing but the document on stdout, so it can be redirected into the file.
        print!("{}", phone_api::openapi::json());
        return Ok(());
    }
    if !matches!(cli.command, Command::Serve(_)) {
        // A simulated call prints its own live log; server lines would bury it.
        demo::quiet_logging();
    }
    phone_config::logging::init();
    match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Call(args) => call::run(*args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Load(args) => load::run(args).await,
        Command::Email(args) => email::run(args).await,
        Command::Openapi => Ok(()),
    }
}
