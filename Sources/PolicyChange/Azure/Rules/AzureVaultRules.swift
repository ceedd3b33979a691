import Foundation

typealias X = AzureRuleExample

// MARK: - Document

struct AzureJSONSyntaxErrorRule: AzureVaultRule {
    static let id = "JSON_SYNTAX_ERROR"
    static let severity = Severity.error
    static let description = "The vault snapshot is not valid JSON."
    static let fix = "Fix the JSON at the reported line and column (a backup file is what `az keyvault show` prints)."
    static let triggering: [X] = [#"{"id": "/subscriptions/x", "properties": {"#]
    static let nonTriggering: [X] = [X(proposed: X.vault())]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let error = input.syntaxError else { return [] }
        return [Finding(code: id, severity: severity, message: error.message, line: error.position.line, column: error.position.column, file: input.file)]
    }
}

struct AzureDuplicateJSONKeyRule: AzureVaultRule {
    static let id = "DUPLICATE_JSON_KEY"
    static let severity = Severity.error
    static let description = "An object holds the same member twice; readers disagree on which one wins."
    static let fix = "Keep one of the members."
    static let triggering: [X] = [#"{"id":"/subscriptions/x","name":"a","name":"b","properties":{}}"#]
    static let nonTriggering: [X] = [X(proposed: X.vault())]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        (input.document?.duplicateKeys ?? []).map { dup in
            Finding(
                code: id, severity: severity, message: "duplicate member '\(dup.path)'", path: dup.path, line: dup.position.line,
                column: dup.position.column, file: input.file)
        }
    }
}

