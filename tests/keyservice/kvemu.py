#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Key Vault and IMDS emulator for scratchcrypt's tests.

It serves, with the request and response shapes Microsoft documents:
  IMDS (plain HTTP, like the real one):
    GET  /metadata/identity/oauth2/token?api-version=2018-02-01&resource=...
    GET  /metadata/instance?api-version=2021-02-01
    GET  /metadata/scheduledevents?api-version=2020-07-01
    POST /metadata/scheduledevents?api-version=2020-07-01   {"StartRequests":[...]}
  Key Vault keys API 7.0 to 2025-07-01 (real HTTPS, certificate from --tls-cert):
    GET  /keys/{name}[/{version}]
    POST /keys/{name}/{version}/wrapkey     {"alg":"RSA-OAEP-256","value":...}
    POST /keys/{name}/{version}/unwrapkey
  with real RSA-OAEP-256 (SHA-256, MGF1-SHA-256), error bodies
  {"error":{"code":...,"message":...}}, 401 with a Bearer challenge, 403
  when the identity lacks a permission, 404 KeyNotFound, 429 with Retry-After.

Fault knobs can be set by flag at start, or changed while it runs with
POST /_emu/config on the IMDS listener (JSON with the same names as the
flags, e.g. {"fail_kv": "500:3", "latency": 2}); GET /_emu/log lists the
requests seen (without secrets). Run it by hand with --help.

Hostile replies: --hostile MODE@WHAT answers every successful WHAT (token,
get, wrapkey, unwrapkey) with MODE instead, until set to "" again; --cert
other serves a certificate for another name. The modes are in HOSTILE.
"""
import argparse
import base64
import json
import math
import os
import re
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

API_IMDS_TOKEN = "2018-02-01"
# What the real Key Vault accepts; scratchcrypt sends 7.4, Microsoft's SDKs newer ones.
API_KV = ("7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01")
ALL_PERMS = {"get", "wrapKey", "unwrapKey"}
# Key Vault counts its transactions per vault in windows of 10 seconds.
THROTTLE_WINDOW_S = 10


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def int_b64u(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class Fault:
    """'STATUS[:COUNT]': answer STATUS to the next COUNT requests (default: all)."""

    def __init__(self, spec):
        self.status, self.left = None, 0
        if spec:
            parts = spec.split(":")
            self.status = int(parts[0])
            self.left = int(parts[1]) if len(parts) > 1 else -1

    def take(self):
        if self.status is None or self.left == 0:
            return None
        if self.left > 0:
            self.left -= 1
        return self.status


class State:
    def __init__(self, a):
        self.lock = threading.Lock()
        self.vault_url = (a.vault_url or "").rstrip("/")
        self.token = a.token
        self.client_id = a.client_id
        self.keys = {}  # name -> {"versions": {ver: key}, "current": ver, "kty": ..}
        self.hostile, self.cert = None, "right"
        self.incarnation, self.events_latency = 0, 0.0
        # Key Vault's throttling: at most throttle transactions per 10 s
        # window per vault; a 429 does not count (the service's docs).
        self.throttle, self.window, self.window_used = a.throttle, None, 0
        self.started = time.monotonic()
        for name in a.key:
            self.add_key(name)
        self.configure(vars(a))
        self.log = []
        # Connections accepted per service: on the Key Vault listener, each
        # is a TLS handshake.
        self.connections = {"imds": 0, "kv": 0}
        self.secrets = []
        self.acks = []
        self.events = []

    def add_key(self, name, kty="RSA"):
        ver = secrets.token_hex(16)
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        entry = self.keys.setdefault(name, {"versions": {}, "current": None, "kty": kty})
        entry["versions"][ver] = k
        entry["current"] = ver
        return ver

    def configure(self, c):
        with_default = lambda k, d: c.get(k, d)  # noqa: E731
        if "permissions" in c and c["permissions"] is not None:
            p = c["permissions"]
            self.permissions = set(p.split(",")) if isinstance(p, str) else set(p)
            self.permissions.discard("")
        if "recovery_level" in c and c["recovery_level"]:
            self.recovery_level = c["recovery_level"]
        if "key_ops" in c and c["key_ops"]:
            self.key_ops = c["key_ops"].split(",")
        if "enabled" in c and c["enabled"] is not None:
            self.enabled = bool(c["enabled"])
        if "latency" in c and c["latency"] is not None:
            self.latency = float(c["latency"])
        if "reject_token" in c and c["reject_token"] is not None:
            self.reject_token = bool(c["reject_token"])
        if "retry_after" in c and c["retry_after"] is not None:
            self.retry_after = int(c["retry_after"])
        for k in ("fail_imds", "fail_kv"):
            if k in c:
                setattr(self, k, Fault(with_default(k, None)))
        if c.get("rotate"):
            self.add_key(c["rotate"])
        if c.get("add_key"):
            self.add_key(c["add_key"])
        if "events" in c and c["events"] is not None:
            self.events = c["events"]
            self.incarnation = getattr(self, "incarnation", 0) + 1
        if c.get("compute") is not None or c.get("network") is not None:
            # More of the instance document (cloud-init's Azure datasource
            # reads osProfile and the network interfaces from it).
            self.instance_extra = {k: c[k] for k in ("compute", "network") if c.get(k) is not None}
        if "events_latency" in c and c["events_latency"] is not None:
            self.events_latency = float(c["events_latency"])
        if "hostile" in c:
            spec = c["hostile"] or ""
            mode, _, what = spec.partition("@")
            if spec and (mode not in HOSTILE or what not in ("token", "get", "wrapkey", "unwrapkey")):
                raise ValueError(f"hostile: {spec!r} is not MODE@WHAT (modes: {', '.join(HOSTILE)})")
            self.hostile = (mode, what) if spec else None
        if "cert" in c:
            self.cert = c["cert"] or "right"

    def admit(self):
        """None to serve the transaction, or the Retry-After seconds of a 429."""
        if not self.throttle:
            return None
        with self.lock:
            now = time.monotonic() - self.started
            window = int(now // THROTTLE_WINDOW_S)
            if window != self.window:
                self.window, self.window_used = window, 0
            if self.window_used < self.throttle:
                self.window_used += 1
                return None
            return max(1, math.ceil((window + 1) * THROTTLE_WINDOW_S - now))

    def hostile_for(self, what):
        return self.hostile[0] if self.hostile and self.hostile[1] == what else None


def _retype(v):
    """Every value of another JSON type than documented."""
    if isinstance(v, dict):
        return {k: _retype(x) for k, x in v.items()}
    if isinstance(v, str):
        return 12345
    if isinstance(v, list):
        return "list"
    return [v]


def _secret_field(obj, fn):
    """Applies fn to the field a client relies on most: the token, the
    wrapped or unwrapped value, or the key's kid."""
    obj = json.loads(json.dumps(obj))
    for k in ("access_token", "value"):
        if k in obj:
            obj[k] = fn(obj[k])
            return obj
    obj["key"]["kid"] = fn(obj["key"]["kid"])
    return obj


