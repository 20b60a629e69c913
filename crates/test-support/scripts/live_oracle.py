"""Validates GPT-Live events (one JSON object per stdin line) against the official `openai`
package's Live types, so hand-written JSON cannot drift from the real schema.

Usage: live_oracle.py client|server
- client: each line must validate as `openai.types.live.ClientEvent`, keeping its `type`.
- server: each line must validate as `openai.types.live.ServerEvent`, keeping its `type`; the
  nested Responses event of a `response.event` must also validate as
  `openai.types.responses.ResponseStreamEvent`.

Exit codes: 0 all valid, 1 some invalid (reasons on stderr), 2 bad usage, 3 the `openai`
package is missing.
"""

import json
import sys

try:
    from openai.types.live import ClientEvent, ServerEvent
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter
except ImportError as missing:  # The Rust caller decides whether a missing package is fatal.
    print(f"openai package not importable: {missing}", file=sys.stderr)
    sys.exit(3)

if len(sys.argv) != 2 or sys.argv[1] not in ("client", "server"):
    print("usage: live_oracle.py client|server", file=sys.stderr)
    sys.exit(2)
side = sys.argv[1]
adapter = TypeAdapter(ClientEvent if side == "client" else ServerEvent)
nested = TypeAdapter(ResponseStreamEvent)
failures = 0
checked = 0
for number, line in enumerate(sys.stdin, start=1):
    line = line.strip()
    if not line:
        continue
    checked += 1
    try:
        raw = json.loads(line)
        event = adapter.validate_python(raw)
        # A union can accept an event as the wrong member; the tag must survive validation.
        if event.type != raw["type"]:
            raise ValueError(f"validated as {event.type}")
        if side == "server" and raw["type"] == "response.event":
            inner = nested.validate_python(raw["event"])
            if inner.type != raw["event"]["type"]:
                raise ValueError(f"nested event validated as {inner.type}")
    except Exception as error:  # noqa: BLE001 - every reason is reported, none is fatal alone
        failures += 1
        print(f"line {number}: {line[:400]}\n  {error}", file=sys.stderr)
print(f"checked {checked} {side} events, {failures} invalid", file=sys.stderr)
sys.exit(1 if failures else 0)