struct AzureInvalidPolicyElementRule: AzureVaultRule {
    static let id = "INVALID_POLICY_ELEMENT"
    static let severity = Severity.error
    static let description = "A member the analysis reads has the wrong JSON type, or a required one is missing: the root and `properties` are objects, `accessPolicies` and `roleAssignments` arrays of objects, an entry has a string `objectId` and a `permissions` object of string arrays, an assignment has `properties` with string `principalId` and `roleDefinitionId`, and `enableRbacAuthorization`, `enableSoftDelete` and `enablePurgeProtection` are booleans. Such a snapshot cannot be read faithfully, so nothing else said about it can be trusted. Members the analysis does not read (`sku`, `systemData`, `networkAcls`, …) are not checked."
    static let fix = "Give the member the type ARM uses (start from `az keyvault show` output); a permission list is an array of names, e.g. `\"keys\": [\"get\", \"wrapKey\"]`."
    static let triggering: [X] = [
        X(proposed: #"{"id":"\#(X.vaultID)","properties":{"tenantId":"\#(X.tenant)","accessPolicies":{"tenantId":"\#(X.tenant)","objectId":"\#(X.service)","permissions":{"keys":["get"]}}}}"#),
        X(proposed: #"{"id":"\#(X.vaultID)","properties":{"tenantId":"\#(X.tenant)","accessPolicies":[{"tenantId":"\#(X.tenant)","objectId":"\#(X.service)","permissions":{"keys":["get",["wrapKey"]]}}]}}"#),
        X(proposed: #"{"id":"\#(X.vaultID)","properties":{"tenantId":"\#(X.tenant)","accessPolicies":[],"enableRbacAuthorization":"true"},"roleAssignments":[{"properties":{"roleDefinitionId":"\#(X.cryptoUser)","scope":"\#(X.vaultID)"}}]}"#),
        X(proposed: #"{"id":"\#(X.vaultID)","name":"kv1"}"#),
    ]
    static let nonTriggering: [X] = [
        X(proposed: X.vault([X.entry(X.service, keys: ["get", "wrapKey", "unwrapKey"])])),
        X(proposed: X.vault(rbac: true, assignments: [X.assignment(X.service, role: X.cryptoUser, key: true)])),
        X(proposed: #"{"id":"\#(X.vaultID)","properties":{"tenantId":"\#(X.tenant)","enablePurgeProtection":null,"sku":"standard","networkAcls":[]}}"#),
    ]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        var found: [Finding] = []
        if let root = input.document?.root {
            found += AzureVaultSnapshot.shapeProblems(root).map { $0.finding(id, severity, document: input.document, file: input.file) }
        }
        if let current = input.current {
            found += AzureVaultSnapshot.shapeProblems(current.root).map { $0.finding(id, severity, document: nil, file: nil, prefix: "in the current snapshot: ") }
        }
        return found
    }
}

// MARK: - Vault

struct PermissionModelMismatchRule: AzureVaultRule {
    static let id = "PERMISSION_MODEL_MISMATCH"
    static let severity = Severity.error
    static let description = "The runbook pins a permission model (`target.azure.model`) that the vault does not use (`enableRbacAuthorization`)."
    static let fix = "Remove `model` from the target, or set it to the vault's model (rbac when enableRbacAuthorization is true, access-policy otherwise)."
    static let triggering: [X] = [X(proposed: X.vault(), pinnedModel: .rbac)]
    static let nonTriggering: [X] = [X(proposed: X.vault(), pinnedModel: .accessPolicy), X(proposed: X.vault(rbac: true), pinnedModel: .rbac)]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let pinned = input.pinnedModel, let vault = input.current ?? input.proposed, pinned != vault.model else { return [] }
        return [finding(input, "the runbook pins the \(pinned.rawValue) model but the vault uses \(vault.model.rawValue) (enableRbacAuthorization: \(vault.enableRbacAuthorization)); changes made in the other model have no effect", at: "properties.enableRbacAuthorization")]
    }
}

struct PermissionModelChangedRule: AzureVaultRule {
    static let id = "PERMISSION_MODEL_CHANGED"
    static let severity = Severity.error
    static let description = "The change switches the vault between access policies and RBAC: every existing grant stops counting at once."
    static let fix = "Switch models in a change of its own, after granting every identity its access in the new model; never together with other edits."
    static let triggering: [X] = [X(proposed: X.vault(rbac: true), current: X.vault())]
    static let nonTriggering: [X] = [X(proposed: X.vault([X.entry(X.service, keys: ["get"])]), current: X.vault())]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let old = input.current, let new = input.proposed, old.model != new.model else { return [] }
        return [finding(input, "the permission model changes from \(old.model.rawValue) to \(new.model.rawValue); every grant of the old model stops working", at: "properties.enableRbacAuthorization")]
    }
}

struct TenantMismatchRule: AzureVaultRule {
    static let id = "TENANT_MISMATCH"
    static let severity = Severity.error
    static let description = "An access-policy entry names a tenant other than the vault's; Key Vault only authenticates identities of the vault's tenant."
    static let fix = "Use the vault's tenantId for the entry (omit `tenant-id` in `add-access-policy`)."
    static let triggering: [X] = [X(proposed: X.vault([X.entry(X.service, keys: ["get"], tenant: "00000000-0000-0000-0000-000000000009")]))]
    static let nonTriggering: [X] = [X(proposed: X.vault([X.entry(X.service, keys: ["get"], tenant: X.tenant.uppercased())]))]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let vault = input.proposed, let tenant = vault.tenantID else { return [] }
        return vault.accessPolicies.compactMap { entry in
            guard let t = entry.tenantID, t.lowercased() != tenant.lowercased() else { return nil }
            return finding(input, "the entry for \(entry.objectID) names tenant \(t), the vault's tenant is \(tenant)", at: entry.path + ".tenantId")
        }
    }
}

struct DuplicateObjectIDRule: AzureVaultRule {
    static let id = "DUPLICATE_OBJECT_ID"
    static let severity = Severity.error
    static let description = "Two access-policy entries name the same identity (objectId, and applicationId if any); which one Key Vault applies is not defined."
    static let fix = "Merge the entries into one."
    static let triggering: [X] = [X(proposed: X.vault([X.entry(X.service, keys: ["get"]), X.entry(X.service.uppercased(), keys: ["wrapKey"])]))]
    static let nonTriggering: [X] = [X(proposed: X.vault([X.entry(X.service, keys: ["get"]), X.entry(X.service, keys: ["get"], applicationID: X.admin)]))]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let vault = input.proposed else { return [] }
        var seen = Set<String>()
        return vault.accessPolicies.compactMap { entry in
            seen.insert(entry.identity).inserted ? nil : finding(input, "a second access-policy entry for \(entry.objectID)", at: entry.path)
        }
    }
}

