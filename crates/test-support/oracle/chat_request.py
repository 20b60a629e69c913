"""Validates Chat Completions request bodies (one JSON object per stdin line) against the
official `openai` package's `CompletionCreateParamsNonStreaming`, and refuses keys the SDK
does not define, so a hand-written request cannot drift from the real API.

Exit codes: 0 all valid, 1 some invalid (reasons on stderr), 3 the package is missing.
"""

import json
import sys
import typing

try:
    from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming
    from pydantic import TypeAdapter
except ImportError as missing:  # The Rust runner decides whether a missing package is fatal.
    print(f"openai package not importable: {missing}", file=sys.stderr)
    sys.exit(3)

adapter = TypeAdapter(CompletionCreateParamsNonStreaming)
known = set(typing.get_type_hints(CompletionCreateParamsNonStreaming))
failures = 0
checked = 0
for number, line in enumerate(sys.stdin, start=1):
    line = line.strip()
    if not line:
        continue
    checked += 1
    body = json.loads(line)
    try:
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"keys the SDK does not define: {sorted(unknown)}")
        adapter.validate_python(body)
    except Exception as error:  # noqa: BLE001 - every reason is reported
        failures += 1
        print(f"line {number}: {line[:400]}\n  {error}", file=sys.stderr)
print(f"checked {checked} chat requests, {failures} invalid", file=sys.stderr)
sys.exit(1 if failures else 0)
