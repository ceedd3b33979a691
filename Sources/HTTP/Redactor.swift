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
        HTTPHeaders(headers.map { HTTPHeaders.Field(name: $0.name, value: redact(headerValue: $0.value, name: $0.name)) })
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
    /// as "Basic authentication" loses its second word.
    public func redact(_ text: String) -> String {
        if text.isEmpty { return text }
        var text = text
        let p = Self.placeholder

        // PEM private keys (a GCP service-account key pasted into an error).
        text = Self.replace(
            #"-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)"#, in: text
        ) { _ in p }

        // Header lines: `Name: value` up to the end of the line.
        if !sensitiveHeaders.isEmpty {
            text = Self.replace(
                #"(?i)(^|[^A-Za-z0-9_-])("# + Self.alternation(sensitiveHeaders) + #")([ \t]*:[ \t]*)([^\r\n]*)"#,
                in: text
            ) { m in
                let value = m[4]
                let shown = value.isEmpty ? value : redact(headerValue: value, name: m[2])
                return m[1] + m[2] + m[3] + shown
            }
        }

        // JSON members with a string value, plain and inside an escaped JSON string.
        let members = sensitiveMembers.union(sensitiveHeaders)
        if !members.isEmpty {
            let names = Self.alternation(members)
            text = Self.replace(#"(?i)("(?:"# + names + #")"\s*:\s*)"(?:[^"\\]|\\.)*""#, in: text) { m in
                m[1] + "\"\(p)\""
            }
            text = Self.replace(
                #"(?i)(\\"(?:"# + names + #")\\"\s*:\s*)\\"(?:[^"\\]|\\[^"])*\\""#, in: text
            ) { m in
                m[1] + "\\\"\(p)\\\""
            }
        }

        // XML elements (STS AssumeRole / AssumeRoleWithWebIdentity responses).
        if !sensitiveMembers.isEmpty {
            text = Self.replace(
                #"(?i)<("# + Self.alternation(sensitiveMembers) + #")>[^<]*</\1>"#, in: text
            ) { m in
                "<\(m[1])>\(p)</\(m[1])>"
            }
        }

        // Query parameters, form fields, and `Signature=` in a SigV4
        // Authorization value (`…, SignedHeaders=host, Signature=<hex>`).
        if !sensitiveParameters.isEmpty {
            text = Self.replace(
                #"(?i)(^|[?&#;,\s"'(\[{])("# + Self.alternation(sensitiveParameters) + #")=(<redacted>|[^&\s"',;#)\]}]*)"#,
                in: text
            ) { m in
                // `<redacted>` is matched whole so that redacting twice
                // changes nothing (a value may legitimately contain `:`).
                m[3].isEmpty ? m[0] : m[1] + m[2] + "=" + p
            }
        }

        // Credentials after an HTTP auth scheme, anywhere in the text.
        text = Self.replace(#"(?i)\b(Bearer|Basic)([ \t]+)([A-Za-z0-9\-._~+/]+=*)"#, in: text) { m in
            m[1] + m[2] + p
        }

        // userinfo in URLs: scheme://user:password@host
        text = Self.replace(#"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"#, in: text) { m in
            m[1] + p + "@"
        }

        // JWTs (OIDC id tokens, Azure/GCP access tokens, signed assertions).
        text = Self.replace(#"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"#, in: text) { _ in p }

        return text
    }

    // MARK: Regex plumbing

    /// Swift's `Regex` is not `Sendable`, so patterns are compiled per call.
    /// That costs microseconds, and redaction only runs on log lines and errors.
    private static func replace(_ pattern: String, in text: String, with transform: (Captures) -> String) -> String {
        guard let regex = try? Regex(pattern) else {
            // Every pattern here is a literal plus escaped names; failing to
            // compile is a programming error. Hide the whole text rather than
            // risk leaking it.
            assertionFailure("invalid redaction pattern \(pattern)")
            return placeholder
        }
        return text.replacing(regex) { match in transform(Captures(match: match)) }
    }

    private struct Captures {
        let match: Regex<AnyRegexOutput>.Match
        subscript(_ index: Int) -> String {
            guard index < match.output.count, let substring = match.output[index].substring else { return "" }
            return String(substring)
        }
    }

    /// `name1|name2|…`, longest first so a name is never cut short by a prefix
    /// of it, each escaped for use in a pattern.
    private static func alternation(_ names: Set<String>) -> String {
        names.sorted { ($0.count, $0) > ($1.count, $1) }.map(escape).joined(separator: "|")
    }

    private static func escape(_ name: String) -> String {
        var escaped = ""
        for character in name {
            if character.isLetter || character.isNumber || character == "_" {
                escaped.append(character)
            } else {
                escaped.append("\\")
                escaped.append(character)
            }
        }
        return escaped
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
