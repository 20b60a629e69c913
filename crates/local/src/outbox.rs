//! Local outboxes: SMS and mail that are recorded in the store instead of being sent, with the
//! same ids, listing and errors as the real services. `phone-agent` shows them.

use async_trait::async_trait;
use phone_core::ports::{
    EmailMessage, Mail, Messaging, OutgoingEmail, PortError, SentEmail, SmsMessage, SmsQuery,
};
use phone_core::store::{PageRequest, PutMode, StoreError};
use phone_core::{PhoneNumber, Store};
use rand::RngCore;

const SMS_PK: &str = "OUTBOX#sms";
const MAIL_PK: &str = "OUTBOX#mail";
const INBOX_PK: &str = "INBOX#mail";
const KEEP: std::time::Duration = std::time::Duration::from_secs(90 * 24 * 3600);

fn store_err(service: &'static str) -> impl Fn(StoreError) -> PortError {
    move |e| match e {
        StoreError::NotFound => PortError::NotFound("message".into()),
        other => PortError::Upstream {
            service,
            status: None,
            message: other.to_string(),
        },
    }
}

fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Sort key: time first so listings come newest first, id for uniqueness.
fn sort_key(at: time::OffsetDateTime, id: &str) -> String {
    format!("AT#{:020}#{id}", at.unix_timestamp_nanos())
}

/// SMS recorded instead of sent.
#[derive(Clone, Debug)]
pub struct SmsOutbox {
    store: Store,
    from: String,
}

impl SmsOutbox {
    /// An outbox sending "from" `from`.
    pub fn new(store: Store, from: Option<PhoneNumber>) -> Self {
        Self {
            store,
            from: from
                .map(|n| n.as_str().to_owned())
                .unwrap_or_else(|| "+15005550006".into()),
        }
    }
}

#[async_trait]
impl Messaging for SmsOutbox {
    async fn send_sms(&self, to: &PhoneNumber, body: &str) -> Result<SmsMessage, PortError> {
        let now = self.store.clock().now();
        let sid = new_id("SM");
        let message = SmsMessage {
            sid: sid.clone(),
            to: to.as_str().into(),
            from: self.from.clone(),
            body: body.into(),
            status: "queued".into(),
            direction: "outbound-api".into(),
            sent_at: Some(now),
            num_segments: Some(body.chars().count().div_ceil(153).max(1) as u32),
            error_code: None,
        };
        let err = store_err("sms_outbox");
        self.store
            .put_value(
                SMS_PK,
                &sort_key(now, &sid),
                &message,
                KEEP,
                PutMode::IfAbsent,
            )
            .await
            .map_err(&err)?;
        self.store
            .put_value(
                SMS_PK,
                &format!("SID#{sid}"),
                &message,
                KEEP,
                PutMode::IfAbsent,
            )
            .await
            .map_err(&err)?;
        tracing::info!(to = %to, sid = %sid, "SMS recorded in the local outbox");
        Ok(message)
    }

    async fn list_sms(&self, query: &SmsQuery) -> Result<Vec<SmsMessage>, PortError> {
        let limit = query.limit.clamp(1, 100) as usize;
        let page = PageRequest::newest(PageRequest::MAX_LIMIT);
        let all = self
            .store
            .query_values::<SmsMessage>(SMS_PK, "AT#", &page)
            .await
            .map_err(store_err("sms_outbox"))?;
        Ok(all
            .items
            .into_iter()
            .filter(|m| query.to.as_ref().is_none_or(|t| m.to == t.as_str()))
            .filter(|m| query.from.as_ref().is_none_or(|f| m.from == f.as_str()))
            .take(limit)
            .collect())
    }

    async fn get_sms(&self, sid: &str) -> Result<SmsMessage, PortError> {
        self.store
            .get_value(SMS_PK, &format!("SID#{sid}"))
            .await
            .map_err(|e| match e {
                StoreError::NotFound => PortError::NotFound(format!("message {sid}")),
                other => store_err("sms_outbox")(other),
            })
    }

