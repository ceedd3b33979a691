#!/usr/bin/env python3
"""Conformance fake of the Google APIs policy-change uses (DESIGN.md §9),
built from ../shared/fixtures/gcp: OAuth token endpoint (JWT bearer with RS256
verification, refresh token), the metadata server, Cloud KMS (crypto key GET,
getIamPolicy as GET, setIamPolicy with real etag semantics), IAM roles.get and
Cloud Logging entries:list. Strict: an unknown path, a wrong method, a missing
or unknown bearer token, or a body of the wrong shape is an error response.

Usage: gcp_fake.py --folder DIR --key projects/P/locations/L/keyRings/R/cryptoKeys/K
                   --policy FILE --public-cert PEM [--roles FILE]
Writes DIR/port once listening; appends every request to DIR/calls.jsonl.

Control API (no auth, loopback):
  POST /control/faults     {"match": "getIamPolicy", "status": 429|503, "count": N, "retry_after": 1}
                           {"match": "setIamPolicy", "apply_first": true}  the write lands, the answer is a 503
                           {"match": "setIamPolicy", "race": [bindings]}   another writer lands just before
  POST /control/policy     {"bindings": [...], "version": 3}  (a change behind the tool's back)
  GET  /control/policy     the stored policy
  POST /control/log-entry  {"principal": "...", "method": "Decrypt", "timestamp": "…" (default now)}
  POST /control/key        {"purpose": ..., "state": ...}
"""
import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
CLIENT_EMAIL = "service-account@example.com"
METADATA_EMAIL = "vm-default@my-project.iam.gserviceaccount.com"
REFRESH = {"client_id": "123", "client_secret": "secret", "refresh_token": "alabalaportocala"}
ABORTED_MESSAGE = ("There were concurrent policy changes. Please retry the whole read-modify-write with "
                   "exponential backoff. The request's ETag '{sent}' did not match the current policy's ETag '{live}'.")
MEMBER = re.compile(r"^(user|serviceAccount|group):[^@\s]+@[^@\s]+\.[^@\s]+$|^domain:[^@\s]+\.[^@\s]+$|"
                    r"^allUsers$|^allAuthenticatedUsers$|^principal(Set)?://\S+$|^deleted:\S+\?uid=\d+$|"
                    r"^project(Owner|Editor|Viewer):\S+$")


def now_rfc3339():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text):
    text = text.replace("Z", "+00:00")
    return datetime.fromisoformat(text)


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.folder = args.folder
        self.key = args.key
        self.project = args.key.split("/")[1]
        with open(args.policy) as f:
            policy = json.load(f)
        self.policy = {"version": policy.get("version", 1), "bindings": policy.get("bindings", [])}
        self.etag = self.new_etag()
        self.key_info = {"purpose": "ENCRYPT_DECRYPT", "state": "ENABLED"}
        self.tokens = set()
        self.faults = []
        self.entries = []
        self.roles = {}
        if args.roles:
            with open(args.roles) as f:
                for role in json.load(f):
                    self.roles[role["name"]] = role
        with open(args.public_cert, "rb") as f:
            self.public_key = x509.load_pem_x509_certificate(f.read()).public_key()
        self.calls = open(os.path.join(args.folder, "calls.jsonl"), "a", buffering=1)

    @staticmethod
    def new_etag():
        return base64.b64encode(b"\x00\x07" + secrets.token_bytes(6)).decode()

    def record(self, entry):
        with self.lock:
            self.calls.write(json.dumps(entry) + "\n")