def _other_kid(kid, vault=None, name="otherkey"):
    m = re.match(r"^(https://[^/]+)/keys/[^/]+/(.*)$", kid)
    return f"{vault or m.group(1)}/keys/{name}/{m.group(2)}"


def _small_key(obj):
    obj = json.loads(json.dumps(obj))
    k = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key().public_numbers()
    obj["key"]["n"] = int_b64u(k.n)
    return obj


def _ec_key(obj):
    obj = json.loads(json.dumps(obj))
    for f in ("n", "e"):
        obj["key"].pop(f, None)
    obj["key"].update({"kty": "EC", "crv": "P-256", "x": b64u(b"\1" * 32), "y": b64u(b"\2" * 32)})
    return obj


def _stream_huge(h, obj):
    chunk = b" " * 65536
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(100 * 1024 * 1024))
    h.end_headers()
    for _ in range(1600):  # 100 MiB, or until the client hangs up
        h.wfile.write(chunk)


def _trickle(h, obj):
    data = json.dumps(obj).encode()
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    for b in data:  # one byte a second, until done or the client hangs up
        h.wfile.write(bytes([b]))
        h.wfile.flush()
        time.sleep(1)


def _hang(h, obj):
    time.sleep(120)


def _bad_status(h, obj):
    h.wfile.write(b"HTTP/1.1 2OO 0K\r\nContent-Length: 2\r\n\r\n{}")