    fn describe(&self) -> String {
        "local SMS outbox (nothing is sent)".into()
    }
}

/// Mail recorded instead of sent, plus an inbox that tests and the demo can deliver to.
#[derive(Clone, Debug)]
pub struct MailOutbox {
    store: Store,
}

impl MailOutbox {
    /// An outbox in `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Puts a message in the local inbox, as if it had been received.
    pub async fn deliver(&self, message: &EmailMessage) -> Result<(), PortError> {
        let at = message.date.unwrap_or_else(|| self.store.clock().now());
        self.store
            .put_value(
                INBOX_PK,
                &sort_key(at, &message.id),
                message,
                KEEP,
                PutMode::Overwrite,
            )
            .await
            .map_err(store_err("mail_outbox"))
    }

    /// Messages sent (or drafted) so far, newest first.
    pub async fn sent(&self) -> Result<Vec<(String, OutgoingEmail)>, PortError> {
        let page = PageRequest::newest(PageRequest::MAX_LIMIT);
        let items = self
            .store
            .query_values::<serde_json::Value>(MAIL_PK, "", &page)
            .await
            .map_err(store_err("mail_outbox"))?;
        Ok(items
            .items
            .into_iter()
            .filter_map(|v| {
                Some((
                    v["kind"].as_str()?.to_owned(),
                    serde_json::from_value(v["email"].clone()).ok()?,
                ))
            })
            .collect())
    }

    async fn record(&self, kind: &str, email: &OutgoingEmail) -> Result<SentEmail, PortError> {
        if email.to.is_empty() {
            return Err(PortError::Invalid("no recipient".into()));
        }
        let now = self.store.clock().now();
        let id = new_id("");
        let entry = serde_json::json!({"kind": kind, "id": id, "email": email});
        self.store
            .put_value(
                MAIL_PK,
                &sort_key(now, &id),
                &entry,
                KEEP,
                PutMode::IfAbsent,
            )
            .await
            .map_err(store_err("mail_outbox"))?;
        tracing::info!(
            kind,
            recipients = email.to.len(),
            "mail recorded in the local outbox"
        );
        Ok(SentEmail {
            id,
            thread_id: email.thread_id.clone(),
        })
    }
}

#[async_trait]
impl Mail for MailOutbox {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<SentEmail, PortError> {
        self.record("sent", email).await
    }

    async fn create_draft(&self, email: &OutgoingEmail) -> Result<SentEmail, PortError> {
        self.record("draft", email).await
    }

    async fn list_recent(&self, query: &str, max: u32) -> Result<Vec<EmailMessage>, PortError> {
        let page = PageRequest {
            limit: max.clamp(1, 100),
            after: None,
            newest_first: true,
        };
        let needle = query.trim().to_lowercase();
        let items = self
            .store
            .query_values::<EmailMessage>(INBOX_PK, "", &page)
            .await
            .map_err(store_err("mail_outbox"))?;
        // The local inbox understands plain words; Gmail operators (is:, newer_than:) are ignored.
        let words: Vec<&str> = needle
            .split_whitespace()
            .filter(|w| !w.contains(':'))
            .collect();
        Ok(items
            .items
            .into_iter()
            .filter(|m| {
                let text = format!("{} {} {}", m.subject, m.from, m.body).to_lowercase();
                words.iter().all(|w| text.contains(w))
            })
            .collect())
    }

    async fn get_email(&self, id: &str) -> Result<EmailMessage, PortError> {
        let page = PageRequest::newest(PageRequest::MAX_LIMIT);
        let items = self
            .store
            .query_values::<EmailMessage>(INBOX_PK, "", &page)
            .await
            .map_err(store_err("mail_outbox"))?;
        items
            .items
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| PortError::NotFound(format!("message {id}")))
    }

    fn describe(&self) -> String {
        "local mail outbox (nothing is sent)".into()
    }
}
