//! Where `/auth/google/callback` keeps the refresh token Google grants: the Secrets Manager
//! secret that holds the configuration in AWS, or the `.env` file that `phone-agent` reads
//! locally.

use std::path::PathBuf;

use async_trait::async_trait;
use phone_config::keys;
use secrecy::{ExposeSecret, SecretString};

/// Why the token could not be kept.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

/// Keeps the Google refresh token as `GOOGLE_REFRESH_TOKEN` in the configuration.
#[async_trait]
pub trait RefreshTokenSink: Send + Sync + 'static {
    /// Stores `token`, replacing any earlier one.
    async fn save(&self, token: &SecretString) -> Result<(), SinkError>;
    /// Where, for logs and the answer page (never the token).
    fn describe(&self) -> String;
}

/// The configuration secret in Secrets Manager (`CONFIG_SECRET_ID`).
#[derive(Debug, Clone)]
pub struct SecretsManagerSink {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl SecretsManagerSink {
    /// A sink writing into secret `secret_id`.
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: &str) -> Self {
        Self {
            client,
            secret_id: secret_id.to_owned(),
        }
    }
}

#[async_trait]
impl RefreshTokenSink for SecretsManagerSink {
    async fn save(&self, token: &SecretString) -> Result<(), SinkError> {
        phone_aws::secrets::put_secret_key(
            &self.client,
            &self.secret_id,
            keys::GOOGLE_REFRESH_TOKEN,
            token.expose_secret(),
        )
        .await
        .map_err(|e| SinkError(e.to_string()))
    }

    fn describe(&self) -> String {
        format!("secret {}", self.secret_id)
    }
}

/// A dotenv file (`LOCAL_ENV_FILE`, default `.env`): the line `GOOGLE_REFRESH_TOKEN=…` is
/// replaced or appended, the rest of the file kept; the file is written whole (temp file, then
/// rename) and readable by its owner only.
#[derive(Debug, Clone)]
pub struct EnvFileSink {
    path: PathBuf,
}

impl EnvFileSink {
    /// A sink writing into `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

#[async_trait]
impl RefreshTokenSink for EnvFileSink {
    async fn save(&self, token: &SecretString) -> Result<(), SinkError> {
        let value = token.expose_secret();
        // A dotenv value without quotes must not hold what the format would read as syntax.
        if value.is_empty()
            || value.chars().any(|c| {
                c.is_whitespace() || c.is_control() || matches!(c, '#' | '"' | '\'' | '\\')
            })
        {
            return Err(SinkError(
                "the refresh token has characters a .env file cannot hold unquoted".into(),
            ));
        }
        let key = keys::GOOGLE_REFRESH_TOKEN;
        let old = match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(SinkError(format!("reading {}: {e}", self.path.display()))),
        };
        let mut lines: Vec<String> = old
            .lines()
            .filter(|l| {
                let l = l.trim_start();
                let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
                !l.strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with('='))
            })
            .map(str::to_owned)
            .collect();
        lines.push(format!("{key}={value}"));
        let text = lines.join("\n") + "\n";
        let tmp = self.path.with_extension("tmp-oauth");
        // A leftover from a crashed run would keep its old permissions through `truncate`.
        let _ = tokio::fs::remove_file(&tmp).await;
        write_private(&tmp, &text)
            .await
            .map_err(|e| SinkError(format!("writing {}: {e}", tmp.display())))?;
        tokio::fs::rename(&tmp, &self.path)
            .await
            .map_err(|e| SinkError(format!("replacing {}: {e}", self.path.display())))?;
        tracing::info!(file = %self.path.display(), key, "refresh token stored");
        Ok(())
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}

/// Writes `text` to a new file only its owner can read (it holds a credential).
async fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).await?;
    file.write_all(text.as_bytes()).await?;
    file.sync_all().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn env_file_keeps_other_lines_and_replaces_the_token() {
        let dir = std::env::temp_dir().join(format!("sink-{}", rand::random::<u64>()));
        tokio::fs::create_dir_all(&dir).await.unwrap();
        let path = dir.join(".env");
        tokio::fs::write(&path, "API_KEY=k\nGOOGLE_REFRESH_TOKEN=old\n# note\n")
            .await
            .unwrap();
        let sink = EnvFileSink::new(&path);
        sink.save(&SecretString::from("1//new-token"))
            .await
            .unwrap();
        let text = tokio::fs::read_to_string(&path).await.unwrap();
        assert_eq!(
            text,
            "API_KEY=k\n# note\nGOOGLE_REFRESH_TOKEN=1//new-token\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let bad = sink.save(&SecretString::from("a b")).await;
        assert!(bad.is_err());
        tokio::fs::remove_dir_all(&dir).await.unwrap();
    }
}