struct InvalidKeyPermissionRule: AzureVaultRule {
    static let id = "INVALID_KEY_PERMISSION"
    static let severity = Severity.error
    static let description = "A key permission of an access-policy entry is not one Key Vault knows (names compare case-insensitively; `all` grants every one)."
    static let fix = "Use Key Vault's key permission names: get, list, encrypt, decrypt, wrapKey, unwrapKey, sign, verify, create, update, import, delete, backup, restore, recover, purge, release, rotate, getrotationpolicy, setrotationpolicy, all."
    static let triggering: [X] = [X(proposed: X.vault([X.entry(X.service, keys: ["get", "wrap"])]))]
    static let nonTriggering: [X] = [X(proposed: X.vault([X.entry(X.service, keys: ["GET", "WrapKey", "unwrapkey"]), X.entry(X.admin, keys: ["all"])]))]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let vault = input.proposed else { return [] }
        return vault.accessPolicies.flatMap { entry in
            entry.keys.enumerated().compactMap { i, name in
                KeyVaultRoles.keyPermissions.contains(name.lowercased()) ? nil
                    : finding(input, "'\(name)' is not a Key Vault key permission\(Spelling.suggestion(for: name.lowercased(), among: Array(KeyVaultRoles.keyPermissions)).map { " (did you mean '\(KeyVaultRoles.displayName($0))'?)" } ?? "")", at: "\(entry.path).permissions.keys[\(i)]")
            }
        }
    }
}

struct CompoundIdentityRule: AzureVaultRule {
    static let id = "COMPOUND_IDENTITY"
    static let severity = Severity.warning
    static let description = "An entry with an applicationId grants a compound identity: the user only when signed in through that application, not the object id alone."
    static let fix = "Drop `application-id` unless you mean 'this user through this app only'; service principals need none."
    static let triggering: [X] = [X(proposed: X.vault([X.entry(X.service, keys: ["get"], applicationID: X.admin)]))]
    static let nonTriggering: [X] = [X(proposed: X.vault([X.entry(X.service, keys: ["get"])]))]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        (input.proposed?.accessPolicies ?? []).compactMap { entry in
            entry.applicationID.map { finding(input, "the entry for \(entry.objectID) with applicationId \($0) grants a compound identity, not \(entry.objectID) alone", at: entry.path + ".applicationId") }
        }
    }
}

