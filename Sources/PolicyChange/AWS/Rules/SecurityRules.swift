import Foundation

private func S(_ statements: String) -> String { RuleExample.statements(statements) }

/// Keys whose positive conditions (StringEquals, ArnLike…) restrict who the caller can be.
private let callerRestrictingKeys: Set<String> = [
    "kms:calleraccount", "aws:principalaccount", "aws:principalarn", "aws:principalorgid", "aws:principalorgpaths",
    "aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths", "aws:userid", "aws:username",
]

private func restricts(_ clause: ConditionClause, _ keys: Set<String>, prefixes: [String] = []) -> Bool {
    let key = clause.key.lowercased()
    guard keys.contains(key) || prefixes.contains(where: key.hasPrefix) else { return false }
    return !clause.base.contains("Not") && clause.base != "Null" && clause.qualifier != .forAllValues && !clause.ifExists
        && !clause.textValues.contains("*")
}

struct PublicPrincipalRule: KeyPolicyRule {
    static let id = "PUBLIC_PRINCIPAL"
    static let severity = Severity.securityWarning
    static let stage = KeyPolicyRuleStage.security
    static let description = "An Allow statement names every principal (\"*\" or {\"AWS\": \"*\"}) with no condition restricting the caller's account, organization or ARN: anyone in any AWS account can use the key for the actions listed."
    static let fix = "Name the principals, or add a condition such as {\"StringEquals\": {\"kms:CallerAccount\": \"111122223333\"}}."
    static let triggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}"#)),
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}"#)),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333","kms:ViaService":"s3.us-east-1.amazonaws.com"}}}"#)),
        .init(proposed: S(#"{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}"#)),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        input.proposed.statements.compactMap { s in
            guard s.effect == .allow, !s.negatedPrincipal, s.principals?.everyone == true,
                !s.conditions.contains(where: { restricts($0, callerRestrictingKeys) })
            else { return nil }
            let path = s.value["Principal"] == .string("*") ? "\(s.path).Principal" : "\(s.path).Principal.AWS"
            return finding(input.proposed, "the statement allows \(s.sid.map { "(\"\($0)\") " } ?? "")any principal of any account, with no condition on the caller's account", at: path)
        }
    }
}

struct AllowWithNotPrincipalRule: KeyPolicyRule {
    static let id = "ALLOW_WITH_NOT_PRINCIPAL"
    static let severity = Severity.securityWarning
    static let stage = KeyPolicyRuleStage.security
    static let description = "An Allow statement uses NotPrincipal: it grants every principal except those listed, including anonymous callers and every other account."
    static let fix = "Use Principal to list whom to allow; use NotPrincipal only with Deny."
    static let triggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/intern"},"Action":"kms:Decrypt","Resource":"*"}"#)),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(RuleExample.rootStatement + #",{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:role/admin"},"Action":"kms:ScheduleKeyDeletion","Resource":"*"}"#)),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        input.proposed.statements.compactMap { s in
            guard s.value["Effect"] == .string("Allow"), s.value["NotPrincipal"] != nil else { return nil }
            return finding(input.proposed, "Allow with NotPrincipal grants everyone not listed, including other accounts and anonymous callers", at: "\(s.path).NotPrincipal")
        }
    }
}

struct RestrictAccessToServicePrincipalRule: KeyPolicyRule {
    static let id = "RESTRICT_ACCESS_TO_SERVICE_PRINCIPAL"
    static let severity = Severity.securityWarning
    static let stage = KeyPolicyRuleStage.security
    static let description = "An Allow statement grants a service principal with no condition on aws:SourceArn, aws:SourceAccount, aws:SourceOrgID, aws:SourceOrgPaths or the encryption context: the service may use the key on behalf of any account's resources (the confused deputy problem)."
    static let fix = "Add a condition naming your resources, for example {\"StringEquals\": {\"aws:SourceAccount\": \"111122223333\"}} or {\"ArnLike\": {\"aws:SourceArn\": \"arn:aws:logs:us-east-1:111122223333:*\"}}."
    static let triggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"Service":"logs.us-east-1.amazonaws.com"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}"#)),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"Service":"logs.us-east-1.amazonaws.com"},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*","Condition":{"ArnLike":{"kms:EncryptionContext:aws:logs:arn":"arn:aws:logs:us-east-1:111122223333:*"}}}"#)),
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:GenerateDataKey*","Resource":"*","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}}"#)),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        input.proposed.statements.compactMap { s in
            guard s.effect == .allow, !s.negatedPrincipal, let services = s.principals?.services, !services.isEmpty,
                !s.conditions.contains(where: {
                    restricts($0, ["aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths"], prefixes: ["kms:encryptioncontext:"])
                })
            else { return nil }
            return finding(input.proposed, "\(services.sorted().joined(separator: ", ")) may use the key for any account's resources; restrict it with aws:SourceArn or aws:SourceAccount", at: "\(s.path).Principal.Service")
        }
    }
}