def _redirect(h, obj):
    port = h.server.server_address[1]
    h.raw(302, b"", headers={"Location": f"https://127.0.0.2:{port}{h.path}"})


def _token_field(obj, fn):
    return _secret_field(obj, fn) if "access_token" in obj else obj


# Each mode answers a request that would have succeeded with obj.
HOSTILE = {
    "empty": lambda h, o: h.raw(200, b""),
    "huge": _stream_huge,
    "notjson": lambda h, o: h.raw(200, b"<html><body>Service Unavailable</body></html>", "text/html"),
    "array": lambda h, o: h.raw(200, json.dumps([o]).encode()),
    "wrongtypes": lambda h, o: h.send(200, _retype(o)),
    "nulls": lambda h, o: h.send(200, {k: None for k in o}),
    "trailing": lambda h, o: h.raw(200, json.dumps(o).encode() + b' {"value":"AAAA"}'),
    "deep": lambda h, o: h.raw(200, b'{"value":' + b"[" * 30000 + b"]" * 30000 + b"}"),
    "nul": lambda h, o: h.send(200, _secret_field(o, lambda v: v + "\u0000.evil.example")),
    "crlf": lambda h, o: h.send(200, _secret_field(o, lambda v: v + "\r\nX-Injected: 1")),
    "wrongkid": lambda h, o: h.send(200, {**o, "kid": _other_kid(o["kid"])} if "kid" in o
                                    else {**o, "key": {**o["key"], "kid": _other_kid(o["key"]["kid"])}}),
    "foreignkid": lambda h, o: h.send(200, {**o, "kid": _other_kid(o["kid"], "https://evil.vault.azure.net", "tempdisk")}
                                      if "kid" in o else {**o, "key": {**o["key"], "kid": _other_kid(
                                          o["key"]["kid"], "https://evil.vault.azure.net", "tempdisk")}}),
    "wrongkty": lambda h, o: h.send(200, _ec_key(o)),
    "smallkey": lambda h, o: h.send(200, _small_key(o)),
    # Three bytes fewer or more, still canonical base64url.
    "truncb64": lambda h, o: h.send(200, _secret_field(o, lambda v: b64u(unb64u(v)[:-3]))),
    "longb64": lambda h, o: h.send(200, _secret_field(o, lambda v: b64u(unb64u(v) + b"\0\0\0"))),
    "badb64": lambda h, o: h.send(200, _secret_field(o, lambda v: base64.b64encode(unb64u(v)).decode() + "+/==")),
    "keysize": lambda h, o: h.send(200, {**o, "value": b64u(secrets.token_bytes(8))}),
    "wrongkey": lambda h, o: h.send(200, {**o, "value": b64u(secrets.token_bytes(len(unb64u(o["value"]))))}),
    "trickle": _trickle,
    "hang": _hang,
    "shortbody": lambda h, o: h.raw(200, json.dumps(o).encode(), length=len(json.dumps(o)) + 1000),
    "redirect": _redirect,
    "badstatus": _bad_status,
    "htmlerror": lambda h, o: h.raw(500, b"<html><body><h1>500 Internal Server Error</h1></body></html>", "text/html"),
    "throttle": lambda h, o: h.raw(429, b'{"error":{"code":"Throttled","message":"come back tomorrow"}}',
                                   headers={"Retry-After": "86400"}),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        with self.server.state.lock:
            self.server.state.connections[self.server.kind] += 1
    server_version = "kvemu/1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("kvemu: " + fmt % args + "\n")

    @property
    def st(self):
        return self.server.state

    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def send(self, status, obj=None, headers=None):
        data = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def raw(self, status, data, ctype="application/json; charset=utf-8", length=None, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data) if length is None else length))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def reply(self, what, obj):
        """A successful answer, or the hostile mode set for what."""
        mode = self.st.hostile_for(what)
        self.record(what, 200, mode)
        if not mode:
            return self.send(200, obj)
        try:
            HOSTILE[mode](self, obj)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass  # the client hung up, as it should on most of these
        self.close_connection = True

    def error(self, status, code, message, headers=None):
        self.send(status, {"error": {"code": code, "message": message}}, headers)

    def record(self, what, status, hostile=None):
        with self.st.lock:
            self.st.log.append({"t": time.time(), "service": self.server.kind, "what": what,
                                "method": self.command, "path": self.path.split("?")[0],
                                "status": status, "hostile": hostile})

    def slow(self):
        if self.st.latency:
            time.sleep(self.st.latency)


