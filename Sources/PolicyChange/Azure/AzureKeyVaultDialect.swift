import Foundation
import Synchronization

/// Fetches role definitions the pinned catalogue does not know (custom roles).
/// The Azure adapter implements it over ARM; offline there is none.
public protocol AzureRoleDefinitionResolver: Sendable {
    /// `GET /subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName eq '…'`
    func roleDefinition(named name: String) async throws -> AzureRoleDefinition?
    /// `GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}`
    func roleDefinition(guid: String) async throws -> AzureRoleDefinition?
}

/// Built-in roles plus the ones `prepare` fetched.
final class AzureRoleCatalogue: Sendable {
    private let fetched = Mutex<[AzureRoleDefinition]>([])

    func role(named name: String) -> AzureRoleDefinition? {
        KeyVaultRoles.builtIn(named: name)
            ?? fetched.withLock { $0.first { $0.name.caseInsensitiveCompare(name) == .orderedSame } }
    }

    func role(guid: String) -> AzureRoleDefinition? {
        KeyVaultRoles.builtIn(guid: guid) ?? fetched.withLock { $0.first { $0.guid == guid.lowercased() } }
    }

    func add(_ role: AzureRoleDefinition) {
        fetched.withLock { list in if !list.contains(role) { list.append(role) } }
    }
}

/// Azure Key Vault access: access policies or RBAC role assignments (pure).
public struct AzureKeyVaultDialect: PolicyDialect {
    public var cloud: Cloud { .azure }
    /// The runbook's `target.azure.model`, when pinned.
    public var pinnedModel: AzurePermissionModel?
    /// The key's name in the vault, for `scope: key` assignments and key-scope required access.
    public var keyName: String?
    let resolver: (any AzureRoleDefinitionResolver)?
    let catalogue = AzureRoleCatalogue()

    public init(
        pinnedModel: AzurePermissionModel? = nil, keyName: String? = nil, resolver: (any AzureRoleDefinitionResolver)? = nil
    ) {
        self.pinnedModel = pinnedModel
        self.keyName = keyName
        self.resolver = resolver
    }

    public func role(named name: String) -> AzureRoleDefinition? { catalogue.role(named: name) }
    public func role(guid: String) -> AzureRoleDefinition? { catalogue.role(guid: guid) }

    // MARK: prepare

    public func prepare(for snapshots: [PolicySnapshot], operations: [ChangeOperation]) async throws {
        guard let resolver else { return }
        for operation in operations {
            switch operation {
            case .addRoleAssignment(_, let role, _), .removeRoleAssignment(_, let role, _):
                if Self.isGUID(role) {
                    if catalogue.role(guid: role) == nil, let found = try await resolver.roleDefinition(guid: role) { catalogue.add(found) }
                } else if catalogue.role(named: role) == nil {
                    guard let found = try await resolver.roleDefinition(named: role) else {
                        throw ProviderError(.notFound, "no role definition named '\(role)' in the subscription; check the spelling")
                    }
                    catalogue.add(found)
                }
            default: continue
            }
        }
        for snapshot in snapshots {
            guard let vault = try? AzureVaultSnapshot.parse(snapshot) else { continue }
            for assignment in vault.roleAssignments ?? [] where catalogue.role(guid: assignment.roleGUID) == nil {
                if let found = try await resolver.roleDefinition(guid: assignment.roleGUID) { catalogue.add(found) }
            }
        }
    }

    static func isGUID(_ text: String) -> Bool { UUID(uuidString: text) != nil }

    // MARK: Equivalence and summary

    public func isEquivalent(_ a: PolicySnapshot, _ b: PolicySnapshot) -> Bool {
        guard let x = try? AzureVaultSnapshot.parse(a), let y = try? AzureVaultSnapshot.parse(b) else {
            return a.document == b.document
        }
        return x.canonicalForm == y.canonicalForm
    }

