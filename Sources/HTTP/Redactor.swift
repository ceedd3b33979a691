import Foundation

/// Removes credentials from text before it can reach a log line, an error
/// message, a journal or a report (DESIGN.md §3: "credentials never reach
/// logs, journals, reports or backups").
///
/// It works on text rather than on typed values because secrets travel in
/// many shapes: header lines, SigV4 `Authorization` values, query strings of
/// presigned URLs, OAuth form bodies, JSON and XML credential documents
/// (STS, IMDS, container credentials, OAuth token responses). Every secret is
/// replaced by ``placeholder``; the name in front of it is kept so a reader
/// can still see *what* was there.
///
/// The lists are public so a cloud adapter can add names of its own:
///
///     var redactor = Redactor.standard
///     redactor.sensitiveHeaders.insert("x-ms-authorization-auxiliary")
public struct Redactor: Sendable {
    /// The text that replaces a secret.
    public static let placeholder = "<redacted>"

    /// Header names (case-insensitive) whose values are secret.
    public var sensitiveHeaders: Set<String>
    /// Query parameter and form field names (case-insensitive) whose values are secret.
    public var sensitiveParameters: Set<String>
    /// JSON member and XML element names (case-insensitive) whose string values are secret.
    public var sensitiveMembers: Set<String>

    public init(sensitiveHeaders: Set<String>, sensitiveParameters: Set<String>, sensitiveMembers: Set<String>) {
        self.sensitiveHeaders = sensitiveHeaders
        self.sensitiveParameters = sensitiveParameters
        self.sensitiveMembers = sensitiveMembers
    }

    /// The names every cloud adapter of this project needs.
    public static let standard = Redactor(
        sensitiveHeaders: [
            "Authorization", "Proxy-Authorization",
            "X-Amz-Security-Token",  // AWS session token (SigV4 with temporary credentials)
            "X-aws-ec2-metadata-token",  // IMDSv2 session token
            "Cookie", "Set-Cookie",
            "X-Identity-Header",  // Azure App Service managed identity (IDENTITY_HEADER)
        ],
        sensitiveParameters: [
            "X-Amz-Signature", "X-Amz-Security-Token", "X-Amz-Credential",  // presigned URLs
            "Signature",  // inside a SigV4 Authorization value and legacy query auth
            "client_secret", "client_assertion", "assertion",  // OAuth client auth, JWT bearer grant
            "access_token", "refresh_token", "id_token", "code", "password",
            "sig",  // Azure SAS
            "token", "subject_token",  // token exchange (workload identity federation)
            "WebIdentityToken",  // STS AssumeRoleWithWebIdentity form
            "code_verifier",  // PKCE
        ],
        sensitiveMembers: [
            "SecretAccessKey", "SessionToken", "Token",  // STS, IMDS, container credentials
            "access_token", "refresh_token", "id_token",  // OAuth token responses
            "private_key",  // GCP service-account key file
            "client_secret", "client_assertion", "assertion", "subject_token", "password",
            "accessToken",  // IAM Credentials generateAccessToken
            "WebIdentityToken",
        ]
    )

    // MARK: Typed helpers

    public func isSensitiveHeader(_ name: String) -> Bool {
        sensitiveHeaders.contains { $0.caseInsensitiveCompare(name) == .orderedSame }
    }

    /// The value to show for a header. For `Authorization`-like headers the
    /// scheme stays visible (`AWS4-HMAC-SHA256 <redacted>`, `Bearer <redacted>`)
    /// because which scheme was used is useful and not secret.
    public func redact(headerValue value: String, name: String) -> String {
        guard isSensitiveHeader(name) else { return redact(value) }
        let lowered = name.lowercased()
        if lowered == "authorization" || lowered == "proxy-authorization",
            let space = value.firstIndex(of: " ")
        {
            let scheme = value[..<space]
            if !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) {
                return "\(scheme) \(Self.placeholder)"
            }
        }
        return Self.placeholder
    }

    public func redact(headers: HTTPHeaders) -> HTTPHeaders {
        HTTPHeaders(
            headers.map { HTTPHeaders.Field(name: $0.name, value: redact(headerValue: $0.value, name: $0.name)) })
    }

    /// A URL as text, with secret query parameters and any userinfo password removed.
    public func redact(url: URL) -> String { redact(url.absoluteString) }

    // MARK: Free text

    /// Removes every secret this redactor recognises from arbitrary text:
    /// header lines (`Authorization: …`), `Bearer`/`Basic` credentials, query
    /// and form parameters (`X-Amz-Signature=…`, `client_secret=…`), SigV4
    /// `Signature=…`, JSON members (`"SessionToken": "…"`), XML elements
    /// (`<SecretAccessKey>…</SecretAccessKey>`), URL userinfo passwords,
    /// JWTs and PEM private keys.
    ///
    /// Redaction errs on the side of removing too much: an English phrase such
    /// as "Basic authentication" loses its second word. Redacting twice
    /// changes nothing more. One pass over the UTF-8 bytes, so it is cheap
    /// enough for every log line and error (Swift's `Regex` was not: it is
    /// not `Sendable`, so patterns would be compiled on every call).
    public func redact(_ text: String) -> String {
        if text.isEmpty { return text }
        var scanner = RedactionScanner(text: text, redactor: self)
        return scanner.run()
    }
}

// MARK: - Logging helpers

extension HTTPRequest {
    /// `METHOD URL` with secrets removed from the URL: what log lines and
    /// errors show for a request.
    public var redactedDescription: String {
        "\(method) \(redactedURL)"
    }

    /// The URL as text, with secret query parameters removed.
    public var redactedURL: String { Redactor.standard.redact(url: url) }

    /// The headers with secret values replaced, for debugging output.
    public var redactedHeaders: HTTPHeaders { Redactor.standard.redact(headers: headers) }
}

extension HTTPResponse {
    /// `HTTP 503, 123 bytes`: the status and the body size, never the body.
    public var redactedDescription: String { "HTTP \(status), \(body.count) bytes" }

    /// The headers with secret values (`Set-Cookie`) replaced.
    public var redactedHeaders: HTTPHeaders { Redactor.standard.redact(headers: headers) }

    /// The start of the body as text with secrets removed, for an error
    /// message that quotes what a service said ("AccessDeniedException: …").
    /// Redaction runs before truncation, so a secret is never cut in half
    /// with its first part left showing.
    public func redactedBodyExcerpt(limit: Int = 512) -> String {
        let text = String(decoding: body, as: UTF8.self)
        let redacted = Redactor.standard.redact(text)
        guard redacted.count > limit else { return redacted }
        return String(redacted.prefix(limit)) + "…"
    }
}

// Safety net: interpolating a request or its headers into a string (a log line
// written in a hurry, a test failure message) shows the redacted form.

extension HTTPHeaders: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        let redacted = Redactor.standard.redact(headers: self)
        return "[" + redacted.map { "\($0.name): \($0.value)" }.joined(separator: ", ") + "]"
    }

    public var debugDescription: String { description }
}

extension HTTPRequest: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "\(redactedDescription) headers: \(headers) body: \(body.count) bytes"
    }

    public var debugDescription: String { description }
}

extension HTTPResponse: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "\(redactedDescription) headers: \(headers)" }
    public var debugDescription: String { description }
}
