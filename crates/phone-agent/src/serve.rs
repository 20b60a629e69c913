//! `phone-agent serve`: the all-in-one local server.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Args;

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

/// Starts the server and runs until ctrl-c.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let state = phone_api::bootstrap::app_state()
        .await
        .context("starting up")?;
    let store = state.store.records().describe();
    let app = phone_api::routes::all(state);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("phone-agent listening on http://{addr}");
    println!("  health:  http://{addr}/health");
    println!("  store:   {store}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving")
}
