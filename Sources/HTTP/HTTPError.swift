/// A failure to get an HTTP response, or a response that retries could not
/// turn into a usable one.
///
/// Shaped like async-http-client's `HTTPClientError`: a small struct with an
/// internal code, so new kinds can be added without breaking callers. Compare
/// with the static values (`error == .timedOut`, or `case .timedOut` in a
/// `switch`/`catch`); equality looks at the kind only, never at the message.
///
/// Everything an `HTTPError` carries is safe to print: `message` and `url` are
/// redacted when the error is built (see ``Redactor``), and `description`
/// never includes a body.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: String, Sendable, Hashable {
        case insecureURL
        case invalidURL
        case invalidRequest
        case connectFailed
        case timedOut
        case connectionDropped
        case tlsFailed
        case retriesExhausted
        case deadlineExceeded
        case cancelled
        case other
    }

    let code: Code

    /// What went wrong, in words a user can act on, secrets removed.
    /// Empty for the static comparison values.
    public var message: String
    /// The request URL with secrets removed, when the error belongs to a request.
    public var url: String?
    /// What to check or do next ("check the endpoint, proxy settings and network").
    public var hint: String?
    /// The status of the last response, when one arrived (for example the 503
    /// that was still coming back when retries ran out).
    public var status: Int?
    /// The last response, when retries ran out on a retryable response. Cloud
    /// adapters read the service's error code from its body; `description`
    /// never prints it.
    public var response: HTTPResponse?
    /// How many attempts were made, when a retrying transport gave up.
    public var attempts: Int?

    private var lastErrorBox: Box?

    /// The error of the last attempt, when retries ran out after a connection
    /// error rather than a response.
    public var lastError: HTTPError? {
        get { lastErrorBox?.error }
        set { lastErrorBox = newValue.map(Box.init) }
    }

    init(
        _ code: Code,
        message: String = "",
        url: String? = nil,
        hint: String? = nil,
        status: Int? = nil,
        response: HTTPResponse? = nil,
        attempts: Int? = nil,
        lastError: HTTPError? = nil
    ) {
        self.code = code
        // Redacted here as well as by whoever built the text: whatever a
        // transport or adapter puts in an error, a secret never comes out.
        self.message = Redactor.standard.redact(message)
        self.url = url.map { Redactor.standard.redact($0) }
        self.hint = hint
        self.status = status
        self.response = response
        self.attempts = attempts
        self.lastErrorBox = lastError.map(Box.init)
    }

    /// This kind of error with a message, for transports and adapters:
    /// `HTTPError.connectFailed.with(message: "cannot connect to …", url: …, hint: "check …")`.
    /// `message` and `url` are redacted again here, whatever the caller did.
    public func with(
        message: String, url: String? = nil, hint: String? = nil, status: Int? = nil, response: HTTPResponse? = nil
    ) -> HTTPError {
        HTTPError(
            code, message: message, url: url ?? self.url, hint: hint ?? self.hint, status: status ?? self.status,
            response: response ?? self.response, attempts: attempts, lastError: lastError)
    }

    /// The kind of error as a stable identifier (`"timedOut"`), for JSON
    /// reports and metadata.
    public var kind: String { code.rawValue }

    /// True for failures of the connection rather than of the server's answer:
    /// `connectFailed`, `connectionDropped`, `timedOut`.
    public var isConnectionError: Bool {
        switch code {
        case .connectFailed, .connectionDropped, .timedOut: true
        default: false
        }
    }

    public static func == (lhs: HTTPError, rhs: HTTPError) -> Bool { lhs.code == rhs.code }

    /// One line: the message, then the hint in parentheses.
    public var description: String {
        var text = message.isEmpty ? Self.defaultMessage(code, url: url) : message
        if let hint, !hint.isEmpty { text += " (\(hint))" }
        // One line, whatever a server or libcurl put into the message.
        return text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    private static func defaultMessage(_ code: Code, url: String?) -> String {
        let what: String
        switch code {
        case .insecureURL: what = "refusing plain http:// to a non-loopback host"
        case .invalidURL: what = "invalid URL"
        case .invalidRequest: what = "invalid request"
        case .connectFailed: what = "cannot connect"
        case .timedOut: what = "timed out"
        case .connectionDropped: what = "connection dropped"
        case .tlsFailed: what = "TLS failed"
        case .retriesExhausted: what = "retries exhausted"
        case .deadlineExceeded: what = "deadline exceeded"
        case .cancelled: what = "cancelled"
        case .other: what = "HTTP request failed"
        }
        return url.map { "\(what): \($0)" } ?? what
    }

    private final class Box: Sendable {
        let error: HTTPError
        init(_ error: HTTPError) { self.error = error }
    }
}

extension HTTPError {
    /// Plain `http://` to a host that is not loopback, or a scheme other than
    /// http/https. Raised before any network traffic.
    public static let insecureURL = HTTPError(.insecureURL)
    /// The URL cannot be used (no host, unparsable, rejected by the transport).
    public static let invalidURL = HTTPError(.invalidURL)
    /// The request cannot be sent as given (for example a header value with a
    /// line break, which would inject headers). Raised before any traffic.
    public static let invalidRequest = HTTPError(.invalidRequest)
    /// No connection was made (refused, unresolvable host, unreachable proxy,
    /// connect timeout). The server certainly never saw the request, so even a
    /// non-idempotent request may be retried.
    public static let connectFailed = HTTPError(.connectFailed)
    /// The server took longer than the per-attempt timeout after the request
    /// was sent.
    public static let timedOut = HTTPError(.timedOut)
    /// The connection closed or failed before a complete response arrived. The
    /// server may or may not have processed the request.
    public static let connectionDropped = HTTPError(.connectionDropped)
    /// The TLS handshake or certificate verification failed.
    public static let tlsFailed = HTTPError(.tlsFailed)
    /// Every attempt allowed by the retry policy got a retryable answer or
    /// error. `status`/`response` or `lastError` say what the last one was.
    public static let retriesExhausted = HTTPError(.retriesExhausted)
    /// Retrying would run past the retry policy's overall deadline.
    /// `status`/`response` or `lastError` say what the last attempt got.
    public static let deadlineExceeded = HTTPError(.deadlineExceeded)
    /// The request was abandoned because the transport shut down. (Task
    /// cancellation surfaces as `CancellationError`.)
    public static let cancelled = HTTPError(.cancelled)
    /// Anything else; `message` says what.
    public static let other = HTTPError(.other)
}
