import Foundation

/// A member string the IAM API does not accept.
public enum InvalidMemberFormatRule: GCPPolicyRule {
    public static let id = "INVALID_MEMBER_FORMAT"
    public static let severity = Severity.error
    public static let stage = KeyPolicyRuleStage.grammar
    public static let description = "Members are `user:`, `serviceAccount:`, `group:` (an email), `domain:` (a domain), `principal://…`, `principalSet://…`, `deleted:…?uid=…`, `allUsers`, `allAuthenticatedUsers`, or `projectOwner:`/`projectEditor:`/`projectViewer:` a project."
    public static let fix = "Prefix the identity with its type, e.g. `group:cck-123@confluent.io`."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding
            + #",{"role":"roles/cloudkms.viewer","members":["cck-123@confluent.io"]}"#)),
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding
            + #",{"role":"roles/cloudkms.viewer","members":["user:nobody"]}"#)),
    ]
    public static let nonTriggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding
            + #",{"role":"roles/cloudkms.viewer","members":["group:cck-123@confluent.io","domain:example.com","deleted:user:old@example.com?uid=123456789012345678901","principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*","projectViewer:my-project"]}"#))
    ]

    public static func isValid(_ member: String) -> Bool {
        if member == "allUsers" || member == "allAuthenticatedUsers" { return true }
        if member.hasPrefix("principal://") || member.hasPrefix("principalSet://") {
            return member.split(separator: "/", omittingEmptySubsequences: true).count >= 3 && !member.contains(" ")
        }
        guard let colon = member.firstIndex(of: ":") else { return false }
        let kind = member[..<colon], value = String(member[member.index(after: colon)...])
        switch kind {
        case "user", "serviceAccount", "group": return isEmail(value)
        case "domain": return value.contains(".") && !value.contains("@") && !value.contains(" ")
        case "projectOwner", "projectEditor", "projectViewer": return !value.isEmpty && !value.contains(" ")
        case "deleted":
            guard let q = value.range(of: "?uid=") else { return false }
            let inner = String(value[..<q.lowerBound]), uid = value[q.upperBound...]
            return !uid.isEmpty && uid.allSatisfy(\.isNumber) && !inner.hasPrefix("deleted:") && isValid(inner)
        default: return false
        }
    }

    static func isEmail(_ value: String) -> Bool {
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !value.contains(" ")
    }

    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        var findings: [Finding] = []
        for binding in input.proposed?.bindings ?? [] {
            for (i, member) in binding.members.enumerated() where !isValid(member) {
                findings.append(finding(input, "\"\(member)\" in \(binding.role) is not a valid IAM member", at: "\(binding.path).members[\(i)]"))
            }
            for i in binding.malformedMembers {
                findings.append(finding(input, "a member of \(binding.role) is not a string", at: "\(binding.path).members[\(i)]"))
            }
            if binding.role.isEmpty {
                findings.append(finding(input, "\(binding.path) has no role", at: binding.path))
            }
        }
        return findings
    }
}

/// A binding without members.
public enum EmptyBindingRule: GCPPolicyRule {
    public static let id = "EMPTY_BINDING"
    public static let severity = Severity.warning
    public static let stage = KeyPolicyRuleStage.grammar
    public static let description = "A binding with no members grants nothing; the service drops it, so the policy read back differs from the one written."
    public static let fix = "Remove the binding."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding + #",{"role":"roles/cloudkms.viewer","members":[]}"#))
    ]
    public static let nonTriggering: [GCPRuleExample] = [GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding))]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        (input.proposed?.bindings ?? []).filter { $0.members.isEmpty && $0.malformedMembers.isEmpty }.map {
            finding(input, "the binding of \($0.role) has no members", at: $0.path)
        }
    }
}

/// A role neither the pinned catalogue nor the run's role lookups know.
public enum UnknownRoleRule: GCPPolicyRule {
    public static let id = "UNKNOWN_ROLE"
    public static let severity = Severity.warning
    public static let stage = KeyPolicyRuleStage.grammar
    public static let description = "The analysis does not know this role's permissions: a custom role not supplied with `--roles FILE` (offline) or not readable with IAM roles.get, or a predefined role outside the pinned catalogue. Access through it is counted as none."
    public static let fix = "Pass the role's definition with `--roles FILE` (the JSON `gcloud iam roles describe --format=json` prints, in an array)."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding
            + #",{"role":"projects/my-project/roles/confluentKeyUser","members":["group:cck-123@confluent.io"]}"#))
    ]
    public static let nonTriggering: [GCPRuleExample] = [
        GCPRuleExample(
            proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding
                + #",{"role":"projects/my-project/roles/confluentKeyUser","members":["group:cck-123@confluent.io"]}"#),
            customRoles: [IAMRoleDefinition(name: "projects/my-project/roles/confluentKeyUser", includedPermissions: ["cloudkms.cryptoKeys.get"])])
    ]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        var seen = Set<String>()
        return (input.proposed?.bindings ?? []).filter {
            !$0.role.isEmpty && !$0.role.contains("_withcond_") && input.dialect.permissions(of: $0.role) == nil && seen.insert($0.role).inserted
        }.map { finding(input, "the permissions of \($0.role) are unknown; access through it is counted as none", at: "\($0.path).role") }
    }
}

