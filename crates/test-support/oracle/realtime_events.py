"""Validates Realtime events (one JSON object per stdin line) against the official `openai`
package's GA types, so hand-written JSON cannot drift from the real schema.

Usage: realtime_events.py client|server
  client: each line must be a `RealtimeClientEvent` (what we send to OpenAI);
  server: each line must be a `RealtimeServerEvent` (what the strict test double sends).

Exit codes: 0 all valid, 1 some invalid (reasons on stderr), 2 bad usage, 3 the `openai`
package is missing.
"""

import json
import sys

if len(sys.argv) != 2 or sys.argv[1] not in ("client", "server"):
    print("usage: realtime_events.py client|server", file=sys.stderr)
    sys.exit(2)

try:
    from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent
    from pydantic import TypeAdapter
except ImportError as missing:  # The Rust runner decides whether a missing package is fatal.
    print(f"openai package not importable: {missing}", file=sys.stderr)
    sys.exit(3)

adapter = TypeAdapter(RealtimeClientEvent if sys.argv[1] == "client" else RealtimeServerEvent)
checked = 0
failures = 0
for number, line in enumerate(sys.stdin, start=1):
    line = line.strip()
    if not line:
        continue
    checked += 1
    try:
        event = adapter.validate_python(json.loads(line))
        # A union can accept an event as the wrong member; the tag must survive validation.
        if event.type != json.loads(line)["type"]:
            raise ValueError(f"validated as {event.type}")
    except Exception as error:  # noqa: BLE001 - every reason is reported, none is fatal alone
        failures += 1
        print(f"line {number}: {line[:600]}\n  {error}", file=sys.stderr)
print(f"checked {checked} {sys.argv[1]} events, {failures} invalid", file=sys.stderr)
sys.exit(1 if failures else 0)
