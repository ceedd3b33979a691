import Foundation

/// A runbook, schema v1 (DESIGN.md §3): one change to one key's access policy
/// and the procedure that applies it. Values here are already checked and
/// resolved: `${VAR}`s substituted, relative paths made absolute, referenced
/// files read. The core never reads a file itself.
public struct Runbook: Sendable, Equatable {
    public static let schemaVersion = 1

    public var version: Int
    /// `[a-z0-9-]+`
    public var name: String
    public var description: String?
    public var changeTicket: String?
    public var target: Target
    public var change: [ChangeOperation]
    public var require: [Requirement]
    public var window: MaintenanceWindow?
    /// The steps, in order. When the runbook omits `steps` this is `Step.defaultProcedure`.
    public var steps: [Step]
    public var rollback: RollbackPolicy
    /// Where the runbook came from (absolute path), for messages and the journal.
    public var source: String?

    public init(
        version: Int = Runbook.schemaVersion,
        name: String,
        description: String? = nil,
        changeTicket: String? = nil,
        target: Target,
        change: [ChangeOperation] = [],
        require: [Requirement] = [],
        window: MaintenanceWindow? = nil,
        steps: [Step] = Step.defaultProcedure,
        rollback: RollbackPolicy = RollbackPolicy(),
        source: String? = nil
    ) {
        self.version = version
        self.name = name
        self.description = description
        self.changeTicket = changeTicket
        self.target = target
        self.change = change
        self.require = require
        self.window = window
        self.steps = steps
        self.rollback = rollback
        self.source = source
    }
}

/// Where a value came from in a runbook file, for located messages.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

public enum Cloud: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case aws, azure, gcp
    public var description: String { rawValue }
}

// MARK: - Target

public enum Target: Sendable, Equatable {
    case aws(AWSTarget)
    case azure(AzureTarget)
    case gcp(GCPTarget)

    public var cloud: Cloud {
        switch self {
        case .aws: .aws
        case .azure: .azure
        case .gcp: .gcp
        }
    }

    /// The key's identifier as the cloud names it (ARN, vault id + key name, resource name).
    public var keyIdentifier: String {
        switch self {
        case .aws(let t): t.key
        case .azure(let t): "\(t.vault)/keys/\(t.key)"
        case .gcp(let t): t.key
        }
    }
}

extension Runbook {
    /// The runbook asks for KMS's lockout safety check to be bypassed (never honoured).
    public var requestsLockoutBypass: Bool {
        if case .aws(let target) = target { return target.bypassPolicyLockoutSafetyCheck }
        return false
    }
}

public struct AWSTarget: Sendable, Equatable, Codable {
    /// Key ARN, key id or alias (`alias/…`).
    public var key: String
    public var region: String?
    public var profile: String?
    /// Endpoint overrides by service name (`kms`, `sts`, `cloudtrail`, `access-analyzer`).
    public var endpoints: [String: String]
    /// The runbook asks for KMS's `BypassPolicyLockoutSafetyCheck`. The tool
    /// never sends it; validation reports `BYPASS_LOCKOUT_SAFETY_CHECK_REQUESTED`.
    public var bypassPolicyLockoutSafetyCheck: Bool

    public init(
        key: String, region: String? = nil, profile: String? = nil, endpoints: [String: String] = [:],
        bypassPolicyLockoutSafetyCheck: Bool = false
    ) {
        self.key = key
        self.region = region
        self.profile = profile
        self.endpoints = endpoints
        self.bypassPolicyLockoutSafetyCheck = bypassPolicyLockoutSafetyCheck
    }

    private enum CodingKeys: String, CodingKey { case key, region, profile, endpoints, bypassPolicyLockoutSafetyCheck }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        region = try c.decodeIfPresent(String.self, forKey: .region)
        profile = try c.decodeIfPresent(String.self, forKey: .profile)
        endpoints = try c.decodeIfPresent([String: String].self, forKey: .endpoints) ?? [:]
        // Journals written before the field existed lack it.
        bypassPolicyLockoutSafetyCheck = try c.decodeIfPresent(Bool.self, forKey: .bypassPolicyLockoutSafetyCheck) ?? false
    }
}

