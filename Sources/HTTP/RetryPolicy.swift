import Foundation

/// What to do with a response, as decided by a ``RetryPolicy/classify`` hook.
public enum RetryDecision: Sendable, Equatable {
    /// Try again after the policy's backoff (or the response's `Retry-After`).
    case retry
    /// Try again after exactly this delay (still bounded by the deadline).
    case retryAfter(Duration)
    /// Hand the response to the caller as it is.
    case doNotRetry
}

/// When and how often to try a request again.
///
/// Delays use exponential backoff with *full jitter*: before retry number `n`
/// (0 for the first retry) the transport sleeps a uniformly random time in
/// `0 ... min(maxDelay, baseDelay * 2^n)`. Full jitter spreads out clients that
/// were throttled together, which is what the AWS Architecture Blog
/// ("Exponential Backoff And Jitter") measured to finish soonest overall.
///
/// A `Retry-After` header (delta-seconds or HTTP-date, RFC 9110 §10.2.3)
/// replaces the computed delay: the server said when it can take the request.
///
/// `deadline` bounds the whole exchange, from the first attempt to the last
/// response: no sleep runs past it, and each attempt's timeout is cut to what
/// is left of it.
public struct RetryPolicy: Sendable {
    /// Attempts in total, the first one included (1 = never retry).
    public var maxAttempts: Int
    /// The backoff ceiling before the first retry; it doubles per retry.
    public var baseDelay: Duration
    /// The largest backoff ceiling.
    public var maxDelay: Duration
    /// The longest the whole exchange may take, retries and sleeps included.
    public var deadline: Duration
    /// Statuses that mean "try again later" (RFC 9110: 429, 500, 502, 503, 504).
    /// For a request that is not idempotent only 429 and 503 are retried by
    /// default: they say the server did not act on the request, while 500, 502
    /// and 504 leave open whether it did (a gateway timeout after the backend
    /// applied a change). A `classify` hook can still ask for a retry.
    public var retryableStatuses: Set<Int>
    /// Whether to wait as long as a `Retry-After` header asks.
    public var honorsRetryAfter: Bool
    /// A cloud adapter's say over a response, consulted first; `nil` means
    /// "use the default rules". For example AWS returns throttling as HTTP 400
    /// with `"__type": "ThrottlingException"` (retry), and KMS PutKeyPolicy's
    /// `LimitExceededException` must never be retried.
    public var classify: @Sendable (HTTPResponse) -> RetryDecision?

    public init(
        maxAttempts: Int = 5,
        baseDelay: Duration = .milliseconds(500),
        maxDelay: Duration = .seconds(20),
        deadline: Duration = .seconds(120),
        retryableStatuses: Set<Int> = [429, 500, 502, 503, 504],
        honorsRetryAfter: Bool = true,
        classify: @escaping @Sendable (HTTPResponse) -> RetryDecision? = { _ in nil }
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.deadline = deadline
        self.retryableStatuses = retryableStatuses
        self.honorsRetryAfter = honorsRetryAfter
        self.classify = classify
    }

    /// Five attempts, 0.5 s base, 20 s cap, two minutes overall.
    public static var `default`: RetryPolicy { RetryPolicy() }

    /// One attempt, no retries.
    public static var never: RetryPolicy { RetryPolicy(maxAttempts: 1) }

    // MARK: Rules

    /// `min(maxDelay, baseDelay * 2^retry)`: the upper bound of the jittered
    /// delay before retry number `retry` (0 for the first retry).
    public func backoffCeiling(forRetry retry: Int) -> Duration {
        let base = baseDelay.seconds
        let cap = maxDelay.seconds
        // 2^retry overflows nothing in Double, and the cap keeps it finite.
        let ceiling = min(cap, base * pow(2, Double(max(0, min(retry, 1000)))))
        return .seconds(max(0, ceiling))
    }

    /// The full-jitter delay before retry number `retry`, for `unit`, a
    /// uniformly random number in `0 ..< 1`.
    public func backoff(forRetry retry: Int, unit: Double) -> Duration {
        let fraction = min(max(unit, 0), 1)
        return .seconds(backoffCeiling(forRetry: retry).seconds * fraction)
    }

