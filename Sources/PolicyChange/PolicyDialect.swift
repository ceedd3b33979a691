import Foundation

/// A cloud's policy language: how change operations edit a snapshot, what the
/// analysis finds in it, and when two snapshots mean the same thing. Pure: the
/// engine and `plan` share it, and `validate` runs it offline.
public protocol PolicyDialect: Sendable {
    var cloud: Cloud { get }

    /// The proposed snapshot: `current` with `operations` applied in order.
    /// Operations are idempotent: applying them to their own result changes nothing.
    func proposedPolicy(from current: PolicySnapshot, applying operations: [ChangeOperation]) throws(PolicyEditError)
        -> PolicySnapshot

    /// Findings for a proposed snapshot (and, with `current`, for the change).
    func analyze(_ request: AnalysisRequest) -> [Finding]

    /// Whether two snapshots grant the same thing as the cloud stores them
    /// (formatting and member order aside). Drift and verification use it.
    func isEquivalent(_ a: PolicySnapshot, _ b: PolicySnapshot) -> Bool

    /// What changes between two snapshots, for plans and reviewers.
    func changeSummary(from current: PolicySnapshot, to proposed: PolicySnapshot) -> ChangeSummary

    /// What each principal gains and loses between two snapshots, or nil when
    /// the dialect does not evaluate access per principal.
    func principalAccessChanges(from current: PolicySnapshot, to proposed: PolicySnapshot, keyIdentifier: String?)
        -> [PrincipalAccessChange]?

    /// Fetches from the cloud what the dialect needs before it edits or
    /// analyses these snapshots with these operations: GCP custom roles
    /// (`roles.get`), Azure role definitions. The engine and `plan` call it
    /// before `proposedPolicy` and `analyze`; a dialect built offline has
    /// nothing to fetch. Throws `ProviderError`.
    func prepare(for snapshots: [PolicySnapshot], operations: [ChangeOperation]) async throws

    /// Whether `live` is what an interrupted write from `start` towards
    /// `target` can leave: only the parts the write changes differ from
    /// `start`, each no further than `target`. Clouds whose write is one call
    /// (all or nothing) never leave one; Azure writes by several delta calls.
    /// Rollback treats such a state as this run's own, not someone else's.
    func isPartialWrite(_ live: PolicySnapshot, from start: PolicySnapshot, to target: PolicySnapshot) -> Bool
}

extension PolicyDialect {
    public func prepare(for snapshots: [PolicySnapshot], operations: [ChangeOperation]) async throws {}

    public func isPartialWrite(_ live: PolicySnapshot, from start: PolicySnapshot, to target: PolicySnapshot) -> Bool { false }

    public func principalAccessChanges(from current: PolicySnapshot, to proposed: PolicySnapshot, keyIdentifier: String?)
        -> [PrincipalAccessChange]?
    {
        nil
    }
}

public struct AnalysisRequest: Sendable {
    /// The live policy; nil runs only document, grammar and required-access checks.
    public var current: PolicySnapshot?
    public var proposed: PolicySnapshot
    public var requirements: [Requirement]
    /// Who makes the change, for lockout checks.
    public var caller: String?
    /// The key's identifier (ARN, resource name) when known.
    public var keyIdentifier: String?
    /// The file the proposed policy came from, so findings carry line:column in it.
    public var proposedFile: String?
    /// The change asks the cloud to skip its own lockout safety check
    /// (KMS `BypassPolicyLockoutSafetyCheck`); reported, never done silently.
    public var bypassLockoutSafetyCheck: Bool

    public init(
        current: PolicySnapshot? = nil, proposed: PolicySnapshot, requirements: [Requirement] = [],
        caller: String? = nil, keyIdentifier: String? = nil, proposedFile: String? = nil,
        bypassLockoutSafetyCheck: Bool = false
    ) {
        self.bypassLockoutSafetyCheck = bypassLockoutSafetyCheck
        self.current = current
        self.proposed = proposed
        self.requirements = requirements
        self.caller = caller
        self.keyIdentifier = keyIdentifier
        self.proposedFile = proposedFile
    }
}

/// A change operation that cannot be applied to the live policy.
public struct PolicyEditError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var message: String
    public init(operation: String, message: String) {
        self.operation = operation
        self.message = message
    }
    public var description: String { "\(operation): \(message)" }
}

/// What a change adds, removes and modifies, in words a reviewer reads.
public struct ChangeSummary: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Codable { case added, removed, modified }
        public var kind: Kind
        /// `statement "Allow use of the key"`, `binding roles/cloudkms.viewer`, …
        public var subject: String
        /// Principals, actions or members gained or lost, one per line (`+ kms:Decrypt`).
        public var details: [String]

        public init(kind: Kind, subject: String, details: [String] = []) {
            self.kind = kind
            self.subject = subject
            self.details = details
        }
    }

    public var entries: [Entry]
    public init(entries: [Entry] = []) { self.entries = entries }
    public var isEmpty: Bool { entries.isEmpty }
}

/// The dialects the core knows, offline (no cloud to ask for custom roles).
public enum PolicyDialects {
    /// A cloud's dialect, knowing nothing about a particular key.
    public static func dialect(for cloud: Cloud) -> any PolicyDialect {
        switch cloud {
        case .aws: AWSKeyPolicyDialect()
        case .azure: AzureKeyVaultDialect()
        case .gcp: CloudKMSIAMDialect()
        }
    }

    /// A cloud's dialect configured by what a runbook's target says: Azure's
    /// pinned permission model and key name, GCP's inherited administrators.
    public static func dialect(for target: Target) -> any PolicyDialect {
        switch target {
        case .aws: AWSKeyPolicyDialect()
        case .azure(let azure): AzureKeyVaultDialect(pinnedModel: azure.model, keyName: azure.key)
        case .gcp(let gcp): CloudKMSIAMDialect(inheritedAdmins: gcp.inheritedAdmins)
        }
    }
}

/// A cloud's own policy validator (IAM Access Analyzer's ValidatePolicy),
/// whose findings are merged with the local ones, marked by source.
public protocol RemotePolicyValidator: Sendable {
    func validate(_ policy: PolicySnapshot, file: String?) async throws -> [Finding]
}