public enum AzurePermissionModel: String, Sendable, Equatable, Codable, CaseIterable {
    case accessPolicy = "access-policy"
    case rbac
}

public struct AzureTarget: Sendable, Equatable, Codable {
    /// ARM resource id of the vault.
    public var vault: String
    /// Key name in the vault.
    public var key: String
    /// Pinned permission model; nil = read from the vault's `enableRbacAuthorization`.
    public var model: AzurePermissionModel?
    public var endpoints: [String: String]

    public init(vault: String, key: String, model: AzurePermissionModel? = nil, endpoints: [String: String] = [:]) {
        self.vault = vault
        self.key = key
        self.model = model
        self.endpoints = endpoints
    }
}

public struct GCPTarget: Sendable, Equatable, Codable {
    /// `projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>`
    public var key: String
    /// Endpoint overrides by service name (`cloudkms`, `iam`, `logging`).
    public var endpoints: [String: String]
    /// Members that hold `cloudkms.cryptoKeys.setIamPolicy` on the key through
    /// its key ring, project, folder or organization (`inherited-admins`),
    /// counted by the `ADMIN_LOCKOUT` check.
    public var inheritedAdmins: [String]

    public init(key: String, endpoints: [String: String] = [:], inheritedAdmins: [String] = []) {
        self.key = key
        self.endpoints = endpoints
        self.inheritedAdmins = inheritedAdmins
    }

    private enum CodingKeys: String, CodingKey { case key, endpoints, inheritedAdmins }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        endpoints = try c.decodeIfPresent([String: String].self, forKey: .endpoints) ?? [:]
        inheritedAdmins = try c.decodeIfPresent([String].self, forKey: .inheritedAdmins) ?? []
    }
}

// MARK: - Change

/// A file a runbook names, read by the loader so the core never does I/O.
public struct AttachedFile: Sendable, Equatable {
    /// Absolute path.
    public var path: String
    public var contents: Data

    public init(path: String, contents: Data) {
        self.path = path
        self.contents = contents
    }
}

/// One operation of the `change:` list, in order.
public enum ChangeOperation: Sendable, Equatable {
    // Any cloud: the whole proposed policy (AWS key policy JSON, GCP IAM policy JSON).
    case replacePolicy(AttachedFile)
    // AWS
    case addStatements(AttachedFile)
    case addPrincipals(sid: String, principals: [String])
    case removeStatements(sids: [String])
    // GCP
    case addMembers(role: String, members: [String])
    case removeMembers(role: String, members: [String])
    // Azure, access-policy model
    case addAccessPolicy(AccessPolicyEntry)
    case removeAccessPolicy(objectID: String, applicationID: String?)
    // Azure, RBAC model
    case addRoleAssignment(principalID: String, role: String, scope: RoleAssignmentScope)
    case removeRoleAssignment(principalID: String, role: String, scope: RoleAssignmentScope?)

    /// The runbook key that spells this operation.
    public var keyword: String {
        switch self {
        case .replacePolicy: "replace-policy"
        case .addStatements: "add-statements"
        case .addPrincipals: "add-principals"
        case .removeStatements: "remove-statements"
        case .addMembers: "add-members"
        case .removeMembers: "remove-members"
        case .addAccessPolicy: "add-access-policy"
        case .removeAccessPolicy: "remove-access-policy"
        case .addRoleAssignment: "add-role-assignment"
        case .removeRoleAssignment: "remove-role-assignment"
        }
    }

    /// The clouds whose policies this operation applies to.
    public var clouds: Set<Cloud> {
        switch self {
        case .replacePolicy: [.aws, .gcp]
        case .addStatements, .addPrincipals, .removeStatements: [.aws]
        case .addMembers, .removeMembers: [.gcp]
        case .addAccessPolicy, .removeAccessPolicy, .addRoleAssignment, .removeRoleAssignment: [.azure]
        }
    }

