#!/usr/bin/env python3
"""Pokes the Azure fake's control API from a runbook `command` step."""
import datetime
import json
import sys
import urllib.request

base, what = sys.argv[1].rstrip("/"), sys.argv[2]
if what == "log-row":
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"TimeGenerated": now, "OperationName": "KeyUnwrap", "ResultSignature": "Forbidden",
            "identity_claim_oid_g": "ce2ce14e-85d7-4629-bdbc-454d0519d987", "CallerIPAddress": "203.0.113.7",
            "requestUri_s": f"{base}/keys/cmk/78deebed/unwrapkey?api-version=7.5", "CorrelationId": "c0ffee00-0000-4000-8000-000000000001"}
elif what == "drift":
    body = {"accessPolicies": []}
else:
    sys.exit(f"unknown control {what}")
req = urllib.request.Request(f"{base}/_control/{what if what != 'drift' else 'access-policies'}", data=json.dumps(body).encode(),
                             method="POST", headers={"Content-Type": "application/json"})
urllib.request.urlopen(req).read()
