import Foundation

private func S(_ statements: String) -> String { RuleExample.statements(statements) }

/// A statement granting Decrypt to the owner account under `condition`.
private func conditioned(_ condition: String) -> String {
    S(#"{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:Decrypt","Resource":"*","Condition":"# + condition + "}")
}

/// Every condition clause of the proposed policy with its statement.
private func clauses(_ input: KeyPolicyAnalysisInput) -> [(statement: KeyPolicyStatement, clause: ConditionClause)] {
    input.proposed.statements.flatMap { s in s.conditions.map { (s, $0) } }
}

/// The types IAM gives the condition keys key policies use most; keys not
/// listed are not type-checked.
enum ConditionKeyType: String {
    case string, bool, numeric, date, ip

    static let known: [String: ConditionKeyType] = [
        "aws:securetransport": .bool, "aws:multifactorauthpresent": .bool, "aws:viaawsservice": .bool,
        "aws:principalisawsservice": .bool, "kms:grantisforawsresource": .bool, "kms:multiregion": .bool,
        "aws:multifactorauthage": .numeric, "kms:validto": .date, "kms:scheduledeletionpendingwindowindays": .numeric,
        "aws:currenttime": .date, "aws:tokenissuetime": .date, "aws:epochtime": .date,
        "aws:sourceip": .ip,
        "kms:calleraccount": .string, "kms:viaservice": .string, "aws:principalarn": .string, "aws:principalaccount": .string,
        "aws:sourcearn": .string, "aws:sourceaccount": .string, "aws:principalorgid": .string,
    ]

    static func of(_ key: String) -> ConditionKeyType? { known[key.lowercased()] }

    static func of(operator base: String) -> ConditionKeyType? {
        if ConditionClause.stringOperators.contains(base) || ConditionClause.arnOperators.contains(base) { return .string }
        if ConditionClause.numericOperators.contains(base) { return .numeric }
        if ConditionClause.dateOperators.contains(base) { return .date }
        switch base {
        case "Bool": return .bool
        case "IpAddress", "NotIpAddress": return .ip
        default: return nil
        }
    }
}

struct InvalidConditionRule: KeyPolicyRule {
    static let id = "INVALID_CONDITION"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.grammar
    static let description = "A Condition block is malformed: it is not an object of operators, an operator is unknown (names are case-sensitive), an operator's value is not an object of condition keys, a key is not of the form prefix:name, a value is not a string, number or boolean, or IfExists is used with Null. The analysis treats the statement as granting nothing."
    static let fix = "Write conditions as {\"StringEquals\": {\"kms:CallerAccount\": \"111122223333\"}} with an operator from the IAM policy grammar."
    static let triggering: [RuleExample] = [
        .init(proposed: conditioned(#"{"StringEqual":{"kms:CallerAccount":"111122223333"}}"#)),
        .init(proposed: conditioned(#"{"StringEquals":"kms:CallerAccount"}"#)),
        .init(proposed: conditioned(#"{"StringEquals":{"kms:CallerAccount":{"id":"111122223333"}}}"#)),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: conditioned(#"{"ForAnyValue:StringLikeIfExists":{"kms:EncryptionContextKeys":["app*"]}}"#)),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        var found: [Finding] = []
        for s in input.proposed.statements {
            guard let condition = s.value["Condition"] else { continue }
            guard condition.objectValue != nil else {
                found.append(finding(input.proposed, "Condition must be an object of operators", at: "\(s.path).Condition"))
                continue
            }
            for clause in s.conditions {
                let message: String
                if !ConditionClause.allOperators.contains(clause.base) {
                    message = "\(clause.written) is not a condition operator"
                } else if clause.key.isEmpty {
                    message = "the operator \(clause.written) must map condition keys to values"
                } else if clause.base == "Null" && clause.ifExists {
                    message = "NullIfExists is not an operator"
                } else if !clause.key.contains(":") {
                    message = "\(clause.key) is not a condition key (prefix:name)"
                } else if !clause.values.allSatisfy(\.isScalar) {
                    message = "the values of \(clause.key) must be strings, numbers or booleans"
                } else {
                    continue
                }
                let path = clause.key.isEmpty ? clause.operatorPath : clause.path
                found.append(finding(input.proposed, message, at: "\(s.path).\(path)"))
            }
        }
        return found
    }
}

struct TypeMismatchRule: KeyPolicyRule {
    static let id = "TYPE_MISMATCH"
    static let severity = Severity.error
    static let stage = KeyPolicyRuleStage.grammar
    static let description = "A condition operator does not fit the type of its condition key (a String operator on the boolean kms:GrantIsForAWSResource, a Date operator on kms:CallerAccount). The condition never matches as intended."
    static let fix = "Use an operator of the key's type: Bool for booleans, String or Arn operators for strings, Numeric, Date, IpAddress."
    static let triggering: [RuleExample] = [
        .init(proposed: conditioned(#"{"StringEquals":{"kms:GrantIsForAWSResource":"true"}}"#)),
    ]
    static let nonTriggering: [RuleExample] = [
        .init(proposed: conditioned(#"{"Bool":{"kms:GrantIsForAWSResource":"true"}}"#)),
        .init(proposed: conditioned(#"{"Null":{"kms:GrantIsForAWSResource":"false"}}"#)),
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        clauses(input).compactMap { s, clause in
            guard let keyType = ConditionKeyType.of(clause.key), let operatorType = ConditionKeyType.of(operator: clause.base),
                keyType != operatorType, !(keyType == .date && operatorType == .numeric)
            else { return nil }
            return finding(
                input.proposed, "\(clause.key) is a \(keyType.rawValue) key; \(clause.written) compares \(operatorType.rawValue) values",
                at: "\(s.path).\(clause.path)")
        }
    }
}

/// TYPE_MISMATCH_BOOLEAN, _NUMBER, _DATE, _IP_RANGE: a value that the operator's type cannot read.
protocol ValueTypeRule: KeyPolicyRule {
    static var operators: Set<String> { get }
    static var typeName: String { get }
    static func isValid(_ value: JSONValue) -> Bool
}

extension ValueTypeRule {
    static var severity: Severity { .warning }
    static var stage: KeyPolicyRuleStage { .grammar }
    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        clauses(input).flatMap { s, clause -> [Finding] in
            guard operators.contains(clause.base) else { return [] }
            return clause.values.enumerated().compactMap { i, value in
                guard value.isScalar, !isValid(value) else { return nil }
                let path = clause.values.count == 1 && s.value["Condition"]?[clause.written]?[clause.key]?.arrayValue == nil
                    ? clause.path : "\(clause.path)[\(i)]"
                return finding(
                    input.proposed, "\(clause.written) needs a \(typeName); \(value.scalarText ?? "") is not one",
                    at: "\(s.path).\(path)")
            }
        }
    }
}

struct TypeMismatchBooleanRule: ValueTypeRule {
    static let id = "TYPE_MISMATCH_BOOLEAN"
    static let operators: Set<String> = ["Bool"]
    static let typeName = "boolean (true or false)"
    static let description = "A Bool condition has a value other than true or false, so it never matches."
    static let fix = "Write true or false."
    static let triggering: [RuleExample] = [.init(proposed: conditioned(#"{"Bool":{"kms:GrantIsForAWSResource":"yes"}}"#))]
    static let nonTriggering: [RuleExample] = [.init(proposed: conditioned(#"{"Bool":{"kms:GrantIsForAWSResource":true}}"#))]
    static func isValid(_ value: JSONValue) -> Bool { ["true", "false"].contains(value.scalarText?.lowercased() ?? "") }
}

struct TypeMismatchNumberRule: ValueTypeRule {
    static let id = "TYPE_MISMATCH_NUMBER"
    static let operators = ConditionClause.numericOperators
    static let typeName = "number"
    static let description = "A Numeric condition has a value that is not a number, so it never matches."
    static let fix = "Write the number (as a JSON number or a string of digits)."
    static let triggering: [RuleExample] = [.init(proposed: conditioned(#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"one hour"}}"#))]
    static let nonTriggering: [RuleExample] = [.init(proposed: conditioned(#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}"#))]
    static func isValid(_ value: JSONValue) -> Bool { value.scalarText.flatMap(Double.init) != nil }
}

struct TypeMismatchDateRule: ValueTypeRule {
    static let id = "TYPE_MISMATCH_DATE"
    static let operators = ConditionClause.dateOperators
    static let typeName = "date (ISO 8601 or seconds since the epoch)"
    static let description = "A Date condition has a value that is neither an ISO 8601 date nor epoch seconds, so it never matches."
    static let fix = "Write the date as 2026-01-31T00:00:00Z (or epoch seconds)."
    static let triggering: [RuleExample] = [.init(proposed: conditioned(#"{"DateLessThan":{"aws:CurrentTime":"31/01/2026"}}"#))]
    static let nonTriggering: [RuleExample] = [.init(proposed: conditioned(#"{"DateLessThan":{"aws:CurrentTime":"2026-01-31T00:00:00Z"}}"#))]
    static func isValid(_ value: JSONValue) -> Bool {
        guard let text = value.scalarText else { return false }
        if !text.isEmpty, text.allSatisfy(\.isASCIIDigit) { return true }
        let bytes = Array(text.utf8)
        // YYYY-MM-DD, optionally followed by THH:MM[:SS][.fff](Z|±HH:MM)
        guard bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[$0]) })
        else { return false }
        return bytes.count == 10 || bytes[10] == UInt8(ascii: "T")
    }
}

struct TypeMismatchIPRangeRule: ValueTypeRule {
    static let id = "TYPE_MISMATCH_IP_RANGE"
    static let operators: Set<String> = ["IpAddress", "NotIpAddress"]
    static let typeName = "IP address or CIDR range"
    static let description = "An IpAddress condition has a value that is not an IPv4 or IPv6 address or CIDR range, so it never matches."
    static let fix = "Write the range as 203.0.113.0/24 or 2001:db8::/32."
    static let triggering: [RuleExample] = [.init(proposed: conditioned(#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/33"}}"#))]
    static let nonTriggering: [RuleExample] = [.init(proposed: conditioned(#"{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}"#))]
    static func isValid(_ value: JSONValue) -> Bool {
        guard let text = value.stringValue else { return false }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return false }
        let address = parts[0]
        let isV6 = address.contains(":")
        if let prefix = parts.count == 2 ? Int(parts[1]) : nil {
            guard prefix >= 0, prefix <= (isV6 ? 128 : 32) else { return false }
        } else if parts.count == 2 {
            return false
        }
        if isV6 { return address.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } && address.count >= 2 }
        let octets = address.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { Int($0).map { (0...255).contains($0) } == true && !$0.isEmpty }
    }
}

struct WildcardWithoutLikeOperatorRule: KeyPolicyRule {
    static let id = "WILDCARD_WITHOUT_LIKE_OPERATOR"
    static let severity = Severity.warning
    static let stage = KeyPolicyRuleStage.grammar
    static let description = "A condition value holds * or ? but the operator compares literally (StringEquals, ArnEquals…), so the wildcard only matches itself."
    static let fix = "Use StringLike or ArnLike (or their Not forms) for patterns."
    static let triggering: [RuleExample] = [.init(proposed: conditioned(#"{"StringEquals":{"kms:ViaService":"*.us-east-1.amazonaws.com"}}"#))]
    static let nonTriggering: [RuleExample] = [.init(proposed: conditioned(#"{"StringLike":{"kms:ViaService":"*.us-east-1.amazonaws.com"}}"#))]

    static let literal: Set<String> = [
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "ArnEquals", "ArnNotEquals",
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        clauses(input).compactMap { s, clause in
            guard literal.contains(clause.base), let value = clause.textValues.first(where: { $0.containsASCII(UInt8(ascii: "*")) || $0.containsASCII(UInt8(ascii: "?")) })
            else { return nil }
            let like = clause.written.replacingOccurrences(of: "Equals", with: "Like").replacingOccurrences(of: "IgnoreCase", with: "")
            return finding(input.proposed, "\(value) has a wildcard, but \(clause.written) compares literally; use \(like)", at: "\(s.path).\(clause.path)")
        }
    }
}

struct ForAllValuesWithSingleValuedKeyRule: KeyPolicyRule {
    static let id = "FOR_ALL_VALUES_WITH_SINGLE_VALUED_KEY"
    static let severity = Severity.securityWarning
    static let stage = KeyPolicyRuleStage.security
    static let description = "ForAllValues is used with a single-valued condition key. ForAllValues is also true when the key is absent from the request, so an Allow with it can grant more than intended."
    static let fix = "Drop the ForAllValues: prefix for single-valued keys (kms:ViaService, kms:CallerAccount, aws:PrincipalArn…); keep it only for multivalued keys such as kms:EncryptionContextKeys or aws:TagKeys."
    static let triggering: [RuleExample] = [.init(proposed: conditioned(#"{"ForAllValues:StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}"#))]
    static let nonTriggering: [RuleExample] = [.init(proposed: conditioned(#"{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["app"]}}"#))]

    static let multivalued: Set<String> = [
        "aws:tagkeys", "aws:principalorgpaths", "aws:calledvia", "aws:principalservicenameslist", "aws:sourceorgpaths",
        "aws:resourceorgpaths", "kms:encryptioncontextkeys", "kms:grantoperations",
    ]

    static func check(_ input: KeyPolicyAnalysisInput) -> [Finding] {
        clauses(input).compactMap { s, clause in
            guard clause.qualifier == .forAllValues, !multivalued.contains(clause.key.lowercased()) else { return nil }
            return finding(input.proposed, "\(clause.key) is single-valued; ForAllValues also matches when it is absent", at: "\(s.path).\(clause.path)")
        }
    }
}