    public static let keywords = [
        "replace-policy", "add-statements", "add-principals", "remove-statements",
        "add-members", "remove-members", "add-access-policy", "remove-access-policy",
        "add-role-assignment", "remove-role-assignment",
    ]
}

/// An Azure Key Vault access-policy entry to add (`add-access-policy`).
public struct AccessPolicyEntry: Sendable, Equatable, Codable {
    public var objectID: String
    /// Set only for a compound identity (DESIGN §5 `COMPOUND_IDENTITY`).
    public var applicationID: String?
    /// Defaults to the vault's tenant.
    public var tenantID: String?
    public var keys: [String]
    public var secrets: [String]
    public var certificates: [String]

    public init(
        objectID: String, applicationID: String? = nil, tenantID: String? = nil,
        keys: [String] = [], secrets: [String] = [], certificates: [String] = []
    ) {
        self.objectID = objectID
        self.applicationID = applicationID
        self.tenantID = tenantID
        self.keys = keys
        self.secrets = secrets
        self.certificates = certificates
    }
}

public enum RoleAssignmentScope: String, Sendable, Equatable, Codable, CaseIterable {
    case key, vault
}

// MARK: - Require

/// Access that must hold after the change (checked before apply and after).
public struct Requirement: Sendable, Equatable {
    /// AWS principal ARN | GCP member | Azure object id.
    public var principal: String
    /// KMS actions | IAM permissions | Key Vault key permissions, as written.
    public var actions: [String]
    /// A documented permission set for the target's cloud, added to `actions`.
    public var preset: RequirementPreset?
    public var location: SourceLocation?

    public init(principal: String, actions: [String] = [], preset: RequirementPreset? = nil, location: SourceLocation? = nil) {
        self.principal = principal
        self.actions = actions
        self.preset = preset
        self.location = location
    }
}

public enum RequirementPreset: String, Sendable, Equatable, Codable, CaseIterable {
    /// The permissions Confluent Cloud's documents give for a self-managed key
    /// (shared/seeds/000_6ca2e646aeec9a3f.txt for AWS).
    case confluent

    public func actions(for cloud: Cloud) -> [String] {
        switch (self, cloud) {
        case (.confluent, .aws):
            // The two statements the Confluent console asks to paste.
            [
                "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
                "kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant",
            ]
        case (.confluent, .azure):
            ["get", "wrapKey", "unwrapKey"]
        case (.confluent, .gcp):
            [
                "cloudkms.cryptoKeyVersions.useToDecrypt", "cloudkms.cryptoKeyVersions.useToEncrypt",
                "cloudkms.cryptoKeys.get",
            ]
        }
    }
}

extension Requirement {
    /// `actions` plus the preset's, without repeats, in order.
    public func effectiveActions(for cloud: Cloud) -> [String] {
        var seen = Set<String>()
        return (actions + (preset?.actions(for: cloud) ?? [])).filter { seen.insert($0).inserted }
    }
}

// MARK: - Window

/// Outside the window `run` stops before apply (exit 4) unless `--ignore-window`.
public struct MaintenanceWindow: Sendable, Equatable, Codable {
    public var start: Date
    public var end: Date

    public init(start: Date, end: Date) {
        self.start = start
        self.end = end
    }

    public func contains(_ date: Date) -> Bool { date >= start && date < end }
}

// MARK: - Rollback

public struct RollbackPolicy: Sendable, Equatable {
    /// Any failure after apply restores the backup.
    public var automatic: Bool
    /// Re-read the policy after restoring and compare it with the backup.
    public var verify: Bool
    /// Optional recovery watch after restoring.
    public var monitor: Duration?

    public init(automatic: Bool = true, verify: Bool = true, monitor: Duration? = nil) {
        self.automatic = automatic
        self.verify = verify
        self.monitor = monitor
    }
}
