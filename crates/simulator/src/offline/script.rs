//! The scripted conversation the offline stand-in follows: what the caller is taken to have
//! said on each turn, and what the assistant answers. The stand-in hears *when* the caller
//! speaks (its VAD is real); it does not recognise words, so the transcripts come from here.

use serde_json::{Value, json};
use time::Date;

/// The greeting spoken when the bridge asks for the first response without quoting one.
pub const GREETING: &str =
    "Hello! This is your assistant, in offline demo mode. How can I help you today?";

/// What the assistant says when the script has run out.
pub const OFF_SCRIPT: &str = "This offline stand-in only knows a short scripted conversation. \
     Set an OpenAI API key to talk to the real model.";

/// What the assistant says when asked to end the call (idle, time limit, drain).
pub const GOODBYE: &str = "Thank you for calling. Goodbye!";

/// The words a `response.create` asks for: the text quoted in its instructions (the bridge
/// asks for its greeting as `…saying exactly: "…"`), or a goodbye when it asks for one.
pub fn requested_words(instructions: &str) -> Option<String> {
    let start = instructions.find('"')?;
    let end = instructions.rfind('"')?;
    if end > start + 1 {
        return Some(instructions[start + 1..end].to_owned());
    }
    None
}

/// The calendar tool the script calls.
pub const TOOL_NAME: &str = "create_event";

/// What the assistant does in reply to one caller turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Speak this text.
    Say(String),
    /// Call a tool with these arguments, then speak once its output has arrived.
    CallTool {
        /// Tool name.
        name: String,
        /// Arguments object.
        arguments: Value,
    },
}

/// One scripted caller turn and the reply to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// What the caller says (the transcript the stand-in reports).
    pub caller: String,
    /// What the assistant does.
    pub reply: Reply,
}

/// The whole script; the same texts are what `phone-agent demo`'s caller speaks.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// What the greeting is expected to be (the server's configured `GREETING`), rendered
    /// ahead; the stand-in speaks whatever greeting the bridge quotes in its instructions.
    pub greeting: String,
    /// Caller turns in order.
    pub turns: Vec<Turn>,
}

impl Script {
    /// The demo conversation: ask for an appointment, give the time (a `create_event` call for
    /// "Dentist" at 15:00 local time on the day after `today`, 30 minutes), then say goodbye.
    pub fn dentist(today: Date) -> Self {
        let tomorrow = today.next_day().unwrap_or(today);
        let start = format!(
            "{:04}-{:02}-{:02}T15:00",
            tomorrow.year(),
            u8::from(tomorrow.month()),
            tomorrow.day()
        );
        Self {
            greeting: GREETING.to_owned(),
            turns: vec![
                Turn {
                    caller: "Hi, I'd like to book a dentist appointment.".into(),
                    reply: Reply::Say("Of course. What day and time would suit you?".into()),
                },
                Turn {
                    caller: "Tomorrow at three in the afternoon, for thirty minutes.".into(),
                    reply: Reply::CallTool {
                        name: TOOL_NAME.into(),
                        arguments: json!({
                            "title": "Dentist",
                            "start": start,
                            "duration_minutes": 30,
                        }),
                    },
                },
                Turn {
                    caller: "No, that's all. Thank you!".into(),
                    reply: Reply::Say("You're welcome. Goodbye!".into()),
                },
            ],
        }
    }

    /// The caller turn at `index` (0-based), if the script has one.
    pub fn turn(&self, index: usize) -> Option<&Turn> {
        self.turns.get(index)
    }

    /// Every text the assistant may speak, to render the audio ahead of the call.
    pub fn assistant_texts(&self) -> Vec<String> {
        let mut texts = vec![
            self.greeting.clone(),
            OFF_SCRIPT.to_owned(),
            GOODBYE.to_owned(),
        ];
        for turn in &self.turns {
            if let Reply::Say(text) = &turn.reply {
                texts.push(text.clone());
            }
        }
        texts.push(confirmation(&json!({"ok": true})));
        texts
    }
}

/// What the assistant says once a tool's output has come back: a confirmation, or the error
/// the tool reported (the stand-in reads the real output the bridge sent).
pub fn confirmation(output: &Value) -> String {
    let error = output
        .get("error")
        .and_then(|e| {
            e.as_str()
                .map(str::to_owned)
                .or_else(|| Some(e.to_string()))
        })
        .filter(|e| !e.is_empty() && e != "null");
    match error {
        Some(reason) => format!("Sorry, I could not book that. The calendar said: {reason}"),
        None => "All set. I have booked Dentist for tomorrow at three PM, for thirty minutes. \
                 Is there anything else I can do for you?"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn tool_turn_books_tomorrow_at_three_for_thirty_minutes() {
        let script = Script::dentist(date!(2026 - 12 - 31));
        let Reply::CallTool { name, arguments } = &script.turns[1].reply else {
            panic!("second turn calls the tool");
        };
        assert_eq!(name, "create_event");
        assert_eq!(arguments["title"], "Dentist");
        assert_eq!(arguments["start"], "2027-01-01T15:00");
        assert_eq!(arguments["duration_minutes"], 30);
    }

    #[test]
    fn quoted_words_are_spoken() {
        assert_eq!(
            requested_words("Greet the caller now, saying exactly: \"Hi there!\"").as_deref(),
            Some("Hi there!")
        );
        assert_eq!(requested_words("Say goodbye."), None);
    }

    #[test]
    fn confirmation_reports_a_tool_error() {
        assert!(confirmation(&json!({"error": "slot taken"})).contains("slot taken"));
        assert!(confirmation(&json!({"id": "evt_1"})).starts_with("All set"));
    }
}
