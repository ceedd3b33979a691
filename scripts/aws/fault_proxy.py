#!/usr/bin/env python3
"""A loopback reverse proxy in front of one AWS endpoint (moto_server or
aws_fakes.py) that injects the faults DESIGN.md §9 asks for, then forwards
every other request verbatim, so SigV4 signatures still verify upstream
(the Host header is passed through unchanged).

Usage: fault_proxy.py --upstream http://127.0.0.1:PORT --port-file FILE
                      [--log FILE] [--fault OPERATION=KIND:COUNT]...

OPERATION is the name after the last '.' of X-Amz-Target (GetKeyPolicy,
PutKeyPolicy, DescribeKey, LookupEvents), the query protocol's Action
(GetCallerIdentity), or ValidatePolicy for POST /policy/validation.
The first COUNT requests of OPERATION get KIND instead of an answer from
upstream:
  throttle     HTTP 400, ThrottlingException (AWS JSON shape; XML `Throttling`
               for the query protocol), as KMS and CloudTrail throttle
  429          HTTP 429, TooManyRequestsException
  503          HTTP 503, ServiceUnavailable
  500          HTTP 500, InternalFailure (KMSInternalException for KMS)
  reset        the connection is reset without an answer
  applied-503  forwarded upstream (the call takes effect), then answered 503
Without --fault it is a pass-through that only logs.
--log: one JSON line per request: operation, target, method, path, status,
injected (the KIND or null).
"""
import argparse
import http.client
import json
import os
import socket
import socketserver
import struct
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

ARGS = None
LOCK = threading.Lock()
REMAINING = {}  # operation -> [kind, count left]

# RFC 9110 §7.6.1 hop-by-hop fields, and Expect (this proxy already read the body).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "trailers", "transfer-encoding", "upgrade", "expect"}


def operation_of(handler, body):
    target = handler.headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    if handler.path.startswith("/policy/validation"):
        return "ValidatePolicy"
    content_type = handler.headers.get("Content-Type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return handler.command + " " + handler.path


def take_fault(operation):
    with LOCK:
        entry = REMAINING.get(operation)
        if entry and entry[1] > 0:
            entry[1] -= 1
            return entry[0]
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, operation, status, injected):
        if not ARGS.log:
            return
        line = json.dumps({"operation": operation, "target": self.headers.get("X-Amz-Target"),
                           "method": self.command, "path": self.path, "status": status, "injected": injected})
        with LOCK:
            with open(ARGS.log, "a") as f:
                f.write(line + "\n")

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        operation = operation_of(self, body)
        fault = take_fault(operation)
        if fault == "reset":
            self.record(operation, None, fault)
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if fault and fault != "applied-503":
            self.record(operation, self.send_fault(fault, operation), fault)
            return
        try:
            status, headers, answer = self.forward(body)
        except OSError as error:
            self.record(operation, 502, None)
            self.send_body(502, [("Content-Type", "text/plain")], ("upstream unreachable: %s" % error).encode())
            return
        if fault == "applied-503":
            self.record(operation, self.send_fault("503", operation), fault)
            return
        self.send_body(status, headers, answer)
        self.record(operation, status, None)

    do_POST = do_GET = do_PUT = do_DELETE = do_HEAD = handle_any

    def forward(self, body):
        upstream = urllib.parse.urlsplit(ARGS.upstream)
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
        try:
            connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    connection.putheader(name, value)
            connection.endheaders(body)
            response = connection.getresponse()
            answer = response.read()
            headers = [(k, v) for k, v in response.getheaders()
                       if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
            return response.status, headers, answer
        finally:
            connection.close()

    def send_fault(self, kind, operation):
        query = self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
        status, code, message = {
            "throttle": (400, "Throttling" if query else "ThrottlingException", "Rate exceeded"),
            "429": (429, "TooManyRequestsException", "Too many requests"),
            "503": (503, "ServiceUnavailable", "Service is unavailable (injected)"),
            "500": (500, "KMSInternalException" if (self.headers.get("X-Amz-Target") or "").startswith("TrentService.")
                    else "InternalFailure", "Internal failure (injected)"),
        }[kind]
        if query:
            body = ("<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
                    "<RequestId>fault-proxy</RequestId></ErrorResponse>" % (code, message)).encode()
            headers = [("Content-Type", "text/xml")]
        else:
            body = json.dumps({"__type": code, "message": message}).encode()
            headers = [("Content-Type", "application/x-amz-json-1.1"), ("X-Amzn-ErrorType", code)]
        self.send_body(status, headers, body)
        return status

    def send_body(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log")
    parser.add_argument("--fault", action="append", default=[], metavar="OPERATION=KIND:COUNT")
    ARGS = parser.parse_args()
    kinds = {"throttle", "429", "503", "500", "reset", "applied-503"}
    for spec in ARGS.fault:
        operation, _, rest = spec.partition("=")
        kind, _, count = rest.partition(":")
        if not operation or kind not in kinds or not count.isdigit():
            parser.error("--fault takes OPERATION=KIND:COUNT with KIND one of %s, got %r" % (sorted(kinds), spec))
        REMAINING[operation] = [kind, int(count)]
    server = Server(("127.0.0.1", 0), Handler)
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(ARGS.port_file + ".tmp", ARGS.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
