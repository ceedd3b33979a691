import CurlTransport
import Foundation
import HTTP
import Logging
import Testing

/// `CurlTransport` against the in-process loopback server: real sockets,
/// real libcurl, no external network. No assertion here is about elapsed time.
@Suite("CurlTransport")
struct CurlTransportTests {
    static let userAgent = "policy-change/0.0.0-test"

    func makeTransport(
        timeout: Duration = .seconds(30), logs: LogCapture = LogCapture(), maxBody: Int = 64 << 20
    ) throws -> CurlTransport {
        try CurlTransport(
            configuration: .init(
                userAgent: Self.userAgent, connectTimeout: .seconds(10), timeout: timeout, environment: [:],
                maxResponseBodyBytes: maxBody),
            logger: logs.logger())
    }

    func retrying(
        _ base: CurlTransport, policy: RetryPolicy = RetryPolicy(), time: FakeTime, logs: LogCapture = LogCapture()
    )
        -> RetryingTransport
    {
        RetryingTransport(wrapping: base, policy: policy, logger: logs.logger(), environment: time.environment)
    }

    // MARK: Success

    @Test func getSendsExactlyTheRequestAndReturnsTheResponse() async throws {
        let server = try LoopbackServer(script: [
            .respond(
                200, #"{"ok":true}"#,
                headers: [("X-Multi", "a"), ("x-multi", "b"), ("Content-Type", "application/json")])
        ])
        defer { server.stop() }
        let transport = try makeTransport()

        let request = HTTPRequest(
            method: .get, url: server.url("/v1/keys/k1?options.requestedPolicyVersion=3&a=b%20c"),
            headers: ["X-Amz-Date": "20150830T123600Z", "X-Custom": "one", "x-custom": "two", "X-Empty": ""])
        let response = try await transport.send(request)

        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"ok":true}"#)
        #expect(response.headers["X-Multi"] == ["a", "b"], "repeated response headers are all kept, in order")
        #expect(response.headers.first(name: "content-type") == "application/json")

