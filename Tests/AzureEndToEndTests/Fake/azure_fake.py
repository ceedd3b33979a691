#!/usr/bin/env python3
"""Conformance fake of the Azure APIs policy-change uses, on 127.0.0.1.

One process serves every API on one port, told apart by path:
  POST /{tenant}/oauth2/v2.0/token                       Entra ID client credentials (secret or assertion)
  GET  /metadata/identity/oauth2/token                   IMDS managed identity (Metadata: true, api-version 2018-02-01)
  GET  /msi/token                                        App Service managed identity (X-IDENTITY-HEADER, 2019-08-01)
  GET  {vault id}                                        ARM Vaults_Get (api-version 2025-05-01)
  PUT  {vault id}/accessPolicies/{add|remove|replace}    ARM Vaults_UpdateAccessPolicy
  PUT|PATCH {vault id}                                   recorded and refused (policy-change must never send them)
  PUT|GET|DELETE {scope}/providers/Microsoft.Authorization/roleAssignments/{guid}   (2022-04-01)
  GET  {scope}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()  (paged by nextLink)
  GET  /subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions[/{guid}|?$filter=roleName eq '…']
  GET  /keys/{name}                                      Key Vault data plane GetKey (api-version 7.5)
  POST /v1/workspaces/{id}/query                         Log Analytics query
  /_control/...                                          test control API (no auth)

Shapes follow shared/fixtures/azure. Every request is appended to the JSONL
call log (method, path, query, status, operation, body for writes; never the
Authorization header). Bearer tokens are JWT-shaped and carry aud, oid, tid;
the fake checks the audience per API (an ARM token on the data plane is 401).

Usage: azure_fake.py --scenario scenario.json --dir DIR   (writes DIR/port, DIR/calls.jsonl)
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
S = {}  # the scenario and live state
SIGNING = b"azure-fake-signing-key"
AUDIENCES = {
    "https://management.azure.com/.default": "https://management.azure.com/",
    "https://vault.azure.net/.default": "https://vault.azure.net",
    "https://api.loganalytics.io/.default": "https://api.loganalytics.io",
}
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PERMISSION_CATEGORIES = {"keys", "secrets", "certificates", "storage"}
ENTRY_KEYS = {"tenantId", "objectId", "applicationId", "permissions"}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(aud):
    header = b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    payload = b64url(json.dumps({"aud": aud, "oid": S["callerOid"], "tid": S["tenant"],
                                 "exp": int(time.time()) + 3600}).encode())
    sig = b64url(hmac.new(SIGNING, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{sig}"


def token_audience(token):
    try:
        header, payload, sig = token.split(".")
        good = b64url(hmac.new(SIGNING, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(good, sig):
            return None
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["aud"]
    except Exception:
        return None


def error(code, message, status):
    return status, {"error": {"code": code, "message": message}}, {}


def norm(scope):
    s = scope.lower().rstrip("/")
    return s if s.startswith("/") else "/" + s


def vault_view():
    v = json.loads(json.dumps(S["vault"]))
    v["properties"]["vaultUri"] = f"http://127.0.0.1:{S['port']}/"
    return v


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def handle_any(self, method):
        parsed = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parsed.path)
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        record = {"method": method, "path": path, "query": query, "time": time.time()}
        try:
            with LOCK:
                status, body, headers, op = self.route(method, path, query, raw, record)
        except Exception as exc:  # a fake bug must show, not hang
            status, body, headers, op = 500, {"error": {"code": "FakeBug", "message": repr(exc)}}, {}, "bug"
        record.update({"status": status, "operation": op})
        if not path.startswith("/_control"):
            with LOCK:
                with open(S["log"], "a") as f:
                    f.write(json.dumps(record) + "\n")
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # ----------------------------------------------------------------- routing
    def route(self, method, path, query, raw, record):
        if path.startswith("/_control/"):
            return self.control(method, path[len("/_control/"):], raw) + ("control",)
        for rule in S["inject"]:
            if rule["count"] > 0 and rule["match"] in path and rule.get("method", method) == method:
                rule["count"] -= 1
                headers = {"Retry-After": str(rule.get("retryAfter", 1))} if rule["status"] == 429 else {}
                code = "TooManyRequests" if rule["status"] == 429 else "ServiceUnavailable"
                return (rule["status"], {"error": {"code": code, "message": "injected by the test"}}, headers, "injected")
        m = re.fullmatch(r"/([^/]+)/oauth2/v2\.0/token", path)
        if m:
            return self.token(method, m.group(1), raw) + ("token",)
        if path == "/metadata/identity/oauth2/token":
            return self.imds(method, query) + ("imds",)
        if path == "/msi/token":
            return self.app_service(method, query) + ("msi",)
        if path.startswith("/keys/"):
            return self.authorized("https://vault.azure.net", lambda: self.get_key(method, path, query)) + ("GetKey",)
        m = re.fullmatch(r"/v1/workspaces/([^/]+)/query", path)
        if m:
            return self.authorized("https://api.loganalytics.io", lambda: self.query(method, m.group(1), raw)) + ("query",)
        if path.lower().startswith("/subscriptions/"):
            op = [None]

            def arm():
                status, body, headers, name = self.arm(method, path, query, raw, record)
                op[0] = name
                return status, body, headers
            result = self.authorized("https://management.azure.com/", arm)
            return result + (op[0] or "arm",)
        return error("NotFound", f"the fake does not serve {method} {path}", 404) + ("unknown",)

    def authorized(self, audience, handler):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return 401, {"error": {"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}}, \
                {"WWW-Authenticate": f'Bearer authorization="http://127.0.0.1:{S["port"]}/{S["tenant"]}", resource="{audience}"'}
        aud = token_audience(auth[len("Bearer "):])
        if aud is None:
            return error("InvalidAuthenticationToken", "The access token is invalid.", 401)
        if aud.rstrip("/") != audience.rstrip("/"):
            return error("InvalidAuthenticationTokenAudience",
                         f"The access token has been obtained for the wrong audience or resource '{aud}'. It should exactly match '{audience}'.", 401)
        return handler()

    # ------------------------------------------------------------------ tokens
    def token(self, method, tenant, raw):
        if method != "POST":
            return error("invalid_request", "POST only", 405)
        if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return 400, {"error": "invalid_request", "error_description": "AADSTS900144: form body required"}, {}
        form = dict(urllib.parse.parse_qsl(raw.decode()))
        if tenant != S["tenant"]:
            return 400, {"error": "invalid_request", "error_description": f"AADSTS90002: Tenant '{tenant}' not found."}, {}
        if form.get("grant_type") != "client_credentials" or form.get("scope") not in AUDIENCES:
            return 400, {"error": "invalid_request", "error_description": "AADSTS900144: grant_type/scope invalid"}, {}
        if form.get("client_id") != S["clientId"]:
            return 400, {"error": "unauthorized_client", "error_description": "AADSTS700016: Application not found in the directory."}, {}
        if "client_secret" in form:
            if "client_assertion" in form or form["client_secret"] != S["clientSecret"]:
                return 401, json.load(open(S["fixtures"] + "/token.error.invalid_client.json")), {}
        elif form.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            if form.get("client_assertion") != S.get("assertion"):
                return 401, {"error": "invalid_client", "error_description": "AADSTS700211: No matching federated identity record found for presented assertion issuer."}, {}
        else:
            return 401, {"error": "invalid_client", "error_description": "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required."}, {}
        S["tokensIssued"] += 1
        return 200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                     "access_token": make_token(AUDIENCES[form["scope"]])}, {}

    def managed(self, resource):
        scope = resource.rstrip("/") + "/.default"
        if scope not in AUDIENCES and resource + ".default" not in AUDIENCES:
            return 400, {"error": "invalid_resource", "error_description": "AADSTS500011: resource not found"}, {}
        aud = AUDIENCES.get(scope) or AUDIENCES[resource + ".default"]
        now = int(time.time())
        return 200, {"access_token": make_token(aud), "refresh_token": "", "expires_in": "3599",
                     "expires_on": str(now + 3599), "not_before": str(now), "resource": resource, "token_type": "Bearer"}, {}

    def imds(self, method, query):
        if method != "GET" or self.headers.get("Metadata") != "true":
            return 400, {"error": "invalid_request", "error_description": "Required metadata header not specified"}, {}
        if query.get("api-version") != "2018-02-01" or "resource" not in query:
            return 400, {"error": "invalid_request", "error_description": "api-version 2018-02-01 and resource required"}, {}
        return self.managed(query["resource"])

    def app_service(self, method, query):
        if method != "GET" or self.headers.get("X-IDENTITY-HEADER") != S.get("identityHeader"):
            return 401, {"error": "unauthorized", "error_description": "X-IDENTITY-HEADER missing or wrong"}, {}
        if query.get("api-version") != "2019-08-01" or "resource" not in query:
            return 400, {"error": "invalid_request", "error_description": "api-version 2019-08-01 and resource required"}, {}
        return self.managed(query["resource"])

    # --------------------------------------------------------------- data plane
    def get_key(self, method, path, query):
        if method != "GET" or query.get("api-version") != "7.5":
            return error("BadParameter", "GET with api-version=7.5 only", 400)
        name = path[len("/keys/"):].strip("/").split("/")[0]
        key = S["key"]
        if name != key["name"]:
            return error("KeyNotFound", f"A key with (name/id) {name} was not found in this key vault.", 404)
        kid = f"http://127.0.0.1:{S['port']}/keys/{name}/78deebed173b48e48f55abf87ed4cf71"
        return 200, {"key": {"kid": kid, "kty": key.get("kty", "RSA"),
                             "key_ops": ["encrypt", "decrypt", "wrapKey", "unwrapKey"], "n": "2HJAE5fU3Cw2", "e": "AQAB"},
                     "attributes": {"enabled": key.get("enabled", True), "created": 1493942451, "updated": 1493942451,
                                    "recoveryLevel": "Recoverable"}, "tags": {}}, {}

    # ----------------------------------------------------------- Log Analytics
    def query(self, method, workspace, raw):
        if method != "POST":
            return error("BadArgumentError", "POST only in this fake", 400)
        try:
            body = json.loads(raw)
        except ValueError:
            return error("BadArgumentError", "The request had some invalid properties", 400)
        if set(body) - {"query", "timespan", "workspaces"} or not isinstance(body.get("query"), str):
            return error("BadArgumentError", "The request had some invalid properties", 400)
        if workspace != S["workspace"]:
            return error("WorkspaceNotFoundError", f"The workspace {workspace} could not be found", 404)
        q = body["query"]
        m = re.search(r"between \(datetime\(([^)]+)\) \.\. datetime\(([^)]+)\)\)", q)
        if not q.startswith("AzureDiagnostics") or not m:
            return error("BadArgumentError", "the fake understands AzureDiagnostics queries with a TimeGenerated between (...) window", 400)
        since, until = m.group(1), m.group(2)
        vault_name = S["vault"]["name"].upper()
        if f'Resource == "{vault_name}"' not in q or f'/keys/{S["key"]["name"]}' not in q:
            return error("BadArgumentError", "the query does not filter by this vault and key", 400)
        columns = ["TimeGenerated", "OperationName", "ResultSignature", "identity_claim_oid_g", "CallerIPAddress", "requestUri_s",
                   "CorrelationId", "httpStatusCode_d"]
        rows = []
        for row in S["logs"]:
            if since <= row["TimeGenerated"] <= until:
                rows.append([row.get(c) if c != "httpStatusCode_d" else row.get(c, 403) for c in columns])
        types = ["datetime", "string", "string", "string", "string", "string", "string", "real"]
        return 200, {"tables": [{"name": "PrimaryResult", "columns": [{"name": c, "type": t} for c, t in zip(columns, types)],
                                 "rows": rows}]}, {}

    # --------------------------------------------------------------------- ARM
    def arm(self, method, path, query, raw, record):
        vault_id = S["vault"]["id"]
        lower = path.lower().rstrip("/")
        if lower == vault_id.lower():
            if query.get("api-version") != "2025-05-01":
                return error("InvalidApiVersionParameter", f"api-version '{query.get('api-version')}' is not the fixtures' 2025-05-01", 400) + ("vault",)
            if method == "GET":
                return 200, vault_view(), {}, "Vaults_Get"
            record["body"] = raw.decode(errors="replace")
            return error("FakeRefused", "policy-change must never PUT or PATCH the whole vault", 400) + (f"Vaults_{method}",)
        m = re.fullmatch(re.escape(vault_id.lower()) + r"/accesspolicies/([a-z]+)", lower)
        if m:
            return self.access_policies(method, m.group(1), query, raw, record)
        m = re.fullmatch(r"(.*)/providers/microsoft\.authorization/roleassignments(?:/([^/]+))?", lower)
        if m:
            scope = path[:len(m.group(1))]
            return self.role_assignments(method, scope, m.group(2), query, raw, record)
        m = re.fullmatch(r"/subscriptions/([^/]+)/providers/microsoft\.authorization/roledefinitions(?:/([^/]+))?", lower)
        if m:
            return self.role_definitions(method, m.group(2), query)
        return error("InvalidResourceType", f"The resource type could not be found for {path}", 404) + ("unknown",)

    def access_policies(self, method, kind, query, raw, record):
        op = f"accessPolicies/{kind}"
        record["body"] = raw.decode(errors="replace")
        if method != "PUT" or kind not in ("add", "remove", "replace"):
            return error("InvalidRequest", "PUT accessPolicies/{add|remove|replace} only", 405) + (op,)
        if query.get("api-version") != "2025-05-01":
            return error("InvalidApiVersionParameter", "api-version must be 2025-05-01", 400) + (op,)
        try:
            body = json.loads(raw)
            entries = body["properties"]["accessPolicies"]
            assert set(body) == {"properties"} and set(body["properties"]) == {"accessPolicies"} and isinstance(entries, list)
            for e in entries:
                assert set(e) <= ENTRY_KEYS and GUID.match(e["objectId"]) and GUID.match(e["tenantId"])
                assert set(e["permissions"]) <= PERMISSION_CATEGORIES
                assert all(isinstance(p, str) for ps in e["permissions"].values() for p in ps)
        except Exception:
            return error("BadRequest", "body must be {\"properties\":{\"accessPolicies\":[{tenantId, objectId, permissions{keys,…}}]}}", 400) + (op,)
        policies = S["vault"]["properties"].setdefault("accessPolicies", [])

        def ident(e):
            return (e["objectId"].lower(), (e.get("applicationId") or "").lower())
        if kind == "replace":
            S["vault"]["properties"]["accessPolicies"] = entries
        for e in entries if kind != "replace" else []:
            match = next((p for p in policies if ident(p) == ident(e)), None)
            if kind == "add":
                if match is None:
                    policies.append(json.loads(json.dumps(e)))
                    continue
                for cat, names in e["permissions"].items():
                    have = match["permissions"].setdefault(cat, [])
                    for n in names:
                        if n.lower() not in [h.lower() for h in have]:
                            have.append(n)
            else:  # remove: subtract the listed permissions; an entry left with none goes.
                # Matching is case-SENSITIVE, as the service does it (azure-rest-api-specs
                # issue 42963: a remove spelled differently from the stored value is a silent no-op).
                if match is None:
                    continue
                for cat, names in e["permissions"].items():
                    drop = set(names)
                    match["permissions"][cat] = [h for h in match["permissions"].get(cat, []) if h not in drop]
                if not any(match["permissions"].values()):
                    policies.remove(match)
        S["vault"].setdefault("systemData", {})["lastModifiedAt"] = time.strftime("%Y-%m-%dT%H:%M:%SZ")
        return 200, {"id": S["vault"]["id"] + "/accessPolicies/", "type": "Microsoft.KeyVault/vaults/accessPolicies",
                     "properties": {"accessPolicies": entries}}, {}, op

    def role_assignments(self, method, scope, name, query, raw, record):
        if query.get("api-version") != "2022-04-01":
            return error("InvalidApiVersionParameter", "api-version must be 2022-04-01", 400) + ("roleAssignments",)
        store = S["assignments"]
        if name is None:
            if method != "GET" or query.get("$filter") != "atScope()":
                return error("InvalidRequest", "list with $filter=atScope() only", 400) + ("roleAssignments_ListForScope",)
            target = norm(scope)
            hits = [a for a in store.values() if target == norm(a["properties"]["scope"]) or target.startswith(norm(a["properties"]["scope"]) + "/")]
            hits.sort(key=lambda a: a["name"])
            skip = int(query.get("$skiptoken", "0"))
            page = hits[skip:skip + 1]
            body = {"value": page}
            if skip + 1 < len(hits):
                q = urllib.parse.urlencode({"api-version": "2022-04-01", "$filter": "atScope()", "$skiptoken": str(skip + 1)})
                body["nextLink"] = f"http://127.0.0.1:{S['port']}{urllib.parse.quote(scope)}/providers/Microsoft.Authorization/roleAssignments?{q}"
            return 200, body, {}, "roleAssignments_ListForScope"
        key = f"{norm(scope)}|{name.lower()}"
        if method == "GET":
            a = store.get(key)
            return (200, a, {}, "roleAssignments_Get") if a else error("RoleAssignmentNotFound", "The role assignment was not found.", 404) + ("roleAssignments_Get",)
        if method == "DELETE":
            a = store.pop(key, None)
            return (200, a, {}, "roleAssignments_Delete") if a else (204, None, {}, "roleAssignments_Delete")
        if method != "PUT":
            return error("InvalidRequest", "PUT/GET/DELETE only", 405) + ("roleAssignments",)
        record["body"] = raw.decode(errors="replace")
        try:
            body = json.loads(raw)
            p = body["properties"]
            assert set(body) == {"properties"} and GUID.match(name)
            assert set(p) <= {"roleDefinitionId", "principalId", "principalType", "condition", "conditionVersion", "description"}
            assert re.fullmatch(r"/subscriptions/[^/]+/providers/Microsoft\.Authorization/roleDefinitions/[0-9a-f-]{36}", p["roleDefinitionId"])
            assert GUID.match(p["principalId"])
        except Exception:
            return error("InvalidRoleAssignmentRequest", "body must be {\"properties\":{\"roleDefinitionId\":\"/subscriptions/…/roleDefinitions/<guid>\",\"principalId\":\"<guid>\"}} under a GUID name", 400) + ("roleAssignments_Create",)
        role = p["roleDefinitionId"].split("/")[-1].lower()
        for a in store.values():
            ap = a["properties"]
            if norm(ap["scope"]) == norm(scope) and ap["principalId"].lower() == p["principalId"].lower() \
                    and ap["roleDefinitionId"].split("/")[-1].lower() == role and key != f"{norm(scope)}|{a['name'].lower()}":
                return error("RoleAssignmentExists", "The role assignment already exists.", 409) + ("roleAssignments_Create",)
        item = {"properties": {"roleDefinitionId": p["roleDefinitionId"], "principalId": p["principalId"],
                               "principalType": p.get("principalType", "ServicePrincipal"), "scope": scope},
                "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
                "type": "Microsoft.Authorization/roleAssignments", "name": name}
        if "condition" in p:
            item["properties"]["condition"] = p["condition"]
            item["properties"]["conditionVersion"] = p.get("conditionVersion", "2.0")
        created = key not in store
        store[key] = item
        return (201 if created else 200), item, {}, "roleAssignments_Create"

    def role_definitions(self, method, guid, query):
        if method != "GET" or query.get("api-version") != "2022-04-01":
            return error("InvalidRequest", "GET with api-version 2022-04-01 only", 400) + ("roleDefinitions",)
        defs = S["roleDefinitions"]
        if guid:
            d = next((d for d in defs if d["name"].lower() == guid), None)
            return (200, d, {}, "roleDefinitions_Get") if d else error("RoleDefinitionDoesNotExist", "The specified role definition does not exist.", 404) + ("roleDefinitions_Get",)
        m = re.fullmatch(r"roleName eq '((?:[^']|'')*)'", query.get("$filter", ""))
        if not m:
            return error("InvalidFilter", "only $filter=roleName eq '…'", 400) + ("roleDefinitions_List",)
        wanted = m.group(1).replace("''", "'")
        return 200, {"value": [d for d in defs if d["properties"]["roleName"] == wanted]}, {}, "roleDefinitions_List"

    # ----------------------------------------------------------------- control
    def control(self, method, what, raw):
        body = json.loads(raw) if raw else {}
        if what == "inject":
            S["inject"].append({"match": body["match"], "status": body["status"], "count": body.get("count", 1),
                                "retryAfter": body.get("retryAfter", 1), **({"method": body["method"]} if "method" in body else {})})
            return 200, {}, {}
        if what == "log-row":
            S["logs"].append(body)
            return 200, {}, {}
        if what == "access-policies":  # change the vault behind the tool's back (drift)
            S["vault"]["properties"]["accessPolicies"] = body["accessPolicies"]
            return 200, {}, {}
        if what == "state":
            return 200, {"vault": vault_view(), "assignments": sorted(S["assignments"].values(), key=lambda a: a["name"]),
                         "tokensIssued": S["tokensIssued"]}, {}
        return 404, {"error": {"code": "NoSuchControl", "message": what}}, {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--dir", required=True)
    args = ap.parse_args()
    scenario = json.load(open(args.scenario))
    S.update(scenario)
    S["fixtures"] = os.path.dirname(os.path.abspath(__file__))
    S["log"] = args.dir + "/calls.jsonl"
    S["inject"] = []
    S["logs"] = scenario.get("logs", [])
    S["tokensIssued"] = 0
    S["roleDefinitions"] = scenario.get("roleDefinitions", [])
    S["assignments"] = {}
    for a in scenario.get("roleAssignments", []):
        S["assignments"][f"{norm(a['properties']['scope'])}|{a['name'].lower()}"] = a
    open(S["log"], "w").close()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    S["port"] = server.server_address[1]
    with open(args.dir + "/port.tmp", "w") as f:
        f.write(str(S["port"]))
    os.rename(args.dir + "/port.tmp", args.dir + "/port")
    print(S["port"], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