    /// The default decision for a response, after `classify` returned `nil`.
    public func defaultDecision(for response: HTTPResponse, of request: HTTPRequest) -> RetryDecision {
        guard retryableStatuses.contains(response.status) else { return .doNotRetry }
        if request.isIdempotent || response.status == 429 || response.status == 503 {
            return .retry
        }
        return .doNotRetry
    }

    /// The decision for a response: `classify` first, then the default rules.
    public func decision(for response: HTTPResponse, of request: HTTPRequest) -> RetryDecision {
        classify(response) ?? defaultDecision(for: response, of: request)
    }

    /// Whether a failed attempt may be tried again. Connection errors are
    /// retried for idempotent requests; a non-idempotent request only after
    /// `connectFailed`, the one case where the server certainly never saw it.
    public func shouldRetry(after error: HTTPError, of request: HTTPRequest) -> Bool {
        guard error.isConnectionError else { return false }
        return request.isIdempotent || error == .connectFailed
    }

    // MARK: Retry-After

    /// The delay a `Retry-After` value asks for: delta-seconds (`120`) or an
    /// HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, and the obsolete RFC 850
    /// and asctime forms), relative to `now`. A date in the past means zero.
    /// `nil` for a value that is neither.
    public static func retryAfterDelay(_ value: String, now: Date) -> Duration? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCII && $0.isNumber }) {
            // Huge values are clamped; the deadline check turns them into a failure.
            guard let seconds = Int(trimmed) else { return .seconds(Int(Int32.max)) }
            return .seconds(seconds)
        }
        guard let date = HTTPDate.parse(trimmed) else { return nil }
        return .seconds(max(0, date.timeIntervalSince(now)))
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }

    /// `1.250s`, `0.004s`: for log lines and messages.
    var shortDescription: String {
        let value = seconds
        if value >= 10 { return String(format: "%.0fs", value) }
        return String(format: "%.3gs", value)
    }
}

/// Parses the three date formats HTTP allows (RFC 9110 §5.6.7). Written out
/// by hand rather than with `DateFormatter`: no locale, no shared mutable
/// formatter, and the grammar is small.
enum HTTPDate {
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    static func parse(_ text: String) -> Date? {
        let tokens = text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT  → [Sun, 06, Nov, 1994, 08:49:37, GMT]
        if tokens.count == 6, tokens[5] == "GMT",
            let day = Int(tokens[1]), let month = month(tokens[2]), let year = Int(tokens[3])
        {
            return date(year: year, month: month, day: day, time: tokens[4])
        }
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT  → [Sunday, 06-Nov-94, 08:49:37, GMT]
        if tokens.count == 4, tokens[3] == "GMT" {
            let parts = tokens[1].split(separator: "-").map(String.init)
            if parts.count == 3, let day = Int(parts[0]), let month = month(parts[1]), let yy = Int(parts[2]) {
                // RFC 9110 reads a two-digit year that looks more than 50 years
                // ahead as the past century; a fixed pivot of 70 agrees until 2070.
                let year = yy >= 100 ? yy : (yy < 70 ? 2000 + yy : 1900 + yy)
                return date(year: year, month: month, day: day, time: tokens[2])
            }
        }
        // asctime: Sun Nov  6 08:49:37 1994  → [Sun, Nov, 6, 08:49:37, 1994]
        if tokens.count == 5, let month = month(tokens[1]), let day = Int(tokens[2]), let year = Int(tokens[4]) {
            return date(year: year, month: month, day: day, time: tokens[3])
        }
        return nil
    }

    private static func month(_ name: String) -> Int? {
        months.firstIndex(of: name.lowercased()).map { $0 + 1 }
    }

    private static func date(year: Int, month: Int, day: Int, time: String) -> Date? {
        let parts = time.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 3, (1...31).contains(day), (0...23).contains(parts[0]),
            (0...59).contains(parts[1]), (0...60).contains(parts[2])
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + parts[0] * 3_600 + parts[1] * 60 + parts[2]
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar
    /// (Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms").
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
