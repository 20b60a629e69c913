//! `phone-agent email`: one run of the email processor, as the scheduled Lambda does it, on
//! whatever the configuration selects (Gmail with Google credentials, else the embedded inbox
//! and outbox). `--from`/`--subject`/`--body` first drop a message into the embedded inbox, so
//! the whole path can be tried with no Google account.
//!
//! The embedded store lives in memory unless `LOCAL_STORE_PATH` is set; set it to keep the
//! inbox, the records of handled mail and the drafts between runs.

use anyhow::{Context, bail};
use clap::Args;
use phone_core::ports::{EmailMessage, Mail};
use rand::RngCore;

/// Options of `email`.
#[derive(Debug, Clone, Args)]
pub struct EmailArgs {
    /// Deliver a message from this address to the embedded inbox before the run.
    #[arg(long, requires = "body")]
    pub from: Option<String>,
    /// Subject of the delivered message.
    #[arg(long, default_value = "Meeting")]
    pub subject: String,
    /// Body of the delivered message, e.g. "Can we meet Thursday at 3pm?".
    #[arg(long)]
    pub body: Option<String>,
}

/// Runs the processor once and prints its summary and the embedded outbox.
pub async fn run(args: EmailArgs) -> anyhow::Result<()> {
    let state = phone_api::state::load().await?;
    let local = phone_local::MailOutbox::new(state.store.clone());
    let ports = state.tools.as_ref().context("tool adapters")?;
    let embedded = ports.mail.describe() == local.describe();
    if let (Some(from), Some(body)) = (&args.from, &args.body) {
        if !embedded {
            bail!(
                "--from delivers to the embedded inbox, but mail is {}",
                ports.mail.describe()
            );
        }
        let mut id = [0u8; 8];
        rand::rng().fill_bytes(&mut id);
        let id = format!("local-{}", hex(&id));
        local
            .deliver(&EmailMessage {
                id: id.clone(),
                thread_id: Some(format!("thread-{id}")),
                from: from.clone(),
                to: "owner@localhost.test".into(),
                subject: args.subject.clone(),
                message_id: Some(format!("<{id}@localhost.test>")),
                date: Some(state.store.clock().now()),
                body: body.clone(),
            })
            .await?;
        println!("delivered {id} to the embedded inbox");
    }
    let summary = phone_api::email_processor::run_once(&state).await?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    for message in &summary.messages {
        if let Ok(record) = phone_core::email::record::get(&state.store, &message.message_id).await
        {
            println!(
                "record {}: {}",
                message.message_id,
                serde_json::to_string(&record)?
            );
        }
    }
    if embedded {
        for (kind, email) in local.sent().await? {
            println!(
                "outbox {kind} to {:?} \"{}\":\n{}\n",
                email.to, email.subject, email.body
            );
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
