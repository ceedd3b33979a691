import Foundation

extension GCPRuleExample {
    static let confluentGroup = "group:cck-123@confluent.io"
    static let confluentRequirement = [Requirement(principal: confluentGroup, preset: .confluent)]
    static let confluentBindings =
        #"{"role":"roles/cloudkms.cryptoKeyEncrypterDecrypter","members":["group:cck-123@confluent.io"]},{"role":"roles/cloudkms.viewer","members":["group:cck-123@confluent.io"]}"#
    /// The admin binding alone.
    static let adminOnly = policy(adminBinding)
    /// The admin binding and the Confluent bindings.
    static let confluentGranted = withAdmin(confluentBindings)
    /// `confluentGranted` checked against the Confluent requirement: every required permission held.
    static let confluentSatisfied = GCPRuleExample(proposed: confluentGranted, requirements: confluentRequirement)

    /// A policy of the admin binding followed by `bindings` (JSON objects separated by commas).
    static func withAdmin(_ bindings: String, version: Int = 1) -> String { policy(adminBinding + "," + bindings, version: version) }
}

/// Per requirement: each required permission, granted without, only under, or not at all.
enum RequiredAccess {
    static func check(_ input: GCPAnalysisInput, conditional: Bool, id: String, severity: Severity) -> [Finding] {
        guard let policy = input.proposed else { return [] }
        var findings: [Finding] = []
        for requirement in input.request.requirements {
            let access = input.access(policy, for: requirement.principal)
            let missing = requirement.effectiveActions(for: .gcp).filter { !access.granted.contains($0) }
            let selected = missing.filter { access.conditional.contains($0) == conditional }
            guard !selected.isEmpty else { continue }
            let how = conditional ? "only under a condition" : "not at all"
            var finding = input.finding(
                id, severity, "\(requirement.principal) would hold \(selected.joined(separator: ", ")) \(how)", at: nil)
            if let location = requirement.location, input.request.proposedFile == nil {
                finding.file = location.file
                finding.line = location.line
                finding.column = location.column
            }
            findings.append(finding)
        }
        return findings
    }
}

public enum GCPRequiredPermissionMissingRule: GCPPolicyRule {
    public static let id = "REQUIRED_PERMISSION_MISSING"
    public static let severity = Severity.error
    public static let stage = KeyPolicyRuleStage.access
    public static let description = "A `require` entry's member would not hold a required permission through any binding's role (`preset: confluent`: useToDecrypt, useToEncrypt, cryptoKeys.get)."
    public static let fix = "Bind the member to roles that carry the permissions (e.g. roles/cloudkms.cryptoKeyEncrypterDecrypter and roles/cloudkms.viewer, or a custom role)."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(
            proposed: GCPRuleExample.withAdmin(#"{"role":"roles/cloudkms.cryptoKeyEncrypterDecrypter","members":["group:cck-123@confluent.io"]}"#),
            requirements: GCPRuleExample.confluentRequirement)
    ]
    public static let nonTriggering: [GCPRuleExample] = [
        GCPRuleExample.confluentSatisfied
    ]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        RequiredAccess.check(input, conditional: false, id: id, severity: severity)
    }
}

public enum GCPRequiredPermissionConditionalRule: GCPPolicyRule {
    public static let id = "REQUIRED_PERMISSION_CONDITIONAL"
    public static let severity = Severity.error
    public static let stage = KeyPolicyRuleStage.access
    public static let description = "A required permission would be held only through a conditional binding, whose condition the analysis cannot prove holds."
    public static let fix = "Grant the required roles without a condition."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(
            proposed: GCPRuleExample.withAdmin(#"{"role":"roles/cloudkms.viewer","members":["group:cck-123@confluent.io"]},{"role":"roles/cloudkms.cryptoKeyEncrypterDecrypter","members":["group:cck-123@confluent.io"],"condition":{"title":"business hours","expression":"request.time.getHours('UTC') < 18"}}"#, version: 3),
            requirements: GCPRuleExample.confluentRequirement)
    ]
    public static let nonTriggering: [GCPRuleExample] = [
        GCPRuleExample.confluentSatisfied
    ]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        RequiredAccess.check(input, conditional: true, id: id, severity: severity)
    }
}

