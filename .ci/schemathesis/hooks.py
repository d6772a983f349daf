"""Schemathesis hooks for hookbox: sign every webhook body like a real sender,
and let streams end.

The signature must cover the exact bytes sent, so the body is serialised
here and passed to the transport as raw `data` (which `requests` sends in
preference to `json`), with its X-Signature in the case's headers.
"""
import hashlib
import hmac
import json
import os

import schemathesis

SECRET = os.environ["WEBHOOK_SECRET"].encode()
APP_SECRET = os.environ["WHATSAPP_APP_SECRET"].encode()


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if case.operation.path == "/messages/stream":
        # A stream stays open for new messages; follow=false makes each
        # call end once it has sent what is stored.
        query = dict(case.query or {})
        query["follow"] = "false"
        case.query = query
        return
    if case.operation.path not in ("/webhook", "/webhook/whatsapp") or case.method.upper() != "POST":
        return
    body = case.body
    if isinstance(body, (bytes, bytearray)):
        raw = bytes(body)
    elif isinstance(body, str):
        raw = body.encode()
    elif type(body).__name__ == "NotSet":
        raw = b""
    else:
        raw = json.dumps(body).encode()
    kwargs["data"] = raw
    headers = dict(case.headers or {})
    # A generated X-Signature is replaced by the real one; a case that leaves
    # the header out on purpose (to test that it is required) keeps it out.
    if "X-Signature" in headers:
        headers["X-Signature"] = hmac.new(SECRET, raw, hashlib.sha256).hexdigest()
    # Meta's header for the WhatsApp route, signed the same way.
    if "X-Hub-Signature-256" in headers:
        tag = hmac.new(APP_SECRET, raw, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = "sha256=" + tag
    case.headers = headers
