"""A local stand-in for Stripe Connect's transfers endpoint (localstripe has no Connect), speaking Stripe's protocol:
form-encoded POST /v1/transfers with Bearer auth and Idempotency-Key, JSON transfer or Stripe error answers."""

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class StripeTransfers:
    def __init__(self):
        self.requests: list[dict] = []
        self.by_key: dict[str, dict] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                form = {key: values[0] for key, values in parse_qs(body).items()}
                if self.path != "/v1/transfers" or not self.headers.get("Authorization", "").startswith("Bearer sk_"):
                    return self._answer(404 if self.path != "/v1/transfers" else 401,
                                        {"error": {"type": "invalid_request_error", "message": "Unrecognized request"}})
                key = self.headers.get("Idempotency-Key", "")
                if key in standin.by_key:
                    return self._answer(*standin.by_key[key])
                standin.requests.append({"form": form, "idempotency_key": key})
                if form.get("destination", "").startswith("acct_fail"):
                    answer = (400, {"error": {"type": "invalid_request_error", "code": "account_invalid",
                                              "message": f"No such destination: '{form['destination']}'"}})
                else:
                    answer = (200, {"id": f"tr_{uuid.uuid4().hex[:24]}", "object": "transfer",
                                    "amount": int(form["amount"]), "currency": form["currency"],
                                    "destination": form["destination"], "livemode": False})
                standin.by_key[key] = answer
                return self._answer(*answer)

            def _answer(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
                self.end_headers()
                self.wfile.write(data)

        return Handler
