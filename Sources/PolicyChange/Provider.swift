import Foundation

/// A key's access configuration as the cloud returned it: the AWS key policy
/// document, the GCP IAM policy (etag included), the Azure vault resource
/// (plus role assignments in RBAC mode). These bytes are what a backup holds
/// (DESIGN.md §4), so the cloud's own CLI can restore them.
public struct PolicySnapshot: Sendable, Equatable {
    public var document: Data
    /// The cloud's concurrency token for the policy (GCP etag), when it has one.
    public var etag: String?

    public init(document: Data, etag: String? = nil) {
        self.document = document
        self.etag = etag
    }

    public init(text: String, etag: String? = nil) {
        self.init(document: Data(text.utf8), etag: etag)
    }

    public var text: String { String(decoding: document, as: UTF8.self) }
}

/// What the cloud says about the key itself.
public struct KeyDescription: Sendable, Equatable, Codable {
    /// The key's full identifier (ARN, resource id).
    public var identifier: String
    public var enabled: Bool
    /// The cloud's word for the key's state (`Enabled`, `PendingDeletion`, …).
    public var state: String
    public var region: String?
    /// The account, subscription or project that owns the key.
    public var owner: String?

    public init(identifier: String, enabled: Bool, state: String, region: String? = nil, owner: String? = nil) {
        self.identifier = identifier
        self.enabled = enabled
        self.state = state
        self.region = region
        self.owner = owner
    }
}

/// Reads and writes one key's access configuration. One per cloud, plus the
/// file-backed one the crash tests drive.
public protocol KeyPolicyProvider: Sendable {
    var target: Target { get }
    func describeKey() async throws -> KeyDescription
    func readPolicy() async throws -> PolicySnapshot
    /// Makes `proposed` the live policy, but only while the live policy is still
    /// `expectedCurrent`; otherwise throws `ProviderError.concurrentModification`
    /// and writes nothing. (GCP: the etag; AWS: a re-read just before the write;
    /// Azure: deltas computed from `expectedCurrent`.)
    func writePolicy(_ proposed: PolicySnapshot, replacing expectedCurrent: PolicySnapshot) async throws
    /// Who is making the change (ARN, object id, member), for the journal and the lockout check.
    func callerIdentity() async throws -> String?
}

/// One access-denied entry of a cloud's audit log.
public struct AuditEvent: Sendable, Equatable, Codable {
    public var time: Date
    public var principal: String?
    public var action: String?
    public var errorCode: String
    public var id: String?

    public init(time: Date, principal: String? = nil, action: String? = nil, errorCode: String, id: String? = nil) {
        self.time = time
        self.principal = principal
        self.action = action
        self.errorCode = errorCode
        self.id = id
    }
}

/// CloudTrail / Azure Log Analytics / Cloud Logging: access denied on this key.
public protocol AuditLogSource: Sendable {
    /// Access-denied entries for the key between `since` and `until`. `check`
    /// carries the runbook's options for the `audit-log` check (the Azure
    /// Log Analytics workspace).
    func accessDeniedEvents(since: Date, until: Date, check: AuditLogCheck) async throws -> [AuditEvent]
}

/// An error from a cloud or its credentials, in words a user can act on.
public struct ProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable, Codable {
        case credentials, authentication, accessDenied, notFound, invalidState, malformedPolicy,
            policyTooLarge, concurrentModification, throttled, unavailable, unsupported, invalidResponse, other
    }

    public var code: Code
    /// One line, no secrets.
    public var message: String
    /// The cloud's own error code (`AccessDeniedException`, `AADSTS7000215`, `ABORTED`), when it gave one.
    public var serviceCode: String?
    public var httpStatus: Int?

    public init(_ code: Code, _ message: String, serviceCode: String? = nil, httpStatus: Int? = nil) {
        self.code = code
        self.message = message
        self.serviceCode = serviceCode
        self.httpStatus = httpStatus
    }

    public var description: String { message }

    /// The cloud could not answer now (timeouts, 5xx, throttling that outlasted
    /// retries). A check that meets it is inconclusive, not failed.
    public var isTransient: Bool { code == .throttled || code == .unavailable }

    public static func concurrentModification(_ message: String) -> ProviderError {
        ProviderError(.concurrentModification, message)
    }
}
