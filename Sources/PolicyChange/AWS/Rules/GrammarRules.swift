import Foundation

private func S(_ statements: String) -> String { RuleExample.statements(statements) }
private let root = RuleExample.rootStatement

struct MissingVersionRule: KeyPolicyRule {
    static let id = "MISSING_VERSION"
    static let severity = Severity.warning
    static let stage = KeyPolicyRuleStage.grammar
    static let description = "The policy has no Version element. IAM then reads it as version 2008-10-17, in which policy variables such as ${aws:username} are plain text."
    static let fix = "Add \"Version\": \"2012-10-17\" at the top of the policy."
    static let triggering: [RuleExample] = [.init(proposed: #"{"Statement":["# + root + "]}")]
    static let nonTriggering: [RuleExample] = [.init(proposed: S(root))]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        guard let root = input.proposed.root, root.objectValue != nil, root["Version"] == nil else { return [] }
        return [finding(input.proposed, "the policy has no Version; add \"Version\": \"2012-10-17\"", at: "")]
    }
}

struct InvalidVersionRule: KeyPolicyRule {
    static let id = "INVALID_VERSION"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.grammar
    static let description = "The Version element is not one of the two policy language versions, 2012-10-17 and 2008-10-17. KMS rejects the policy."
    static let fix = "Use \"Version\": \"2012-10-17\" (the version is a fixed string, not today's date)."
    static let triggering: [RuleExample] = [
        .init(proposed: #"{"Version":"2024-01-01","Statement":["# + root + "]}"),
        .init(proposed: #"{"Version":20121017,"Statement":["# + root + "]}"),
    ]
    static let nonTriggering: [RuleExample] = [.init(proposed: S(root)), .init(proposed: #"{"Version":"2008-10-17","Statement":["# + root + "]}")]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        guard let version = input.proposed.root?["Version"] else { return [] }
        guard version != .string("2012-10-17"), version != .string("2008-10-17") else { return [] }
        return [finding(input.proposed, "Version must be \"2012-10-17\" (or \"2008-10-17\"), not \(AWSKeyPolicyDialect.compact(version))", at: "Version")]
    }
}

struct InvalidPolicyElementRule: KeyPolicyRule {
    static let id = "INVALID_POLICY_ELEMENT"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.grammar
    static let description = "An element the policy grammar does not have, or one of the wrong shape: an unknown top-level or statement element (names are case-sensitive), a missing or empty Statement, a statement that is not an object, an Effect other than Allow or Deny, Principal with NotPrincipal, Action with NotAction, or a principal type other than AWS, Service, Federated and CanonicalUser."
    static let fix = "Spell the element as the IAM policy grammar does (Version, Id, Statement; Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition) and keep one of each pair."
    static let triggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*","Comment":"admins"}"#)),
        .init(proposed: S(#"{"Effect":"Permit","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}"#)),
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"IAM":"111122223333"},"Action":"kms:*","Resource":"*"}"#)),
        .init(proposed: #"{"Version":"2012-10-17"}"#),
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","NotAction":"kms:Decrypt","Resource":"*"}"#)),
    ]
    static let nonTriggering: [RuleExample] = [.init(proposed: #"{"Version":"2012-10-17","Id":"key-default-1","Statement":["# + root + "]}")]

    static let topLevel: Set<String> = ["Version", "Id", "Statement"]
    static let statementElements: Set<String> = [
        "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition",
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        let policy = input.proposed
        guard let root = policy.root else { return [] }
        guard let members = root.objectValue else { return [finding(policy, "the policy must be a JSON object", at: "")] }
        var found: [Finding] = []
        for member in members where !topLevel.contains(member.key) {
            found.append(finding(policy, "\"\(member.key)\" is not a policy element (Version, Id, Statement)", at: member.key))
        }
        guard let statement = root["Statement"] else {
            return found + [finding(policy, "the policy has no Statement", at: "")]
        }
        if statement.arrayValue == nil, statement.objectValue == nil {
            found.append(finding(policy, "Statement must be an array of statement objects", at: "Statement"))
        }
        for s in policy.statements {
            guard let elements = s.value.objectValue else {
                found.append(finding(policy, "a statement must be a JSON object", at: s.path))
                continue
            }
            for element in elements where !statementElements.contains(element.key) {
                found.append(finding(policy, "\"\(element.key)\" is not a statement element", at: "\(s.path).\(element.key)"))
            }
            if let effect = s.value["Effect"], effect != .string("Allow"), effect != .string("Deny") {
                found.append(finding(policy, "Effect must be \"Allow\" or \"Deny\", not \(AWSKeyPolicyDialect.compact(effect))", at: "\(s.path).Effect"))
            }
            if s.value["Principal"] != nil, s.value["NotPrincipal"] != nil {
                found.append(finding(policy, "a statement has Principal or NotPrincipal, not both", at: "\(s.path).NotPrincipal"))
            }
            if s.value["Action"] != nil, s.value["NotAction"] != nil {
                found.append(finding(policy, "a statement has Action or NotAction, not both", at: "\(s.path).NotAction"))
            }
            if s.value["Resource"] != nil, s.value["NotResource"] != nil {
                found.append(finding(policy, "a statement has Resource or NotResource, not both", at: "\(s.path).NotResource"))
            }
            for key in ["Principal", "NotPrincipal"] {
                guard let principal = s.value[key], let types = principal.objectValue else { continue }
                for type in types where !["AWS", "Service", "Federated", "CanonicalUser"].contains(type.key) {
                    found.append(finding(policy, "\"\(type.key)\" is not a principal type (AWS, Service, Federated, CanonicalUser)", at: "\(s.path).\(key).\(type.key)"))
                }
            }
        }
        return found
    }
}

/// MISSING_EFFECT, MISSING_PRINCIPAL, MISSING_ACTION, MISSING_RESOURCE: one element pair absent.
protocol MissingElementRule: KeyPolicyRule {
    static var elements: [String] { get }
}

extension MissingElementRule {
    static var stage: KeyPolicyRuleStage { .grammar }
    static var severity: Severity { .error }
    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        input.proposed.statements.compactMap { s in
            guard s.value.objectValue != nil, !elements.contains(where: { s.value[$0] != nil }) else { return nil }
            return finding(input.proposed, "the statement has no \(elements.joined(separator: " or "))", at: s.path)
        }
    }
}

struct MissingEffectRule: MissingElementRule {
    static let id = "MISSING_EFFECT"
    static let elements = ["Effect"]
    static let description = "A statement has no Effect. KMS rejects the policy; the analysis treats the statement as granting nothing."
    static let fix = "Add \"Effect\": \"Allow\" or \"Effect\": \"Deny\"."
    static let triggering: [RuleExample] = [.init(proposed: S(#"{"Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}"#))]
    static let nonTriggering: [RuleExample] = [.init(proposed: S(root))]
}

struct MissingPrincipalRule: MissingElementRule {
    static let id = "MISSING_PRINCIPAL"
    static let elements = ["Principal", "NotPrincipal"]
    static let description = "A statement of the key policy names no Principal (or NotPrincipal). A key policy is a resource policy: every statement must say whom it applies to."
    static let fix = "Add a Principal, for example {\"AWS\": \"arn:aws:iam::111122223333:root\"}."
    static let triggering: [RuleExample] = [.init(proposed: S(#"{"Effect":"Allow","Action":"kms:*","Resource":"*"}"#))]
    static let nonTriggering: [RuleExample] = [.init(proposed: S(root))]
}

struct MissingActionRule: MissingElementRule {
    static let id = "MISSING_ACTION"
    static let elements = ["Action", "NotAction"]
    static let description = "A statement has no Action (or NotAction). KMS rejects the policy."
    static let fix = "List the KMS actions the statement allows or denies, for example \"Action\": [\"kms:Decrypt\"]."
    static let triggering: [RuleExample] = [.init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Resource":"*"}"#))]
    static let nonTriggering: [RuleExample] = [.init(proposed: S(root))]
}

struct MissingResourceRule: MissingElementRule {
    static let id = "MISSING_RESOURCE"
    static let elements = ["Resource", "NotResource"]
    static let description = "A statement has no Resource (or NotResource). In a key policy \"Resource\": \"*\" means this key."
    static let fix = "Add \"Resource\": \"*\"."
    static let triggering: [RuleExample] = [.init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*"}"#))]
    static let nonTriggering: [RuleExample] = [.init(proposed: S(root))]
}

struct InvalidActionRule: KeyPolicyRule {
    static let id = "INVALID_ACTION"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.grammar
    static let description = "An action is not a KMS action: its name (or pattern) matches no action of the pinned KMS action catalogue, it belongs to another service, or it is not a string. A key policy can only grant KMS actions."
    static let fix = "Use the action names of the KMS API (kms:Decrypt, kms:GenerateDataKey*, …); ReEncrypt is kms:ReEncryptFrom and kms:ReEncryptTo."
    static let triggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":["kms:Decrypt","kms:Decrpyt"],"Resource":"*"}"#)),
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"s3:GetObject","Resource":"*"}"#)),
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:ReEncrypt","Resource":"*"}"#)),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":["KMS:decrypt","kms:ReEncrypt*","kms:Get?eyPolicy","*"],"Resource":"*"}"#)),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        var found: [Finding] = []
        for s in input.proposed.statements {
            for key in ["Action", "NotAction"] {
                guard let value = s.value[key] else { continue }
                for (item, path) in items(value, "\(s.path).\(key)") {
                    guard let text = item.stringValue else {
                        found.append(finding(input.proposed, "an action must be a string", at: path))
                        continue
                    }
                    if text == "*" { continue }
                    if !text.lowercased().hasPrefix("kms:") {
                        found.append(finding(input.proposed, "\"\(text)\" is not a KMS action; a key policy grants only kms: actions", at: path))
                    } else if input.proposed.actionSet(text).isEmpty {
                        found.append(finding(input.proposed, "\"\(text)\" matches no KMS action" + suggestion(text), at: path))
                    }
                }
            }
        }
        return found
    }

    static func suggestion(_ text: String) -> String {
        if text.lowercased() == "kms:reencrypt" { return " (ReEncrypt is authorised as kms:ReEncryptFrom and kms:ReEncryptTo; write kms:ReEncrypt*)" }
        let name = text.lowercased()
        let best = KMSActionCatalogue.actions.min { editDistance($0.lowercased(), name) < editDistance($1.lowercased(), name) }
        guard let best, editDistance(best.lowercased(), name) <= 3 else { return "" }
        return " (did you mean \(best)?)"
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let saved = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = saved
            }
        }
        return row[b.count]
    }
}

/// Principal values with their paths, for the principal rules.
func principalValues(_ s: KeyPolicyStatement) -> [(type: String, value: JSONValue, path: String)] {
    var result: [(String, JSONValue, String)] = []
    for key in ["Principal", "NotPrincipal"] {
        guard let principal = s.value[key] else { continue }
        if let types = principal.objectValue {
            for type in types {
                for (item, path) in items(type.value, "\(s.path).\(key).\(type.key)") { result.append((type.key, item, path)) }
            }
        } else {
            result.append(("", principal, "\(s.path).\(key)"))
        }
    }
    return result
}

struct InvalidPrincipalFormatRule: KeyPolicyRule {
    static let id = "INVALID_PRINCIPAL_FORMAT"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.grammar
    static let description = "A principal is not in a form a key policy accepts: an AWS principal must be \"*\", an account id, or the ARN of an account root, IAM role, IAM user, assumed-role session or federated user; a service principal must be a service name such as logs.amazonaws.com. IAM groups are not principals, and wildcards cannot stand for part of a principal."
    static let fix = "Name the role or user (arn:aws:iam::111122223333:role/Name) or the account (arn:aws:iam::111122223333:root); grant a group's members through IAM policies and the account's :root delegation; to match many principals use \"*\" with an aws:PrincipalArn condition."
    static let triggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:group/admins"},"Action":"kms:*","Resource":"*"}"#)),
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app-*"},"Action":"kms:Decrypt","Resource":"*"}"#)),
        .init(proposed: S(#"{"Effect":"Allow","Principal":"111122223333","Action":"kms:Decrypt","Resource":"*"}"#)),
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"Service":"*"},"Action":"kms:Decrypt","Resource":"*"}"#)),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/app","arn:aws:sts::111122223333:assumed-role/app/session"]},"Action":"kms:*","Resource":"*"}"#)),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        var found: [Finding] = []
        for s in input.proposed.statements {
            for (type, value, path) in principalValues(s) {
                let text = value.stringValue
                let message: String?
                switch type {
                case "":
                    message = text == "*" ? nil : "a Principal that is not an object must be \"*\""
                case "AWS":
                    if let text {
                        if text == "*" || AWSPrincipal(text) != nil || AWSPrincipal.isUniqueID(text) {
                            message = nil
                        } else if text.contains(":group/") {
                            message = "\(text) is an IAM group; groups are not principals"
                        } else if text.containsASCII(UInt8(ascii: "*")) || text.containsASCII(UInt8(ascii: "?")) {
                            message = "\(text): a wildcard cannot stand for part of a principal"
                        } else {
                            message = "\(text) is not an account id or the ARN of an account, role, user or session"
                        }
                    } else {
                        message = "an AWS principal must be a string"
                    }
                case "Service":
                    message = text.map(AWSPrincipal.isServiceName) == true ? nil : "\(text ?? "a non-string") is not a service principal name"
                case "Federated", "CanonicalUser":
                    message = text.map { !$0.isEmpty && !$0.containsASCII(UInt8(ascii: "*")) } == true ? nil : "\(text ?? "a non-string") is not a \(type) principal"
                default:
                    message = nil  // INVALID_POLICY_ELEMENT reports the type
                }
                if let message { found.append(finding(input.proposed, message, at: path)) }
            }
        }
        return found
    }
}

struct PrincipalUniqueIDRule: KeyPolicyRule {
    static let id = "PRINCIPAL_UNIQUE_ID"
    static let severity = Severity.warning
    static let stage = KeyPolicyRuleStage.grammar
    static let description = "A principal is a unique id (AROA… for a role, AIDA… for a user) rather than an ARN. IAM shows a principal this way when the role or user it named was deleted; re-creating one with the same name does not restore the grant, so the statement grants nothing."
    static let fix = "Replace the id with the ARN of the role or user that should have access, or remove the principal."
    static let triggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"AROAEXAMPLEID1234567"},"Action":"kms:Decrypt","Resource":"*"}"#)),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/app"},"Action":"kms:Decrypt","Resource":"*"}"#)),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        input.proposed.statements.flatMap { s in
            principalValues(s).compactMap { type, value, path in
                guard type == "AWS", let text = value.stringValue, AWSPrincipal.isUniqueID(text) else { return nil }
                let kind = text.hasPrefix("AROA") ? "role" : "user"
                return finding(input.proposed, "\(text) is the unique id of a deleted \(kind); the statement grants it nothing", at: path)
            }
        }
    }
}