public enum GCPPermissionRemovedRule: GCPPolicyRule {
    public static let id = "PERMISSION_REMOVED"
    public static let severity = Severity.warning
    public static let stage = KeyPolicyRuleStage.change
    public static let description = "A member loses permissions on the key that it holds now."
    public static let fix = "Check that nothing still depends on them; keep the binding otherwise."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(
            proposed: GCPRuleExample.adminOnly,
            current: GCPRuleExample.withAdmin(#"{"role":"roles/cloudkms.viewer","members":["user:old@example.com"]}"#))
    ]
    public static let nonTriggering: [GCPRuleExample] = [
        GCPRuleExample(
            proposed: GCPRuleExample.confluentGranted,
            current: GCPRuleExample.adminOnly)
    ]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        input.accessChanges().filter { !$0.lost.isEmpty }.map {
            finding(input, "\($0.member) loses \($0.lost.joined(separator: ", "))", at: nil)
        }
    }
}

public enum GCPNewAccessRule: GCPPolicyRule {
    public static let id = "NEW_ACCESS"
    public static let severity = Severity.warning
    public static let stage = KeyPolicyRuleStage.change
    public static let description = "A member gains permissions on the key; review that this is the intended grant."
    public static let fix = "None if intended."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(
            proposed: GCPRuleExample.confluentGranted,
            current: GCPRuleExample.adminOnly)
    ]
    public static let nonTriggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.adminOnly, current: GCPRuleExample.adminOnly)
    ]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        input.accessChanges().filter { !$0.gained.isEmpty && !GCPAnalysisInput.publicMembers.contains($0.member) }.map {
            finding(input, "\($0.member) gains \($0.gained.joined(separator: ", "))", at: nil)
        }
    }
}

public enum GCPNewPublicAccessRule: GCPPolicyRule {
    public static let id = "NEW_PUBLIC_ACCESS"
    public static let severity = Severity.error
    public static let stage = KeyPolicyRuleStage.change
    public static let description = "`allUsers` or `allAuthenticatedUsers` gains permissions on the key."
    public static let fix = "Grant named members instead."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(
            proposed: GCPRuleExample.withAdmin(#"{"role":"roles/cloudkms.cryptoKeyDecrypter","members":["allUsers"]}"#),
            current: GCPRuleExample.adminOnly)
    ]
    public static let nonTriggering: [GCPRuleExample] = [
        GCPRuleExample(
            proposed: GCPRuleExample.withAdmin(#"{"role":"roles/cloudkms.cryptoKeyDecrypter","members":["user:a@example.com"]}"#),
            current: GCPRuleExample.adminOnly)
    ]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        input.accessChanges().filter { !$0.gained.isEmpty && GCPAnalysisInput.publicMembers.contains($0.member) }.map {
            finding(input, "\($0.member) gains \($0.gained.joined(separator: ", "))", at: nil)
        }
    }
}

/// Nobody could change the key's policy again.
public enum GCPAdminLockoutRule: GCPPolicyRule {
    public static let id = "ADMIN_LOCKOUT"
    public static let severity = Severity.error
    public static let stage = KeyPolicyRuleStage.keySafety
    public static let description = "After the change nobody would hold `cloudkms.cryptoKeys.setIamPolicy` on the key (counting members the runbook declares as inherited admins, `target.gcp.inherited-admins` / `--inherited-admin`), or the caller making the change would remove its own."
    public static let fix = "Keep a roles/cloudkms.admin binding, or declare who holds it through the key ring, project or organization."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.confluentBindings)),
        GCPRuleExample(
            proposed: GCPRuleExample.adminOnly,
            current: GCPRuleExample.withAdmin(#"{"role":"roles/cloudkms.admin","members":["user:me@example.com"]}"#),
            caller: "user:me@example.com"),
    ]
    public static let nonTriggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.adminOnly),
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.confluentBindings), inheritedAdmins: ["group:org-admins@example.com"]),
    ]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        guard let policy = input.proposed else { return [] }
        let admins = input.admins(of: policy)
        let inherited = Set(input.dialect.inheritedAdmins)
        if admins.isEmpty && inherited.isEmpty {
            return [finding(
                input, "nobody would hold \(GCPAnalysisInput.setIamPolicy) on the key; declare inherited admins if some hold it through the key ring, project or organization",
                at: nil)]
        }
        if let caller = input.request.caller, let current = input.current, input.admins(of: current).contains(caller),
            !admins.contains(caller), !inherited.contains(caller)
        {
            return [finding(input, "the caller \(caller) would remove its own \(GCPAnalysisInput.setIamPolicy)", at: nil)]
        }
        return []
    }
}
