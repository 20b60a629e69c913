//! Who may speak next: the `response.create` requests of one call and the responses running.
//!
//! The Realtime API runs one response at a time in the default conversation and refuses a
//! `response.create` that arrives while one runs (`conversation_already_has_active_response`),
//! which happens whenever server VAD starts a response on its own just before ours. Out-of-band
//! responses may run alongside, but their audio would then overlap the other's at Twilio.
//!
//! The contract kept here:
//! - every request has an `event_id` (echoed by a refusal) and carries it in its metadata
//!   (echoed by `response.created`/`response.done`), so each event is matched to its request;
//! - a request is sent only when no response runs and none is on its way; otherwise it waits,
//!   and a request refused because a response was running waits too: both are sent after that
//!   response's `response.done` (the "one moment" notice is dropped instead: it is only worth
//!   saying while nothing else is said);
//! - when a default-conversation response starts while the notice speaks, the notice is
//!   cancelled, so two voices never overlap;
//! - a request is finished only by its own `response.done`, never by another response's.
//!
//! Pure state, no I/O: the Realtime adapter feeds it events and sends what it returns.

use std::collections::VecDeque;

use phone_realtime::client;
use phone_realtime::server::{ACTIVE_RESPONSE, ResponseInfo};

use crate::engine::Purpose;

/// The tag sent in a response's metadata for each purpose.
fn tag(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Greeting => "greeting",
        Purpose::FollowUp => "follow_up",
        Purpose::Goodbye => "goodbye",
        Purpose::Apology => "apology",
        Purpose::ToolWait => client::TOOL_WAIT_PURPOSE,
        Purpose::KeypadReply => "keypad_reply",
    }
}

fn from_tag(text: &str) -> Option<Purpose> {
    [
        Purpose::Greeting,
        Purpose::FollowUp,
        Purpose::Goodbye,
        Purpose::Apology,
        Purpose::ToolWait,
        Purpose::KeypadReply,
    ]
    .into_iter()
    .find(|p| tag(*p) == text)
}

/// A request to speak.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    event_id: String,
    purpose: Purpose,
    instructions: Option<String>,
}

impl Request {
    fn to_event(&self) -> String {
        match self.purpose {
            Purpose::ToolWait => client::tool_wait_notice(&self.event_id),
            purpose => {
                client::response_create(&self.event_id, tag(purpose), self.instructions.as_deref())
            }
        }
    }
}

/// A response running on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Running {
    response_id: String,
    /// `None` for a response server VAD started.
    purpose: Option<Purpose>,
}

/// What a `response.created` asks of the bridge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Started {
    /// The "one moment" notice is speaking and must stop (send `response.cancel` for it and
    /// drop its audio): the conversation's own response speaks instead.
    pub cancel_notice: Option<String>,
}

/// What a `response.done` means for the bridge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Finished {
    /// The purpose of the request this response answered (`None` for server VAD's own).
    pub purpose: Option<Purpose>,
    /// The next request to send, now that nothing runs.
    pub send: Option<String>,
}

/// What an `error` event means for the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not about one of our response requests.
    NotOurs,
    /// Refused because a response was running: it will be sent again after that one.
    WillRetry(Purpose),
    /// Refused for another reason (or a notice that is no longer worth saying): given up.
    Dropped(Purpose),
}

/// The response requests and running responses of one call.
#[derive(Debug, Default)]
pub struct Responses {
    next_id: u64,
    /// Sent, neither created nor refused yet.
    in_flight: Option<Request>,
    /// Waiting for the conversation to be free, oldest first.
    waiting: VecDeque<Request>,
    /// The default conversation's running response.
    conversation: Option<Running>,
    /// The running out-of-band notice.
    notice: Option<Running>,
    /// A request was refused because a response runs that we may not have seen start yet:
    /// nothing is sent before the next `response.done`.
    refused_for_active: bool,
}

impl Responses {
    /// Asks for a response. Returns the event to send now, or `None` when it must wait (sent
    /// later by [`Responses::finished`] or [`Responses::refused`]); a "one moment" that cannot
    /// be said now is dropped.
    pub fn request(&mut self, purpose: Purpose, instructions: Option<&str>) -> Option<String> {
        if purpose == Purpose::ToolWait && (self.busy() || !self.waiting.is_empty()) {
            return None;
        }
        self.next_id += 1;
        self.waiting.push_back(Request {
            event_id: format!("rc-{}", self.next_id),
            purpose,
            instructions: instructions.map(str::to_owned),
        });
        self.next()
    }

    fn send(&mut self, request: Request) -> String {
        let event = request.to_event();
        self.in_flight = Some(request);
        event
    }

    /// Whether a response runs or one is on its way.
    fn busy(&self) -> bool {
        self.in_flight.is_some()
            || self.conversation.is_some()
            || self.notice.is_some()
            || self.refused_for_active
    }

