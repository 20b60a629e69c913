//! An axum app served on a free loopback port: the shared start-up of every HTTP test server.

use tokio::task::JoinHandle;

/// A running server; it stops when dropped.
pub struct LoopbackServer {
    base: String,
    task: JoinHandle<()>,
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl LoopbackServer {
    /// Binds `127.0.0.1:0` and serves `app` until dropped.
    pub async fn serve(app: axum::Router) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            base: format!("http://{addr}"),
            task,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base
    }
}
