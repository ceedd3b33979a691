import Foundation
import HTTP
import Logging
import PolicyChange
import SigV4

/// The instance role's credentials from the EC2 instance metadata service, IMDSv2 only:
///
/// 1. `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds: 21600`;
/// 2. `GET /latest/meta-data/iam/security-credentials/` with `X-aws-ec2-metadata-token`
///    → the role name;
/// 3. `GET /latest/meta-data/iam/security-credentials/<role>` → the credentials document.
///
/// `AWS_EC2_METADATA_DISABLED=true` skips it; `AWS_EC2_METADATA_SERVICE_ENDPOINT`
/// replaces the base URL (tests point it at a fake);
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6` uses `http://[fd00:ec2::254]`.
///
/// Off EC2 nothing answers, so every failure to get a token or a role is "not found here"
/// with the reason, and the chain's error says so. Unlike botocore this never falls back
/// to IMDSv1 (unauthenticated GETs): an instance that refuses the token request has
/// IMDSv2 turned off, and the token is what protects the credentials from SSRF.
///
/// The transport must allow plain `http://` to the link-local addresses; see
/// `AWSMetadataService`.
public struct InstanceMetadataCredentialSource: AWSCredentialSource {
    public let environment: AWSEnvironment
    public let transport: any HTTPTransport
    public let policy: MetadataServicePolicy
    public let logger: Logger

    public init(
        environment: AWSEnvironment, transport: any HTTPTransport,
        policy: MetadataServicePolicy = .instanceMetadata, logger: Logger
    ) {
        self.environment = environment
        self.transport = transport
        self.policy = policy
        self.logger = logger
    }

    static let tokenTTLHeader = "X-aws-ec2-metadata-token-ttl-seconds"
    static let tokenHeader = "X-aws-ec2-metadata-token"
    static let credentialsPath = "/latest/meta-data/iam/security-credentials/"

    /// The service's base URL.
    public var baseURL: URL {
        get throws(ProviderError) {
            if let text = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] {
                var trimmed = text.trimmingCharacters(in: .whitespaces)
                while trimmed.hasSuffix("/") { trimmed.removeLast() }
                guard let url = URL(string: trimmed), let scheme = url.scheme, scheme == "http" || scheme == "https",
                    url.host != nil
                else {
                    throw ProviderError(.credentials, "AWS_EC2_METADATA_SERVICE_ENDPOINT '\(text)' is not an http(s) URL")
                }
                return url
            }
            if environment["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"]?.lowercased() == "ipv6" {
                return AWSMetadataService.instanceMetadataIPv6
            }
            return AWSMetadataService.instanceMetadataIPv4
        }
    }

    public func lookup() async throws -> CredentialLookup {
        if environment.isTrue("AWS_EC2_METADATA_DISABLED") {
            return .notFound("EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)")
        }
        let base = try baseURL
        let host = AWSMetadataService.displayHost(base)
        func note(_ reason: String) -> CredentialLookup { .notFound("EC2 instance metadata (\(reason))") }

        // 1. Session token.
        var tokenRequest = HTTPRequest(method: .put, url: url(base, "/latest/api/token"))
        tokenRequest.headers.add(name: Self.tokenTTLHeader, value: "21600")
        let tokenResponse: HTTPResponse
        switch try await fetch(tokenRequest) {
        case .failure: return note("no answer from \(host)")
        case .success(let response): tokenResponse = response
        }
        guard tokenResponse.isSuccess else {
            return note("\(host) refused a session token: HTTP \(tokenResponse.status)")
        }
        let token = String(decoding: tokenResponse.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, !token.contains(where: \.isNewline) else {
            return note("\(host) answered the token request without a usable token")
        }

        // 2. Role name.
        var roleRequest = HTTPRequest(method: .get, url: url(base, Self.credentialsPath))
        roleRequest.headers.add(name: Self.tokenHeader, value: token)
        let roleResponse: HTTPResponse
        switch try await fetch(roleRequest) {
        case .failure: return note("no answer from \(host) for the instance's role")
        case .success(let response): roleResponse = response
        }
        if roleResponse.status == 404 { return note("no IAM role attached to the instance") }
        guard roleResponse.isSuccess else {
            return note("\(host) answered HTTP \(roleResponse.status) for the instance's role")
        }
        let role =
            String(decoding: roleResponse.body, as: UTF8.self)
            .split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        // IAM role names are `[A-Za-z0-9+=,.@_-]+`; anything else is not a role name and
        // must not become part of the next URL.
        let roleCharacters = CharacterSet(charactersIn: "+=,.@_-")
            .union(CharacterSet(charactersIn: "a"..."z")).union(CharacterSet(charactersIn: "A"..."Z"))
            .union(CharacterSet(charactersIn: "0"..."9"))
        guard !role.isEmpty else { return note("no IAM role attached to the instance") }
        guard role.unicodeScalars.allSatisfy({ roleCharacters.contains($0) }) else {
            return note("\(host) answered the role request with something that is not an IAM role name")
        }

        // 3. Credentials.
        var credentialsRequest = HTTPRequest(method: .get, url: url(base, Self.credentialsPath + role))
        credentialsRequest.headers.add(name: Self.tokenHeader, value: token)
        let credentialsResponse: HTTPResponse
        switch try await fetch(credentialsRequest) {
        case .failure: return note("no answer from \(host) for the credentials of role '\(role)'")
        case .success(let response): credentialsResponse = response
        }
        guard credentialsResponse.isSuccess else {
            return note("\(host) answered HTTP \(credentialsResponse.status) for the credentials of role '\(role)'")
        }
        let document: CredentialsDocument
        do {
            document = try CredentialsDocument.parse(
                credentialsResponse.body, tokenKey: "Token", requireToken: true, requireExpiration: true)
        } catch {
            return note("credentials of role '\(role)' unusable: \(error.reason)")
        }
        if let code = document.code, code != "Success" {
            return note("credentials of role '\(role)' not available: Code \(code)")
        }
        return .found(document.credentials, source: "EC2 instance metadata (role '\(role)')")
    }

    private func url(_ base: URL, _ path: String) -> URL {
        URL(string: base.absoluteString + path) ?? base
    }

    private enum Fetch {
        case success(HTTPResponse)
        case failure
    }

    /// One request with the policy's attempts and timeout; connection failures and
    /// time-outs become `.failure` (the service is not there), cancellation propagates.
    private func fetch(_ request: HTTPRequest) async throws -> Fetch {
        for attempt in 1...policy.attempts {
            if attempt > 1 { try await Task.sleep(for: policy.pause) }
            do {
                return .success(try await AWSMetadataService.send(request, over: transport, timeout: policy.timeout))
            } catch {
                if error is CancellationError || Task.isCancelled { throw CancellationError() }
                logger.debug(
                    "instance metadata: no answer",
                    metadata: ["path": "\(request.url.path)", "attempt": "\(attempt)"])
            }
        }
        return .failure
    }
}
