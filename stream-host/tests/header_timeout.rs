//! The stream host cuts off a client that trickles its request headers (slowloris) once
//! `header_read_timeout` has passed, and still serves everyone else.

mod harness;

use std::net::SocketAddr;
use std::time::Duration;

use harness::start_with;
use phone_test_support::realtime_server::Mode;
use phone_test_support::slowloris::time_until_closed;

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_after_the_timeout() {
    let host = start_with(Mode::Scripted, |c| {
        c.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let addr: SocketAddr = host.base.trim_start_matches("http://").parse().unwrap();
    let closed = time_until_closed(addr, Duration::from_millis(100), Duration::from_secs(10))
        .await
        .unwrap()
        .expect("the host closes a connection whose headers never end");
    assert!(
        closed >= Duration::from_millis(900) && closed < Duration::from_secs(4),
        "closed after {closed:?}, expected about 1 s"
    );
    let health = reqwest::get(format!("{}/health", host.base)).await.unwrap();
    assert_eq!(health.status(), 200, "other clients are served");
}