        let seen = try #require(server.requests.first)
        #expect(seen.method == "GET")
        #expect(seen.target == "/v1/keys/k1?options.requestedPolicyVersion=3&a=b%20c")
        #expect(seen.version == "HTTP/1.1")
        #expect(seen.header("X-Amz-Date") == ["20150830T123600Z"])
        #expect(seen.header("X-Custom") == ["one", "two"])
        #expect(seen.header("X-Empty") == [""])
        #expect(seen.header("User-Agent") == [Self.userAgent])
        #expect(seen.header("Host") == ["127.0.0.1:\(server.port)"])
        let names = Set(seen.headers.map { $0.name.lowercased() })
        #expect(names == ["host", "user-agent", "x-amz-date", "x-custom", "x-empty"], "nothing added by libcurl")
        #expect(seen.body.isEmpty)
    }

    @Test func postSendsTheBodyByteForByteWithoutExpect() async throws {
        let server = try LoopbackServer(script: [.respond(201, "created")])
        defer { server.stop() }
        let transport = try makeTransport()

        // NUL bytes and non-ASCII: the body is binary-safe; 2 MB is over the
        // size at which libcurl would otherwise add `Expect: 100-continue`.
        var body = Data(#"{"Policy":"é\u{0}"}"#.utf8)
        body.append(Data(repeating: 0x41, count: 2 << 20))
        let request = HTTPRequest(
            method: .post, url: server.url("/"),
            headers: [
                "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.PutKeyPolicy",
            ],
            body: body, isIdempotent: false)
        let response = try await transport.send(request)

        #expect(response.status == 201)
        let seen = try #require(server.requests.first)
        #expect(seen.method == "POST")
        #expect(seen.body == body)
        #expect(seen.header("Content-Type") == ["application/x-amz-json-1.1"])
        #expect(seen.header("Content-Length") == ["\(body.count)"])
        #expect(seen.header("Expect").isEmpty)
        #expect(seen.header("Accept").isEmpty)
    }

    @Test func postWithoutContentTypeGetsNoneFromLibcurl() async throws {
        let server = try LoopbackServer(script: [.respond(200)])
        defer { server.stop() }
        let transport = try makeTransport()
        _ = try await transport.send(HTTPRequest(method: .post, url: server.url("/x"), body: Data("a=b".utf8)))
        let seen = try #require(server.requests.first)
        #expect(seen.header("Content-Type").isEmpty, "no application/x-www-form-urlencoded by default")
        #expect(seen.body == Data("a=b".utf8))
    }

    @Test(arguments: [
        (HTTPMethod.put, "{\"a\":1}", "PUT"), (.patch, "{}", "PATCH"), (.delete, "", "DELETE"),
        (.delete, "{\"x\":1}", "DELETE"), (.post, "", "POST"), ("REPORT", "", "REPORT"),
    ])
    func anyMethodWithOrWithoutABody(_ method: HTTPMethod, _ body: String, _ expected: String) async throws {
        let server = try LoopbackServer(script: [.respond(204)])
        defer { server.stop() }
        let transport = try makeTransport()
        let response = try await transport.send(
            HTTPRequest(method: method, url: server.url("/r"), body: Data(body.utf8)))
        #expect(response.status == 204)
        let seen = try #require(server.requests.first)
        #expect(seen.method == expected)
        #expect(seen.body == Data(body.utf8))
        if ["POST", "PUT", "PATCH"].contains(expected) || !body.isEmpty {
            #expect(seen.header("Content-Length") == ["\(body.utf8.count)"], "an empty POST/PUT says Content-Length: 0")
        }
    }

    @Test func headDoesNotWaitForABody() async throws {
        let server = try LoopbackServer(script: [
            .raw("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nConnection: close\r\n\r\n")
        ])
        defer { server.stop() }
        let transport = try makeTransport()
        let response = try await transport.send(HTTPRequest(method: .head, url: server.url("/h")))
        #expect(response.status == 200)
        #expect(response.headers.first(name: "Content-Length") == "1234")
        #expect(server.requests.first?.method == "HEAD")
    }

    @Test func onlyTheFinalHeaderBlockIsKept() async throws {
        let server = try LoopbackServer(script: [
            .raw(
                "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
                    + "HTTP/1.1 200 OK\r\nX-Final: one\r\nX-Folded: first\r\n  second\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            )
        ])
        defer { server.stop() }
        let transport = try makeTransport()
        let response = try await transport.send(HTTPRequest(method: .get, url: server.url("/")))
        #expect(response.status == 200)
        #expect(!response.headers.contains(name: "X-Interim"))
        #expect(response.headers.first(name: "X-Final") == "one")
        #expect(response.headers.first(name: "X-Folded") == "first second")
        #expect(response.body == Data("ok".utf8))
    }

    @Test func localhostWorksLikeTheLoopbackAddress() async throws {
        let server = try LoopbackServer(script: [.respond(200, "hi")])
        defer { server.stop() }
        let transport = try makeTransport()
        let response = try await transport.send(
            HTTPRequest(method: .get, url: try #require(URL(string: "http://localhost:\(server.port)/"))))
        #expect(response.status == 200)
    }

    // MARK: Retries through the real transport

    @Test func throttledWithRetryAfterThenSuccess() async throws {
        let server = try LoopbackServer(script: [
            .respond(429, "slow down", headers: [("Retry-After", "1")]), .respond(200, "ok"),
        ])
        defer { server.stop() }
        let time = FakeTime()
        let transport = retrying(try makeTransport(), time: time)
        let response = try await transport.send(HTTPRequest(method: .get, url: server.url("/")))
        #expect(response.status == 200)
        #expect(server.requestCount == 2)
        #expect(time.sleeps == [.seconds(1)], "the sleeper was asked for exactly the Retry-After delay")
    }

    @Test func unavailableThenSuccess() async throws {
        let server = try LoopbackServer(script: [.respond(503), .respond(200, "ok")])
        defer { server.stop() }
        let time = FakeTime()
        let response = try await retrying(try makeTransport(), time: time).send(
            HTTPRequest(method: .get, url: server.url("/")))
        #expect(response.status == 200)
        #expect(server.requestCount == 2)
    }

    @Test func unavailableForeverFailsCarryingTheStatus() async throws {
        let server = try LoopbackServer(script: [.respond(503, "down")])
        defer { server.stop() }
        let time = FakeTime()
        let transport = retrying(try makeTransport(), policy: RetryPolicy(maxAttempts: 4), time: time)
        let error = try await #require(throws: HTTPError.self) {
            try await transport.send(HTTPRequest(method: .get, url: server.url("/")))
        }
        #expect(error == .retriesExhausted)
        #expect(error.status == 503)
        #expect(error.attempts == 4)
        #expect(server.requestCount == 4)
        #expect(error.description.contains("HTTP 503 after 4 attempts"))
    }

    // MARK: Failures

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        let server = try LoopbackServer(script: [.neverAnswer])
        defer { server.stop() }
        let transport = try makeTransport(timeout: .milliseconds(300))
        let error = try await #require(throws: HTTPError.self) {
            try await transport.send(HTTPRequest(method: .get, url: server.url("/slow")))
        }
        #expect(error == .timedOut)
        #expect(error.description.contains("http://127.0.0.1:\(server.port)/slow"))
        #expect(error.description.contains("300 ms"))
    }

    @Test func aDroppedConnectionIsReportedAsSuch() async throws {
        let server = try LoopbackServer(script: [.closeWithoutAnswer])
        defer { server.stop() }
        let error = try await #require(throws: HTTPError.self) {
            try await makeTransport().send(HTTPRequest(method: .get, url: server.url("/")))
        }
        #expect(error == .connectionDropped)
    }

    @Test func aDroppedConnectionIsRetriedForAnIdempotentRequest() async throws {
        let server = try LoopbackServer(script: [.closeWithoutAnswer, .respond(200, "ok")])
        defer { server.stop() }
        let time = FakeTime()
        let response = try await retrying(try makeTransport(), time: time).send(
            HTTPRequest(method: .get, url: server.url("/")))
        #expect(response.status == 200)
        #expect(server.requestCount == 2)
    }

    @Test func aDroppedConnectionIsNotRetriedForANonIdempotentPost() async throws {
        let server = try LoopbackServer(script: [.closeWithoutAnswer, .respond(200, "ok")])
        defer { server.stop() }
        let time = FakeTime()
        let request = HTTPRequest(method: .post, url: server.url("/"), body: Data("{}".utf8), isIdempotent: false)
        let error = try await #require(throws: HTTPError.self) {
            try await retrying(try makeTransport(), time: time).send(request)
        }
        #expect(error == .connectionDropped)
        #expect(server.requestCount == 1, "the server may have acted on it: never sent twice")
        #expect(time.sleeps.isEmpty)
    }

    @Test func aClosedPortIsConnectFailed() async throws {
        let closed = try ClosedLoopbackPort()
        let port = closed.port
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/?X-Amz-Signature=0ddba11"))
        let error = try await #require(throws: HTTPError.self) {
            try await makeTransport().send(HTTPRequest(method: .get, url: url))
        }
        #expect(error == .connectFailed)
        #expect(error.description.hasPrefix("cannot connect to http://127.0.0.1:\(port)/?X-Amz-Signature=<redacted>: "))
        #expect(error.description.contains("(check the endpoint, proxy settings and network)"))
        #expect(!error.description.contains("0ddba11"))
        withExtendedLifetime(closed) {}
    }

    @Test func connectFailedIsRetriedEvenForANonIdempotentPost() async throws {
        let closed = try ClosedLoopbackPort()
        let port = closed.port
        let time = FakeTime()
        let url = try #require(URL(string: "http://127.0.0.1:\(port)/"))
        let error = try await #require(throws: HTTPError.self) {
            try await retrying(try makeTransport(), policy: RetryPolicy(maxAttempts: 3), time: time)
                .send(HTTPRequest(method: .post, url: url, body: Data("{}".utf8), isIdempotent: false))
        }
        #expect(error == .connectFailed)
        #expect(error.attempts == 3)
        #expect(time.sleeps.count == 2)
        withExtendedLifetime(closed) {}
    }

    @Test(arguments: ["http://example.com/", "http://10.0.0.1/", "ftp://127.0.0.1/"])
    func insecureURLsAreRefusedBeforeAnyConnection(_ text: String) async throws {
        let logs = LogCapture()
        let transport = try makeTransport(logs: logs)
        let error = try await #require(throws: HTTPError.self) {
            try await transport.send(HTTPRequest(method: .get, url: try #require(URL(string: text))))
        }
        #expect(error == .insecureURL)
        // Refused in `send` before a libcurl handle exists: nothing reached the loop thread.
        #expect(!logs.joined.contains("HTTP transfer finished"))
    }

    @Test func aRequestTimeoutShorterThanTheTransportsWins() async throws {
        let server = try LoopbackServer(script: [.neverAnswer])
        defer { server.stop() }
        var request = HTTPRequest(method: .get, url: server.url("/"))
        request.timeout = .milliseconds(200)
        let error = try await #require(throws: HTTPError.self) {
            try await makeTransport(timeout: .seconds(120)).send(request)
        }
        #expect(error == .timedOut)
        #expect(error.description.contains("200 ms"))
    }

    @Test func httpsToAPlainHTTPServerIsATLSFailure() async throws {
        let server = try LoopbackServer(script: [.respond(200, "plain text, not TLS")])
        defer { server.stop() }
        let url = try #require(URL(string: "https://127.0.0.1:\(server.port)/"))
        let error = try await #require(throws: HTTPError.self) {
            try await makeTransport().send(HTTPRequest(method: .get, url: url))
        }
        #expect(error == .tlsFailed)
        #expect(server.requests.first?.method == "TLS", "the client spoke TLS")
        #expect(error.description.contains("CA bundle"))
    }

    @Test func anUnreadableCABundleIsATLSFailureNamingIt() async throws {
        let server = try LoopbackServer(script: [.respond(200)])
        defer { server.stop() }
        let transport = try CurlTransport(
            configuration: .init(userAgent: Self.userAgent, caBundle: "/nonexistent/ca-bundle.pem", environment: [:]),
            logger: LogCapture().logger())
        let url = try #require(URL(string: "https://127.0.0.1:\(server.port)/"))
        let error = try await #require(throws: HTTPError.self) {
            try await transport.send(HTTPRequest(method: .get, url: url))
        }
        #expect(error == .tlsFailed)
        #expect(error.description.contains("--ca-bundle"))
    }

    @Test func theRequestsUserAgentReplacesTheConfiguredOne() async throws {
        let server = try LoopbackServer(script: [.respond(200)])
        defer { server.stop() }
        let request = HTTPRequest(method: .get, url: server.url("/"), headers: ["User-Agent": "aws-sdk-compatible/1.0"])
        _ = try await makeTransport().send(request)
        #expect(server.requests.first?.header("User-Agent") == ["aws-sdk-compatible/1.0"])
    }

    @Test func headerInjectionIsRefused() async throws {
        let server = try LoopbackServer(script: [.respond(200)])
        defer { server.stop() }
        let request = HTTPRequest(method: .get, url: server.url("/"), headers: ["X-Evil": "a\r\nX-Injected: 1"])
        let error = try await #require(throws: HTTPError.self) { try await makeTransport().send(request) }
        #expect(error == .invalidRequest)
        #expect(server.requestCount == 0)
    }

    @Test func anOversizedResponseFails() async throws {
        let server = try LoopbackServer(script: [.respond(200, String(repeating: "x", count: 10_000))])
        defer { server.stop() }
        let error = try await #require(throws: HTTPError.self) {
            try await makeTransport(maxBody: 1000).send(HTTPRequest(method: .get, url: server.url("/")))
        }
        #expect(error == .other)
        #expect(error.description.contains("larger than 1000 bytes"))
    }

    // MARK: Concurrency

    /// If libcurl ran on the cooperative pool, the requests below would occupy
    /// every pool thread (this machine has two cores; there are 4× as many
    /// requests), the task that opens the gate could never run, and the test
    /// would hang. A watchdog on a plain thread turns that hang into a failure.
    @Test func heldRequestsDoNotBlockTheCooperativePool() async throws {
        let gate = Gate()
        let server = try LoopbackServer(script: [.hold(gate, then: .respond(200, "released"))])
        defer { server.stop() }
        let transport = try makeTransport(timeout: .seconds(120))
        let concurrent = max(8, ProcessInfo.processInfo.activeProcessorCount * 4)
        let watchdog = Watchdog(after: 60) { gate.open() }
        defer { watchdog.disarm() }

        let opener = Task {
            try await server.waitForRequests(concurrent)
            gate.open()
        }
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<concurrent {
                group.addTask {
                    try await transport.send(HTTPRequest(method: .get, url: server.url("/held/\(index)"))).status
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        opener.cancel()

        #expect(!watchdog.fired, "the gate was opened by the watchdog, not by a Swift task: the pool was blocked")
        #expect(statuses == Array(repeating: 200, count: concurrent))
        #expect(server.requestCount == concurrent)
    }

    @Test func cancellingAPendingRequestThrowsCancellationError() async throws {
        let server = try LoopbackServer(script: [.neverAnswer])
        defer { server.stop() }
        let transport = try makeTransport(timeout: .seconds(120))
        let url = server.url("/pending")
        let task = Task { try await transport.send(HTTPRequest(method: .get, url: url)) }
        try await server.waitForRequests(1)
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }

        // The transport still works afterwards.
        let next = try LoopbackServer(script: [.respond(200)])
        defer { next.stop() }
        #expect(try await transport.send(HTTPRequest(method: .get, url: next.url("/"))).status == 200)
    }

    @Test func aRequestFromAnAlreadyCancelledTaskNeverStarts() async throws {
        let server = try LoopbackServer(script: [.respond(200)])
        defer { server.stop() }
        let transport = try makeTransport()
        let url = server.url("/")
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await transport.send(HTTPRequest(method: .get, url: url))
        }
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(server.requestCount == 0)
    }

    // MARK: Secrets

    @Test func secretsNeverReachLogsOrErrors() async throws {
        let server = try LoopbackServer(script: [.respond(503), .closeWithoutAnswer, .respond(200)])
        defer { server.stop() }
        let logs = LogCapture()
        let time = FakeTime()
        let transport = retrying(try makeTransport(logs: logs), time: time, logs: logs)

        let secrets = [
            "AKIDSECRETID", "abc0123456789def", "FQoGZXIvSESSION", "bearer-t0ken-value", "cl1ent-s3cret", "pre5igned",
        ]
        let request = HTTPRequest(
            method: .post,
            url: server.url("/token?X-Amz-Signature=pre5igned&Action=GetKeyPolicy"),
            headers: [
                "Authorization":
                    "AWS4-HMAC-SHA256 Credential=AKIDSECRETID/20150830/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc0123456789def",
                "X-Amz-Security-Token": "FQoGZXIvSESSION",
                "X-Forwarded-Authorization": "Bearer bearer-t0ken-value",
                "Content-Type": "application/x-www-form-urlencoded",
            ],
            body: Data("grant_type=client_credentials&client_secret=cl1ent-s3cret".utf8))

        let response = try await transport.send(request)
        #expect(response.status == 200)
        #expect(server.requestCount == 3)
        #expect(
            server.requests.last?.header("X-Amz-Security-Token") == ["FQoGZXIvSESSION"],
            "the server got the real values")

        // And a failure path: the error built from the same request.
        let closed = try ClosedLoopbackPort()
        let port = closed.port
        var failing = request
        failing.url = try #require(URL(string: "http://127.0.0.1:\(port)/token?X-Amz-Signature=pre5igned"))
        let error = try await #require(throws: HTTPError.self) {
            try await retrying(
                try makeTransport(logs: logs), policy: RetryPolicy(maxAttempts: 2), time: time, logs: logs
            )
            .send(failing)
        }

        #expect(logs.all.count >= 5, "trace, debug and notice lines were written")
        let everything = logs.joined + "\n" + "\(error)" + "\n" + (error.url ?? "") + "\n" + String(reflecting: error)
        for secret in secrets {
            #expect(!everything.contains(secret), "\(secret) leaked")
        }
        withExtendedLifetime(closed) {}
    }
}