struct DuplicateSidRule: KeyPolicyRule {
    static let id = "DUPLICATE_SID"
    static let severity = Severity.warning
    static let stage = KeyPolicyRuleStage.grammar
    static let description = "Two statements have the same Sid. Statements are edited and removed by Sid, so a repeated one makes such edits ambiguous."
    static let fix = "Give each statement its own Sid."
    static let triggering: [RuleExample] = [
        .init(proposed: S(root + "," + root.replacingOccurrences(of: "kms:*", with: "kms:Decrypt"))),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(root + "," + root.replacingOccurrences(of: "Enable IAM User Permissions", with: "Other"))),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        var seen = Set<String>()
        return input.proposed.statements.compactMap { s in
            guard let sid = s.sid, !seen.insert(sid).inserted else { return nil }
            return finding(input.proposed, "another statement already has the Sid \"\(sid)\"", at: "\(s.path).Sid")
        }
    }
}

struct EmptyArrayRule: KeyPolicyRule {
    static let id = "EMPTY_ARRAY"
    static let severity = Severity.suggestion
    static let stage = KeyPolicyRuleStage.grammar
    static let description = "An Action, Resource, Principal or Condition value is an empty array. It matches nothing, so the statement (or condition) does not do what it appears to."
    static let fix = "List the values, or remove the element or statement."
    static let triggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":[]},"Action":"kms:Decrypt","Resource":"*"}"#)),
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":[],"Resource":"*"}"#)),
    ]
    static let nonTriggering: [RuleExample] = [.init(proposed: S(root))]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        var found: [Finding] = []
        for s in input.proposed.statements {
            for key in ["Action", "NotAction", "Resource", "NotResource"] where s.value[key] == .array([]) {
                found.append(finding(input.proposed, "\(key) is an empty array", at: "\(s.path).\(key)"))
            }
            for key in ["Principal", "NotPrincipal"] {
                for type in s.value[key]?.objectValue ?? [] where type.value == .array([]) {
                    found.append(finding(input.proposed, "\(key).\(type.key) is an empty array", at: "\(s.path).\(key).\(type.key)"))
                }
            }
            for clause in s.conditions where s.value["Condition"]?[clause.written]?[clause.key] == .array([]) {
                found.append(finding(input.proposed, "the condition \(clause.written) on \(clause.key) has no values", at: "\(s.path).\(clause.path)"))
            }
        }
        return found
    }
}