class ImdsHandler(Handler):
    def error(self, status, code, message, headers=None):
        # IMDS's own error shape, not Key Vault's.
        self.send(status, {"error": code, "error_description": message}, headers)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        u = u._replace(path=u.path.rstrip("/") or "/")  # IMDS takes a trailing slash
        q = urllib.parse.parse_qs(u.query)
        if u.path == "/_emu/log":
            with self.st.lock:
                return self.send(200, {"requests": self.st.log, "acks": self.st.acks,
                                       "connections": self.st.connections})
        if u.path == "/_emu/secrets":
            with self.st.lock:
                return self.send(200, {"keys": self.st.secrets})
        if self.headers.get("Metadata") != "true":
            self.record("missing-metadata", 400)
            return self.error(400, "bad_request_102", "Required metadata header not specified")
        self.slow()
        fault = self.st.fail_imds.take()
        if fault:
            self.record(u.path, fault)
            hdr = {"Retry-After": str(self.st.retry_after)} if fault == 429 else None
            return self.error(fault, "Emulated", f"emulated {fault}", hdr)
        if u.path == "/metadata/identity/oauth2/token":
            if q.get("api-version") != [API_IMDS_TOKEN] or q.get("resource") != ["https://vault.azure.net"]:
                self.record("token", 400)
                return self.error(400, "invalid_request", "bad api-version or resource")
            if self.st.client_id and q.get("client_id") != [self.st.client_id]:
                self.record("token", 400)
                return self.error(400, "invalid_request", "Identity not found")
            now = int(time.time())
            return self.reply("token", {"access_token": self.st.token, "refresh_token": "",
                                   "expires_in": "86399", "expires_on": str(now + 86399),
                                   "not_before": str(now - 300), "resource": "https://vault.azure.net",
                                   "token_type": "Bearer"})
        if u.path == "/metadata/instance":
            self.record("instance", 200)
            tags = self.server.tags
            doc = {"compute": {"vmId": "00000000-0000-0000-0000-000000000001",
                               "name": "node-0", "vmSize": "Standard_D4s_v5",
                               "tags": ";".join(f"{k}:{v}" for k, v in tags.items()),
                               "tagsList": [{"name": k, "value": v} for k, v in tags.items()]}}
            extra = getattr(self.st, "instance_extra", {})
            doc["compute"].update(extra.get("compute", {}))
            if "network" in extra:
                doc["network"] = extra["network"]
            return self.send(200, doc)
        if u.path == "/metadata/scheduledevents":
            # The first call after boot can take up to two minutes.
            time.sleep(self.st.events_latency)
            self.record("scheduledevents", 200)
            with self.st.lock:
                return self.send(200, {"DocumentIncarnation": self.st.incarnation,
                                       "Events": self.st.events})
        self.record(u.path, 404)
        return self.error(404, "NotFound", "no such IMDS path")

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        body = self.body_json()
        if u.path == "/_emu/config":
            try:
                with self.st.lock:
                    self.st.configure(body or {})
            except (ValueError, TypeError) as e:
                return self.error(400, "BadParameter", str(e))
            return self.send(200, {"ok": True})
        if self.headers.get("Metadata") != "true":
            return self.error(400, "bad_request_102", "Required metadata header not specified")
        if u.path == "/metadata/scheduledevents" and body and "StartRequests" in body:
            with self.st.lock:
                ids = [r.get("EventId") for r in body["StartRequests"]]
                self.st.acks.extend(ids)
                # An acknowledged event starts; the document changes.
                for e in self.st.events:
                    if e.get("EventId") in ids:
                        e["EventStatus"] = "Started"
                self.st.incarnation += 1
            self.record("ack", 200)
            return self.send(200, None)
        return self.error(400, "BadRequest", "unexpected POST")


KEY_PATH = re.compile(r"^/keys/([A-Za-z0-9-]+)(?:/([0-9a-f]{32}))?(?:/(wrapkey|unwrapkey))?/?$")


