//! The transcript grouper against the SDK's own grouping policy: pseudo-random scenarios
//! (overlaps, acknowledgments, repeated deliveries, same-interval fragments of both speakers,
//! timeline ticks) replayed through both, every update compared. Skipped loudly without the
//! `openai` package; fails instead when `CI` is set.

use phone_live::server::TranscriptDelta;
use phone_live::transcript::{Segment, SegmentEnd, Speaker, TranscriptGrouper, Update};
use phone_test_support::python_oracle::Oracle;
use serde_json::{Value, json};

const TEXTS: [&str; 12] = [
    "Hello",
    " there",
    "mhm",
    "Okay.",
    "yeah",
    " I need",
    " a dentist",
    "Sure",
    " right",
    "Mm-hmm",
    "book it",
    "uh",
];

/// A small deterministic generator (64-bit LCG), so a failing scenario can be replayed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One scenario: pushes with non-decreasing starts (a timeline reset is tested on its own),
/// ticks after the latest end, a close at the end.
fn scenario(rng: &mut Lcg) -> Vec<Value> {
    let (mut ops, mut last_start, mut max_end, mut previous) = (Vec::new(), 0i64, 0i64, None);
    for n in 0..(8 + rng.below(18)) {
        if rng.below(5) == 0 {
            let offset = rng.pick(&[0, 300, 600, 1000, 2100, 2600]);
            ops.push(json!(["tick", max_end + offset]));
            continue;
        }
        let speaker = rng.pick(&["user", "assistant"]);
        let text = rng.pick(&TEXTS);
        let (id, start, end) = match (rng.below(10), &previous) {
            // A repeated delivery of the previous event.
            (0, Some((id, start, end))) => (String::clone(id), *start, *end),
            // The other speaker on exactly the previous interval.
            (1, Some((_, start, end))) => (format!("e{n}"), *start, *end),
            _ => {
                let gap = rng.pick(&[-400i64, 0, 100, 300, 600, 1200, 2500]);
                let start = (max_end + gap).max(last_start);
                let end = start + rng.pick(&[100i64, 300, 700, 1200, 2000]);
                (format!("e{n}"), start, end)
            }
        };
        ops.push(json!(["push", speaker, id, text, start, end]));
        last_start = start;
        max_end = max_end.max(end);
        previous = Some((id, start, end));
    }
    ops.push(json!(["close", max_end + 3000]));
    ops
}

fn encode(update: &Update) -> Value {
    let fields = |s: &Segment| {
        let speaker = match s.speaker {
            Speaker::User => "user",
            Speaker::Assistant => "assistant",
        };
        (
            s.id,
            s.previous_id,
            speaker,
            s.text.clone(),
            s.start_ms,
            s.end_ms,
        )
    };
    match update {
        Update::Changed(s) => {
            let (id, prev, who, text, start, end) = fields(s);
            json!(["changed", id, prev, who, text, start, end])
        }
        Update::Closed(s, reason) => {
            let (id, prev, who, text, start, end) = fields(s);
            let reason = match reason {
                SegmentEnd::SpeakerChange => "speaker_change",
                SegmentEnd::Inactivity => "inactivity",
                SegmentEnd::TimestampReset => "timestamp_reset",
                SegmentEnd::SessionClosed => "session_closed",
                SegmentEnd::Manual => "manual",
            };
            json!(["closed", id, prev, who, text, start, end, reason])
        }
    }
}

fn replay(ops: &[Value]) -> Value {
    let mut grouper = TranscriptGrouper::default();
    let mut updates = Vec::new();
    for op in ops {
        let time = |i: usize| op[i].as_u64().unwrap();
        match op[0].as_str().unwrap() {
            "push" => {
                let speaker = if op[1] == "user" {
                    Speaker::User
                } else {
                    Speaker::Assistant
                };
                let delta = TranscriptDelta {
                    event_id: Some(op[2].as_str().unwrap().into()),
                    delta: op[3].as_str().unwrap().into(),
                    start_ms: time(4),
                    end_ms: time(5),
                };
                updates.extend(grouper.push(speaker, &delta));
            }
            "tick" => updates.extend(grouper.advance(time(1))),
            _ => updates.extend(grouper.close(time(1), SegmentEnd::SessionClosed)),
        }
    }
    Value::Array(updates.iter().map(encode).collect())
}

#[test]
fn the_grouper_matches_the_sdk_policy_on_generated_scenarios() {
    let mut rng = Lcg(0x5EED);
    let scenarios: Vec<Vec<Value>> = (0..400).map(|_| scenario(&mut rng)).collect();
    let input: String = scenarios
        .iter()
        .map(|s| format!("{}\n", Value::Array(s.clone())))
        .collect();
    let script =
        phone_test_support::paths::workspace_file("crates/live/tests/transcript_oracle.py");
    let oracle = Oracle {
        name: "openai transcript oracle",
        install: "install it with `pip install openai`",
    };
    let Some(stdout) = oracle
        .run(&script, &[], &input)
        .accepted_or_panic("the SDK replay failed")
    else {
        return;
    };
    let expected: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON per scenario"))
        .collect();
    assert_eq!(expected.len(), scenarios.len());
    let mut closed_segments = 0;
    for (ops, sdk) in scenarios.iter().zip(&expected) {
        let ours = replay(ops);
        assert_eq!(
            &ours,
            sdk,
            "scenario {}\nours: {ours}\nsdk:  {sdk}",
            Value::Array(ops.clone())
        );
        closed_segments += sdk
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u[0] == "closed")
            .count();
    }
    assert!(closed_segments > 400, "the scenarios exercise the policy");
}
