import Foundation
import HTTP
import Logging
import PolicyChange

/// A bearer token for one audience.
public struct AzureAccessToken: Sendable, Equatable {
    public var token: String
    public var expiresOn: Date
    public init(token: String, expiresOn: Date) {
        self.token = token
        self.expiresOn = expiresOn
    }
}

/// The audiences (scopes) this tool asks tokens for.
public enum AzureAudience: String, Sendable, CaseIterable {
    case management = "https://management.azure.com/.default"
    case vault = "https://vault.azure.net/.default"
    case logAnalytics = "https://api.loganalytics.io/.default"

    /// The managed-identity form: `resource=` without `/.default`.
    public var resource: String { String(rawValue.dropLast(".default".count)) }
}

/// Where tokens come from: client secret, workload identity, managed identity.
public protocol AzureTokenSource: Sendable {
    /// Which source this is, for messages (`client secret (AZURE_CLIENT_SECRET)`).
    var name: String { get }
    func fetchToken(for audience: AzureAudience) async throws -> AzureAccessToken
}

/// One token per audience, reused until five minutes before it expires;
/// concurrent callers share one request.
public struct AzureTokenCache: Sendable {
    let source: any AzureTokenSource
    let cache: BearerTokenCache<AzureAudience>
    public static let refreshMargin: TimeInterval = 300

    public init(source: any AzureTokenSource, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.source = source
        cache = BearerTokenCache(margin: Self.refreshMargin, clock: clock)
    }

    public func token(for audience: AzureAudience) async throws -> AzureAccessToken {
        let source = self.source
        let token = try await cache.token(for: audience) {
            let fresh = try await source.fetchToken(for: audience)
            return .init(value: fresh.token, expiresAt: fresh.expiresOn)
        }
        return AzureAccessToken(token: token.value, expiresOn: token.expiresAt)
    }

    /// Forgets the audience's token if it still is `token` (after a 401).
    public func invalidate(_ audience: AzureAudience, token: String) async {
        await cache.invalidate(audience, value: token)
    }
}

// MARK: - Entra ID client credentials

/// `POST {authority}/{tenant}/oauth2/v2.0/token` with a client secret or a
/// federated client assertion (workload identity; the file is re-read for
/// every request, since the platform rotates it).
public struct ClientCredentialSource: AzureTokenSource {
    public enum Secret: Sendable {
        case clientSecret(String)
        case assertionFile(String)
    }

    public let authority: URL
    public let tenantID: String
    public let clientID: String
    public let secret: Secret
    let transport: any HTTPTransport
    let clock: @Sendable () -> Date

    public init(
        authority: URL, tenantID: String, clientID: String, secret: Secret, transport: any HTTPTransport,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.authority = authority
        self.tenantID = tenantID
        self.clientID = clientID
        self.secret = secret
        self.transport = transport
        self.clock = clock
    }

    public var name: String {
        switch secret {
        case .clientSecret: "client secret (AZURE_CLIENT_SECRET)"
        case .assertionFile(let path): "workload identity (AZURE_FEDERATED_TOKEN_FILE \(path))"
        }
    }

    public func fetchToken(for audience: AzureAudience) async throws -> AzureAccessToken {
        var fields = [("client_id", clientID), ("scope", audience.rawValue)]
        switch secret {
        case .clientSecret(let value):
            fields += [("client_secret", value), ("grant_type", "client_credentials")]
        case .assertionFile(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ProviderError(.credentials, "cannot read AZURE_FEDERATED_TOKEN_FILE '\(path)' (no such file or not readable)")
            }
            let assertion = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            fields += [
                ("grant_type", "client_credentials"),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", assertion),
            ]
        }
        let body = fields.map { "\(FormEncoding.encode($0.0))=\(FormEncoding.encode($0.1))" }.joined(separator: "&")
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        headers.add(name: "Accept", value: "application/json")
        let url = authority.appendingPathComponent(tenantID).appendingPathComponent("oauth2/v2.0/token")
        let response: HTTPResponse
        do {
            response = try await transport.send(HTTPRequest(method: .post, url: url, headers: headers, body: Data(body.utf8)))
        } catch let error as HTTPError {
            throw ProviderError(.unavailable, "Entra ID token request to \(URLSafety.host(of: url) ?? "the authority") failed: \(error.message)")
        }
        return try TokenResponse.parse(response, now: clock(), what: "Entra ID token request for client \(clientID)")
    }
}

/// RFC 3986 unreserved characters kept, everything else percent-encoded.
enum FormEncoding {
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    static func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text }
}

