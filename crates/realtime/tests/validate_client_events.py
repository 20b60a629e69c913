"""Validates client events (one JSON object per stdin line) against the official `openai`
package's Realtime GA types, so our hand-written JSON cannot drift from the real schema.

Exit codes: 0 all valid, 1 some invalid (reasons on stderr), 3 the `openai` package is missing.
"""

import json
import sys

try:
    from openai.types.realtime import RealtimeClientEvent
    from pydantic import TypeAdapter
except ImportError as missing:  # The Rust test decides whether a missing package is fatal.
    print(f"openai package not importable: {missing}", file=sys.stderr)
    sys.exit(3)

adapter = TypeAdapter(RealtimeClientEvent)
failures = 0
for number, line in enumerate(sys.stdin, start=1):
    line = line.strip()
    if not line:
        continue
    try:
        event = adapter.validate_python(json.loads(line))
        # A union can accept an event as the wrong member; the tag must survive validation.
        if event.type != json.loads(line)["type"]:
            raise ValueError(f"validated as {event.type}")
    except Exception as error:  # noqa: BLE001 - every reason is reported, none is fatal alone
        failures += 1
        print(f"line {number}: {line}\n  {error}", file=sys.stderr)
print(f"checked events, {failures} invalid", file=sys.stderr)
sys.exit(1 if failures else 0)
