"""Drives headless Chromium over the Chrome DevTools Protocol through the call console.

Python standard library only (a minimal WebSocket client). Usage:

    console_cdp.py CHROMIUM BASE_URL CALL_SID SCREENSHOT_PATH   (the API key on stdin)

It opens the login form at a phone's size, types the API key into it and submits it (the key
travels only in that POST body), then loads the console's list and the call's page, waits for
the call to render, saves a screenshot, and prints one JSON object to stdout: the list's text,
the call page's text, whether `document.cookie` is visible to scripts, the page's width against
the viewport's, and the URLs visited. The Rust test asserts on it.
"""

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

TIMEOUT = 30.0


class WebSocket:
    """Just enough of RFC 6455 for CDP: masked text frames out, text frames in."""

    def __init__(self, url):
        assert url.startswith("ws://"), url
        hostport, path = url[len("ws://"):].split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise RuntimeError("DevTools closed during the WebSocket handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"DevTools refused the WebSocket: {head!r}")

    def _exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise RuntimeError("DevTools closed the WebSocket")
            data += chunk
        return data

    def send(self, text):
        payload = text.encode()
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._exact(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise RuntimeError("DevTools closed the WebSocket")
            if opcode in (0x9, 0xA):  # ping / pong: not sent by DevTools in practice
                continue
            message += payload
            if b0 & 0x80:
                return message.decode()


class Page:
    """One tab, driven by CDP commands."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def eval(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, what):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                if self.eval(expression):
                    return
            except RuntimeError:
                pass  # the page is between documents
            time.sleep(0.1)
        raise RuntimeError(f"timed out waiting for {what}; page text: {self.text()!r}")

    def goto(self, url):
        self.call("Page.navigate", url=url)
        self.wait_for(
            f"location.href === {json.dumps(url)} && document.readyState === 'complete'",
            url,
        )

    def text(self):
        try:
            return self.eval("document.body ? document.body.innerText : ''")
        except RuntimeError:
            return ""


def devtools_port(profile, browser):
    path = os.path.join(profile, "DevToolsActivePort")
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if browser.poll() is not None:
            raise RuntimeError(f"chromium exited with status {browser.returncode}")
        try:
            with open(path) as f:
                port = f.readline().strip()
            if port:
                return int(port)
        except FileNotFoundError:
            pass
        time.sleep(0.1)
    raise RuntimeError("chromium did not open its DevTools port")


def main():
    chromium, base, sid, screenshot = sys.argv[1:5]
    api_key = sys.stdin.readline().strip()
    profile = tempfile.mkdtemp(prefix="console-chromium-")
    browser = subprocess.Popen(
        [
            chromium,
            "--headless=new",
            "--no-sandbox",  # running as root in CI containers
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port = devtools_port(profile, browser)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=TIMEOUT) as r:
            targets = json.load(r)
        target = next(t for t in targets if t.get("type") == "page")
        page = Page(WebSocket(target["webSocketDebuggerUrl"]))
        page.call("Page.enable")
        # A phone's screen: the console must fit it without sideways scrolling.
        page.call(
            "Emulation.setDeviceMetricsOverride",
            width=390, height=844, deviceScaleFactor=2, mobile=True,
        )
        visited = []

        page.goto(f"{base}/console/login")
        visited.append(page.eval("location.href"))
        page.eval(
            "document.getElementById('api_key').value = " + json.dumps(api_key) + ";"
            "document.querySelector('form').submit(); true"
        )
        page.wait_for(
            f"location.href === {json.dumps(base + '/console')} && document.readyState === 'complete'",
            "the console after login",
        )
        page.wait_for("!!document.querySelector('#recent .calls, #live .calls')", "the call list")
        visited.append(page.eval("location.href"))
        list_text = page.text()

        page.goto(f"{base}/console/calls/{sid}")
        page.wait_for(
            "!!(document.querySelector('#timeline .tool') && document.querySelector('#latency svg'))",
            "the call's timeline and latency chart",
        )
        visited.append(page.eval("location.href"))
        call_text = page.text()
        layout = page.eval(
            "({scroll: document.documentElement.scrollWidth, viewport: window.innerWidth})"
        )
        cookie_visible = page.eval("document.cookie")
        bars = page.eval("document.querySelectorAll('#latency svg rect').length")
        shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        json.dump(
            {
                "list_text": list_text,
                "call_text": call_text,
                "document_cookie": cookie_visible,
                "layout": layout,
                "latency_bars": bars,
                "visited": visited,
            },
            sys.stdout,
        )
    finally:
        browser.terminate()
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
