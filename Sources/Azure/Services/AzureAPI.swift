import Foundation
import HTTP
import PolicyChange

/// Sends bearer-authenticated JSON requests to one Azure API (ARM, the Key
/// Vault data plane, Log Analytics) and turns `{"error":{"code","message"}}`
/// answers into `ProviderError`s.
public struct AzureAPI: Sendable {
    public var service: String
    public var audience: AzureAudience
    let transport: any HTTPTransport
    let tokens: AzureTokenCache

    public init(service: String, audience: AzureAudience, transport: any HTTPTransport, tokens: AzureTokenCache) {
        self.service = service
        self.audience = audience
        self.transport = transport
        self.tokens = tokens
    }

    /// The response of a successful request (2xx). A 401 (a token revoked or
    /// expired early) is retried once with a fresh token.
    @discardableResult
    public func send(_ method: HTTPMethod, _ url: URL, body: JSONValue? = nil, operation: String) async throws -> HTTPResponse {
        do {
            return try await sendOnce(method, url, body: body, operation: operation)
        } catch let error as ProviderError where error.httpStatus == 401 {
            return try await sendOnce(method, url, body: body, operation: operation)
        }
    }

    private func sendOnce(_ method: HTTPMethod, _ url: URL, body: JSONValue?, operation: String) async throws -> HTTPResponse {
        let token = try await tokens.token(for: audience)
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer \(token.token)")
        headers.add(name: "Accept", value: "application/json")
        var data = Data()
        if let body {
            headers.add(name: "Content-Type", value: "application/json")
            data = Data(body.serialized(indent: 0).utf8)
        }
        // Every call this tool makes is idempotent: GETs, accessPolicies add/remove
        // (a union / a difference), role-assignment PUT under a name chosen here, DELETE,
        // and Log Analytics queries. So throttling and 5xx may be retried.
        let response: HTTPResponse
        do {
            response = try await transport.send(HTTPRequest(method: method, url: url, headers: headers, body: data, isIdempotent: true))
        } catch let error as HTTPError {
            if let status = error.status {
                let base = AzureErrorResponse(status: status, body: error.response?.body ?? Data())
                throw base.providerError(service: service, operation: operation, retried: error.attempts)
            }
            throw ProviderError(.unavailable, "\(service) \(operation): \(error.message)")
        }
        guard response.isSuccess else {
            if response.status == 401 { await tokens.invalidate(audience, token: token.token) }
            throw AzureErrorResponse(status: response.status, body: response.body).providerError(service: service, operation: operation)
        }
        return response
    }

    /// A JSON answer, parsed strictly.
    public func json(_ method: HTTPMethod, _ url: URL, body: JSONValue? = nil, operation: String) async throws -> JSONValue {
        let response = try await send(method, url, body: body, operation: operation)
        do {
            return try JSONParser.parse(response.body).root
        } catch {
            throw ProviderError(.invalidResponse, "\(service) \(operation): the answer is not JSON (\(error))")
        }
    }
}

/// An Azure error answer: `{"error":{"code","message"}}` (ARM CloudError, Key
/// Vault, Log Analytics), with the HTTP status.
public struct AzureErrorResponse: Sendable, Equatable {
    public var status: Int
    public var code: String
    public var message: String

    public init(status: Int, body: Data) {
        self.status = status
        let error = (try? JSONParser.parse(body).root)?["error"]
        code = error?["code"]?.stringValue ?? "HTTP\(status)"
        let text = error?["message"]?.stringValue ?? "HTTP status \(status)"
        message = CloudText.oneLine(text, limit: 400)
    }

    public func providerError(service: String, operation: String, retried attempts: Int? = nil) -> ProviderError {
        let what = "\(service) \(operation)"
        let kind: ProviderError.Code
        var hint = ""
        switch (status, code) {
        case (_, "AuthorizationFailed"), (403, _), (_, "Forbidden"):
            kind = .accessDenied
            hint = " (grant the caller this permission: an Azure role or, for the data plane, the vault's access policy)"
        case (401, _), (_, "InvalidAuthenticationToken"), (_, "ExpiredAuthenticationToken"), (_, "Unauthorized"):
            kind = .authentication
        case (404, _), (_, "ResourceNotFound"), (_, "KeyNotFound"), (_, "VaultNotFound"):
            kind = .notFound
        case (429, _), (_, "TooManyRequests"):
            kind = .throttled
        case (500..., _):
            kind = .unavailable
        case (409, _):
            kind = .concurrentModification
        default:
            kind = .other
        }
        let tries = attempts.map { " after \($0) attempts" } ?? ""
        return ProviderError(kind, "\(what) failed\(tries): \(code): \(message)\(hint)", serviceCode: code, httpStatus: status)
    }
}
