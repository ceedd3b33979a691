import Foundation
import HTTP
import Logging
import PolicyChange

/// One Google API (Cloud KMS, IAM, Logging): bearer-authenticated JSON calls,
/// Google's error shape mapped to `ProviderError`.
public struct GoogleAPIClient: Sendable {
    public var service: String
    /// Base URL including the version path (`https://cloudkms.googleapis.com/v1/`).
    public var base: URL
    let transport: any HTTPTransport
    let tokens: CachingTokenProvider
    let quotaProject: String?

    public init(service: String, base: URL, transport: any HTTPTransport, tokens: CachingTokenProvider, quotaProject: String? = nil) {
        self.service = service
        self.base = base
        self.transport = transport
        self.tokens = tokens
        self.quotaProject = quotaProject
    }

    /// The base for an endpoint override: a URL with a path is used as is; a
    /// bare origin gets the API's version path.
    public static func base(override: String?, default defaultURL: String, version: String) -> URL? {
        guard let override, !override.isEmpty else { return URL(string: defaultURL) }
        var text = override
        if let url = URL(string: override), url.path.isEmpty || url.path == "/" {
            text = (override.hasSuffix("/") ? override : override + "/") + version + "/"
        }
        if !text.hasSuffix("/") { text += "/" }
        return URL(string: text)
    }

    /// `path` relative to the base (a resource name plus `:method`), with a query.
    func url(_ path: String, query: String? = nil) throws(ProviderError) -> URL {
        // "./": a first segment with a colon (`entries:list`) is not a scheme.
        guard let url = URL(string: "./" + path + (query.map { "?\($0)" } ?? ""), relativeTo: base)?.absoluteURL else {
            throw ProviderError(.other, "\(service): cannot build a URL for \(path)")
        }
        return url
    }

    public func get(_ path: String, query: String? = nil, operation: String) async throws -> Data {
        try await send(HTTPRequest(method: .get, url: try url(path, query: query)), operation: operation)
    }

    /// A POST. `idempotent`: safe to send twice (reads, and etag-guarded writes).
    public func post(_ path: String, body: Data, operation: String, idempotent: Bool) async throws -> Data {
        var request = HTTPRequest(method: .post, url: try url(path), body: body, isIdempotent: idempotent)
        request.headers.add(name: "Content-Type", value: "application/json")
        return try await send(request, operation: operation)
    }

    /// Sends with the cached token; a 401 (a token revoked or expired early)
    /// is retried once with a fresh one.
    func send(_ unauthenticated: HTTPRequest, operation: String) async throws -> Data {
        do {
            return try await sendOnce(unauthenticated, operation: operation)
        } catch let error as ProviderError where error.httpStatus == 401 {
            return try await sendOnce(unauthenticated, operation: operation)
        }
    }

    private func sendOnce(_ unauthenticated: HTTPRequest, operation: String) async throws -> Data {
        var request = unauthenticated
        let token = try await tokens.token()
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        if let quotaProject { request.headers.add(name: "x-goog-user-project", value: quotaProject) }
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch let error as HTTPError {
            if let last = error.response ?? error.lastError?.response, !last.isSuccess {
                throw GoogleErrorResponse(last).providerError(service: service, operation: operation)
            }
            throw ProviderError(.unavailable, "\(service) \(operation): \(error)")
        }
        guard response.isSuccess else {
            if response.status == 401 { await tokens.invalidate(token) }
            throw GoogleErrorResponse(response).providerError(service: service, operation: operation)
        }
        return response.body
    }
}

/// `{"error":{"code","message","status",…}}`, mapped to `ProviderError`.
public struct GoogleErrorResponse: Sendable {
    public var httpStatus: Int
    public var status: String?
    public var message: String?

    public init(_ response: HTTPResponse) {
        httpStatus = response.status
        let root = try? JSONParser.parse(response.body).root
        status = root?["error"]?["status"]?.stringValue
        message = root?["error"]?["message"]?.stringValue
    }

    public var code: ProviderError.Code {
        switch status {
        case "PERMISSION_DENIED": return .accessDenied
        case "NOT_FOUND": return .notFound
        case "ABORTED": return .concurrentModification
        case "RESOURCE_EXHAUSTED": return .throttled
        case "UNAVAILABLE", "INTERNAL", "UNKNOWN", "DEADLINE_EXCEEDED", "DATA_LOSS": return .unavailable
        case "UNAUTHENTICATED": return .authentication
        case "INVALID_ARGUMENT": return .malformedPolicy
        case "FAILED_PRECONDITION": return .invalidState
        case "ALREADY_EXISTS", "CANCELLED", "OUT_OF_RANGE", "UNIMPLEMENTED": return .other
        default:
            switch httpStatus {
            case 401: return .authentication
            case 403: return .accessDenied
            case 404: return .notFound
            case 409: return .concurrentModification
            case 429: return .throttled
            case 500...599: return .unavailable
            default: return .other
            }
        }
    }

    public func providerError(service: String, operation: String) -> ProviderError {
        var code = self.code
        // INVALID_ARGUMENT is about the policy only when a policy was sent.
        if code == .malformedPolicy && operation != "setIamPolicy" { code = .other }
        let shown = Redactor.standard.redact(CloudText.oneLine(message ?? "HTTP \(httpStatus)", limit: 300))
        return ProviderError(
            code, "\(service) \(operation): \(shown) (\(status ?? "HTTP \(httpStatus)"))", serviceCode: status,
            httpStatus: httpStatus)
    }
}
