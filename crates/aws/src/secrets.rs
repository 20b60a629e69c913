//! Configuration from one Secrets Manager secret: a JSON object whose keys are the same as the
//! environment variables (`TWILIO_AUTH_TOKEN`, `OPENAI_API_KEY`, …).
//!
//! Errors name the secret and the offending key, never a value.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use serde_json::Value;
use tokio::sync::OnceCell;

/// Why the secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The secret does not exist.
    #[error("secret {0} not found")]
    NotFound(String),
    /// Secrets Manager could not be reached or refused the request.
    #[error("reading secret {id}: {reason}")]
    Unavailable {
        /// Secret id.
        id: String,
        /// Why.
        reason: String,
    },
    /// The secret is not a JSON object of strings.
    #[error("secret {id} is malformed: {reason}")]
    Malformed {
        /// Secret id.
        id: String,
        /// What is wrong, naming the key when one is at fault.
        reason: String,
    },
}

fn service_error<E>(id: &str, err: aws_sdk_secretsmanager::error::SdkError<E>) -> SecretError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if err.code() == Some("ResourceNotFoundException") {
        SecretError::NotFound(id.to_owned())
    } else {
        SecretError::Unavailable {
            id: id.to_owned(),
            reason: DisplayErrorContext(&err).to_string(),
        }
    }
}

async fn read_json(
    client: &Client,
    id: &str,
) -> Result<serde_json::Map<String, Value>, SecretError> {
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| service_error(id, e))?;
    let text = out.secret_string.ok_or_else(|| SecretError::Malformed {
        id: id.to_owned(),
        reason: "no SecretString (binary secret?)".into(),
    })?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok(map),
        // Do not echo serde's message: it can quote part of the secret.
        Ok(_) => Err(SecretError::Malformed {
            id: id.to_owned(),
            reason: "expected a JSON object".into(),
        }),
        Err(e) => Err(SecretError::Malformed {
            id: id.to_owned(),
            reason: format!("not valid JSON (line {}, column {})", e.line(), e.column()),
        }),
    }
}

/// Reads the secret as `KEY → value`. Strings are taken as they are; numbers and booleans are
/// turned into their text; `null` means "not set" and the key is left out; an array or object is
/// an error naming the key (never its value).
pub async fn load_secret_map(
    client: &Client,
    id: &str,
) -> Result<BTreeMap<String, String>, SecretError> {
    let json = read_json(client, id).await?;
    let mut map = BTreeMap::new();
    for (key, value) in json {
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            _ => {
                return Err(SecretError::Malformed {
                    id: id.to_owned(),
                    reason: format!("key {key} must be a string, number or boolean"),
                });
            }
        };
        map.insert(key, text);
    }
    // Key names only: the values are the secrets.
    tracing::debug!(secret = id, keys = ?map.keys().collect::<Vec<_>>(), "secret read");
    Ok(map)
}

/// One cell per secret id: a process normally reads one secret, but a second id must never be
/// answered with the first one's values.
static CACHE: Mutex<BTreeMap<String, Arc<SecretCell>>> = Mutex::new(BTreeMap::new());

/// One secret's map, loaded at most once.
type SecretCell = OnceCell<BTreeMap<String, String>>;

/// [`load_secret_map`] once per process and secret id: a Lambda reads its secret on the cold
/// start only, and concurrent first callers share one request. A failure is not cached, so the
/// next invocation tries again.
pub async fn load_secret_map_cached(
    client: &Client,
    id: &str,
) -> Result<BTreeMap<String, String>, SecretError> {
    let cell = {
        // The lock only guards the lookup, never an `.await`; a poisoned map of cells is
        // still a valid map, so recover it.
        let mut cells = CACHE.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(cells.entry(id.to_owned()).or_default())
    };
    cell.get_or_try_init(|| load_secret_map(client, id))
        .await
        .cloned()
}

/// Sets one key of the secret's JSON, keeping the others (e.g. the Google refresh token after
/// the OAuth consent), and drops this process's cached copy so the next
/// [`load_secret_map_cached`] sees the new value.
///
/// A read-modify-write, not atomic: two concurrent writers of different keys could lose one
/// update. It has one caller (the OAuth callback), where that cannot happen in practice.
pub async fn put_secret_key(
    client: &Client,
    id: &str,
    key: &str,
    value: &str,
) -> Result<(), SecretError> {
    let mut json = read_json(client, id).await?;
    json.insert(key.to_owned(), Value::String(value.to_owned()));
    let text = serde_json::to_string(&json).map_err(|e| SecretError::Malformed {
        id: id.to_owned(),
        reason: e.to_string(),
    })?;
    client
        .put_secret_value()
        .secret_id(id)
        .secret_string(text)
        .send()
        .await
        .map_err(|e| service_error(id, e))?;
    CACHE.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    tracing::info!(secret = id, key, "secret key updated");
    Ok(())
}
