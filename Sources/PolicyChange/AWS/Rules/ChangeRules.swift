import Foundation

private func S(_ statements: String) -> String { RuleExample.statements(statements) }
private let root = RuleExample.rootStatement
private let role = "arn:aws:iam::152535741197:role/cc-kafka"
private let confluent = [Requirement(principal: role, preset: .confluent)]
private let useStatement =
    #"{"Sid":"Use","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::152535741197:role/cc-kafka"},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*"}"#
private let grantStatement =
    #"{"Sid":"Grants","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::152535741197:role/cc-kafka"},"Action":["kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"],"Resource":"*"}"#

/// For each requirement and each required action as written: the principal's
/// weakest access over the catalogue actions the action stands for.
func requiredAccess(_ input: KeyPolicyAnalysisInput) -> [(requirement: Requirement, action: String, access: Access, short: [String])] {
    var result: [(Requirement, String, Access, [String])] = []
    for requirement in input.requirements {
        guard let subject = Subject.parse(requirement.principal) else {
            for action in requirement.effectiveActions(for: .aws) { result.append((requirement, action, .deny, [])) }
            continue
        }
        let row = input.proposedEvaluator.row(for: subject)
        for action in requirement.effectiveActions(for: .aws) {
            let pattern = ActionPattern(action)
            let expansion = pattern.hasWildcard ? ActionSet(matching: pattern) : ActionSet()
            if expansion.isEmpty {
                let access = input.proposedEvaluator.access(subject, action)
                result.append((requirement, action, access, access == .allow ? [] : [action]))
            } else {
                let denied = expansion.subtracting(row.granted)
                let conditional = expansion.intersection(row.conditional)
                let access: Access = !denied.isEmpty ? .deny : !conditional.isEmpty ? .conditional : .allow
                result.append((requirement, action, access, (denied.isEmpty ? conditional : denied).actions))
            }
        }
    }
    return result
}

private func detail(_ action: String, _ short: [String]) -> String {
    short.isEmpty || short == [action] ? action : "\(action) (\(short.joined(separator: ", ")))"
}

struct RequiredPermissionMissingRule: KeyPolicyRule {
    static let id = "REQUIRED_PERMISSION_MISSING"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.access
    static let description = "A principal the runbook requires (require:) is not allowed a required action by the proposed policy: no statement grants it, or an explicit Deny takes it away. A wildcard requirement (kms:GenerateDataKey*) needs every catalogue action it stands for."
    static let fix = "Grant the action to the principal (for a vendor, paste its statements unchanged), or remove the Deny that blocks it."
    static let triggering: [RuleExample] = [
        // Confluent's grant statement dropped.
        .init(proposed: S(root + "," + useStatement), requirements: confluent),
        // kms:GenerateDataKey* narrowed to kms:GenerateDataKey.
        .init(proposed: S(root + "," + useStatement.replacingOccurrences(of: "kms:GenerateDataKey*", with: "kms:GenerateDataKey") + "," + grantStatement), requirements: confluent),
        // A Deny that blocks the service principal.
        .init(
            proposed: S(#"{"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}},{"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}"#),
            requirements: [Requirement(principal: "logs.amazonaws.com", actions: ["kms:Decrypt"])]),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(root + "," + useStatement + "," + grantStatement), requirements: confluent),
        // kms:ReEncrypt* expanded into its two actions.
        .init(proposed: S(root + "," + useStatement.replacingOccurrences(of: "\"kms:ReEncrypt*\"", with: "\"kms:ReEncryptFrom\",\"kms:ReEncryptTo\"") + "," + grantStatement), requirements: confluent),
        // A "*" principal scoped to Confluent's account with kms:CallerAccount.
        .init(
            proposed: S(root + #",{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey","kms:CreateGrant","kms:ListGrants","kms:RevokeGrant"],"Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"152535741197"}}}"#),
            requirements: confluent),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        requiredAccess(input).compactMap { requirement, action, access, short in
            guard access == .deny else { return nil }
            let message = Subject.parse(requirement.principal) == nil
                ? "\(requirement.principal) is not an AWS principal (account id, IAM or STS ARN, service name), so no key policy can grant it \(action)"
                : "\(requirement.principal) must be allowed \(detail(action, short)), and the proposed policy does not allow it"
            return Finding(code: id, severity: severity, message: message)
        }
    }
}

struct RequiredPermissionConditionalRule: KeyPolicyRule {
    static let id = "REQUIRED_PERMISSION_CONDITIONAL"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.access
    static let description = "A required principal is allowed a required action only under a condition on the request (kms:ViaService, encryption context, source IP…) that the analysis cannot prove holds for the principal's calls. Conditions on who the caller is (kms:CallerAccount, aws:PrincipalAccount, aws:PrincipalArn) are evaluated, not reported."
    static let fix = "Grant the action without the condition (or with one on the caller's account or ARN), as the vendor's statements do."
    static let triggering: [RuleExample] = [
        // A kms:ViaService condition added to the service's statement.
        .init(
            proposed: S(root + "," + useStatement.replacingOccurrences(of: #""Resource":"*"}"#, with: #""Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"kafka.us-east-1.amazonaws.com"}}}"#) + "," + grantStatement),
            requirements: confluent),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(root + "," + useStatement + "," + grantStatement), requirements: confluent),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        requiredAccess(input).compactMap { requirement, action, access, short in
            guard access == .conditional else { return nil }
            return Finding(
                code: id, severity: severity,
                message: "\(requirement.principal) is granted \(detail(action, short)) only under a Condition that cannot be proven to hold")
        }
    }
}

/// Rows whose access changes, for the change rules (current policy required).
private func changes(_ input: KeyPolicyAnalysisInput) -> [(subject: Subject, gained: ActionSet, lost: ActionSet, current: AccessRow, proposed: AccessRow)] {
    guard input.current?.document != nil else { return [] }
    return input.rows.compactMap { subject, current, proposed in
        guard let current else { return nil }
        // Gained: DENY → ALLOW/CONDITIONAL, or CONDITIONAL → ALLOW. Lost: the reverse.
        let gained = proposed.granted.subtracting(current.granted).union(proposed.allowed.intersection(current.conditional))
        let lost = current.granted.subtracting(proposed.granted).union(current.allowed.intersection(proposed.conditional))
        guard !gained.isEmpty || !lost.isEmpty else { return nil }
        return (subject, gained, lost, current, proposed)
    }
}

struct PermissionRemovedRule: KeyPolicyRule {
    static let id = "PERMISSION_REMOVED"
    static let severity = Severity.warning
    static let stage = KeyPolicyRuleStage.change
    static let description = "A principal could do something under the current policy that it cannot (or only conditionally can) under the proposed one. Intended when access is being revoked; otherwise something will break."
    static let fix = "Check that the principal no longer needs the actions listed; if it does, keep its grant."
    static let triggering: [RuleExample] = [
        .init(proposed: S(root), current: S(root + "," + useStatement)),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(root + "," + useStatement.replacingOccurrences(of: "\"kms:ReEncrypt*\"", with: "\"kms:ReEncryptFrom\",\"kms:ReEncryptTo\"")), current: S(root + "," + useStatement)),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        changes(input).compactMap { change in
            guard !change.lost.isEmpty else { return nil }
            let toConditional = change.lost.intersection(change.proposed.conditional)
            return Finding(
                code: id, severity: severity,
                message: "\(change.subject) loses \(KeyPolicyAnalysisInput.list(change.lost))"
                    + (toConditional.isEmpty ? "" : " (still granted under conditions: \(KeyPolicyAnalysisInput.list(toConditional)))"))
        }
    }
}

struct NewAccessRule: KeyPolicyRule {
    static let id = "NEW_ACCESS"
    static let severity = Severity.warning
    static let stage = KeyPolicyRuleStage.change
    static let description = "A principal gains actions it did not have under the current policy. Expected when access is being granted; review that it is exactly what was asked for."
    static let fix = "Check the principal and the actions listed against the change request."
    static let triggering: [RuleExample] = [.init(proposed: S(root + "," + useStatement), current: S(root))]
    static let nonTriggering: [RuleExample] = [.init(proposed: S(root + "," + useStatement), current: S(root + "," + useStatement))]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        changes(input).compactMap { change in
            guard !change.gained.isEmpty, !input.isPublic(change.subject) else { return nil }
            let conditional = change.gained.intersection(change.proposed.conditional)
            return input.proposed.finding(
                id, severity,
                "\(change.subject) gains \(KeyPolicyAnalysisInput.list(change.gained))"
                    + (conditional.isEmpty ? "" : " (under conditions: \(KeyPolicyAnalysisInput.list(conditional)))"),
                at: input.grantingStatement(change.subject, change.gained))
        }
    }
}

