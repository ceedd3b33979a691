import Foundation
import Logging

/// Time, sleep and randomness for ``RetryingTransport``, injectable so tests
/// can run every retry path without waiting and with known jitter.
public struct RetryEnvironment: Sendable {
    /// Monotonic time since an arbitrary origin; only differences matter.
    public var uptime: @Sendable () -> Duration
    /// Wall-clock time, to turn a `Retry-After` HTTP-date into a delay.
    public var wallClock: @Sendable () -> Date
    /// Waits for a duration; throws `CancellationError` when the task is cancelled.
    public var sleep: @Sendable (Duration) async throws -> Void
    /// A uniformly random number in `0 ..< 1`, for the jitter.
    public var random: @Sendable () -> Double

    public init(
        uptime: @escaping @Sendable () -> Duration,
        wallClock: @escaping @Sendable () -> Date,
        sleep: @escaping @Sendable (Duration) async throws -> Void,
        random: @escaping @Sendable () -> Double
    ) {
        self.uptime = uptime
        self.wallClock = wallClock
        self.sleep = sleep
        self.random = random
    }

    /// `ContinuousClock`, `Date()`, `Task.sleep` and `SystemRandomNumberGenerator`.
    public static var live: RetryEnvironment {
        let clock = ContinuousClock()
        let origin = clock.now
        return RetryEnvironment(
            uptime: { clock.now - origin },
            wallClock: { Date() },
            sleep: { try await Task.sleep(for: $0, clock: clock) },
            random: {
                var generator = SystemRandomNumberGenerator()
                return Double.random(in: 0..<1, using: &generator)
            }
        )
    }
}

/// Wraps any transport with the retry rules of a ``RetryPolicy``.
///
/// Logging (all through the `Logger` passed in; URLs redacted, bodies never):
/// - `.debug` for every attempt: method, URL, status or error, elapsed time;
/// - `.notice` for every retry: what went wrong, the attempt, and the delay.
///
/// What the caller gets:
/// - a response the policy does not retry (any status: a 404 or an AWS
///   `AccessDeniedException` comes back as a response, not an error);
/// - ``HTTPError/retriesExhausted`` with `status` and `response` when every
///   attempt got a retryable response;
/// - the last attempt's own error (`connectFailed`, `timedOut`, …, with
///   `attempts` set) when every attempt failed to connect;
/// - ``HTTPError/deadlineExceeded`` with `status`/`response` or `lastError`
///   when the next retry would run past the deadline;
/// - non-retryable errors and `CancellationError` unchanged, at once.
public struct RetryingTransport: HTTPTransport {
    public let base: any HTTPTransport
    public var policy: RetryPolicy
    public var logger: Logger
    public var environment: RetryEnvironment

    public init(
        wrapping base: any HTTPTransport,
        policy: RetryPolicy = .default,
        logger: Logger,
        environment: RetryEnvironment = .live
    ) {
        self.base = base
        self.policy = policy
        self.logger = logger
        self.environment = environment
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let start = environment.uptime()
        let deadline = start + max(policy.deadline, .milliseconds(1))
        let shownRequest = request.redactedDescription
        var attempt = 0

        while true {
            attempt += 1
            try Task.checkCancellation()

            var attemptRequest = request
            let remaining = deadline - environment.uptime()
            attemptRequest.timeout = min(request.timeout ?? remaining, remaining)

            let attemptStart = environment.uptime()
            let outcome: Outcome
            do {
                let response = try await base.send(attemptRequest)
                logAttempt(shownRequest, attempt: attempt, result: response.redactedDescription, since: attemptStart)
                switch policy.decision(for: response, of: request) {
                case .doNotRetry:
                    return response
                case .retry:
                    outcome = .response(response, delay: retryAfter(response) ?? jitteredDelay(attempt))
                case .retryAfter(let delay):
                    outcome = .response(response, delay: delay)
                }
            } catch let error as HTTPError {
                logAttempt(shownRequest, attempt: attempt, result: "\(error.kind): \(error)", since: attemptStart)
                guard policy.shouldRetry(after: error, of: request) else {
                    throw attempt > 1 ? with(error, attempts: attempt) : error
                }
                outcome = .error(error, delay: jitteredDelay(attempt))
            }

            // Out of attempts?
            if attempt >= policy.maxAttempts {
                throw exhausted(outcome, request: request, attempts: attempt)
            }
            // Would the sleep, plus at least a moment for the attempt, run past the deadline?
            let now = environment.uptime()
            if now + outcome.delay >= deadline {
                throw deadlineExceeded(outcome, request: request, attempts: attempt, elapsed: now - start)
            }

            logger.notice(
                "retrying \(shownRequest) after \(outcome.summary): attempt \(attempt + 1) of \(policy.maxAttempts) in \(outcome.delay.shortDescription)",
                metadata: [
                    "http.method": "\(request.method)",
                    "http.url": "\(request.redactedURL)",
                    "http.outcome": "\(outcome.summary)",
                    "retry.attempt": "\(attempt + 1)",
                    "retry.delay": "\(outcome.delay.shortDescription)",
                ])
            try await environment.sleep(outcome.delay)
        }
    }