class KvHandler(Handler):
    def challenge(self):
        return {"WWW-Authenticate": 'Bearer authorization="https://login.microsoftonline.com/'
                                    '72f988bf-86f1-41af-91ab-2d7cd011db47", resource="https://vault.azure.net"'}

    def route(self, method):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        body = self.body_json() if method == "POST" else None
        m = KEY_PATH.match(u.path)
        what = (m.group(3) or "get") if m else u.path
        # Like the real service: the challenge comes before anything else.
        auth = self.headers.get("Authorization", "")
        if auth != "Bearer " + self.st.token or self.st.reject_token:
            self.record(what, 401)
            return self.error(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.",
                              self.challenge())
        if not m or (method == "POST") != bool(m.group(3)):
            self.record(u.path, 404)
            return self.error(404, "NotFound", "no such path")
        name, ver, op = m.groups()
        if len(q.get("api-version", [])) != 1 or q["api-version"][0] not in API_KV:
            self.record(what, 400)
            return self.error(400, "BadParameter", "api-version must be one of " + ", ".join(API_KV))
        self.slow()
        wait = self.st.admit()
        if wait is not None:
            self.record(what, 429)
            return self.error(429, "Throttled", "Request was not processed because too many requests "
                              "were received. Reason: VaultRequestTypeLimitReached", {"Retry-After": str(wait)})
        fault = self.st.fail_kv.take()
        if fault:
            self.record(what, fault)
            hdr = {"Retry-After": str(self.st.retry_after)} if fault == 429 else None
            code = {429: "Throttled", 503: "ServiceUnavailable"}.get(fault, "InternalServerError")
            return self.error(fault, code, f"emulated {fault}", hdr)
        perm = {"get": "get", "wrapkey": "wrapKey", "unwrapkey": "unwrapKey"}[what]
        if perm not in self.st.permissions:
            self.record(what, 403)
            return self.send(403, {"error": {"code": "Forbidden",
                                             "message": f"The user, group or application does not have keys {perm} permission on key vault",
                                             "innererror": {"code": "ForbiddenByPolicy"}}})
        with self.st.lock:
            entry = self.st.keys.get(name)
            ver = ver or (entry and entry["current"])
            key = entry and entry["versions"].get(ver)
        if not key:
            self.record(what, 404)
            return self.error(404, "KeyNotFound", f"A key with (name/id) {name}/{ver} was not found in this key vault.")
        kid = f"{self.st.vault_url}/keys/{name}/{ver}"
        if what == "get":
            pub = key.public_key().public_numbers()
            return self.reply(what, {"key": {"kid": kid, "kty": entry["kty"], "key_ops": self.st.key_ops,
                                           "n": int_b64u(pub.n), "e": int_b64u(pub.e)},
                                   "attributes": {"enabled": self.st.enabled, "created": 1493942451,
                                                  "updated": 1493942451,
                                                  "recoveryLevel": self.st.recovery_level,
                                                  "recoverableDays": 90}})
        if not body or body.get("alg") != "RSA-OAEP-256" or not isinstance(body.get("value"), str):
            self.record(what, 400)
            return self.error(400, "BadParameter", "alg must be RSA-OAEP-256 and value a base64url string")
        try:
            value = unb64u(body["value"])
            out = key.public_key().encrypt(value, OAEP) if what == "wrapkey" else key.decrypt(value, OAEP)
        except Exception:  # noqa: BLE001 - any decoding or padding failure
            self.record(what, 400)
            return self.error(400, "BadParameter", "Bad Request: the value cannot be " + ("wrapped" if what == "wrapkey" else "unwrapped"))
        with self.st.lock:
            # The plaintext volume keys, for the test that looks for them in
            # the agent's memory (GET /_emu/secrets).
            self.st.secrets.append((value if what == "wrapkey" else out).hex())
        return self.reply(what, {"kid": kid, "value": b64u(out)})

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")