/// Token endpoint answers: `{access_token, expires_in}` (numbers or, from
/// managed identity, strings; `expires_on` epoch seconds) or an OAuth error
/// `{error, error_description: "AADSTSnnnn: …"}`.
enum TokenResponse {
    static func parse(_ response: HTTPResponse, now: Date, what: String) throws -> AzureAccessToken {
        let json = try? JSONParser.parse(response.body).root
        guard response.isSuccess else {
            let code = json?["error"]?.stringValue ?? "HTTP \(response.status)"
            let description = json?["error_description"]?.stringValue.map(firstSentences) ?? ""
            let aadsts = description.range(of: #"AADSTS\d+"#, options: .regularExpression).map { String(description[$0]) }
            let kind: ProviderError.Code = response.status >= 500 ? .unavailable : (response.status == 429 ? .throttled : .authentication)
            throw ProviderError(
                kind, "\(what) failed: \(description.isEmpty ? code : "\(description) (\(code))")",
                serviceCode: aadsts ?? code, httpStatus: response.status)
        }
        guard let token = json?["access_token"]?.stringValue, !token.isEmpty else {
            throw ProviderError(.invalidResponse, "\(what): the answer holds no access_token")
        }
        let expiresOn: Date
        if let on = json?["expires_on"].flatMap(number), on > 1_000_000_000 {
            expiresOn = Date(timeIntervalSince1970: on)
        } else {
            expiresOn = now.addingTimeInterval(json?["expires_in"].flatMap(number) ?? 3600)
        }
        return AzureAccessToken(token: token, expiresOn: expiresOn)
    }

    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .number(let n): Double(n)
        case .string(let s): Double(s)
        default: nil
        }
    }

    /// `AADSTS7000215: Invalid client secret provided. Ensure …` → the code and
    /// its first sentence, on one line, without trace and correlation ids.
    static func firstSentences(_ text: String) -> String {
        let line = CloudText.oneLine(text, limit: .max)
        let cut = line.range(of: " Trace ID:").map { String(line[..<$0.lowerBound]) } ?? line
        if let dot = cut.range(of: ". ") { return String(cut[..<dot.lowerBound]) + "." }
        return String(cut.prefix(300))
    }
}

// MARK: - Managed identity

/// App Service / Functions / Container Apps (`IDENTITY_ENDPOINT` +
/// `IDENTITY_HEADER`, api-version 2019-08-01) or the VM instance metadata
/// service (IMDS, api-version 2018-02-01, `Metadata: true`; `IMDS_ENDPOINT`
/// overrides the address).
public struct ManagedIdentitySource: AzureTokenSource {
    public enum Kind: Sendable {
        case appService(endpoint: URL, header: String)
        case imds(base: URL)
    }

    public let kind: Kind
    public let clientID: String?
    let transport: any HTTPTransport
    let clock: @Sendable () -> Date

    public init(kind: Kind, clientID: String?, transport: any HTTPTransport, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.kind = kind
        self.clientID = clientID
        self.transport = transport
        self.clock = clock
    }

    public var name: String {
        switch kind {
        case .appService: "managed identity (IDENTITY_ENDPOINT)"
        case .imds(let base): "managed identity (IMDS at \(URLSafety.host(of: base) ?? "169.254.169.254"))"
        }
    }

    public func fetchToken(for audience: AzureAudience) async throws -> AzureAccessToken {
        var headers = HTTPHeaders()
        var components: URLComponents
        var query: [URLQueryItem]
        switch kind {
        case .appService(let endpoint, let header):
            components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false) ?? URLComponents()
            query = [URLQueryItem(name: "resource", value: audience.resource), URLQueryItem(name: "api-version", value: "2019-08-01")]
            headers.add(name: "X-IDENTITY-HEADER", value: header)
        case .imds(let base):
            components = URLComponents(url: base.appendingPathComponent("metadata/identity/oauth2/token"), resolvingAgainstBaseURL: false)
                ?? URLComponents()
            query = [URLQueryItem(name: "api-version", value: "2018-02-01"), URLQueryItem(name: "resource", value: audience.resource)]
            headers.add(name: "Metadata", value: "true")
        }
        if let clientID { query.append(URLQueryItem(name: "client_id", value: clientID)) }
        components.percentEncodedQuery = query.map { "\($0.name)=\(FormEncoding.encode($0.value ?? ""))" }.joined(separator: "&")
        guard let url = components.url else { throw ProviderError(.credentials, "\(name): the endpoint is not a URL") }
        var request = HTTPRequest(method: .get, url: url, headers: headers)
        request.timeout = .seconds(5)
        let response: HTTPResponse
        do {
            response = try await transport.send(request)
        } catch let error as HTTPError {
            throw ProviderError(.credentials, "no answer from \(name): \(error.message)")
        }
        return try TokenResponse.parse(response, now: clock(), what: "\(name) token request")
    }
}
