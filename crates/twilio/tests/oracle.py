"""Signs each case read from stdin with the official Twilio helper library, one per line.

Input: a JSON list of {"token", "url", "params": [[key, value], ...]}.
Output: a JSON list of signatures.
"""
import json
import sys

from twilio.request_validator import RequestValidator


class MultiDict(dict):
    """A form with repeated keys, in the MultiDict shape the library supports (Flask's)."""

    def getall(self, key):
        return self[key]


cases = json.load(sys.stdin)
out = []
for case in cases:
    params = MultiDict()
    for key, value in case["params"]:
        params.setdefault(key, []).append(value)
    out.append(RequestValidator(case["token"]).compute_signature(case["url"], params))
json.dump(out, sys.stdout)