    // MARK: - Helpers

    private enum Outcome {
        case response(HTTPResponse, delay: Duration)
        case error(HTTPError, delay: Duration)

        var delay: Duration {
            switch self {
            case .response(_, let delay), .error(_, let delay): delay
            }
        }

        /// `HTTP 503` or `connectFailed`: safe to print (the error is already redacted).
        var summary: String {
            switch self {
            case .response(let response, _): "HTTP \(response.status)"
            case .error(let error, _): error.kind
            }
        }
    }

    private func jitteredDelay(_ attempt: Int) -> Duration {
        policy.backoff(forRetry: attempt - 1, unit: environment.random())
    }

    private func retryAfter(_ response: HTTPResponse) -> Duration? {
        guard policy.honorsRetryAfter, let value = response.headers.first(name: "Retry-After") else { return nil }
        return RetryPolicy.retryAfterDelay(value, now: environment.wallClock())
    }

    private func logAttempt(_ shownRequest: String, attempt: Int, result: String, since attemptStart: Duration) {
        let elapsed = environment.uptime() - attemptStart
        logger.debug(
            "\(shownRequest) -> \(result) in \(elapsed.shortDescription) (attempt \(attempt))",
            metadata: ["retry.attempt": "\(attempt)", "http.elapsed": "\(elapsed.shortDescription)"])
    }

    private func with(_ error: HTTPError, attempts: Int) -> HTTPError {
        var error = error
        error.attempts = attempts
        if !error.message.isEmpty { error.message += " (after \(attempts) attempts)" }
        return error
    }

    private func exhausted(_ outcome: Outcome, request: HTTPRequest, attempts: Int) -> HTTPError {
        switch outcome {
        case .response(let response, _):
            return HTTPError(
                .retriesExhausted,
                message: "\(request.redactedDescription): HTTP \(response.status) after \(attempts) attempts",
                url: request.redactedURL,
                hint: "the service kept answering \(response.status); try again later",
                status: response.status, response: response, attempts: attempts)
        case .error(let error, _):
            return with(error, attempts: attempts)
        }
    }

    private func deadlineExceeded(_ outcome: Outcome, request: HTTPRequest, attempts: Int, elapsed: Duration)
        -> HTTPError
    {
        let spent = "gave up after \(attempts) attempt\(attempts == 1 ? "" : "s") in \(elapsed.shortDescription)"
        let limit = "the retry deadline is \(policy.deadline.shortDescription)"
        switch outcome {
        case .response(let response, let delay):
            return HTTPError(
                .deadlineExceeded,
                message: "\(request.redactedDescription): HTTP \(response.status), \(spent); "
                    + "waiting \(delay.shortDescription) more would pass the deadline",
                url: request.redactedURL,
                hint: "\(limit); the service is throttling or unavailable, try again later",
                status: response.status, response: response, attempts: attempts)
        case .error(let error, _):
            return HTTPError(
                .deadlineExceeded,
                message: "\(request.redactedDescription): \(spent); last error: \(error)",
                url: request.redactedURL,
                hint: limit,
                attempts: attempts, lastError: error)
        }
    }
}