    /// Whether a request of this purpose is sent, running or waiting.
    pub fn pending(&self, purpose: Purpose) -> bool {
        let running = |r: &Option<Running>| r.as_ref().is_some_and(|r| r.purpose == Some(purpose));
        self.in_flight
            .as_ref()
            .is_some_and(|r| r.purpose == purpose)
            || self.waiting.iter().any(|r| r.purpose == purpose)
            || running(&self.conversation)
            || running(&self.notice)
    }

    /// Responses still generating, for barge-in (their late audio is dropped).
    pub fn active(&self) -> Vec<&str> {
        [&self.conversation, &self.notice]
            .into_iter()
            .flatten()
            .map(|r| r.response_id.as_str())
            .collect()
    }

    /// Whether this running response is out of band (not in the conversation).
    pub fn is_out_of_band(&self, response_id: &str) -> bool {
        self.notice
            .as_ref()
            .is_some_and(|n| n.response_id == response_id)
    }

    /// A `response.created`.
    pub fn created(&mut self, response: &ResponseInfo) -> Started {
        let purpose = response.purpose().and_then(from_tag);
        if let (Some(request), Some(id)) = (&self.in_flight, response.request())
            && request.event_id == id
        {
            self.in_flight = None;
        }
        let running = Running {
            response_id: response.id.clone(),
            purpose,
        };
        let out_of_band = response.conversation_id.is_none() && purpose == Some(Purpose::ToolWait);
        if out_of_band {
            self.notice = Some(running);
            return Started::default();
        }
        self.conversation = Some(running);
        Started {
            cancel_notice: self.notice.as_ref().map(|n| n.response_id.clone()),
        }
    }

    /// A `response.done` (any status).
    pub fn finished(&mut self, response: &ResponseInfo) -> Finished {
        self.refused_for_active = false;
        let mut purpose = None;
        for slot in [&mut self.conversation, &mut self.notice] {
            if slot.as_ref().is_some_and(|r| r.response_id == response.id) {
                purpose = slot.take().and_then(|r| r.purpose);
            }
        }
        // A response whose `response.created` was missed still names its request.
        if purpose.is_none()
            && let (Some(request), Some(id)) = (&self.in_flight, response.request())
            && request.event_id == id
        {
            purpose = self.in_flight.take().map(|r| r.purpose);
        }
        Finished {
            purpose,
            send: self.next(),
        }
    }

    /// An `error` event: which request it refused, if one of ours.
    pub fn refused(
        &mut self,
        event_id: Option<&str>,
        code: Option<&str>,
    ) -> (Refusal, Option<String>) {
        let ours = self
            .in_flight
            .as_ref()
            .is_some_and(|r| Some(r.event_id.as_str()) == event_id);
        if !ours {
            return (Refusal::NotOurs, None);
        }
        let Some(request) = self.in_flight.take() else {
            return (Refusal::NotOurs, None);
        };
        let purpose = request.purpose;
        let refusal = if code == Some(ACTIVE_RESPONSE) && purpose != Purpose::ToolWait {
            // Sent again after the running response's `response.done`, before anything newer.
            self.waiting.push_front(request);
            self.refused_for_active = true;
            Refusal::WillRetry(purpose)
        } else {
            Refusal::Dropped(purpose)
        };
        (refusal, self.next())
    }

    /// The next waiting request, if nothing runs.
    fn next(&mut self) -> Option<String> {
        if self.busy() {
            return None;
        }
        let request = self.waiting.pop_front()?;
        Some(self.send(request))
    }

    /// The session was replaced (reconnect): nothing runs on the new one, and what was asked
    /// of the old one is forgotten (the new session is told to apologise and carry on).
    pub fn session_replaced(&mut self) {
        self.in_flight = None;
        self.conversation = None;
        self.notice = None;
        self.refused_for_active = false;
        self.waiting.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, request: Option<&str>, purpose: Option<Purpose>, oob: bool) -> ResponseInfo {
        let mut metadata = std::collections::HashMap::new();
        if let Some(r) = request {
            metadata.insert("request".to_owned(), r.to_owned());
        }
        if let Some(p) = purpose {
            metadata.insert("purpose".to_owned(), tag(p).to_owned());
        }
        ResponseInfo {
            id: id.into(),
            status: Some("completed".into()),
            conversation_id: (!oob).then(|| "conv_1".to_owned()),
            usage: None,
            metadata: (!metadata.is_empty()).then_some(metadata),
        }
    }

    fn event_id(event: &str) -> String {
        let v: serde_json::Value = serde_json::from_str(event).unwrap();
        v["event_id"].as_str().unwrap().to_owned()
    }