struct RedundantActionRule: KeyPolicyRule {
    static let id = "REDUNDANT_ACTION"
    static let severity = Severity.suggestion
    static let stage = KeyPolicyRuleStage.grammar
    static let description = "An action of a statement is already covered by another action or pattern of the same statement (kms:Decrypt beside kms:*, or listed twice)."
    static let fix = "Remove the redundant action; keep the narrowest list that grants what is needed."
    static let triggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":["kms:*","kms:Decrypt"],"Resource":"*"}"#)),
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":["kms:ReEncrypt*","kms:ReEncryptFrom"],"Resource":"*"}"#)),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: S(#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*"}"#)),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        var found: [Finding] = []
        for s in input.proposed.statements {
            for key in ["Action", "NotAction"] {
                guard let value = s.value[key]?.arrayValue else { continue }
                let entries = value.enumerated().compactMap { i, item in
                    item.stringValue.map { (i, $0, input.proposed.actionSet($0)) }
                }
                for (i, text, set) in entries where !set.isEmpty {
                    let cover = entries.first { j, other, otherSet in
                        j != i && set.isSubset(of: otherSet) && (set != otherSet || j < i)
                    }
                    if let cover {
                        found.append(finding(input.proposed, "\(text) is already covered by \(cover.1)", at: "\(s.path).\(key)[\(i)]"))
                    }
                }
            }
        }
        return found
    }
}
