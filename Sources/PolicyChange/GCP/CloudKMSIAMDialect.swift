import Foundation

/// Cloud KMS crypto key IAM policies (google.iam.v1.Policy): editing by
/// members of a role's unconditional binding, comparison as the service
/// stores bindings, and the GCP analysis (DESIGN.md §5).
public struct CloudKMSIAMDialect: PolicyDialect {
    /// Members that hold `cloudkms.cryptoKeys.setIamPolicy` through the key
    /// ring, project, folder or organization (`target.gcp.inherited-admins`).
    public var inheritedAdmins: [String]
    let cache: IAMRoleCache
    let resolver: (any IAMRoleResolver)?
    let now: @Sendable () -> Date

    public init(
        customRoles: [IAMRoleDefinition] = [], inheritedAdmins: [String] = [], resolver: (any IAMRoleResolver)? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.inheritedAdmins = inheritedAdmins
        self.cache = IAMRoleCache(customRoles)
        self.resolver = resolver
        self.now = now
    }

    public var cloud: Cloud { .gcp }

    /// The permissions a role grants, or nil when neither the catalogue nor the run knows it.
    public func permissions(of role: String) -> Set<String>? {
        PredefinedKMSRoles.roles[role] ?? cache.permissions(of: role)
    }

    // MARK: Roles from the cloud

    public func prepare(for snapshots: [PolicySnapshot], operations: [ChangeOperation]) async throws {
        guard let resolver else { return }
        var roles = Set<String>()
        for snapshot in snapshots {
            for binding in IAMPolicy.parse(snapshot.document)?.bindings ?? [] { roles.insert(binding.role) }
        }
        for operation in operations {
            switch operation {
            case .addMembers(let role, _), .removeMembers(let role, _): roles.insert(role)
            case .replacePolicy(let file):
                for binding in IAMPolicy.parse(file.contents)?.bindings ?? [] { roles.insert(binding.role) }
            default: break
            }
        }
        for role in roles.sorted() where permissions(of: role) == nil && Self.isResolvable(role) {
            do {
                cache.store(try await resolver.role(named: role))
            } catch let error as ProviderError where error.code == .notFound || error.code == .accessDenied {
                // The role stays unknown: UNKNOWN_ROLE says so, and access through
                // it counts as none (so a requirement that needs it fails).
                continue
            }
        }
    }

    /// Custom roles and predefined ones the catalogue lacks; never the
    /// `…_withcond_…` names of a version-1 read.
    static func isResolvable(_ role: String) -> Bool {
        guard !role.contains("_withcond_") else { return false }
        return IAMRoleDefinition.isCustom(role) || (role.hasPrefix("roles/") && role.count > 6 && !role.dropFirst(6).contains("/"))
    }

    // MARK: Editing

    public func proposedPolicy(from current: PolicySnapshot, applying operations: [ChangeOperation]) throws(PolicyEditError)
        -> PolicySnapshot
    {
        var document = current.document
        var policy: IAMPolicy?
        var edited = false
        for operation in operations {
            switch operation {
            case .replacePolicy(let file):
                guard var replacement = try? JSONParser.parse(file.contents).root, case .object = replacement else {
                    throw PolicyEditError(
                        operation: operation.keyword,
                        message: "\((file.path as NSString).lastPathComponent) is not a JSON object (an IAM policy)")
                }
                // Keep the live etag: the write must be conditional on what was read.
                if let etag = current.etag ?? IAMPolicy.parse(current.document)?.etag {
                    replacement = Self.setting("etag", to: .string(etag), in: replacement)
                    document = Data((replacement.serialized() + "\n").utf8)
                } else {
                    document = file.contents
                }
                policy = nil
                edited = false
            case .addMembers(let role, let members):
                var p = try Self.parsedOrParse(policy, document, for: operation)
                edited = Self.add(members, to: role, in: &p) || edited
                policy = p
            case .removeMembers(let role, let members):
                var p = try Self.parsedOrParse(policy, document, for: operation)
                edited = Self.remove(members, from: role, in: &p) || edited
                policy = p
            default:
                throw PolicyEditError(operation: operation.keyword, message: "is not a GCP IAM policy operation")
            }
        }
        if edited, var policy {
            if policy.hasConditions { policy.version = 3 }
            document = Data((policy.json.serialized() + "\n").utf8)
        }
        let etag = IAMPolicy.parse(document)?.etag ?? current.etag
        return PolicySnapshot(document: document, etag: etag)
    }