    #[test]
    fn a_request_refused_for_an_active_response_is_sent_after_that_response() {
        let mut r = Responses::default();
        let follow_up = r.request(Purpose::FollowUp, None).unwrap();
        let id = event_id(&follow_up);
        // Server VAD started its own response just before ours arrived.
        let (refusal, send) = r.refused(Some(&id), Some(ACTIVE_RESPONSE));
        assert_eq!(refusal, Refusal::WillRetry(Purpose::FollowUp));
        assert_eq!(
            send, None,
            "nothing is sent while we cannot know the VAD response ended"
        );
        r.created(&info("resp_vad", None, None, false));
        let done = r.finished(&info("resp_vad", None, None, false));
        assert_eq!(done.purpose, None);
        let again = done.send.expect("the follow-up is sent again");
        assert!(again.contains("follow_up"));
        assert_eq!(event_id(&again), id, "the same request, sent again");
    }

    #[test]
    fn requests_wait_while_a_response_runs() {
        let mut r = Responses::default();
        r.created(&info("resp_vad", None, None, false));
        assert_eq!(r.request(Purpose::Goodbye, Some("Say bye")), None);
        assert!(r.pending(Purpose::Goodbye));
        let done = r.finished(&info("resp_vad", None, None, false));
        assert!(done.send.unwrap().contains("Say bye"));
    }

    #[test]
    fn a_goodbye_is_done_only_on_its_own_response_done() {
        let mut r = Responses::default();
        let bye = r.request(Purpose::Goodbye, Some("Bye")).unwrap();
        let id = event_id(&bye);
        r.refused(Some(&id), Some(ACTIVE_RESPONSE));
        r.created(&info("resp_vad", None, None, false));
        let vad_done = r.finished(&info("resp_vad", None, None, false));
        assert_eq!(
            vad_done.purpose, None,
            "an unrelated response.done is not the goodbye's"
        );
        let resent = vad_done.send.unwrap();
        let new_id = event_id(&resent);
        r.created(&info(
            "resp_bye",
            Some(&new_id),
            Some(Purpose::Goodbye),
            false,
        ));
        let done = r.finished(&info(
            "resp_bye",
            Some(&new_id),
            Some(Purpose::Goodbye),
            false,
        ));
        assert_eq!(done.purpose, Some(Purpose::Goodbye));
    }

    #[test]
    fn the_notice_is_never_said_alongside_another_response() {
        let mut r = Responses::default();
        r.created(&info("resp_vad", None, None, false));
        assert_eq!(
            r.request(Purpose::ToolWait, None),
            None,
            "dropped, not queued"
        );
        r.finished(&info("resp_vad", None, None, false));
        assert!(!r.pending(Purpose::ToolWait));

        let notice = r.request(Purpose::ToolWait, None).unwrap();
        let id = event_id(&notice);
        r.created(&info("resp_n", Some(&id), Some(Purpose::ToolWait), true));
        assert!(r.is_out_of_band("resp_n"));
        // The caller speaks; server VAD starts a response while the notice speaks.
        let started = r.created(&info("resp_vad2", None, None, false));
        assert_eq!(started.cancel_notice.as_deref(), Some("resp_n"));
        assert_eq!(r.active(), ["resp_vad2", "resp_n"]);
    }

    #[test]
    fn a_follow_up_waits_for_the_notice_to_end() {
        let mut r = Responses::default();
        let notice = r.request(Purpose::ToolWait, None).unwrap();
        let id = event_id(&notice);
        r.created(&info("resp_n", Some(&id), Some(Purpose::ToolWait), true));
        assert_eq!(r.request(Purpose::FollowUp, None), None);
        let done = r.finished(&info("resp_n", Some(&id), Some(Purpose::ToolWait), true));
        assert_eq!(done.purpose, Some(Purpose::ToolWait));
        assert!(done.send.unwrap().contains("follow_up"));
    }

    #[test]
    fn a_refused_notice_is_dropped_and_frees_the_queue() {
        let mut r = Responses::default();
        let notice = r.request(Purpose::ToolWait, None).unwrap();
        assert_eq!(r.request(Purpose::FollowUp, None), None);
        let (refusal, send) = r.refused(Some(&event_id(&notice)), Some(ACTIVE_RESPONSE));
        assert_eq!(refusal, Refusal::Dropped(Purpose::ToolWait));
        assert!(send.unwrap().contains("follow_up"));
    }

    #[test]
    fn errors_about_other_events_are_not_ours() {
        let mut r = Responses::default();
        r.request(Purpose::Greeting, Some("Hi")).unwrap();
        assert_eq!(r.refused(Some("other"), None).0, Refusal::NotOurs);
        assert_eq!(r.refused(None, Some(ACTIVE_RESPONSE)).0, Refusal::NotOurs);
        assert!(r.pending(Purpose::Greeting));
    }

    #[test]
    fn a_reconnect_forgets_what_ran_on_the_old_session() {
        let mut r = Responses::default();
        r.created(&info("resp_vad", None, None, false));
        r.request(Purpose::FollowUp, None);
        r.session_replaced();
        assert!(r.active().is_empty());
        let apology = r.request(Purpose::Apology, Some("Sorry")).unwrap();
        assert!(apology.contains("apology"));
        assert!(!r.pending(Purpose::FollowUp));
    }
}
