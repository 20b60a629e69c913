//! One call of a load measurement: the same Twilio path as [`super::place_call`] (signed
//! webhook, TwiML, signed upgrade, `start`), then 20 ms frames that each carry their sequence
//! number in the first 8 bytes, so the audio an echo peer sends back through the bridge can be
//! matched to when it was sent.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use phone_twilio::signature::compute_signature;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::webhook::{incoming_form, new_sid, parse_twiml, post_signed};
use super::{CallError, CallTarget};

/// What one echo call measured.
#[derive(Debug, Clone, Default)]
pub struct EchoCallResult {
    /// Frames sent in the measured window.
    pub sent: u64,
    /// Of those, frames that came back.
    pub received: u64,
    /// Round trips (send → same audio back), in microseconds.
    pub latencies_us: Vec<f64>,
    /// Time from `start` to the first audio back, in microseconds: a probe frame sent right
    /// after `start` comes back once the host has checked the stream token, opened the
    /// Realtime session and had it confirmed (the call's time to first audio, with an echo
    /// peer that answers at once).
    pub setup_us: Option<f64>,
}

/// Frame number of the probe sent right after `start`.
const PROBE: u64 = u64::MAX;

/// Rings, opens the stream, waits until `start_at`, streams until `stop_at`, then hangs up.
pub async fn echo_call(
    target: &CallTarget,
    start_at: Instant,
    stop_at: Instant,
) -> Result<EchoCallResult, CallError> {
    let http = reqwest::Client::new();
    let server = target.server.trim_end_matches('/');
    let public = target
        .public_url
        .as_deref()
        .unwrap_or(server)
        .trim_end_matches('/');
    let (call_sid, account_sid) = (new_sid("CA"), new_sid("AC"));
    let form = incoming_form(&call_sid, &account_sid, &target.from, &target.to);
    let (status, body) = post_signed(
        &http,
        &format!("{server}/voice/incoming"),
        &format!("{public}/voice/incoming"),
        &target.auth_token,
        &form,
    )
    .await?;
    // Twilio's webhook connection is not the media stream's: close it now rather than keep an
    // idle keep-alive connection open on the server for the whole call.
    drop(http);
    if status != 200 {
        return Err(CallError::Rejected {
            step: "POST /voice/incoming",
            status,
            body,
        });
    }
    let stream = parse_twiml(&body)?;
    let mut request = stream
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| CallError::WebSocket(e.to_string()))?;
    let signature = compute_signature(&target.auth_token, &stream.url, &[]);
    let header =
        HeaderValue::from_str(&signature).map_err(|e| CallError::WebSocket(e.to_string()))?;
    request.headers_mut().insert("X-Twilio-Signature", header);
    // No Nagle: each 20 ms frame is sent when Twilio would send it.
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .map_err(|e| CallError::WebSocket(e.to_string()))?;
    let stream_sid = new_sid("MZ");
    let params: serde_json::Map<String, Value> = stream
        .parameters
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    let ws_err = |e: tokio_tungstenite::tungstenite::Error| CallError::WebSocket(e.to_string());
    let connected = json!({"event": "connected", "protocol": "Call", "version": "1.0.0"});
    socket
        .send(Message::text(connected.to_string()))
        .await
        .map_err(ws_err)?;
    let start = json!({"event": "start", "sequenceNumber": "1", "streamSid": stream_sid,
        "start": {"accountSid": account_sid, "streamSid": stream_sid, "callSid": call_sid,
                  "tracks": ["inbound"], "customParameters": params,
                  "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}});
    socket
        .send(Message::text(start.to_string()))
        .await
        .map_err(ws_err)?;

    let mut result = EchoCallResult::default();
    let probe_sent = Instant::now();
    let mut probe = [0xFFu8; 160];
    probe[..8].copy_from_slice(&PROBE.to_be_bytes());
    let probe = format!(
        r#"{{"event":"media","sequenceNumber":"2","streamSid":"{stream_sid}","media":{{"track":"inbound","chunk":"0","timestamp":"0","payload":"{}"}}}}"#,
        STANDARD.encode(probe)
    );
    socket.send(Message::text(probe)).await.map_err(ws_err)?;
    let mut in_flight: VecDeque<(u64, Instant)> = VecDeque::new();
    // Until the measured window opens, wait for the probe to come back.
    let probe_back = async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message
                && frame_number(text.as_str()) == Some(PROBE)
            {
                return Some(probe_sent.elapsed().as_secs_f64() * 1e6);
            }
        }
        None
    };
    result.setup_us = tokio::time::timeout_at(start_at.into(), probe_back)
        .await
        .ok()
        .flatten();
    tokio::time::sleep_until(start_at.into()).await;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut frame_no: u64 = 0;
    let mut msg_seq: u64 = 2;
    let drain_until = stop_at + Duration::from_millis(500);
    loop {
        tokio::select! {
            _ = tick.tick(), if Instant::now() < stop_at => {
                frame_no += 1;
                msg_seq += 1;
                let mut frame = [0xFFu8; 160];
                frame[..8].copy_from_slice(&frame_no.to_be_bytes());
                in_flight.push_back((frame_no, Instant::now()));
                // Written by hand rather than through serde_json: the generator shares the
                // machine with the server it measures, so its own cost is kept small.
                let media = format!(
                    r#"{{"event":"media","sequenceNumber":"{msg_seq}","streamSid":"{stream_sid}","media":{{"track":"inbound","chunk":"{frame_no}","timestamp":"{}","payload":"{}"}}}}"#,
                    (frame_no - 1) * 20,
                    STANDARD.encode(frame)
                );
                socket.send(Message::text(media)).await.map_err(ws_err)?;
                result.sent += 1;
            }
            message = tokio::time::timeout(Duration::from_millis(50), socket.next()) => match message {
                Ok(Some(Ok(Message::Text(text)))) => {
                    if let Some(got) = frame_number(text.as_str()) {
                        if got == PROBE {
                            continue;
                        }
                        while let Some((n, at)) = in_flight.pop_front() {
                            if n == got {
                                result.received += 1;
                                result.latencies_us.push(at.elapsed().as_secs_f64() * 1e6);
                                break;
                            }
                        }
                        continue;
                    }
                    let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                    if v["event"] == "mark" {
                        // Nothing plays here, so every mark is due at once.
                        msg_seq += 1;
                        let echo = json!({"event": "mark", "sequenceNumber": msg_seq.to_string(),
                                          "streamSid": stream_sid, "mark": v["mark"]});
                        socket.send(Message::text(echo.to_string())).await.map_err(ws_err)?;
                    }
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_))) | Ok(None) => break,
                Err(_) if Instant::now() > drain_until => break,
                Err(_) => {}
            }
        }
    }
    msg_seq += 1;
    let stop = json!({"event": "stop", "sequenceNumber": msg_seq.to_string(), "streamSid": stream_sid,
                      "stop": {"accountSid": account_sid, "callSid": call_sid}});
    let _ = socket.send(Message::text(stop.to_string())).await;
    let _ = socket.close(None).await;
    Ok(result)
}

/// The frame number in the first 8 bytes of a `media` message's audio, read from the first 12
/// base64 characters of its payload without parsing the rest.
fn frame_number(text: &str) -> Option<u64> {
    if !text.contains(r#""event":"media""#) {
        return None;
    }
    let payload = text.split(r#""payload":""#).nth(1)?;
    let head = STANDARD.decode(payload.get(..12)?).ok()?;
    Some(u64::from_be_bytes(head.get(..8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_number_is_read_from_the_payload_head() {
        let mut frame = [0xFFu8; 160];
        frame[..8].copy_from_slice(&4242u64.to_be_bytes());
        let text = format!(
            r#"{{"event":"media","streamSid":"MZ1","media":{{"payload":"{}"}}}}"#,
            STANDARD.encode(frame)
        );
        assert_eq!(frame_number(&text), Some(4242));
        assert_eq!(
            frame_number(r#"{"event":"mark","mark":{"name":"a"}}"#),
            None
        );
    }
}