    /// Delta calls land one by one: every access-policy entry and role
    /// assignment the write leaves alone is as in `start`; every one it
    /// changes holds no permission that neither `start` nor `target` gives it;
    /// the vault's other properties are as in `start`.
    public func isPartialWrite(_ live: PolicySnapshot, from start: PolicySnapshot, to target: PolicySnapshot) -> Bool {
        guard let l = try? AzureVaultSnapshot.parse(live), let a = try? AzureVaultSnapshot.parse(start),
            let b = try? AzureVaultSnapshot.parse(target)
        else { return false }
        guard (l.tenantID ?? "").lowercased() == (a.tenantID ?? "").lowercased(),
            l.enableRbacAuthorization == a.enableRbacAuthorization, l.enableSoftDelete == a.enableSoftDelete,
            l.enablePurgeProtection == a.enablePurgeProtection,
            l.networkAcls.map(AzureVaultSnapshot.canonicalJSON) == a.networkAcls.map(AzureVaultSnapshot.canonicalJSON)
        else { return false }
        typealias Grants = [String: Set<String>]
        func byIdentity(_ v: AzureVaultSnapshot) -> [String: (tenant: String, grants: Grants)]? {
            var out: [String: (tenant: String, grants: Grants)] = [:]
            for e in v.accessPolicies {
                guard out[e.identity] == nil else { return nil }  // duplicates: not a state deltas produce
                var grants: Grants = [:]
                for (category, names) in e.permissions where !names.isEmpty {
                    grants[category.lowercased(), default: []].formUnion(AzureVaultSnapshot.permissionSet(names))
                }
                out[e.identity] = ((e.tenantID ?? "").lowercased(), grants)
            }
            return out
        }
        guard let lp = byIdentity(l), let ap = byIdentity(a), let bp = byIdentity(b) else { return false }
        for identity in Set(lp.keys).union(ap.keys).union(bp.keys) {
            let before = ap[identity], after = bp[identity], now = lp[identity]
            let untouched = before?.tenant == after?.tenant && before?.grants == after?.grants
            if untouched {
                guard now?.tenant == before?.tenant, now?.grants == before?.grants else { return false }
                continue
            }
            guard let now else { continue }  // a changing entry may be absent in between
            guard now.tenant == before?.tenant || now.tenant == after?.tenant else { return false }
            for (category, names) in now.grants {
                let allowed = (before?.grants[category] ?? []).union(after?.grants[category] ?? [])
                guard names.isSubset(of: allowed) else { return false }
            }
        }
        let lt = Set((l.roleAssignments ?? []).map(\.triple)), at = Set((a.roleAssignments ?? []).map(\.triple))
        let bt = Set((b.roleAssignments ?? []).map(\.triple))
        return at.intersection(bt).isSubset(of: lt) && lt.isSubset(of: at.union(bt))
    }

    public func changeSummary(from current: PolicySnapshot, to proposed: PolicySnapshot) -> ChangeSummary {
        guard let old = try? AzureVaultSnapshot.parse(current), let new = try? AzureVaultSnapshot.parse(proposed) else {
            return ChangeSummary()
        }
        var entries: [ChangeSummary.Entry] = []
        let oldByID = Dictionary(old.accessPolicies.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
        let newByID = Dictionary(new.accessPolicies.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
        for entry in new.accessPolicies where oldByID[entry.identity] == nil {
            entries.append(.init(kind: .added, subject: "access policy \(Self.describe(entry))", details: Self.permissionLines(entry, "+")))
        }
        for entry in old.accessPolicies where newByID[entry.identity] == nil {
            entries.append(.init(kind: .removed, subject: "access policy \(Self.describe(entry))", details: Self.permissionLines(entry, "-")))
        }
        for entry in new.accessPolicies {
            guard let before = oldByID[entry.identity] else { continue }
            var details: [String] = []
            for category in Set(entry.permissions.keys).union(before.permissions.keys).sorted() {
                let a = AzureVaultSnapshot.permissionSet(before.permissions[category] ?? [])
                let b = AzureVaultSnapshot.permissionSet(entry.permissions[category] ?? [])
                details += b.subtracting(a).sorted().map { "+ \(category): \(KeyVaultRoles.displayName($0))" }
                details += a.subtracting(b).sorted().map { "- \(category): \(KeyVaultRoles.displayName($0))" }
            }
            if !details.isEmpty { entries.append(.init(kind: .modified, subject: "access policy \(Self.describe(entry))", details: details)) }
        }
        let oldTriples = Set((old.roleAssignments ?? []).map(\.triple))
        let newTriples = Set((new.roleAssignments ?? []).map(\.triple))
        for a in new.roleAssignments ?? [] where !oldTriples.contains(a.triple) {
            entries.append(.init(kind: .added, subject: "role assignment \(describe(a))"))
        }
        for a in old.roleAssignments ?? [] where !newTriples.contains(a.triple) {
            entries.append(.init(kind: .removed, subject: "role assignment \(describe(a))"))
        }
        if old.enableRbacAuthorization != new.enableRbacAuthorization {
            entries.append(.init(kind: .modified, subject: "permission model", details: ["\(old.model.rawValue) → \(new.model.rawValue)"]))
        }
        return ChangeSummary(entries: entries)
    }

    static func describe(_ entry: AzureVaultSnapshot.AccessPolicy) -> String {
        entry.applicationID.map { "\(entry.objectID) (application \($0))" } ?? entry.objectID
    }

    static func permissionLines(_ entry: AzureVaultSnapshot.AccessPolicy, _ sign: String) -> [String] {
        entry.permissions.keys.sorted().flatMap { category in (entry.permissions[category] ?? []).map { "\(sign) \(category): \($0)" } }
    }

    func describe(_ a: AzureVaultSnapshot.RoleAssignment) -> String {
        let role = catalogue.role(guid: a.roleGUID)?.name ?? a.roleGUID
        return "\(role) → \(a.principalID) at \(a.scope)\(a.condition == nil ? "" : " (with a condition)")"
    }
}