struct FullListReplaceRule: AzureVaultRule {
    static let id = "FULL_LIST_REPLACE"
    static let severity = Severity.error
    static let description = "The proposed snapshot differs from the live vault in a way access-policy add/remove and role-assignment deltas cannot express (another vault property, an entry's tenant), so it would need a whole-vault or whole-list write — the classic outage. policy-change never makes one."
    static let fix = "Change only access-policy entries and role assignments; make other vault changes with the vault's own tooling in a separate change."
    static let triggering: [X] = [X(proposed: X.vault(networkAcls: #"{"defaultAction":"Allow","bypass":"AzureServices"}"#), current: X.vault())]
    static let nonTriggering: [X] = [X(proposed: X.vault([X.entry(X.service, keys: ["get"])]), current: X.vault())]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let old = input.current, let new = input.proposed else { return [] }
        var out: [Finding] = []
        if old.otherProperties != new.otherProperties {
            out.append(finding(input, "vault properties other than access policies and role assignments change; that needs a whole-vault write", at: "properties"))
        }
        let oldTenants = Dictionary(old.accessPolicies.map { ($0.identity, ($0.tenantID ?? "").lowercased()) }, uniquingKeysWith: { a, _ in a })
        for entry in new.accessPolicies {
            if let t = oldTenants[entry.identity], t != (entry.tenantID ?? "").lowercased() {
                out.append(finding(input, "the entry for \(entry.objectID) changes tenant; accessPolicies/add cannot express that", at: entry.path + ".tenantId"))
            }
        }
        return out
    }
}

struct PurgeProtectionRequiredRule: AzureVaultRule {
    static let id = "PURGE_PROTECTION_REQUIRED"
    static let severity = Severity.error
    static let description = "Soft delete and purge protection must be on for a key a service encrypts with (Confluent requires both); without them a deleted key and the data it protects are gone."
    static let fix = "Keep enableSoftDelete and enablePurgeProtection true (`az keyvault update --enable-purge-protection true`)."
    static let triggering: [X] = [X(proposed: X.vault(purgeProtection: false)), X(proposed: X.vault(softDelete: false))]
    static let nonTriggering: [X] = [X(proposed: X.vault())]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let vault = input.proposed else { return [] }
        var out: [Finding] = []
        if !vault.enableSoftDelete { out.append(finding(input, "soft delete is off (enableSoftDelete: false)", at: "properties.enableSoftDelete")) }
        if !vault.enablePurgeProtection { out.append(finding(input, "purge protection is off (enablePurgeProtection missing or false)", at: "properties")) }
        return out
    }
}

struct TrustedServicesBlockedRule: AzureVaultRule {
    static let id = "TRUSTED_SERVICES_BLOCKED"
    static let severity = Severity.warning
    static let description = "The vault firewall denies by default and does not let trusted Microsoft services through (`bypass: AzureServices`); a service reaching the key from outside your networks is refused whatever its permissions."
    static let fix = "Set networkAcls.bypass to AzureServices, or allow the service's addresses in ipRules."
    static let triggering: [X] = [X(proposed: X.vault(networkAcls: #"{"defaultAction":"Deny","bypass":"None","ipRules":[],"virtualNetworkRules":[]}"#))]
    static let nonTriggering: [X] = [X(proposed: X.vault(networkAcls: #"{"defaultAction":"Deny","bypass":"AzureServices"}"#)), X(proposed: X.vault())]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let acls = input.proposed?.networkAcls, acls["defaultAction"]?.stringValue?.lowercased() == "deny" else { return [] }
        let bypass = (acls["bypass"]?.stringValue ?? "").lowercased()
        guard !bypass.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == "azureservices" }) else { return [] }
        return [finding(input, "the firewall denies by default and bypass is '\(acls["bypass"]?.stringValue ?? "")', not AzureServices", at: "properties.networkAcls")]
    }
}

struct RoleDefinitionUnknownRule: AzureVaultRule {
    static let id = "UNKNOWN_ROLE"
    static let severity = Severity.warning
    static let description = "A role assignment uses a role that is not a pinned built-in and was not fetched (a custom role, offline): what it grants cannot be evaluated."
    static let fix = "Run `plan` against the cloud (it fetches custom role definitions), or check the role by hand."
    static let triggering: [X] = [X(proposed: X.vault(rbac: true, assignments: [X.assignment(X.service, role: "99999999-9999-4999-8999-999999999999")]))]
    static let nonTriggering: [X] = [X(proposed: X.vault(rbac: true, assignments: [X.assignment(X.service, role: X.encryptionUser)]))]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        (input.proposed?.roleAssignments ?? []).compactMap { a in
            input.dialect.catalogue.role(guid: a.roleGUID) == nil
                ? finding(input, "role definition \(a.roleGUID) (assigned to \(a.principalID)) is not a known built-in role and was not fetched; its permissions are unknown", at: a.path) : nil
        }
    }
}

// MARK: - Required access and change

struct AzureRequiredPermissionMissingRule: AzureVaultRule {
    static let id = "REQUIRED_PERMISSION_MISSING"
    static let severity = Severity.error
    static let description = "A `require` entry's permission is not granted: in the access-policy model the object id's own entry lacks the key permission; in RBAC no assignment at the vault or key scope has a role whose data actions cover it."
    static let fix = "Grant it: add the key permission to the entry, or assign a role that covers it (Key Vault Crypto Service Encryption User for get/wrapKey/unwrapKey)."
    static let triggering: [X] = [
        X(proposed: X.vault([X.entry(X.service, keys: ["get", "wrapKey"])]), requirements: [X.confluent]),
        X(proposed: X.vault(rbac: true, assignments: [X.assignment(X.service, role: X.reader, key: true)]), requirements: [X.confluent]),
    ]
    static let nonTriggering: [X] = [
        X(proposed: X.vault([X.entry(X.service, keys: ["Get", "WRAPKEY", "unwrapKey"])]), requirements: [X.confluent]),
        X(proposed: X.vault(rbac: true, assignments: [X.assignment(X.service, role: X.encryptionUser, key: true)]), requirements: [X.confluent]),
    ]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let vault = input.proposed else { return [] }
        return input.requirements.flatMap { r in
            r.effectiveActions(for: .azure).compactMap { action -> Finding? in
                switch input.grant(r.principal, action, in: vault) {
                case .denied:
                    return requirementFinding(input, r, "\(r.principal) would not have '\(action)' on the key (\(vault.model.rawValue) model)")
                case .unknownRole(let guid):
                    return requirementFinding(input, r, "\(r.principal) is not known to have '\(action)': role \(guid) is not a known built-in role (a custom role cannot be evaluated offline)")
                default: return nil
                }
            }
        }
    }

    static func requirementFinding(_ input: AzureAnalysisInput, _ r: Requirement, _ message: String) -> Finding {
        var f = finding(input, message)
        if let location = r.location { (f.file, f.line, f.column) = (location.file, location.line, location.column) }
        return f
    }
}

struct AzureRequiredPermissionConditionalRule: AzureVaultRule {
    static let id = "REQUIRED_PERMISSION_CONDITIONAL"
    static let severity = Severity.error
    static let description = "A required permission is granted only through a role assignment with an ABAC `condition`, which cannot be proven to hold for the service's requests."
    static let fix = "Grant it through an assignment without a condition."
    static let triggering: [X] = [X(proposed: X.vault(rbac: true, assignments: [X.assignment(X.service, role: X.encryptionUser, condition: "@Resource[x] StringEquals 'y'")]), requirements: [X.confluent])]
    static let nonTriggering: [X] = [X(proposed: X.vault(rbac: true, assignments: [X.assignment(X.service, role: X.encryptionUser)]), requirements: [X.confluent])]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let vault = input.proposed else { return [] }
        return input.requirements.flatMap { r in
            r.effectiveActions(for: .azure).compactMap { action in
                input.grant(r.principal, action, in: vault) == .conditional
                    ? AzureRequiredPermissionMissingRule.requirementFinding(input, r, "\(r.principal) has '\(action)' only under a role-assignment condition")
                        .with(code: id) : nil
            }
        }
    }
}

extension Finding {
    func with(code: String) -> Finding {
        var copy = self
        copy.code = code
        return copy
    }
}

struct AzurePermissionRemovedRule: AzureVaultRule {
    static let id = "PERMISSION_REMOVED"
    static let severity = Severity.warning
    static let description = "A principal loses key permissions it has now."
    static let fix = "Make sure nothing still depends on them (a service encrypting with the key loses access immediately)."
    static let triggering: [X] = [X(proposed: X.vault([X.entry(X.service, keys: ["get"])]), current: X.vault([X.entry(X.service, keys: ["get", "unwrapKey"])]))]
    static let nonTriggering: [X] = [X(proposed: X.vault([X.entry(X.service, keys: ["get", "unwrapKey"])]), current: X.vault([X.entry(X.service, keys: ["GET", "unwrapkey"])]))]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let old = input.current, let new = input.proposed else { return [] }
        let before = input.keyAccess(old), after = input.keyAccess(new)
        return before.keys.sorted().compactMap { p in
            let lost = (before[p] ?? []).subtracting(after[p] ?? [])
            return lost.isEmpty ? nil : finding(input, "\(p) loses \(lost.sorted().joined(separator: ", "))")
        }
    }
}

