import Foundation
import HTTP
import Logging
import Testing

/// The retry rules, against a scripted transport and a fake clock: nothing
/// here waits for real time.
@Suite("RetryingTransport")
struct RetryingTransportTests {
    static let url = URL(string: "https://kms.us-east-1.amazonaws.com/")!
    let get = HTTPRequest(method: .get, url: url)
    let post = HTTPRequest(method: .post, url: url, body: Data("{}".utf8), isIdempotent: false)

    func transport(
        _ base: ScriptedTransport, policy: RetryPolicy = RetryPolicy(), time: FakeTime, logs: LogCapture = LogCapture()
    ) -> RetryingTransport {
        RetryingTransport(wrapping: base, policy: policy, logger: logs.logger(), environment: time.environment)
    }

    // MARK: Backoff

    @Test func fullJitterStaysWithinTheExponentialCeiling() {
        let policy = RetryPolicy(baseDelay: .milliseconds(100), maxDelay: .seconds(5))
        for retry in 0..<40 {
            let ceiling = min(5.0, 0.1 * pow(2, Double(retry)))
            #expect(abs(policy.backoffCeiling(forRetry: retry).timeInterval - ceiling) < 1e-9)
            for unit in [0.0, 0.25, 0.5, 0.999_999] {
                let delay = policy.backoff(forRetry: retry, unit: unit).timeInterval
                #expect(delay >= 0 && delay <= ceiling)
                #expect(abs(delay - unit * ceiling) < 1e-9, "full jitter: uniform over the whole range")
            }
        }
    }

    @Test func jitterComesFromTheInjectedRandomSource() async throws {
        let time = FakeTime(randoms: [0.0, 0.5, 1.0])
        let base = ScriptedTransport([ScriptedTransport.status(500), .status(502), .status(504), .status(200)])
        let policy = RetryPolicy(baseDelay: .seconds(1), maxDelay: .seconds(3))
        let response = try await transport(base, policy: policy, time: time).send(get)
        #expect(response.status == 200)
        #expect(base.attempts == 4)
        // Ceilings 1 s, 2 s, 3 s (capped from 4 s), times 0, 0.5, 1.
        #expect(time.sleeps == [.zero, .seconds(1), .seconds(3)])
    }

    // MARK: Statuses

