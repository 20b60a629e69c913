"""Replays transcript scenarios through the official SDK's Live transcript grouping and prints
its updates, so phone-live's grouper can be compared with the reference policy.

stdin: one scenario per line, a JSON list of operations:
  ["push", "user"|"assistant", event_id, text, start_ms, end_ms]
  ["tick", time_ms]
  ["close", time_ms]
stdout: one JSON list of updates per scenario:
  ["changed", id, previous_id, speaker, text, start_ms, end_ms]
  ["closed", id, previous_id, speaker, text, start_ms, end_ms, reason]

The SDK's state takes a wall clock; here the clock is set so that its session-time estimate
equals the timeline time the operation names (`now` is the latest end at a push, the given
time at a tick or close).

Exit codes: 0 done, 3 the `openai` package is missing.
"""

import json
import sys

try:
    from openai.lib.live._transcript_state import TranscriptState
    from openai.lib.live._types import TranscriptGrouperOptions, TranscriptSegmentClosedEvent
    from openai.types.live.input_transcript_delta_event import InputTranscriptDeltaEvent
    from openai.types.live.output_transcript_delta_event import OutputTranscriptDeltaEvent
except ImportError as missing:
    print(f"openai package not importable: {missing}", file=sys.stderr)
    sys.exit(3)


def local_id(segment_id):
    return None if segment_id is None else int(segment_id.rsplit("_", 1)[1])


def encode(update):
    if isinstance(update, TranscriptSegmentClosedEvent):
        s = update.segment
        return ["closed", local_id(s.id), local_id(s.previous_id), s.speaker, s.text, s.start_ms, s.end_ms, update.reason]
    s = update
    return ["changed", local_id(s.id), local_id(s.previous_id), s.speaker, s.text, s.start_ms, s.end_ms]


for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    clock = [0.0]
    state = TranscriptState(TranscriptGrouperOptions(), lambda: clock[0])
    latest = 0
    updates = []
    for op in json.loads(line):
        if op[0] == "push":
            _, speaker, event_id, text, start, end = op
            latest = max(latest, end)
            clock[0] = latest
            cls = InputTranscriptDeltaEvent if speaker == "user" else OutputTranscriptDeltaEvent
            kind = "session.input_transcript.delta" if speaker == "user" else "session.output_transcript.delta"
            event = cls(type=kind, event_id=event_id, delta=text, start_ms=start, end_ms=end)
            updates.extend(state.push(event) or [])
        elif op[0] == "tick":
            clock[0] = op[1]
            # The SDK's timer fires at each deadline until none is due.
            for _ in range(4):
                before = len(updates)
                updates.extend(state.tick())
                if len(updates) == before:
                    break
        elif op[0] == "close":
            clock[0] = op[1]
            updates.extend(state.finish("session_closed"))
    print(json.dumps([encode(u) for u in updates]))