struct AzureNewAccessRule: AzureVaultRule {
    static let id = "NEW_ACCESS"
    static let severity = Severity.warning
    static let description = "A principal gains key permissions it does not have now."
    static let fix = "Check that the grant is intended and as narrow as the service documents."
    static let triggering: [X] = [X(proposed: X.vault([X.entry(X.service, keys: ["get", "wrapKey", "unwrapKey"])]), current: X.vault())]
    static let nonTriggering: [X] = [X(proposed: X.vault(), current: X.vault([X.entry(X.service, keys: ["get"])]))]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let old = input.current, let new = input.proposed else { return [] }
        let before = input.keyAccess(old), after = input.keyAccess(new)
        return after.keys.sorted().compactMap { p in
            let gained = (after[p] ?? []).subtracting(before[p] ?? [])
            return gained.isEmpty ? nil : finding(input, "\(p) gains \(gained.sorted().joined(separator: ", "))")
        }
    }
}

/// ADMIN_LOCKOUT, with `caller` = the object id applying the change:
/// 1. RBAC vault, RBAC after: the caller holds `Microsoft.Authorization/roleAssignments/write`
///    through an assignment at the vault or key scope now, and through none after the change
///    (it could not put the assignments back, so a rollback by deltas would fail);
/// 2. access-policy vault switched to RBAC: the caller has an access-policy entry now (its
///    access disappears with the switch) and no vault/key-scope assignment granting
///    `roleAssignments/write` after it.
/// Assignments inherited from the resource group or subscription are not in the snapshot;
/// the finding says so.
struct AzureAdminLockoutRule: AzureVaultRule {
    static let id = "ADMIN_LOCKOUT"
    static let severity = Severity.error
    static let description = "The change leaves the caller (`--caller` object id) unable to change the vault's access again: it removes the caller's vault- or key-scope role assignment that grants Microsoft.Authorization/roleAssignments/write, or switches an access-policy vault to RBAC while the caller holds no such assignment. Inherited assignments (resource group, subscription) are not in the snapshot and are not counted."
    static let fix = "Keep an assignment of Owner, User Access Administrator, Role Based Access Control Administrator or Key Vault Data Access Administrator for the caller, or apply the change as an identity that holds one at a wider scope."
    static let triggering: [X] = [
        X(proposed: X.vault(rbac: true, assignments: []), current: X.vault(rbac: true, assignments: [X.assignment(X.admin, role: X.owner)]), caller: X.admin),
        X(proposed: X.vault([X.entry(X.admin, keys: ["all"])], rbac: true), current: X.vault([X.entry(X.admin, keys: ["all"])]), caller: X.admin),
    ]
    static let nonTriggering: [X] = [
        X(proposed: X.vault(rbac: true, assignments: [X.assignment(X.admin, role: X.owner)]), current: X.vault(rbac: true, assignments: [X.assignment(X.admin, role: X.owner), X.assignment(X.service, role: X.cryptoUser)]), caller: X.admin),
        X(proposed: X.vault(rbac: true, assignments: []), current: X.vault(rbac: true, assignments: [X.assignment(X.admin, role: X.owner)]), caller: X.service),
    ]
    static func check(_ input: AzureAnalysisInput) -> [Finding] {
        guard let caller = input.caller, let old = input.current, let new = input.proposed, new.enableRbacAuthorization else { return [] }
        let after = input.canAssignRoles(caller, in: new)
        if old.enableRbacAuthorization, input.canAssignRoles(caller, in: old), !after {
            return [finding(input, "the caller \(caller) loses its vault/key-scope role assignment that grants Microsoft.Authorization/roleAssignments/write; it could not restore the assignments (inherited assignments not counted)", at: "roleAssignments")]
        }
        if !old.enableRbacAuthorization, old.accessPolicies.contains(where: { $0.objectID.lowercased() == caller.lowercased() }), !after {
            return [finding(input, "switching to RBAC voids the caller \(caller)'s access-policy entry and it holds no vault/key-scope assignment that grants Microsoft.Authorization/roleAssignments/write (inherited assignments not counted)", at: "properties.enableRbacAuthorization")]
        }
        return []
    }
}
