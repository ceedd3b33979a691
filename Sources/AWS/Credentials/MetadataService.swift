import Foundation
import HTTP
import SigV4

/// The link-local credential services and how long to wait for them.
///
/// ## The transport these need
///
/// The EC2 instance metadata service (`http://169.254.169.254`, IPv6
/// `http://[fd00:ec2::254]`) and the ECS/EKS container credential endpoints
/// (`http://169.254.170.2`, EKS Pod Identity `http://169.254.170.23` /
/// `http://[fd00:ec2::23]`) speak only plain HTTP, on addresses that are not loopback, so
/// the project's transport refuses them (DESIGN §2: plain `http://` for loopback only).
/// The container and instance-metadata sources therefore take their transport as a
/// parameter (`defaultCredentialChain(metadataTransport:)`), and the CLI must give them
/// one that additionally allows plain `http://` to exactly
/// `AWSMetadataService.plainHTTPHosts`, while the transport for KMS, STS, CloudTrail,
/// Access Analyzer and every endpoint override keeps refusing them. The API expected of
/// the HTTP layer is a per-transport allow-list: a second transport instance built with
/// `plainHTTPHosts: AWSMetadataService.plainHTTPHosts` (a `Set<String>` of extra hosts,
/// compared case-insensitively with IPv6 brackets ignored, checked before any
/// connection). These addresses are link-local and never routed off the machine, which
/// is why the exception is safe here and nowhere else. The metadata transport should
/// not retry on its own: the sources apply `MetadataServicePolicy`.
public enum AWSMetadataService {
    /// The hosts the metadata transport must reach over plain `http://`.
    public static let plainHTTPHosts: Set<String> = [
        "169.254.169.254", "fd00:ec2::254", "169.254.170.2", "169.254.170.23", "fd00:ec2::23",
    ]

    /// IMDS base URLs (`botocore/utils.py`, `InstanceMetadataFetcher`).
    public static let instanceMetadataIPv4 = URL(string: "http://169.254.169.254")!
    public static let instanceMetadataIPv6 = URL(string: "http://[fd00:ec2::254]")!
    /// Base of `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (ECS).
    public static let containerCredentialsBase = "http://169.254.170.2"
}

/// How long to wait for a metadata service and how often to try.
public struct MetadataServicePolicy: Sendable, Equatable {
    /// The longest one attempt may take. Off EC2 nothing ever answers at
    /// 169.254.169.254, so this bounds the delay before the "no credentials" error.
    public var timeout: Duration
    public var attempts: Int
    /// The pause between attempts.
    public var pause: Duration

    public init(timeout: Duration, attempts: Int, pause: Duration) {
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.pause = pause
    }

    /// botocore's defaults: `metadata_service_timeout` 1 s, `metadata_service_num_attempts` 1.
    public static let instanceMetadata = MetadataServicePolicy(timeout: .seconds(1), attempts: 1, pause: .zero)
    /// botocore's `ContainerMetadataFetcher`: 2 s timeout, 3 attempts, 1 s apart.
    public static let container = MetadataServicePolicy(timeout: .seconds(2), attempts: 3, pause: .seconds(1))
}

extension AWSMetadataService {
    struct TimeoutError: Error, CustomStringConvertible {
        var timeout: Duration
        var description: String { "no answer within \(timeout)" }
    }

    /// Sends `request`, giving up after `timeout`. The transport must end its `send` when its
    /// task is cancelled (the project's transports do), or the give-up waits for it.
    static func send(_ request: HTTPRequest, over transport: any HTTPTransport, timeout: Duration) async throws -> HTTPResponse {
        try await withThrowingTaskGroup(of: HTTPResponse?.self) { group in
            group.addTask { try await transport.send(request) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                throw AWSMetadataService.TimeoutError(timeout: timeout)
            }
            return response
        }
    }

    /// `host` or `host:port` of a URL, for messages: never the path or query, which for the
    /// container endpoints can identify a task's credentials.
    static func displayHost(_ url: URL) -> String {
        guard var host = url.host else { return url.scheme ?? "?" }
        if host.contains(":"), !host.hasPrefix("[") { host = "[\(host)]" }
        if let port = url.port { return "\(host):\(port)" }
        return host
    }

}

/// The fields of a metadata-service credentials document (`Token` in IMDS and container
/// answers, `SessionToken` from `credential_process`).
struct CredentialsDocument {
    var credentials: AWSCredentials
    /// IMDS's `Code` (`Success`).
    var code: String?

    enum Problem: Error { case notJSON, missing([String]), badExpiration }

    /// Parses a JSON object with `AccessKeyId`, `SecretAccessKey`, the token under
    /// `tokenKey`, and `Expiration`. Never returns the document's text in an error.
    static func parse(_ data: Data, tokenKey: String, requireToken: Bool, requireExpiration: Bool) throws(Problem)
        -> CredentialsDocument
    {
        guard let object = try? JSONSerialization.jsonObject(with: data), let fields = object as? [String: Any] else {
            throw .notJSON
        }
        func string(_ key: String) -> String? {
            guard let value = fields[key] as? String, !value.isEmpty else { return nil }
            return value
        }
        var missing: [String] = []
        let keyID = string("AccessKeyId")
        let secret = string("SecretAccessKey")
        let token = string(tokenKey)
        let expirationText = string("Expiration")
        if keyID == nil { missing.append("AccessKeyId") }
        if secret == nil { missing.append("SecretAccessKey") }
        if requireToken, token == nil { missing.append(tokenKey) }
        if requireExpiration, expirationText == nil { missing.append("Expiration") }
        guard missing.isEmpty, let keyID, let secret else { throw .missing(missing) }
        var expiration: Date?
        if let expirationText {
            guard let parsed = CredentialTimestamp.parse(expirationText) else { throw .badExpiration }
            expiration = parsed
        }
        return CredentialsDocument(
            credentials: AWSCredentials(
                accessKeyID: keyID, secretAccessKey: secret, sessionToken: token, expiration: expiration),
            code: string("Code"))
    }
}

extension CredentialsDocument.Problem {
    var reason: String {
        switch self {
        case .notJSON: "the answer is not a JSON object"
        case .missing(let fields): "the answer has no \(fields.joined(separator: ", "))"
        case .badExpiration: "the answer's Expiration is not an ISO 8601 time"
        }
    }
}
