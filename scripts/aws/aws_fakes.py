#!/usr/bin/env python3
"""Loopback fakes for the two AWS APIs moto lacks: CloudTrail LookupEvents
(JSON 1.1) and IAM Access Analyzer ValidatePolicy (REST-JSON), shaped exactly
like shared/fixtures/aws. Every request's SigV4 signature is recomputed with
botocore and must match, as on AWS.

Usage: aws_fakes.py --port-file FILE --access-key-id ID --secret-access-key S
                    [--events FILE] [--findings FILE] [--log FILE]
--events: a JSON array of CloudTrail events (the wire shape), re-read on every
request so a test can add an access-denied event mid-run.
--findings: a JSON array of Access Analyzer findings to return.
--log: one JSON line per request (method, path, target, status).
"""
import argparse
import json
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ARGS = None
LAST_LOOKUP = [0.0]


def error(handler, status, code, message, header_type=True):
    body = json.dumps({"__type": code, "message": message}).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/x-amz-json-1.1")
    if header_type:
        handler.send_header("X-Amzn-ErrorType", code)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
    return status


def verify_signature(handler, body):
    """Recompute the SigV4 signature over what was received."""
    auth = handler.headers.get("Authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "MissingAuthenticationTokenException", "no SigV4 Authorization header"
    fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    credential = fields["Credential"].split("/")
    if credential[0] != ARGS.access_key_id:
        return "UnrecognizedClientException", "The security token included in the request is invalid."
    signed = fields["SignedHeaders"].split(";")
    date = handler.headers.get("X-Amz-Date")
    url = "http://" + handler.headers.get("Host") + handler.path
    request = AWSRequest(method=handler.command, url=url, data=body,
                         headers={name: handler.headers.get(name) for name in signed})
    signer = SigV4Auth(Credentials(ARGS.access_key_id, ARGS.secret_access_key,
                                   handler.headers.get("X-Amz-Security-Token")), credential[3], credential[2])
    request.context["timestamp"] = date
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    expected = signer.signature(string_to_sign, request)
    if expected != fields["Signature"]:
        return "InvalidSignatureException", "The request signature we calculated does not match the signature you provided."
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, status):
        if ARGS.log:
            with open(ARGS.log, "a") as f:
                f.write(json.dumps({"method": self.command, "path": self.path,
                                    "target": self.headers.get("X-Amz-Target"), "status": status}) + "\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        problem = verify_signature(self, body)
        if problem:
            self.record(error(self, 403, *problem))
            return
        target = self.headers.get("X-Amz-Target", "")
        if target.endswith("CloudTrail_20131101.LookupEvents"):
            self.record(self.lookup_events(body))
        elif self.path.startswith("/policy/validation"):
            self.record(self.validate_policy(body))
        else:
            self.record(error(self, 400, "UnknownOperationException", "unknown operation " + target + " " + self.path))

    def json_answer(self, payload, content_type):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return 200

    def lookup_events(self, body):
        request = json.loads(body or b"{}")
        # CloudTrail's documented limit: 2 LookupEvents per second per account.
        now = time.monotonic()
        if now - LAST_LOOKUP[0] < 0.45:
            return error(self, 400, "ThrottlingException", "Rate exceeded")
        LAST_LOOKUP[0] = now
        attributes = request.get("LookupAttributes", [])
        if len(attributes) > 1:
            return error(self, 400, "InvalidLookupAttributesException", "only one lookup attribute is allowed")
        events = []
        if ARGS.events:
            try:
                with open(ARGS.events) as f:
                    events = json.load(f)
            except FileNotFoundError:
                events = []
        start, end = request.get("StartTime", 0), request.get("EndTime", 1e12)
        events = [e for e in events if start <= e.get("EventTime", 0) <= end]
        for attribute in attributes:
            if attribute["AttributeKey"] == "EventSource":
                events = [e for e in events if e.get("EventSource") == attribute["AttributeValue"]]
        # One event per page after an empty first page, so clients must follow NextToken.
        token = int(request.get("NextToken") or 0)
        answer = {"Events": [] if token == 0 else events[token - 1:token]}
        if token < len(events):
            answer["NextToken"] = str(token + 1)
        return self.json_answer(answer, "application/x-amz-json-1.1")

    def validate_policy(self, body):
        request = json.loads(body or b"{}")
        if request.get("policyType") != "RESOURCE_POLICY":
            return error(self, 400, "ValidationException", "policyType must be RESOURCE_POLICY for a key policy")
        if "validatePolicyResourceType" in request:
            return error(self, 400, "ValidationException", "validatePolicyResourceType is not valid for a KMS key policy")
        try:
            json.loads(request.get("policyDocument", ""))
        except ValueError:
            return self.json_answer({"findings": [{"findingType": "ERROR", "issueCode": "JSON_SYNTAX_ERROR",
                                                   "findingDetails": "Fix the JSON syntax error.",
                                                   "learnMoreLink": "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html",
                                                   "locations": []}]}, "application/json")
        findings = []
        if ARGS.findings:
            with open(ARGS.findings) as f:
                findings = json.load(f)
        return self.json_answer({"findings": findings}, "application/json")


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--access-key-id", required=True)
    parser.add_argument("--secret-access-key", required=True)
    parser.add_argument("--events")
    parser.add_argument("--findings")
    parser.add_argument("--log")
    ARGS = parser.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.replace(ARGS.port_file + ".tmp", ARGS.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
