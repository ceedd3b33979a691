import Foundation
import HTTP
import PolicyChange

/// An OAuth 2.0 access token and when it expires.
public struct GoogleAccessToken: Sendable {
    public var token: String
    public var expiresAt: Date
    public init(token: String, expiresAt: Date) {
        self.token = token
        self.expiresAt = expiresAt
    }
}

/// Fetches a fresh access token (no caching of its own).
public protocol GoogleTokenSource: Sendable {
    /// Where the token comes from, for messages (`service account key file /x.json`).
    var label: String { get }
    /// The member making calls (`serviceAccount:…`), when the source knows it.
    func member() async throws -> String?
    func fetch() async throws -> GoogleAccessToken
}

public let cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

/// The token endpoints' shared parts: form POSTs and their answers.
enum OAuthExchange {
    static func form(_ pairs: [(String, String)]) -> Data {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return Data(pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "")" }
            .joined(separator: "&").utf8)
    }

    static func post(
        _ url: String, body: Data, contentType: String, bearer: String? = nil, transport: any HTTPTransport, what: String,
        now: Date
    ) async throws -> GoogleAccessToken {
        guard let endpoint = URL(string: url), endpoint.scheme != nil else {
            throw ProviderError(.credentials, "\(what): the token URL is not a URL")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Accept", value: "application/json")
        if let bearer { headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        let response: HTTPResponse
        do {
            response = try await transport.send(HTTPRequest(method: .post, url: endpoint, headers: headers, body: body))
        } catch let error as HTTPError {
            throw ProviderError(.unavailable, "\(what): \(error)")
        }
        return try parse(response, what: what, now: now)
    }

    static func parse(_ response: HTTPResponse, what: String, now: Date) throws(ProviderError) -> GoogleAccessToken {
        let root = try? JSONParser.parse(response.body).root
        guard response.isSuccess else {
            if response.status == 429 { throw ProviderError(.throttled, "\(what): throttled (HTTP 429)", httpStatus: 429) }
            if response.status >= 500 {
                throw ProviderError(.unavailable, "\(what): HTTP \(response.status)", httpStatus: response.status)
            }
            // OAuth error `{"error","error_description"}`, or Google's `{"error":{…}}`.
            let code = root?["error"]?.stringValue ?? root?["error"]?["status"]?.stringValue ?? "HTTP \(response.status)"
            let description = root?["error_description"]?.stringValue ?? root?["error"]?["message"]?.stringValue ?? ""
            let shown = Redactor.standard.redact(CloudText.oneLine(description, limit: 200))
            throw ProviderError(
                .authentication, "\(what) was refused: \(code)\(shown.isEmpty ? "" : " (\(shown))")",
                serviceCode: code, httpStatus: response.status)
        }
        let token = root?["access_token"]?.stringValue ?? root?["accessToken"]?.stringValue
        guard let token, !token.isEmpty else {
            throw ProviderError(.invalidResponse, "\(what): the answer holds no access token")
        }
        var expiry = now.addingTimeInterval(3600)
        if case .number(let n)? = root?["expires_in"], let seconds = Double(n) {
            expiry = now.addingTimeInterval(seconds)
        } else if let text = root?["expireTime"]?.stringValue, let date = GoogleTime.parse(text) {
            expiry = date
        }
        return GoogleAccessToken(token: token, expiresAt: expiry)
    }
}

enum GoogleTime {
    static func parse(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// `service_account` key: RS256 JWT-bearer grant to the file's `token_uri`.
public struct ServiceAccountTokenSource: GoogleTokenSource {
    let email: String
    let signer: ServiceAccountJWTSigner
    let tokenURI: String
    let scope: String
    let transport: any HTTPTransport
    let clock: @Sendable () -> Date
    public let label: String

    public init(
        email: String, signer: ServiceAccountJWTSigner, tokenURI: String, scope: String = cloudPlatformScope,
        transport: any HTTPTransport, label: String, clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.email = email
        self.signer = signer
        self.tokenURI = tokenURI
        self.scope = scope
        self.transport = transport
        self.label = label
        self.clock = clock
    }

    public func member() async throws -> String? { "serviceAccount:\(email)" }

    public func fetch() async throws -> GoogleAccessToken {
        let now = clock()
        let assertion = try signer.assertion(issuer: email, scope: scope, audience: tokenURI, now: now)
        let body = OAuthExchange.form([("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)])
        return try await OAuthExchange.post(
            tokenURI, body: body, contentType: "application/x-www-form-urlencoded", transport: transport,
            what: "the token request for \(label)", now: now)
    }
}

/// `authorized_user` (gcloud auth application-default login): refresh-token grant.
public struct AuthorizedUserTokenSource: GoogleTokenSource {
    let clientID: String
    let clientSecret: String
    let refreshToken: String
    let tokenURI: String
    let transport: any HTTPTransport
    public let label: String

    public init(clientID: String, clientSecret: String, refreshToken: String, tokenURI: String, transport: any HTTPTransport, label: String) {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.refreshToken = refreshToken
        self.tokenURI = tokenURI
        self.transport = transport
        self.label = label
    }

    public func member() async throws -> String? { nil }

    public func fetch() async throws -> GoogleAccessToken {
        let body = OAuthExchange.form([
            ("grant_type", "refresh_token"), ("client_id", clientID), ("client_secret", clientSecret),
            ("refresh_token", refreshToken),
        ])
        return try await OAuthExchange.post(
            tokenURI, body: body, contentType: "application/x-www-form-urlencoded", transport: transport,
            what: "the token request for \(label)", now: Date())
    }
}

/// `external_account`: subject token → STS token exchange → optional impersonation.
public struct ExternalAccountTokenSource: GoogleTokenSource {
    let configuration: ExternalAccountConfiguration
    let transport: any HTTPTransport
    let readFile: @Sendable (String) -> Data?
    public let label: String

    public init(
        configuration: ExternalAccountConfiguration, transport: any HTTPTransport, label: String,
        readFile: @escaping @Sendable (String) -> Data? = { FileManager.default.contents(atPath: $0) }
    ) {
        self.configuration = configuration
        self.transport = transport
        self.label = label
        self.readFile = readFile
    }

    public func member() async throws -> String? { configuration.impersonatedMember }

    func subjectToken() async throws -> String {
        var raw: Data
        if let path = configuration.credentialFile {
            guard let data = readFile(path) else {
                throw ProviderError(.credentials, "\(label): cannot read the subject token file \(path)")
            }
            raw = data
        } else if let urlText = configuration.credentialURL, let url = URL(string: urlText) {
            var headers = HTTPHeaders()
            for (name, value) in configuration.credentialHeaders.sorted(by: { $0.key < $1.key }) { headers.add(name: name, value: value) }
            let response: HTTPResponse
            do {
                response = try await transport.send(HTTPRequest(method: .get, url: url, headers: headers))
            } catch let error as HTTPError {
                throw ProviderError(.credentials, "\(label): cannot fetch the subject token from credential_source.url: \(error.message)")
            }
            guard response.isSuccess else {
                throw ProviderError(.credentials, "\(label): the subject token URL answered HTTP \(response.status)")
            }
            raw = response.body
        } else {
            throw ProviderError(.credentials, "\(label): no subject token source")
        }
        if let field = configuration.jsonField {
            guard let token = (try? JSONParser.parse(raw).root)?[field]?.stringValue else {
                throw ProviderError(.credentials, "\(label): the subject token is not JSON with '\(field)'")
            }
            return token
        }
        let text = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw ProviderError(.credentials, "\(label): the subject token is empty") }
        return text
    }

    public func fetch() async throws -> GoogleAccessToken {
        let subject = try await subjectToken()
        let body = OAuthExchange.form([
            ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"), ("audience", configuration.audience),
            ("scope", cloudPlatformScope), ("requested_token_type", "urn:ietf:params:oauth:token-type:access_token"),
            ("subject_token", subject), ("subject_token_type", configuration.subjectTokenType),
        ])
        let federated = try await OAuthExchange.post(
            configuration.tokenURL, body: body, contentType: "application/x-www-form-urlencoded", transport: transport,
            what: "the STS token exchange for \(label)", now: Date())
        guard let impersonation = configuration.impersonationURL else { return federated }
        let request = Data(#"{"scope":["\#(cloudPlatformScope)"],"lifetime":"3600s"}"#.utf8)
        return try await OAuthExchange.post(
            impersonation, body: request, contentType: "application/json", bearer: federated.token, transport: transport,
            what: "service-account impersonation for \(label)", now: Date())
    }
}

/// The metadata server's default service account (Compute Engine, GKE, Cloud Run).
public struct MetadataServerTokenSource: GoogleTokenSource {
    let root: URL
    let transport: any HTTPTransport
    let probeTimeout: Duration?
    public var label: String { "the metadata server at \(root.absoluteString)" }

    /// `host` as in `GCE_METADATA_HOST` (`host[:port]`).
    public init(host: String, transport: any HTTPTransport, probeTimeout: Duration? = nil) {
        root = URL(string: "http://\(host)/computeMetadata/v1/instance/service-accounts/default/")
            ?? URL(string: "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/")!
        self.transport = transport
        self.probeTimeout = probeTimeout
    }

    func get(_ path: String) async throws -> HTTPResponse {
        guard let url = URL(string: path, relativeTo: root)?.absoluteURL else {
            throw ProviderError(.other, "bad metadata path")
        }
        var request = HTTPRequest(method: .get, url: url, headers: ["Metadata-Flavor": "Google"])
        request.timeout = probeTimeout
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch let error as HTTPError {
            throw ProviderError(.credentials, "\(label) did not answer (\(error.kind))")
        }
        guard response.headers.first(name: "Metadata-Flavor") == "Google" else {
            throw ProviderError(.credentials, "\(label) answered without 'Metadata-Flavor: Google'; it is not a metadata server")
        }
        return response
    }

    public func member() async throws -> String? {
        let response = try await get("email")
        guard response.isSuccess else { return nil }
        let email = String(decoding: response.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return email.isEmpty ? nil : "serviceAccount:\(email)"
    }

    public func fetch() async throws -> GoogleAccessToken {
        let response = try await get("token?scopes=\(cloudPlatformScope)")
        return try OAuthExchange.parse(response, what: "the token request to \(label)", now: Date())
    }
}

/// Caches a source's token until five minutes before it expires; callers that
/// ask at the same time share one fetch.
public struct CachingTokenProvider: Sendable {
    let source: any GoogleTokenSource
    /// One scope (cloud-platform), so one key.
    let cache: BearerTokenCache<String>

    public init(source: any GoogleTokenSource, margin: TimeInterval = 300, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.source = source
        cache = BearerTokenCache(margin: margin, clock: clock)
    }

    public func token() async throws -> String {
        let source = self.source
        return try await cache.token(for: cloudPlatformScope) {
            let fresh = try await source.fetch()
            return .init(value: fresh.token, expiresAt: fresh.expiresAt)
        }.value
    }

    /// Forgets `token` if it still is the cached one (after a 401 refused it).
    public func invalidate(_ token: String) async { await cache.invalidate(cloudPlatformScope, value: token) }

    public var label: String { source.label }
    public func member() async throws -> String? { try await source.member() }
}
