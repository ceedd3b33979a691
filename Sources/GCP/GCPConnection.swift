import Foundation
import HTTP
import Logging
import PolicyChange

/// Everything a run needs from Google Cloud for one key: the Cloud KMS
/// provider, Cloud Logging as the audit log, and the dialect with IAM
/// `roles.get` for custom roles.
public struct GCPConnection: Sendable {
    public var provider: CloudKMSProvider
    public var auditLog: CloudLoggingAuditLog
    public var dialect: CloudKMSIAMDialect

    public static let defaultEndpoints = [
        "cloudkms": ("https://cloudkms.googleapis.com/v1/", "v1"),
        "iam": ("https://iam.googleapis.com/v1/", "v1"),
        "logging": ("https://logging.googleapis.com/v2/", "v2"),
    ]

    /// Resolves credentials (ADC) and endpoints; nothing is sent until the first call.
    public static func make(
        target: GCPTarget, environment: [String: String], transport: any HTTPTransport,
        metadataTransport: @Sendable (Set<String>) throws -> any HTTPTransport, logger: Logger,
        readFile: @escaping @Sendable (String) -> Data? = { FileManager.default.contents(atPath: $0) }
    ) throws -> GCPConnection {
        if let unknown = target.endpoints.keys.sorted().first(where: { defaultEndpoints[$0] == nil }) {
            throw ProviderError(.other, "target.gcp.endpoints: unknown service '\(unknown)' (cloudkms, iam, logging)")
        }
        let retrying = RetryingTransport(wrapping: transport, policy: GCPRetry.policy, logger: logger)
        let source = try ApplicationDefaultCredentials.resolve(
            environment: environment, transport: retrying, metadataTransport: metadataTransport, readFile: readFile)
        let tokens = CachingTokenProvider(source: source)
        let quota = environment["GOOGLE_CLOUD_QUOTA_PROJECT"].flatMap { $0.isEmpty ? nil : $0 }
        func client(_ name: String, _ service: String) throws -> GoogleAPIClient {
            let (defaultURL, version) = defaultEndpoints[name]!
            // The runbook's endpoints, else gcloud's CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>.
            let override = target.endpoints[name] ?? environment["CLOUDSDK_API_ENDPOINT_OVERRIDES_\(name.uppercased())"]
            guard let base = GoogleAPIClient.base(override: override, default: defaultURL, version: version) else {
                throw ProviderError(.other, "target.gcp.endpoints.\(name) is not a URL")
            }
            return GoogleAPIClient(service: service, base: base, transport: retrying, tokens: tokens, quotaProject: quota)
        }
        return GCPConnection(
            provider: CloudKMSProvider(target: target, kms: try client("cloudkms", "Cloud KMS"), tokens: tokens, logger: logger),
            auditLog: CloudLoggingAuditLog(logging: try client("logging", "Cloud Logging"), key: target.key),
            dialect: CloudKMSIAMDialect(
                inheritedAdmins: target.inheritedAdmins, resolver: IAMRolesClient(iam: try client("iam", "IAM"))))
    }
}

/// Google's retry rules: 429, 500, 502, 503, 504 and connection errors, with
/// backoff and Retry-After. setIamPolicy is sent as idempotent because its
/// etag makes a repeat safe: a repeat after a landed write gets 409 ABORTED,
/// which the provider resolves by re-reading.
public enum GCPRetry {
    public static var policy: RetryPolicy { RetryPolicy() }
}