    static func parsedOrParse(_ parsed: IAMPolicy?, _ data: Data, for operation: ChangeOperation) throws(PolicyEditError)
        -> IAMPolicy
    {
        if let parsed { return parsed }
        guard let policy = IAMPolicy.parse(data) else {
            throw PolicyEditError(operation: operation.keyword, message: "the policy it edits is not a JSON object (an IAM policy)")
        }
        if let bad = policy.bindings.first(where: { $0.role.contains("_withcond_") }) {
            throw PolicyEditError(
                operation: operation.keyword,
                message: "\(bad.path) has role \(bad.role): the policy was read at version 1 and hides conditional bindings; "
                    + "read it with requestedPolicyVersion=3")
        }
        return policy
    }

    /// Adds members to the role's unconditional binding (created when missing).
    static func add(_ members: [String], to role: String, in policy: inout IAMPolicy) -> Bool {
        if let i = policy.bindings.firstIndex(where: { $0.role == role && $0.condition == nil }) {
            var known = Set(policy.bindings[i].members)
            let added = members.filter { known.insert($0).inserted }
            guard !added.isEmpty else { return false }
            policy.bindings[i].members += added
            return true
        }
        var seen = Set<String>()
        let unique = members.filter { seen.insert($0).inserted }
        guard !unique.isEmpty else { return false }
        policy.bindings.append(IAMBinding(role: role, members: unique, index: policy.bindings.count))
        return true
    }

    /// Removes members from the role's unconditional binding; an emptied binding goes.
    /// Conditional bindings of the role are left as they are.
    static func remove(_ members: [String], from role: String, in policy: inout IAMPolicy) -> Bool {
        guard let i = policy.bindings.firstIndex(where: { $0.role == role && $0.condition == nil }) else { return false }
        let remaining = policy.bindings[i].members.filter { !members.contains($0) }
        guard remaining.count != policy.bindings[i].members.count else { return false }
        if remaining.isEmpty {
            policy.bindings.remove(at: i)
            for j in policy.bindings.indices { policy.bindings[j].index = j }
        } else {
            policy.bindings[i].members = remaining
        }
        return true
    }

    static func setting(_ key: String, to value: JSONValue, in object: JSONValue) -> JSONValue {
        guard case .object(var members) = object else { return object }
        if let i = members.firstIndex(where: { $0.key == key }) {
            members[i].value = value
        } else {
            members.insert(JSONMember(key, value), at: min(1, members.count))
        }
        return .object(members)
    }

    // MARK: Comparing

    /// Bindings as sets of (role, condition, members); etag ignored, and the
    /// version too (it only matters through conditions, which are compared).
    public func isEquivalent(_ a: PolicySnapshot, _ b: PolicySnapshot) -> Bool {
        if a.document == b.document { return true }
        guard let x = IAMPolicy.parse(a.document), let y = IAMPolicy.parse(b.document) else { return false }
        return x.normalizedBindings == y.normalizedBindings
    }

    public func changeSummary(from current: PolicySnapshot, to proposed: PolicySnapshot) -> ChangeSummary {
        let old = IAMPolicy.parse(current.document)?.normalizedBindings ?? [:]
        let new = IAMPolicy.parse(proposed.document)?.normalizedBindings ?? [:]
        func label(_ key: IAMBindingKey) -> String {
            "binding \(key.role)" + (key.condition.map { " if \"\($0.title ?? $0.expression ?? "")\"" } ?? "")
        }
        var entries: [ChangeSummary.Entry] = []
        let keys = Set(old.keys).union(new.keys).sorted { label($0) < label($1) }
        for key in keys {
            let before = old[key] ?? [], after = new[key] ?? []
            if before == after { continue }
            let lines = before.subtracting(after).sorted().map { "- \($0)" } + after.subtracting(before).sorted().map { "+ \($0)" }
            let kind: ChangeSummary.Entry.Kind = before.isEmpty ? .added : after.isEmpty ? .removed : .modified
            entries.append(.init(kind: kind, subject: label(key), details: lines))
        }
        return ChangeSummary(entries: entries)
    }

    public func principalAccessChanges(from current: PolicySnapshot, to proposed: PolicySnapshot, keyIdentifier: String?)
        -> [PrincipalAccessChange]?
    {
        let input = GCPAnalysisInput(
            request: AnalysisRequest(current: current, proposed: proposed), dialect: self)
        return input.accessChanges().map { PrincipalAccessChange(principal: $0.member, gained: $0.gained, lost: $0.lost) }
    }

    // MARK: Analysis

    public func analyze(_ request: AnalysisRequest) -> [Finding] {
        let input = GCPAnalysisInput(request: request, dialect: self)
        return GCPPolicyRules.all.flatMap { rule in input.shouldRun(rule.stage) ? rule.check(input) : [] }
    }
}
