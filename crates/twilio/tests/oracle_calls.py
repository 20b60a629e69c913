"""Builds `POST /Calls.json` with the official Twilio helper library and prints what it sends.

Input (stdin): JSON {"account", "to", "from", "url", "status_callback", "amd_callback", "timeout"}.
Output: JSON {"method", "uri", "form": [[key, value], ...]} as the library would send it.
"""
import json
import logging
import sys

from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client


class Capture(HttpClient):
    """An HTTP client that records the request instead of sending it."""

    def __init__(self):
        super().__init__(logging.getLogger("oracle"), False)
        self.seen = None

    def request(self, method, uri, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):
        self.seen = (method, uri, data)
        body = {"sid": "CA" + "0" * 32, "status": "queued"}
        return Response(201, json.dumps(body))


case = json.load(sys.stdin)
capture = Capture()
client = Client("AC" + "0" * 32, "token", account_sid=case["account"], http_client=capture)
client.calls.create(
    to=case["to"],
    from_=case["from"],
    url=case["url"],
    method="POST",
    status_callback=case["status_callback"],
    status_callback_method="POST",
    status_callback_event=["initiated", "ringing", "answered", "completed"],
    machine_detection="DetectMessageEnd",
    async_amd="true",
    async_amd_status_callback=case["amd_callback"],
    async_amd_status_callback_method="POST",
    timeout=case["timeout"],
)
method, uri, data = capture.seen
form = []
for key, value in data.items():
    for item in value if isinstance(value, list) else [value]:
        form.append([key, str(item)])
json.dump({"method": method, "uri": uri, "form": form}, sys.stdout)
