import Foundation
import HTTP
import Logging
import PolicyChange
import SigV4

/// One AWS service endpoint: signs each request with SigV4 (the body always
/// hashed) and turns error responses into `ProviderError`s.
public struct AWSServiceClient: Sendable {
    public var service: String
    public var signingName: String
    public var region: String
    public var endpoint: URL
    let transport: any HTTPTransport
    let credentials: any AWSCredentialProvider
    let clock: @Sendable () -> Date

    public init(
        service: String, signingName: String, region: String, endpoint: URL, transport: any HTTPTransport,
        credentials: any AWSCredentialProvider, clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.service = service
        self.signingName = signingName
        self.region = region
        self.endpoint = endpoint
        self.transport = transport
        self.credentials = credentials
        self.clock = clock
    }

    /// AWS JSON 1.1: `POST /` with `X-Amz-Target: <prefix>.<operation>`.
    func json11(target prefix: String, operation: String, body: Data) async throws -> Data {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-amz-json-1.1")
        headers.add(name: "X-Amz-Target", value: "\(prefix).\(operation)")
        return try await send(
            HTTPRequest(method: .post, url: endpoint.appendingPathComponent("/"), headers: headers, body: body),
            operation: operation)
    }

    /// REST-JSON (Access Analyzer): a path and query of its own.
    func restJSON(path: String, query: [URLQueryItem], operation: String, body: Data) async throws -> Data {
        var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)!
        components.path = (components.path.hasSuffix("/") ? String(components.path.dropLast()) : components.path) + path
        components.queryItems = query.isEmpty ? nil : query
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        return try await send(HTTPRequest(method: .post, url: components.url!, headers: headers, body: body), operation: operation)
    }

    /// AWS query protocol (STS): a form body, an XML answer.
    func query(action: String, version: String, parameters: [(String, String)] = []) async throws -> String {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
        let form = ([("Action", action), ("Version", version)] + parameters)
            .map { "\(FormEncoding.encode($0.0))=\(FormEncoding.encode($0.1))" }.joined(separator: "&")
        let data = try await send(
            HTTPRequest(method: .post, url: endpoint.appendingPathComponent("/"), headers: headers, body: Data(form.utf8)),
            operation: action)
        return String(decoding: data, as: UTF8.self)
    }

    private func send(_ unsigned: HTTPRequest, operation: String) async throws -> Data {
        var request = unsigned
        request.headers.add(name: "Content-Length", value: String(request.body.count))
        let signer = SigV4Signer(credentials: try await credentials.credentials(), region: region, service: signingName)
        let response: HTTPResponse
        do {
            response = try await transport.send(signer.sign(request, date: clock()))
        } catch let error as HTTPError {
            throw ProviderError(.unavailable, "\(service) \(operation): \(error)")
        }
        guard response.isSuccess else {
            throw AWSErrorResponse(response).providerError(service: service, operation: operation)
        }
        return response.body
    }

    /// For `RetryingTransport`: throttling arrives as HTTP 400 with a code in
    /// the body; retry those, never `LimitExceededException`.
    public static func shouldRetry(_ response: HTTPResponse) -> Bool {
        guard !response.isSuccess else { return false }
        return AWSErrorResponse(response).isRetryable
    }
}

/// `application/x-www-form-urlencoded` as AWS expects it: RFC 3986 unreserved
/// characters kept, everything else percent-encoded (space as %20).
enum FormEncoding {
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
