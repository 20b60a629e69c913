//! A slowloris client: it opens a TCP connection and sends a request line and headers a byte
//! at a time, never finishing them, to check that a server cuts it off.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Trickles a never-ending request head to `addr`, one byte every `every`, and returns how long
/// the server took to close the connection, or `None` if it was still open after `give_up`.
pub async fn time_until_closed(
    addr: SocketAddr,
    every: Duration,
    give_up: Duration,
) -> std::io::Result<Option<Duration>> {
    let stream = TcpStream::connect(addr).await?;
    let started = Instant::now();
    let (mut read, mut write) = stream.into_split();
    let trickle = tokio::spawn(async move {
        let head = b"GET /health HTTP/1.1\r\nHost: slow\r\nX-Slow: ";
        for byte in head.iter().copied().chain(std::iter::repeat(b'a')) {
            if write.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(every).await;
        }
    });
    // Whatever the server answers (hyper may send nothing, or a 408), it ends with a close.
    let closed = async move {
        let mut buf = [0u8; 1024];
        while let Ok(n) = read.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    let outcome = tokio::time::timeout(give_up, closed).await;
    trickle.abort();
    Ok(outcome.ok().map(|()| started.elapsed()))
}
