use super::*;

fn delta(id: &str, text: &str, start_ms: u64, end_ms: u64) -> TranscriptDelta {
    TranscriptDelta {
        event_id: Some(id.into()),
        delta: text.into(),
        start_ms,
        end_ms,
    }
}

/// The closed segments among `updates`, as (speaker, text, reason).
fn closed(updates: &[Update]) -> Vec<(Speaker, String, SegmentEnd)> {
    updates
        .iter()
        .filter_map(|u| match u {
            Update::Closed(s, reason) => Some((s.speaker, s.text.clone(), *reason)),
            Update::Changed(_) => None,
        })
        .collect()
}

#[test]
fn one_speaker_s_fragments_join_one_growing_segment() {
    let mut g = TranscriptGrouper::default();
    let mut updates = g.push(Speaker::User, &delta("e1", "Book the", 0, 400));
    // The first fragment of a new speaker waits for its interval's other fragments.
    assert!(updates.is_empty());
    updates.extend(g.push(Speaker::User, &delta("e2", " dentist", 400, 800)));
    let texts: Vec<_> = updates
        .iter()
        .map(|u| match u {
            Update::Changed(s) => s.text.clone(),
            Update::Closed(..) => panic!("nothing closes yet"),
        })
        .collect();
    assert_eq!(texts, ["Book the", "Book the dentist"]);
}

#[test]
fn the_other_speaker_after_a_gap_closes_the_turn_as_a_speaker_change() {
    let mut g = TranscriptGrouper::default();
    let mut updates = g.push(Speaker::User, &delta("e1", "Book the dentist.", 0, 1500));
    updates.extend(g.push(Speaker::Assistant, &delta("e2", "For when?", 2200, 3000)));
    updates.extend(g.advance(3000));
    assert_eq!(
        closed(&updates),
        [(
            Speaker::User,
            "Book the dentist.".into(),
            SegmentEnd::SpeakerChange
        )]
    );
    let Some(Update::Changed(last)) = updates.last() else {
        panic!("{updates:?}")
    };
    assert_eq!(last.speaker, Speaker::Assistant);
    assert_eq!(last.previous_id, Some(0));
}

#[test]
fn assistant_silence_closes_its_segment_after_two_seconds_of_timeline() {
    let mut g = TranscriptGrouper::default();
    let mut updates = g.push(Speaker::Assistant, &delta("e1", "Hello!", 0, 800));
    updates.extend(g.advance(900));
    assert!(closed(&updates).is_empty());
    assert_eq!(g.deadline_ms(), Some(2800));
    assert!(closed(&g.advance(2799)).is_empty());
    assert_eq!(
        closed(&g.advance(2800)),
        [(Speaker::Assistant, "Hello!".into(), SegmentEnd::Inactivity)]
    );
}

#[test]
fn the_caller_talking_over_the_assistant_takes_the_turn_at_once() {
    let mut g = TranscriptGrouper::default();
    g.push(Speaker::Assistant, &delta("e1", "Your booking is", 0, 900));
    g.advance(900);
    let updates = g.push(Speaker::User, &delta("e2", "Wait", 700, 1000));
    let updates = [updates, g.advance(1000)].concat();
    assert_eq!(
        closed(&updates),
        [(
            Speaker::Assistant,
            "Your booking is".into(),
            SegmentEnd::SpeakerChange
        )]
    );
}

#[test]
fn an_assistant_backchannel_over_a_continuing_caller_is_dropped() {
    let mut g = TranscriptGrouper::default();
    let mut updates = g.push(Speaker::User, &delta("e1", "I need to move", 0, 1200));
    updates.extend(g.advance(1200));
    updates.extend(g.push(Speaker::Assistant, &delta("e2", "Mhm.", 1300, 1500)));
    updates.extend(g.push(Speaker::User, &delta("e3", " my appointment", 1400, 2600)));
    updates.extend(g.close(6000, SegmentEnd::SessionClosed));
    assert_eq!(
        closed(&updates),
        [(
            Speaker::User,
            "I need to move my appointment".into(),
            SegmentEnd::SessionClosed
        )]
    );
    assert!(
        updates.iter().all(|u| !matches!(u,
            Update::Changed(s) | Update::Closed(s, _) if s.speaker == Speaker::Assistant)),
        "the backchannel is never shown: {updates:?}"
    );
}

#[test]
fn repeated_deliveries_empty_text_and_inverted_intervals_are_ignored() {
    let mut g = TranscriptGrouper::default();
    g.push(Speaker::User, &delta("e1", "Hi", 0, 300));
    assert!(g.push(Speaker::User, &delta("e1", "Hi", 0, 300)).is_empty());
    assert!(g.push(Speaker::User, &delta("e2", "", 300, 400)).is_empty());
    assert!(
        g.push(Speaker::User, &delta("e3", "x", 500, 400))
            .is_empty()
    );
    let updates = g.close(1000, SegmentEnd::Manual);
    assert_eq!(
        closed(&updates),
        [(Speaker::User, "Hi".into(), SegmentEnd::Manual)]
    );
    assert!(
        g.push(Speaker::User, &delta("e4", "late", 2000, 2100))
            .is_empty()
    );
}

#[test]
fn a_timeline_that_goes_back_closes_the_open_turn() {
    let mut g = TranscriptGrouper::default();
    g.push(Speaker::User, &delta("e1", "Before", 5000, 5400));
    g.advance(5400);
    let updates = g.push(Speaker::User, &delta("e2", "After", 0, 300));
    let updates = [updates, g.advance(300)].concat();
    assert_eq!(
        closed(&updates),
        [(Speaker::User, "Before".into(), SegmentEnd::TimestampReset)]
    );
}