/// allUsers / allAuthenticatedUsers in a binding.
public enum PublicMemberRule: GCPPolicyRule {
    public static let id = "PUBLIC_MEMBER"
    public static let severity = Severity.securityWarning
    public static let stage = KeyPolicyRuleStage.security
    public static let description = "`allUsers` is anyone on the internet and `allAuthenticatedUsers` anyone with a Google account; a key's policy should never name them."
    public static let fix = "Name the principals that need access instead."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding + #",{"role":"roles/cloudkms.publicKeyViewer","members":["allAuthenticatedUsers"]}"#))
    ]
    public static let nonTriggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding + #",{"role":"roles/cloudkms.publicKeyViewer","members":["group:readers@example.com"]}"#))
    ]
    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        var findings: [Finding] = []
        for binding in input.proposed?.bindings ?? [] {
            for (i, member) in binding.members.enumerated() where GCPAnalysisInput.publicMembers.contains(member) {
                findings.append(finding(input, "\(binding.role) is granted to \(member)", at: "\(binding.path).members[\(i)]"))
            }
        }
        return findings
    }
}

/// Conditions that are expired, empty, malformed or untitled.
public enum ConditionLintRule: GCPPolicyRule {
    public static let id = "CONDITION_LINT"
    public static let severity = Severity.warning
    public static let stage = KeyPolicyRuleStage.grammar
    public static let description = "A condition that can never be true any more (`request.time < timestamp(…)` in the past), an empty or unbalanced expression, or a condition without the title the API requires."
    public static let fix = "Remove the expired binding, or correct the expression and give it a title."
    public static let triggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding
            + #",{"role":"roles/cloudkms.cryptoKeyEncrypterDecrypter","members":["serviceAccount:app@my-project.iam.gserviceaccount.com"],"condition":{"title":"expirable access","expression":"request.time < timestamp('2020-10-01T00:00:00.000Z')"}}"#, version: 3)),
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding
            + #",{"role":"roles/cloudkms.viewer","members":["group:a@example.com"],"condition":{"expression":"resource.name.startsWith('projects/my-project'"}}"#, version: 3)),
    ]
    public static let nonTriggering: [GCPRuleExample] = [
        GCPRuleExample(proposed: GCPRuleExample.policy(GCPRuleExample.adminBinding
            + #",{"role":"roles/cloudkms.cryptoKeyEncrypterDecrypter","members":["serviceAccount:app@my-project.iam.gserviceaccount.com"],"condition":{"title":"until 2030","expression":"request.time < timestamp('2030-01-01T00:00:00Z')"}}"#, version: 3))
    ]

    public static func check(_ input: GCPAnalysisInput) -> [Finding] {
        var findings: [Finding] = []
        for binding in input.proposed?.bindings ?? [] {
            guard let condition = binding.condition else { continue }
            let path = "\(binding.path).condition"
            if (condition.title ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                findings.append(finding(input, "the condition on \(binding.role) has no title", at: path))
            }
            let expression = (condition.expression ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if expression.isEmpty {
                findings.append(finding(input, "the condition on \(binding.role) has an empty expression", at: path))
                continue
            }
            if !isBalanced(expression) {
                findings.append(finding(input, "the condition on \(binding.role) has unbalanced parentheses or quotes: \(expression.prefix(80))", at: path))
            }
            if let deadline = expiry(expression), deadline <= input.dialect.now() {
                findings.append(finding(
                    input, "the condition on \(binding.role) expired at \(ISO8601DateFormatter().string(from: deadline)); the binding grants nothing",
                    at: path))
            }
        }
        return findings
    }

    static func isBalanced(_ expression: String) -> Bool {
        var depth = 0
        var quote: Character?
        var escaped = false
        for c in expression {
            if let q = quote {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == q { quote = nil }
                continue
            }
            switch c {
            case "'", "\"": quote = c
            case "(": depth += 1
            case ")":
                depth -= 1
                if depth < 0 { return false }
            default: break
            }
        }
        return depth == 0 && quote == nil
    }

    /// The time in `request.time < timestamp("…")` (or `<=`), when the whole
    /// expression is that one comparison or a conjunction containing it.
    static func expiry(_ expression: String) -> Date? {
        guard expression.range(of: "||") == nil,
            let match = expression.range(of: #"request\.time\s*<=?\s*timestamp\(\s*['"][^'"]+['"]\s*\)"#, options: .regularExpression)
        else { return nil }
        let call = expression[match]
        guard let open = call.firstIndex(where: { $0 == "'" || $0 == "\"" }) else { return nil }
        let rest = call[call.index(after: open)...]
        guard let close = rest.firstIndex(where: { $0 == "'" || $0 == "\"" }) else { return nil }
        let text = String(rest[..<close])
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
