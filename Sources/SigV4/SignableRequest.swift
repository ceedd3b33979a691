import Foundation
import HTTP

/// The parts of an HTTP request that a SigV4 signature covers, exactly as they go on
/// the wire.
///
/// `SigV4Signer.sign(_:date:)` builds one from an `HTTPRequest`; it exists as a type of
/// its own because a signature is defined over the request line as sent, and a `URL`
/// cannot hold every request line the AWS test suites use (`get-space` sends a literal
/// space, `get-utf8` literal UTF-8 bytes, both of which `URL` percent-encodes first).
public struct SignableRequest: Sendable, Equatable {
    public var method: HTTPMethod
    /// The path as sent on the request line: percent-encoded once, not normalised
    /// (`/`, `/policy/validation`). Empty means `/`.
    public var path: String
    /// The query as sent on the request line, without the `?`; `nil` when there is none.
    public var query: String?
    public var headers: HTTPHeaders
    public var body: Data

    public init(method: HTTPMethod, path: String, query: String? = nil, headers: HTTPHeaders, body: Data = Data()) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The request as it will be sent: the URL's percent-encoded path and query, and the
    /// request's headers with a `Host` header added when it has none, because `host`
    /// must be signed (AWS General Reference: "the host header is required") and the
    /// signed value must be the one sent.
    public init(_ request: HTTPRequest) {
        var headers = request.headers
        if !headers.contains(name: "Host"), let host = Self.hostHeaderValue(of: request.url) {
            headers.add(name: "Host", value: host)
        }
        self.init(
            method: request.method,
            path: request.url.path(percentEncoded: true),
            query: request.url.query(percentEncoded: true),
            headers: headers,
            body: request.body
        )
    }

    /// `host[:port]` as HTTP clients send it (RFC 9110 §7.2): the port only when it is
    /// not the scheme's default, an IPv6 literal in brackets. This is what curl puts in
    /// the `Host` header for the same URL, so a signature over it verifies on the server
    /// (moto on `http://127.0.0.1:5000` signs `host:127.0.0.1:5000`).
    public static func hostHeaderValue(of url: URL) -> String? {
        guard var host = url.host(percentEncoded: true), !host.isEmpty else { return nil }
        if host.contains(":"), !host.hasPrefix("[") {
            host = "[\(host)]"
        }
        guard let port = url.port else { return host }
        let defaultPort: Int? =
            switch url.scheme?.lowercased() {
            case "http": 80
            case "https": 443
            default: nil
            }
        return port == defaultPort ? host : "\(host):\(port)"
    }
}
