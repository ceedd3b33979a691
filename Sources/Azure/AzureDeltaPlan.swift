import Foundation
import PolicyChange

/// The delta calls that turn the live vault into the proposed one, never a
/// whole-vault or whole-list write.
///
/// ARM's `accessPolicies/add` merges: for an identity (objectId +
/// applicationId) that has an entry it adds the listed permissions to it
/// (a union per category); otherwise it appends the entry. `accessPolicies/remove`
/// subtracts the listed permissions from the identity's entry and drops the
/// entry once it holds none. So an entry whose permissions change is written as
/// `remove` (only the permissions it loses) followed by `add` (its complete
/// proposed permissions): whether `remove` subtracts or drops the whole entry,
/// the entry ends up exactly as proposed. `remove` matches permission names
/// case-sensitively (a differently spelled name is a silent no-op:
/// azure-rest-api-specs issue 42963), so removals always carry the names
/// exactly as the live vault spells them; `add` is case-insensitive. Entries are added before any are
/// removed, and role assignments are created before any are deleted, so access
/// a change keeps is never absent in between.
public struct AzureDeltaPlan: Sendable {
    public enum Operation: String, Sendable { case add, remove }

    public struct AccessPolicyStep: Sendable {
        public var operation: Operation
        public var entries: [JSONValue]
        public var body: JSONValue {
            .object([JSONMember("properties", .object([JSONMember("accessPolicies", .array(entries))]))])
        }
    }

    public var accessPolicySteps: [AccessPolicyStep] = []
    public var assignmentsToCreate: [AzureVaultSnapshot.RoleAssignment] = []
    public var assignmentsToDelete: [AzureVaultSnapshot.RoleAssignment] = []
    /// A live assignment whose condition changes: a PUT on the live assignment's
    /// id with the proposed properties. ARM keeps one assignment per principal,
    /// role and scope, so creating a second one is refused (RoleAssignmentExists)
    /// and deleting the first would leave none.
    public var assignmentsToUpdate: [(live: AzureVaultSnapshot.RoleAssignment, proposed: AzureVaultSnapshot.RoleAssignment)] = []
    /// Proposed assignments ARM cannot hold: the same principal, role and scope
    /// as a live assignment that stays, with another condition.
    public var conflicts: [AzureVaultSnapshot.RoleAssignment] = []

    public var isEmpty: Bool {
        accessPolicySteps.isEmpty && assignmentsToCreate.isEmpty && assignmentsToDelete.isEmpty && assignmentsToUpdate.isEmpty
    }

    /// Vault properties other than access policies and role assignments are
    /// never written: validation stops a change that edits them
    /// (FULL_LIST_REPLACE), and a rollback restores the access it can and lets
    /// verification judge the rest.
    public init(from live: AzureVaultSnapshot, to proposed: AzureVaultSnapshot) {
        let liveByID = Dictionary(live.accessPolicies.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
        let proposedByID = Dictionary(proposed.accessPolicies.map { ($0.identity, $0) }, uniquingKeysWith: { a, _ in a })
        var adds: [JSONValue] = [], changedRemoves: [JSONValue] = [], changedAdds: [JSONValue] = [], removes: [JSONValue] = []
        for entry in proposed.accessPolicies {
            guard let before = liveByID[entry.identity] else {
                adds.append(Self.entry(entry, entry.permissions, tenant: entry.tenantID ?? proposed.tenantID))
                continue
            }
            if (before.tenantID ?? "").lowercased() != (entry.tenantID ?? "").lowercased() {
                // Another tenant is another entry as far as the deltas go: drop the old one, add the new.
                changedRemoves.append(Self.entry(before, before.permissions, tenant: before.tenantID))
                changedAdds.append(Self.entry(entry, entry.permissions, tenant: entry.tenantID))
                continue
            }
            var lost: [String: [String]] = [:]
            var changed = false
            for category in Set(before.permissions.keys).union(entry.permissions.keys) {
                let old = before.permissions[category] ?? [], new = entry.permissions[category] ?? []
                let newSet = AzureVaultSnapshot.permissionSet(new)
                let dropped = old.filter { !newSet.contains($0.lowercased()) }
                if !dropped.isEmpty { lost[category] = dropped }
                if AzureVaultSnapshot.permissionSet(old) != newSet { changed = true }
            }
            guard changed else { continue }
            if !lost.isEmpty { changedRemoves.append(Self.entry(before, lost, tenant: before.tenantID)) }
            changedAdds.append(Self.entry(entry, entry.permissions, tenant: entry.tenantID))
        }
        for entry in live.accessPolicies where proposedByID[entry.identity] == nil {
            removes.append(Self.entry(entry, entry.permissions, tenant: entry.tenantID))
        }
        if !adds.isEmpty { accessPolicySteps.append(AccessPolicyStep(operation: .add, entries: adds)) }
        if !changedRemoves.isEmpty { accessPolicySteps.append(AccessPolicyStep(operation: .remove, entries: changedRemoves)) }
        if !changedAdds.isEmpty { accessPolicySteps.append(AccessPolicyStep(operation: .add, entries: changedAdds)) }
        if !removes.isEmpty { accessPolicySteps.append(AccessPolicyStep(operation: .remove, entries: removes)) }

        let liveTriples = Set((live.roleAssignments ?? []).map(\.triple))
        let proposedTriples = Set((proposed.roleAssignments ?? []).map(\.triple))
        var creating = Set<String>()
        assignmentsToCreate = (proposed.roleAssignments ?? []).filter { !liveTriples.contains($0.triple) && creating.insert($0.triple).inserted }
        assignmentsToDelete = (live.roleAssignments ?? []).filter { !proposedTriples.contains($0.triple) }
        // Same principal, role and scope, another condition: one ARM assignment, updated in place.
        var creates: [AzureVaultSnapshot.RoleAssignment] = []
        for wanted in assignmentsToCreate {
            if let i = assignmentsToDelete.firstIndex(where: { Self.slot($0) == Self.slot(wanted) && $0.id != nil }) {
                assignmentsToUpdate.append((assignmentsToDelete.remove(at: i), wanted))
            } else if (live.roleAssignments ?? []).contains(where: { Self.slot($0) == Self.slot(wanted) }) {
                conflicts.append(wanted)
            } else {
                creates.append(wanted)
            }
        }
        assignmentsToCreate = creates
    }

    /// principal / role / scope, lower-cased: what ARM allows one assignment for.
    static func slot(_ a: AzureVaultSnapshot.RoleAssignment) -> String {
        "\(a.principalID.lowercased())|\(a.roleGUID)|\(AzureVaultSnapshot.normalizedScope(a.scope))"
    }

    static func entry(_ e: AzureVaultSnapshot.AccessPolicy, _ permissions: [String: [String]], tenant: String?) -> JSONValue {
        var members = [JSONMember("tenantId", .string(tenant ?? "")), JSONMember("objectId", .string(e.objectID))]
        if let app = e.applicationID { members.append(JSONMember("applicationId", .string(app))) }
        let perms = permissions.keys.sorted().map { JSONMember($0, .array((permissions[$0] ?? []).map { .string($0) })) }
        members.append(JSONMember("permissions", .object(perms)))
        return .object(members)
    }
}