struct NewPublicAccessRule: KeyPolicyRule {
    static let id = "NEW_PUBLIC_ACCESS"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.change
    static let description = "Under the proposed policy, an anonymous caller or a principal of an account neither policy names gains access to the key (at least under some condition on the request)."
    static let fix = "Name the principals, or restrict the \"*\" principal with kms:CallerAccount, aws:PrincipalAccount, aws:PrincipalOrgID or aws:PrincipalArn."
    static let triggering: [RuleExample] = [
        .init(proposed: S(root + #",{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}"#), current: S(root)),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(root + #",{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"152535741197"}}}"#), current: S(root)),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        // One finding for anonymous callers and other accounts together.
        let public_ = changes(input).filter { !$0.gained.isEmpty && input.isPublic($0.subject) }
        guard let first = public_.first else { return [] }
        let gained = public_.reduce(ActionSet()) { $0.union($1.gained) }
        return [input.proposed.finding(
            id, severity,
            public_.map(\.subject.description).joined(separator: " and ") + " gain " + KeyPolicyAnalysisInput.list(gained),
            at: input.grantingStatement(first.subject, first.gained))]
    }
}

struct NewExternalAccountRule: KeyPolicyRule {
    static let id = "NEW_EXTERNAL_ACCOUNT"
    static let severity = Severity.warning
    static let stage = KeyPolicyRuleStage.change
    static let description = "A principal of another AWS account (not the key's) gets access to the key where no principal of that account had any before. Expected when onboarding a vendor such as Confluent; review the account id."
    static let fix = "Check the account id against the vendor's documentation or the change request."
    static let triggering: [RuleExample] = [.init(proposed: S(root + "," + useStatement), current: S(root))]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(root + "," + useStatement + "," + grantStatement), current: S(root + "," + useStatement)),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        guard let owner = input.ownerAccount, input.current?.document != nil else { return [] }
        var before: [String: Bool] = [:], after: [String: Bool] = [:]
        for (subject, current, proposed) in input.rows where !input.isPublic(subject) {
            guard let account = subject.account, account != owner, let current else { continue }
            before[account] = (before[account] ?? false) || !current.granted.isEmpty
            after[account] = (after[account] ?? false) || !proposed.granted.isEmpty
        }
        return after.keys.sorted().compactMap { account in
            guard after[account] == true, before[account] != true else { return nil }
            return Finding(code: id, severity: severity, message: "account \(account) gets access to the key (it had none)")
        }
    }
}
