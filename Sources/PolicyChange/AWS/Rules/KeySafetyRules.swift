import Foundation

private func S(_ statements: String) -> String { RuleExample.statements(statements) }
private let root = RuleExample.rootStatement
private let admin = "arn:aws:iam::111122223333:role/KeyAdmin"
private let adminSession = "arn:aws:sts::111122223333:assumed-role/KeyAdmin/alice"
private let adminStatement =
    #"{"Sid":"Key administrators","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/KeyAdmin"},"Action":["kms:Create*","kms:Describe*","kms:Enable*","kms:List*","kms:Put*","kms:Update*","kms:Revoke*","kms:Disable*","kms:Get*","kms:Delete*","kms:TagResource","kms:UntagResource","kms:ScheduleKeyDeletion","kms:CancelKeyDeletion"],"Resource":"*"}"#
private let useStatement =
    #"{"Sid":"Use","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}"#

struct KeyPolicyLockoutRule: KeyPolicyRule {
    static let id = "KEY_POLICY_LOCKOUT"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.keySafety
    static let description = "After the change the caller (--caller, or the identity the run uses) could no longer call kms:PutKeyPolicy on the key, directly or through the owner account's :root grant (assuming the caller's own IAM policy allows it): nobody could repair a mistake without AWS Support. Without a known caller: no principal could."
    static let fix = "Keep the account's :root statement (\"Enable IAM User Permissions\"), or grant kms:PutKeyPolicy to the caller or a key administrator role."
    static let triggering: [RuleExample] = [
        // :root removed and no other key administrator.
        .init(proposed: S(useStatement), current: S(root + "," + useStatement), caller: adminSession),
        // A Deny on PutKeyPolicy for everyone.
        .init(proposed: S(root + #",{"Effect":"Deny","Principal":"*","Action":"kms:PutKeyPolicy","Resource":"*"}"#), current: S(root), caller: admin),
    ]
    static let nonTriggering: [RuleExample] = [
        // :root removed, but the caller is a key administrator.
        .init(proposed: S(adminStatement + "," + useStatement), current: S(root + "," + useStatement), caller: adminSession),
        .init(proposed: S(root + "," + useStatement), current: S(root), caller: adminSession),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        guard input.current?.document != nil, let put = ActionSet.index(of: "kms:PutKeyPolicy") else { return [] }
        if let caller = input.caller {
            guard let subject = input.callerSubject else {
                return [Finding(code: id, severity: severity, message: "the caller \(caller) is not an IAM or STS ARN; cannot check that it keeps kms:PutKeyPolicy")]
            }
            let access = input.proposedEvaluator.row(for: subject).access(put)
            guard access != .allow else { return [] }
            return [Finding(
                code: id, severity: severity,
                message: "\(caller) could no longer call kms:PutKeyPolicy on the key"
                    + (access == .conditional ? " (only under a condition on the request)" : "")
                    + "; it could not undo this change")]
        }
        let anyone = input.rows.contains { subject, _, proposed in
            subject.account != nil && !input.isPublic(subject) && proposed.access(put) == .allow
        }
        return anyone ? [] : [Finding(code: id, severity: severity, message: "no principal could call kms:PutKeyPolicy on the key after this change")]
    }
}

struct AccountDelegationRemovedRule: KeyPolicyRule {
    static let id = "ACCOUNT_DELEGATION_REMOVED"
    static let severity = Severity.warning
    static let stage = KeyPolicyRuleStage.keySafety
    static let description = "The current policy lets the key's account delegate access to IAM (its :root is granted), and the proposed policy no longer does: IAM policies stop working for this key, and only principals the key policy names keep access."
    static let fix = "Keep the \"Enable IAM User Permissions\" statement unless removing IAM delegation is intended and key administrators are named."
    static let triggering: [RuleExample] = [
        .init(proposed: S(adminStatement + "," + useStatement), current: S(root + "," + useStatement), caller: adminSession),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(root + "," + adminStatement), current: S(root + "," + useStatement), caller: adminSession),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        guard let owner = input.ownerAccount, input.current?.document != nil,
            let row = input.rows.first(where: { $0.subject.kind == .aws(arn: nil, account: owner) }),
            let current = row.current, !current.granted.isEmpty, row.proposed.granted.isEmpty
        else { return [] }
        return [Finding(
            code: id, severity: severity,
            message: "the proposed policy no longer grants account \(owner) (its :root); IAM policies stop working for the key")]
    }
}

struct BypassLockoutSafetyCheckRequestedRule: KeyPolicyRule {
    static let id = "BYPASS_LOCKOUT_SAFETY_CHECK_REQUESTED"
    static let severity = Severity.securityWarning
    static let stage = KeyPolicyRuleStage.keySafety
    static let description = "The change asks KMS to skip its policy lockout safety check (BypassPolicyLockoutSafetyCheck). KMS's check is what stops a policy that locks the caller out; AWS recommends never bypassing it."
    static let fix = "Remove the bypass; if KMS then rejects the policy, it would have locked you out."
    static let triggering: [RuleExample] = [.init(proposed: S(root), bypassLockoutSafetyCheck: true)]
    static let nonTriggering: [RuleExample] = [.init(proposed: S(root))]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        guard input.bypassLockoutSafetyCheck else { return [] }
        return [Finding(code: id, severity: severity, message: "the change asks KMS to bypass its policy lockout safety check")]
    }
}