    @Test(arguments: [429, 500, 502, 503, 504])
    func retryableStatusThenSuccess(_ status: Int) async throws {
        let time = FakeTime()
        let base = ScriptedTransport([ScriptedTransport.status(status), .status(200, body: "ok")])
        let response = try await transport(base, time: time).send(get)
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self) == "ok")
        #expect(base.attempts == 2)
        #expect(time.sleeps.count == 1)
    }

    @Test(arguments: [200, 201, 204, 400, 401, 403, 404, 409, 501])
    func otherStatusesComeBackAsResponses(_ status: Int) async throws {
        let time = FakeTime()
        let base = ScriptedTransport([ScriptedTransport.status(status)])
        let response = try await transport(base, time: time).send(get)
        #expect(response.status == status)
        #expect(base.attempts == 1)
        #expect(time.sleeps.isEmpty)
    }

    @Test func attemptsRunOutOnA503() async throws {
        let time = FakeTime()
        let base = ScriptedTransport([ScriptedTransport.status(503, body: "busy")])
        let policy = RetryPolicy(maxAttempts: 3, deadline: .seconds(600))
        let error = try await #require(throws: HTTPError.self) {
            try await transport(base, policy: policy, time: time).send(get)
        }
        #expect(error == .retriesExhausted)
        #expect(error.status == 503)
        #expect(error.attempts == 3)
        #expect(error.response.map { String(decoding: $0.body, as: UTF8.self) } == "busy")
        #expect(base.attempts == 3)
        #expect(time.sleeps.count == 2)
    }

    @Test func deadlineIsNeverSleptPast() async throws {
        let time = FakeTime(randoms: Array(repeating: 0.999, count: 50))
        let base = ScriptedTransport([ScriptedTransport.status(503)])
        let policy = RetryPolicy(
            maxAttempts: 100, baseDelay: .seconds(1), maxDelay: .seconds(8), deadline: .seconds(20))
        let error = try await #require(throws: HTTPError.self) {
            try await transport(base, policy: policy, time: time).send(get)
        }
        #expect(error == .deadlineExceeded)
        #expect(error.status == 503)
        #expect(time.now < .seconds(20), "no sleep ran past the deadline")
        #expect(base.attempts == time.sleeps.count + 1)
        #expect(error.description.contains("HTTP 503"))
    }

    @Test func eachAttemptIsBoundedByWhatIsLeftOfTheDeadline() async throws {
        let time = FakeTime()
        // Every attempt "takes" 4 s of the 10 s deadline.
        let slow503 = ScriptedTransport.Step.slow(.seconds(4), HTTPResponse(status: 503))
        let base = ScriptedTransport([slow503], time: time)
        let policy = RetryPolicy(baseDelay: .milliseconds(1), maxDelay: .milliseconds(1), deadline: .seconds(10))
        _ = try? await transport(base, policy: policy, time: time).send(get)
        let timeouts = base.requests.compactMap(\.timeout)
        #expect(timeouts.count == base.attempts)
        #expect(timeouts.first == .seconds(10))
        for (earlier, later) in zip(timeouts, timeouts.dropFirst()) {
            #expect(later < earlier)
        }
        #expect(timeouts.allSatisfy { $0 > .zero && $0 <= .seconds(10) })
    }

    @Test func aShorterRequestTimeoutIsKept() async throws {
        let time = FakeTime()
        let base = ScriptedTransport([ScriptedTransport.status(200)])
        var request = get
        request.timeout = .seconds(2)
        _ = try await transport(base, time: time).send(request)
        #expect(base.requests.first?.timeout == .seconds(2))
    }

    // MARK: Retry-After

    @Test func retryAfterSecondsReplacesTheBackoff() async throws {
        let time = FakeTime()
        let base = ScriptedTransport([
            ScriptedTransport.status(429, headers: ["Retry-After": "7"]), .status(200),
        ])
        _ = try await transport(base, time: time).send(get)
        #expect(time.sleeps == [.seconds(7)])
    }

    @Test func retryAfterHTTPDate() async throws {
        // The fake wall clock starts at 2023-11-14T22:13:20Z (1_700_000_000).
        let time = FakeTime()
        let base = ScriptedTransport([
            ScriptedTransport.status(503, headers: ["Retry-After": "Tue, 14 Nov 2023 22:13:32 GMT"]), .status(200),
        ])
        _ = try await transport(base, time: time).send(get)
        #expect(time.sleeps == [.seconds(12)])
    }

    @Test(arguments: [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Tue, 14 Nov 2023 22:13:30 GMT", 10.0),
        ("Tuesday, 14-Nov-23 22:13:30 GMT", 10.0),
        ("Tue Nov 14 22:13:30 2023", 10.0),
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),  // in the past
    ])
    func retryAfterFormats(_ value: String, _ seconds: Double) throws {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let delay = try #require(RetryPolicy.retryAfterDelay(value, now: now))
        #expect(delay.timeInterval == seconds)
    }

    @Test(arguments: ["", "soon", "-5", "1.5", "Tue, 14 Nov 2023 25:13:30 GMT", "14 Nov 2023"])
    func retryAfterNonsenseIsIgnored(_ value: String) {
        #expect(RetryPolicy.retryAfterDelay(value, now: Date()) == nil)
    }

    @Test func retryAfterBeyondTheDeadlineFailsAtOnce() async throws {
        let time = FakeTime()
        let base = ScriptedTransport([ScriptedTransport.status(429, headers: ["Retry-After": "3600"]), .status(200)])
        let error = try await #require(throws: HTTPError.self) {
            try await transport(base, policy: RetryPolicy(deadline: .seconds(60)), time: time).send(get)
        }
        #expect(error == .deadlineExceeded)
        #expect(error.status == 429)
        #expect(time.sleeps.isEmpty)
        #expect(base.attempts == 1)
    }

    // MARK: Classifier

    @Test func classifierTurnsAWSThrottlingInto400Retries() async throws {
        let time = FakeTime()
        let throttled = ScriptedTransport.status(
            400, body: #"{"__type":"ThrottlingException","message":"Rate exceeded"}"#)
        let base = ScriptedTransport([throttled, .status(200)])
        let policy = RetryPolicy(classify: { response in
            let body = String(decoding: response.body, as: UTF8.self)
            if body.contains("ThrottlingException") { return .retry }
            if body.contains("LimitExceededException") { return .doNotRetry }
            return nil
        })
        let response = try await transport(base, policy: policy, time: time).send(post)
        #expect(response.status == 200)
        #expect(base.attempts == 2)
    }

    @Test func classifierCanForbidARetryTheDefaultsWouldMake() async throws {
        let time = FakeTime()
        let base = ScriptedTransport([
            ScriptedTransport.status(503, body: #"{"__type":"LimitExceededException"}"#), .status(200),
        ])
        let policy = RetryPolicy(classify: { response in
            String(decoding: response.body, as: UTF8.self).contains("LimitExceededException") ? .doNotRetry : nil
        })
        let response = try await transport(base, policy: policy, time: time).send(get)
        #expect(response.status == 503)
        #expect(base.attempts == 1)
    }

    @Test func classifierCanChooseTheDelay() async throws {
        let time = FakeTime()
        let base = ScriptedTransport([ScriptedTransport.status(400), .status(200)])
        let policy = RetryPolicy(classify: { $0.status == 400 ? .retryAfter(.milliseconds(250)) : nil })
        _ = try await transport(base, policy: policy, time: time).send(get)
        #expect(time.sleeps == [.milliseconds(250)])
    }

    // MARK: Connection errors and idempotency

    @Test(arguments: [HTTPError.connectFailed, .connectionDropped, .timedOut])
    func idempotentRequestsAreRetriedAfterConnectionErrors(_ failure: HTTPError) async throws {
        let time = FakeTime()
        let base = ScriptedTransport([.failure(failure), .status(200)])
        let response = try await transport(base, time: time).send(get)
        #expect(response.status == 200)
        #expect(base.attempts == 2)
    }

    @Test(arguments: [HTTPError.connectionDropped, .timedOut])
    func nonIdempotentRequestsAreNotRetriedWhenTheServerMayHaveActed(_ failure: HTTPError) async throws {
        let time = FakeTime()
        let base = ScriptedTransport([.failure(failure), .status(200)])
        let error = try await #require(throws: HTTPError.self) { try await transport(base, time: time).send(post) }
        #expect(error == failure)
        #expect(base.attempts == 1)
    }

    @Test func nonIdempotentRequestsAreRetriedWhenTheyNeverLeft() async throws {
        let time = FakeTime()
        let base = ScriptedTransport([.failure(.connectFailed), .status(200)])
        let response = try await transport(base, time: time).send(post)
        #expect(response.status == 200)
        #expect(base.attempts == 2)
    }

    @Test func nonIdempotentRequestsAreRetriedOn429And503Only() async throws {
        for (status, attempts) in [(429, 2), (503, 2), (500, 1), (502, 1), (504, 1)] {
            let time = FakeTime()
            let base = ScriptedTransport([ScriptedTransport.status(status), .status(200)])
            _ = try await transport(base, time: time).send(post)
            #expect(base.attempts == attempts, "HTTP \(status)")
        }
    }

    @Test(arguments: [HTTPError.tlsFailed, .insecureURL, .invalidURL, .other, .cancelled])
    func otherErrorsAreNotRetried(_ failure: HTTPError) async throws {
        let time = FakeTime()
        let base = ScriptedTransport([.failure(failure), .status(200)])
        let error = try await #require(throws: HTTPError.self) { try await transport(base, time: time).send(get) }
        #expect(error == failure)
        #expect(base.attempts == 1)
    }

    @Test func connectionErrorsUntilTheAttemptsRunOut() async throws {
        let time = FakeTime()
        let refused = HTTPError.connectFailed.with(message: "cannot connect to https://h/: Connection refused")
        let base = ScriptedTransport([.failure(refused)])
        let error = try await #require(throws: HTTPError.self) {
            try await transport(base, policy: RetryPolicy(maxAttempts: 4), time: time).send(get)
        }
        #expect(error == .connectFailed)
        #expect(error.attempts == 4)
        #expect(error.description.contains("Connection refused"))
        #expect(error.description.contains("after 4 attempts"))
    }

    @Test func connectionErrorsUntilTheDeadline() async throws {
        let time = FakeTime(randoms: Array(repeating: 0.999, count: 50))
        let base = ScriptedTransport([.failure(.connectionDropped)])
        let policy = RetryPolicy(maxAttempts: 50, baseDelay: .seconds(2), deadline: .seconds(15))
        let error = try await #require(throws: HTTPError.self) {
            try await transport(base, policy: policy, time: time).send(get)
        }
        #expect(error == .deadlineExceeded)
        #expect(error.lastError == .connectionDropped)
        #expect(error.status == nil)
    }

    // MARK: Cancellation and logs

    @Test func cancellationDuringTheBackoffSleepStopsAtOnce() async throws {
        let base = ScriptedTransport([ScriptedTransport.status(503)])
        var environment = RetryEnvironment.live
        environment.sleep = { _ in try await Task.sleep(for: .seconds(3600)) }
        let retrying = RetryingTransport(
            wrapping: base, policy: RetryPolicy(deadline: .seconds(7200)), logger: LogCapture().logger(),
            environment: environment)
        let request = get
        let task = Task { try await retrying.send(request) }
        while base.attempts == 0 { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(base.attempts == 1)
    }

    @Test func retriesAreLoggedWithoutSecrets() async throws {
        let time = FakeTime()
        let logs = LogCapture()
        let base = ScriptedTransport([ScriptedTransport.status(503), .status(200)])
        var request = HTTPRequest(
            method: .get, url: URL(string: "https://h.example/?X-Amz-Signature=s1gnature&Action=List")!,
            headers: ["Authorization": "Bearer b3arer"])
        request.isIdempotent = true
        _ = try await transport(base, time: time, logs: logs).send(request)
        let notices = logs.all.filter { $0.hasPrefix("notice") }
        #expect(notices.count == 1)
        #expect(
            notices.first?.contains("retrying GET https://h.example/?X-Amz-Signature=<redacted>&Action=List") == true)
        #expect(notices.first?.contains("HTTP 503") == true)
        #expect(logs.all.filter { $0.hasPrefix("debug") }.count == 2, "one debug line per attempt")
        #expect(!logs.joined.contains("s1gnature"))
        #expect(!logs.joined.contains("b3arer"))
    }
}
