"""Verifies webhook requests with the PyPI `standardwebhooks` package, the Standard Webhooks
reference implementation: an independent check of our signatures.

Reads one JSON object per stdin line: {"secret", "id", "timestamp", "signature", "body"}.
Each must verify; the same request with its body changed by one byte must not.

Exit codes: 0 all verified, 1 some failed (reasons on stderr), 3 the package is missing.
"""

import json
import sys

try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError as missing:  # The Rust runner decides whether a missing package is fatal.
    print(f"standardwebhooks not importable: {missing}", file=sys.stderr)
    sys.exit(3)

failures = 0
checked = 0
for number, line in enumerate(sys.stdin, start=1):
    line = line.strip()
    if not line:
        continue
    checked += 1
    case = json.loads(line)
    headers = {
        "webhook-id": case["id"],
        "webhook-timestamp": case["timestamp"],
        "webhook-signature": case["signature"],
    }
    hook = Webhook(case["secret"])
    try:
        hook.verify(case["body"], headers)
    except WebhookVerificationError as error:
        failures += 1
        print(f"line {number}: not verified: {error}", file=sys.stderr)
        continue
    try:
        hook.verify(case["body"] + " ", headers)
        failures += 1
        print(f"line {number}: a changed body verified", file=sys.stderr)
    except WebhookVerificationError:
        pass
print(f"checked {checked} webhook requests, {failures} failed", file=sys.stderr)
sys.exit(1 if failures else 0)
