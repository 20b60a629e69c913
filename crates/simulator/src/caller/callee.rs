//! The simulated party as the callee of a call the assistant places: who picks up.
//!
//! - [`Callee::Human`] says "Hello?" and then speaks when spoken to (the plan's utterances,
//!   each after a reply).
//! - [`Callee::Machine`] plays a voicemail greeting, then a 1 kHz beep of half a second, then
//!   records: silence on its side for as long as the assistant talks.
//! - [`Callee::Ivr`] says "press 1 for sales, 2 for support" and waits for keys. Every callee
//!   listens for keypad tones in what it hears (the stream reports each key it decodes, see
//!   [`super::CallEvent::KeyHeard`]); the menu also says which choice a key picked.

use std::fmt;
use std::str::FromStr;

use phone_core::keypad::Key;

use super::{Cue, Utterance};
use crate::audio::{self, mulaw, speech};

/// What a human says on picking up.
pub const HUMAN_HELLO: &str = "Hello?";
/// The answering machine's greeting, before its beep.
pub const MACHINE_GREETING: &str = "Hi, you have reached Sam. I can't take your call right now. Please leave a message after the tone.";
/// The phone menu's prompt.
pub const IVR_MENU: &str = "Thank you for calling. Press 1 for sales, 2 for support.";
/// The beep's pitch and length: the usual voicemail tone.
pub const BEEP_HZ: f32 = 1000.0;
/// The beep's length in milliseconds.
pub const BEEP_MS: u64 = 500;

/// Who answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callee {
    /// A person: "Hello?", then speaks when spoken to.
    Human,
    /// An answering machine: greeting, beep, then it records.
    Machine,
    /// A phone menu that waits for keys.
    Ivr,
}

impl FromStr for Callee {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "human" => Ok(Self::Human),
            "machine" => Ok(Self::Machine),
            "ivr" => Ok(Self::Ivr),
            other => Err(format!("`{other}` is not a callee: human, machine or ivr")),
        }
    }
}

impl fmt::Display for Callee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Human => "human",
            Self::Machine => "machine",
            Self::Ivr => "ivr",
        })
    }
}

impl Callee {
    /// What the callee says on picking up, at once; `speak` turns text into 8 kHz μ-law.
    /// The machine's greeting ends with its beep.
    pub async fn opening(self) -> Utterance {
        match self {
            Self::Human => {
                Utterance::new(HUMAN_HELLO, &spoken(HUMAN_HELLO).await, Cue::Immediately)
            }
            Self::Machine => {
                let mut audio = spoken(MACHINE_GREETING).await;
                audio.extend(beep());
                Utterance::new(
                    format!("{MACHINE_GREETING} [beep]"),
                    &audio,
                    Cue::Immediately,
                )
            }
            Self::Ivr => Utterance::new(IVR_MENU, &spoken(IVR_MENU).await, Cue::Immediately),
        }
    }

    /// Whether the callee takes the plan's other utterances (a machine and a menu do not
    /// converse).
    pub fn converses(self) -> bool {
        self == Self::Human
    }
}

/// What the menu does with a key.
pub fn menu_choice(key: Key) -> Option<&'static str> {
    match key {
        Key::Digit(1) => Some("sales"),
        Key::Digit(2) => Some("support"),
        _ => None,
    }
}

/// The voicemail beep as 8 kHz μ-law.
pub fn beep() -> Vec<u8> {
    let samples = (BEEP_MS * 8) as usize;
    (0..samples)
        .map(|i| {
            let t = i as f32 / audio::SAMPLE_RATE as f32;
            let v = 0.4 * (std::f32::consts::TAU * BEEP_HZ * t).sin();
            mulaw::encode((v * f32::from(i16::MAX)) as i16)
        })
        .collect()
}

/// `text` as 8 kHz μ-law: espeak-ng when installed, else speech-like audio.
async fn spoken(text: &str) -> Vec<u8> {
    let (pcm, _) = speech::speak(text, "en-us+f3", 190.0).await;
    audio::to_mulaw(&pcm)
        .unwrap_or_else(|_| mulaw::encode_all(&speech::speech_like(text, 190.0).to_i16()))
}

#[cfg(test)]
mod tests {
    use phone_twilio::dtmf::Detector;

    use super::*;

    #[test]
    fn the_beep_is_half_a_second_of_one_kilohertz_and_no_key() {
        let beep = beep();
        assert_eq!(beep.len() as u64, BEEP_MS * 8);
        let samples = mulaw::decode_all(&beep);
        let crossings = samples
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count();
        // Two zero crossings per cycle: 1000 Hz for 0.5 s.
        assert!((995..=1005).contains(&crossings), "{crossings}");
        assert!(Detector::new().push(&beep).is_empty());
    }

    #[tokio::test]
    async fn openings_say_their_part_and_parse_by_name() {
        for (name, callee) in [
            ("human", Callee::Human),
            ("machine", Callee::Machine),
            ("ivr", Callee::Ivr),
        ] {
            assert_eq!(name.parse::<Callee>(), Ok(callee));
            assert_eq!(callee.to_string(), name);
            let opening = callee.opening().await;
            assert_eq!(opening.cue, Cue::Immediately);
            assert!(!opening.frames.is_empty());
            // Nobody presses keys by speaking.
            let mut detector = Detector::new();
            let heard: Vec<Key> = opening
                .frames
                .iter()
                .flat_map(|f| detector.push(f))
                .collect();
            assert!(heard.is_empty(), "{name}: {heard:?}");
        }
        assert!("robot".parse::<Callee>().is_err());
        assert_eq!(menu_choice(Key::Digit(2)), Some("support"));
    }
}