def google_error(code, status, message, reason=None):
    error = {"code": code, "message": message, "status": status}
    if reason:
        error["errors"] = [{"message": message, "domain": "global", "reason": reason}]
    return {"error": error}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State = None
    port = 0

    def log_message(self, fmt, *args):
        pass

    # MARK: plumbing

    def reply(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        raw = self.body()
        auth = self.headers.get("Authorization") or ""
        self.state.record({"method": method, "path": url.path, "query": url.query,
                           "auth": "bearer" if auth.startswith("Bearer ") else ("other" if auth else "none"),
                           "metadata_flavor": self.headers.get("Metadata-Flavor"),
                           "content_type": self.headers.get("Content-Type"),
                           "body": raw.decode("utf-8", "replace") if not url.path.startswith("/token") else "<form>"})
        try:
            if url.path.startswith("/control/"):
                return self.control(method, url.path, raw)
            if url.path == "/token":
                return self.token(method, raw)
            if url.path.startswith("/computeMetadata/"):
                return self.metadata(method, url)
            if not (url.path.startswith("/v1/") or url.path.startswith("/v2/")):
                return self.reply(404, google_error(404, "NOT_FOUND", "unknown path " + url.path))
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
            if token not in self.state.tokens:
                with open(os.path.join(os.path.dirname(__file__), "401.json"), "rb") as f:
                    return self.reply(401, f.read(), {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
            if self.fault(url.path, method):
                return
            if url.path.startswith("/v2/"):
                return self.logging(method, url, raw)
            if (url.path.startswith("/v1/roles/") or url.path.startswith("/v1/organizations/")
                    or (url.path.startswith("/v1/projects/") and "/roles/" in url.path and "/cryptoKeys/" not in url.path)):
                return self.role(method, url)
            return self.kms(method, url, raw)
        except Exception as exc:  # a bug in the fake shows as a 500 with its text
            return self.reply(500, google_error(500, "INTERNAL", "fake error: %r" % exc))

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_PATCH(self):
        self.handle_any("PATCH")

    # MARK: faults

    def fault(self, path, method):
        """Answers with an injected 429/503 when one matches; True if it did."""
        with self.state.lock:
            for fault in self.state.faults:
                if fault["count"] > 0 and not fault.get("apply_first") and fault.get("race") is None and fault["match"] in path and fault.get("method", method) == method:
                    fault["count"] -= 1
                    chosen = dict(fault)
                    break
            else:
                return False
        status = chosen["status"]
        headers = {"Retry-After": str(chosen.get("retry_after", 1))} if status == 429 else {}
        if status == 429:
            with open(os.path.join(os.path.dirname(__file__), "429.json"), "rb") as f:
                return self.reply(429, f.read(), headers) or True
        self.reply(503, google_error(503, "UNAVAILABLE", "The service is currently unavailable."), headers)
        return True

    # MARK: OAuth

    def token(self, method, raw):
        if method != "POST" or not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return self.reply(400, {"error": "invalid_request", "error_description": "POST a form"})
        form = dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True, strict_parsing=True))
        grant = form.get("grant_type")
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            problem = self.check_assertion(form.get("assertion", ""))
            if problem:
                return self.reply(400, {"error": "invalid_grant", "error_description": problem})
        elif grant == "refresh_token":
            if any(form.get(k) != v for k, v in REFRESH.items()):
                return self.reply(400, {"error": "invalid_grant", "error_description": "Bad Request"})
        else:
            return self.reply(400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"})
        return self.issue()

    def issue(self, headers=None):
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        with self.state.lock:
            self.state.tokens.add(token)
        return self.reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}, headers)

    def check_assertion(self, assertion):
        parts = assertion.split(".")
        if len(parts) != 3:
            return "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe"
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except Exception:
            return "Invalid JWT: malformed"
        if header.get("alg") != "RS256" or header.get("typ") != "JWT" or header.get("kid") != "1":
            return "Invalid JWT header"
        try:
            self.state.public_key.verify(signature, (parts[0] + "." + parts[1]).encode(), padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return "Invalid JWT Signature."
        now = int(time.time())
        if claims.get("iss") != CLIENT_EMAIL:
            return "Invalid JWT: unknown issuer"
        if claims.get("aud") != "http://127.0.0.1:%d/token" % self.port:
            return "Invalid JWT: audience is not this token URL"
        if SCOPE not in (claims.get("scope") or "").split(" "):
            return "Invalid JWT: scope"
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > 3600 or exp < now or iat > now + 300:
            return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
        return None

    def metadata(self, method, url):
        if self.headers.get("Metadata-Flavor") != "Google" or method != "GET":
            return self.reply(403, b"Missing Metadata-Flavor:Google header.", {"Metadata-Flavor": "Google"})
        base = "/computeMetadata/v1/instance/service-accounts/default/"
        if url.path == base + "token":
            return self.issue({"Metadata-Flavor": "Google"})
        if url.path == base + "email":
            data = METADATA_EMAIL.encode()
            self.send_response(200)
            self.send_header("Metadata-Flavor", "Google")
            self.send_header("Content-Type", "application/text")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        return self.reply(404, b"not found", {"Metadata-Flavor": "Google"})

    # MARK: Cloud KMS

    def kms(self, method, url, raw):
        path = url.path[len("/v1/"):]
        name, _, verb = path.partition(":")
        if name != self.state.key:
            return self.reply(404, google_error(404, "NOT_FOUND", "%s not found." % name))
        if verb == "" and method == "GET":
            with self.state.lock:
                info = dict(self.state.key_info)
            return self.reply(200, {"name": name, "purpose": info["purpose"],
                                    "primary": {"name": name + "/cryptoKeyVersions/1", "state": info["state"]},
                                    "createTime": "2024-01-01T00:00:00Z"})
        if verb == "getIamPolicy" and method == "GET":
            query = urllib.parse.parse_qs(url.query)
            version = int(query.get("options.requestedPolicyVersion", ["0"])[0])
            return self.reply(200, self.view(version))
        if verb == "setIamPolicy" and method == "POST":
            return self.set_policy(raw)
        return self.reply(404, google_error(404, "NOT_FOUND", "unknown method %s %s" % (method, url.path)))

    def view(self, requested):
        """The policy as getIamPolicy returns it at the requested version: below 3,
        conditional bindings appear with the role renamed …_withcond_<hash> and
        the condition dropped, as the real service shows them."""
        with self.state.lock:
            policy, etag = json.loads(json.dumps(self.state.policy)), self.state.etag
        bindings = policy["bindings"]
        conditional = any("condition" in b for b in bindings)
        out = {}
        if requested >= 3:
            if bindings or policy.get("version", 1) != 1:
                out["version"] = 3 if conditional else policy.get("version", 1)
        else:
            shown = []
            for b in bindings:
                if "condition" in b:
                    digest = hashlib.sha1(json.dumps(b["condition"], sort_keys=True).encode()).hexdigest()[:20]
                    shown.append({"role": b["role"] + "_withcond_" + digest, "members": b["members"]})
                else:
                    shown.append(b)
            bindings = shown
            if bindings:
                out["version"] = 1
        out["etag"] = etag
        if bindings:
            out["bindings"] = bindings
        return out

    def set_policy(self, raw):
        def bad(message):
            return self.reply(400, google_error(400, "INVALID_ARGUMENT", message))
        if not (self.headers.get("Content-Type") or "").startswith("application/json"):
            return bad("Content-Type must be application/json")
        try:
            request = json.loads(raw)
        except ValueError:
            return bad("Invalid JSON payload received.")
        if not isinstance(request, dict) or set(request) - {"policy", "updateMask"} or "policy" not in request:
            return bad("Invalid JSON payload received. Unknown name at 'request'.")
        if request.get("updateMask") != "bindings,etag":
            return bad("updateMask must be 'bindings,etag' for this client")
        policy = request["policy"]
        if not isinstance(policy, dict) or set(policy) - {"version", "etag", "bindings"}:
            return bad("Invalid JSON payload received. Unknown name at 'policy'.")
        bindings = policy.get("bindings", [])
        version = policy.get("version", 1)
        if version not in (1, 2, 3) or not isinstance(bindings, list):
            return bad("Invalid policy version or bindings")
        for b in bindings:
            if not isinstance(b, dict) or set(b) - {"role", "members", "condition"} or not isinstance(b.get("role"), str):
                return bad("Invalid binding")
            if not isinstance(b.get("members"), list) or not b["members"]:
                return bad("Binding for role '%s' has no members" % b.get("role"))
            for m in b["members"]:
                if not isinstance(m, str) or not MEMBER.match(m):
                    return bad("Invalid member '%s'" % m)
            if "_withcond_" in b["role"]:
                return bad("Role %s is not supported" % b["role"])
            if "condition" in b:
                if version != 3:
                    return bad("Conditional bindings require policy version 3")
                c = b["condition"]
                if not isinstance(c, dict) or not c.get("title") or not c.get("expression"):
                    return bad("Condition needs title and expression")
        etag = policy.get("etag")
        if not etag:
            return bad("etag is required by this fake (the tool must always send it)")
        fault = None
        with self.state.lock:
            for f in self.state.faults:
                if f.get("race") is not None and f["count"] > 0 and f["match"] == "setIamPolicy":
                    # Someone else's write lands just before this one.
                    f["count"] -= 1
                    self.state.policy = {"version": 1, "bindings": f["race"]}
                    self.state.etag = self.state.new_etag()
            for f in self.state.faults:
                if f.get("apply_first") and f["count"] > 0 and f["match"] == "setIamPolicy":
                    f["count"] -= 1
                    fault = f
                    break
            if etag != self.state.etag:
                live = self.state.etag
                message = ABORTED_MESSAGE.format(sent=etag, live=live)
                return self.reply(409, google_error(409, "ABORTED", message, "aborted"))
            self.state.policy = {"version": version, "bindings": bindings}
            self.state.etag = self.state.new_etag()
        if fault:  # the write landed; the answer is lost
            return self.reply(503, google_error(503, "UNAVAILABLE", "The service is currently unavailable."))
        return self.reply(200, self.view(3))

    # MARK: IAM

    def role(self, method, url):
        name = url.path[len("/v1/"):]
        if method != "GET":
            return self.reply(404, google_error(404, "NOT_FOUND", "unknown method"))
        role = self.state.roles.get(name)
        if role is None:
            return self.reply(404, google_error(404, "NOT_FOUND", "The role named %s was not found." % name))
        return self.reply(200, role)

    # MARK: Cloud Logging

    def logging(self, method, url, raw):
        if url.path != "/v2/entries:list" or method != "POST":
            return self.reply(404, google_error(404, "NOT_FOUND", "unknown path " + url.path))
        try:
            request = json.loads(raw)
        except ValueError:
            return self.reply(400, google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received."))
        allowed = {"resourceNames", "filter", "orderBy", "pageSize", "pageToken"}
        if not isinstance(request, dict) or set(request) - allowed:
            return self.reply(400, google_error(400, "INVALID_ARGUMENT", "Unknown name in request"))
        if request.get("resourceNames") != ["projects/" + self.state.project]:
            return self.reply(400, google_error(400, "INVALID_ARGUMENT", "resourceNames must be the key's project"))
        if request.get("orderBy", "timestamp asc") not in ("timestamp asc", "timestamp desc"):
            return self.reply(400, google_error(400, "INVALID_ARGUMENT", "Invalid orderBy"))
        size = request.get("pageSize", 50)
        if not isinstance(size, int) or not 0 < size <= 1000:
            return self.reply(400, google_error(400, "INVALID_ARGUMENT", "pageSize must be 1..1000"))
        text = request.get("filter", "")
        if len(text) > 20000:
            return self.reply(400, google_error(400, "INVALID_ARGUMENT", "filter too long"))
        needed = ['protoPayload.status.code=7', 'protoPayload.resourceName="%s"' % self.state.key]
        if any(n not in text for n in needed):
            return self.reply(400, google_error(400, "INVALID_ARGUMENT", "the filter must select this key's denials"))
        since = re.search(r'timestamp>="([^"]+)"', text)
        until = re.search(r'timestamp<="([^"]+)"', text)
        if not since or not until:
            return self.reply(400, google_error(400, "INVALID_ARGUMENT", "the filter must bound timestamp both ways"))
        lo, hi = parse_time(since.group(1)), parse_time(until.group(1))
        with self.state.lock:
            matching = [e for e in self.state.entries if lo <= parse_time(e["timestamp"]) <= hi]
        token = request.get("pageToken")
        # Page 1 is always empty with a token (the service does that while it searches).
        if token is None:
            return self.reply(200, {"nextPageToken": "page-1"})
        if not token.startswith("page-"):
            return self.reply(400, google_error(400, "INVALID_ARGUMENT", "bad page token"))
        index = int(token[5:]) - 1
        page = matching[index * size:(index + 1) * size]
        out = {"entries": page} if page else {}
        if (index + 1) * size < len(matching):
            out["nextPageToken"] = "page-%d" % (index + 2)
        return self.reply(200, out)

    def entry(self, principal, method, timestamp):
        key = self.state.key
        parts = key.split("/")
        return {
            "protoPayload": {
                "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
                "status": {"code": 7, "message": "PERMISSION_DENIED"},
                "authenticationInfo": {"principalEmail": principal},
                "serviceName": "cloudkms.googleapis.com", "methodName": method, "resourceName": key,
                "authorizationInfo": [{"resource": key, "permission": "cloudkms.cryptoKeyVersions.useToDecrypt",
                                       "granted": False, "permissionType": "DATA_READ"}],
            },
            "insertId": secrets.token_hex(6),
            "resource": {"type": "cloudkms_cryptokey", "labels": {"project_id": parts[1], "location": parts[3],
                                                                  "key_ring_id": parts[5], "crypto_key_id": parts[7]}},
            "timestamp": timestamp, "severity": "ERROR",
            "logName": "projects/%s/logs/cloudaudit.googleapis.com%%2Fdata_access" % parts[1],
            "receiveTimestamp": timestamp,
        }

    # MARK: control

    def control(self, method, path, raw):
        body = json.loads(raw) if raw else {}
        if path == "/control/faults" and method == "POST":
            body.setdefault("count", 1)
            with self.state.lock:
                self.state.faults.append(body)
            return self.reply(200, {"ok": True})
        if path == "/control/policy" and method == "POST":
            with self.state.lock:
                self.state.policy = {"version": body.get("version", 1), "bindings": body.get("bindings", [])}
                self.state.etag = self.state.new_etag()
            return self.reply(200, self.view(3))
        if path == "/control/policy" and method == "GET":
            return self.reply(200, self.view(3))
        if path == "/control/log-entry" and method == "POST":
            entry = self.entry(body.get("principal", "app@my-project.iam.gserviceaccount.com"), body.get("method", "Decrypt"),
                               body.get("timestamp") or now_rfc3339())
            with self.state.lock:
                self.state.entries.append(entry)
            return self.reply(200, entry)
        if path == "/control/key" and method == "POST":
            with self.state.lock:
                self.state.key_info.update(body)
            return self.reply(200, self.state.key_info)
        return self.reply(404, {"error": "unknown control path"})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--policy", required=True)
    parser.add_argument("--public-cert", required=True)
    parser.add_argument("--roles")
    args = parser.parse_args()
    Handler.state = State(args)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Handler.port = server.server_address[1]
    temporary = os.path.join(args.folder, "port.tmp")
    with open(temporary, "w") as f:
        f.write(str(Handler.port))
    os.replace(temporary, os.path.join(args.folder, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