def serve(kind, handler, addr, port, state, verbose, tags=None, tls=None, other_tls=None):
    srv = ThreadingHTTPServer((addr, port), handler, bind_and_activate=False)
    srv.request_queue_size = 4096  # a fleet's burst waits in the backlog, as at a real front end
    srv.server_bind()
    srv.server_activate()
    srv.daemon_threads = True
    srv.state, srv.verbose, srv.kind, srv.tags = state, verbose, kind, tags or {}
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        if other_tls:
            # cert = "other": a certificate, from the same CA, for another name.
            other = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            other.load_cert_chain(*other_tls)

            def pick(sock, server_name, _ctx):
                if state.cert == "other":
                    sock.context = other
            ctx.sni_callback = pick
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--imds-addr", default="127.0.0.1", help="IMDS listen address (loopback or link-local)")
    ap.add_argument("--imds-port", type=int, default=0, help="IMDS port (0: any free port)")
    ap.add_argument("--kv-addr", default="127.0.0.1", help="Key Vault listen address")
    ap.add_argument("--kv-port", type=int, default=0, help="Key Vault HTTPS port (0: any free port)")
    ap.add_argument("--tls-cert", required=True, help="PEM certificate for the Key Vault listener")
    ap.add_argument("--tls-key", required=True, help="PEM private key for it")
    ap.add_argument("--vault-url", default=None,
                    help="the vault's URL as clients see it, used in kid "
                         "(default https://localhost:KV_PORT; https://NAME.vault.azure.net behind a forward)")
    ap.add_argument("--key", action="append", default=[], help="create an RSA key with this name (repeatable)")
    ap.add_argument("--permissions", default="get,wrapKey,unwrapKey",
                    help="key permissions the identity has, comma-separated")
    ap.add_argument("--recovery-level", default="Recoverable",
                    help="attributes.recoveryLevel (Recoverable: soft delete and purge protection)")
    ap.add_argument("--key-ops", default="encrypt,decrypt,sign,verify,wrapKey,unwrapKey")
    ap.add_argument("--enabled", type=int, default=1, help="attributes.enabled (1 or 0)")
    ap.add_argument("--token", default=None, help="the access token IMDS hands out (default: random)")
    ap.add_argument("--client-id", default=None, help="require this client_id on token requests")
    ap.add_argument("--reject-token", type=int, default=0, help="1: Key Vault answers 401 to every token")
    ap.add_argument("--fail-imds", default=None, metavar="STATUS[:COUNT]", help="IMDS answers STATUS COUNT times")
    ap.add_argument("--fail-kv", default=None, metavar="STATUS[:COUNT]", help="Key Vault answers STATUS COUNT times")
    ap.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds on 429")
    ap.add_argument("--throttle", type=int, default=0, metavar="N",
                    help="Key Vault's throttling: N transactions per 10 s window, then 429 with Retry-After "
                         "until the window ends; 429s do not count (RSA-2048: 4000 software keys, 2000 HSM)")
    ap.add_argument("--latency", type=float, default=0, help="seconds added to every answer")
    ap.add_argument("--tag", action="append", default=[], metavar="NAME=VALUE", help="an instance-metadata tag")
    ap.add_argument("--hostile", default="", metavar="MODE@WHAT",
                    help="answer every successful WHAT (token, get, wrapkey, unwrapkey) with MODE: "
                         + ", ".join(HOSTILE))
    ap.add_argument("--other-cert", help="PEM certificate for another name, served while cert is 'other'")
    ap.add_argument("--other-key", help="its private key")
    ap.add_argument("--cert", default="right", choices=("right", "other"), help="which certificate to serve")
    ap.add_argument("--port-file", help="write 'IMDS_PORT KV_PORT' here once listening")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    for addr in (a.imds_addr, a.kv_addr):
        if not (addr.startswith("127.") or addr.startswith("169.254.") or addr == "::1"):
            ap.error(f"{addr}: only loopback or link-local addresses")
    a.token = a.token or secrets.token_urlsafe(32)
    state = State(a)
    tags = dict(t.split("=", 1) for t in a.tag)
    iport = serve("imds", ImdsHandler, a.imds_addr, a.imds_port, state, a.verbose, tags=tags)
    other = None
    if a.other_cert:
        other = (a.other_cert, a.other_key)
    kport = serve("kv", KvHandler, a.kv_addr, a.kv_port, state, a.verbose, tls=(a.tls_cert, a.tls_key),
                  other_tls=other)
    if not state.vault_url:
        state.vault_url = a.vault_url = f"https://localhost:{kport}"
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(f"{iport} {kport}\n")
        os.replace(a.port_file + ".tmp", a.port_file)
    print(f"kvemu: IMDS on http://{a.imds_addr}:{iport}, Key Vault on https://{a.kv_addr}:{kport} "
          f"as {a.vault_url}, keys: {', '.join(a.key) or 'none'}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
