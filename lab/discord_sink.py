#!/usr/bin/python3
"""A stand-in for Discord's webhook endpoint, for the lab and molecule.

Listens with TLS on port 443 of a container that carries the network alias
discord.com, so apprise's discord:// URLs reach it unchanged. Each POST to
/api/webhooks/ID/TOKEN is appended as one JSON line (path, content type,
body) to the record file and answered 204, as Discord does. GET /messages
returns the record as a JSON list, so people and tests can read it.
"""

import json
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECORD = "/var/lib/discord-sink/messages.jsonl"
MAX_BODY = 1 << 20


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        if not self.path.startswith("/api/webhooks/"):
            self.send_error(404)
            return
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
        body = self.rfile.read(length).decode("utf-8", "replace")
        entry = {"received": time.time(), "path": self.path,
                 "content_type": self.headers.get("Content-Type", ""), "body": body}
        with open(RECORD, "a", encoding="utf-8") as record:
            record.write(json.dumps(entry) + "\n")
        self.send_response(204)
        self.end_headers()

    def do_GET(self):  # noqa: N802
        if self.path != "/messages":
            self.send_error(404)
            return
        try:
            with open(RECORD, encoding="utf-8") as record:
                entries = [json.loads(line) for line in record if line.strip()]
        except FileNotFoundError:
            entries = []
        data = json.dumps(entries, indent=1).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write(fmt % args + "\n")


def main(cert: str, key: str, port: int = 443) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("", port), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(int(a) for a in sys.argv[3:4]))
