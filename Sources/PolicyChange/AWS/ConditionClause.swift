import Foundation

/// One `operator: {key: values}` pair of a `Condition` block.
public struct ConditionClause: Sendable {
    public enum SetQualifier: Sendable { case forAnyValue, forAllValues }

    /// The operator as written (`ForAnyValue:StringLikeIfExists`).
    public let written: String
    /// The base operator (`StringLike`), qualifier and `IfExists` apart.
    public let base: String
    public let qualifier: SetQualifier?
    public let ifExists: Bool
    public let key: String
    /// The values as written (strings, numbers and booleans as text); nil items are invalid.
    public let values: [JSONValue]
    /// `Condition.<operator>.<key>`
    public let path: String
    public let operatorPath: String

    public static let stringOperators: Set<String> = [
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
    ]
    public static let arnOperators: Set<String> = ["ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"]
    public static let numericOperators: Set<String> = [
        "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan",
        "NumericGreaterThanEquals",
    ]
    public static let dateOperators: Set<String> = [
        "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals",
    ]
    public static let otherOperators: Set<String> = ["Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "Null"]
    public static let allOperators = stringOperators.union(arnOperators).union(numericOperators).union(dateOperators)
        .union(otherOperators)

    /// Operator known, values scalar, key shaped `prefix:name`.
    public var isWellFormed: Bool {
        Self.allOperators.contains(base) && !(base == "Null" && ifExists)
            && key.contains(":") && values.allSatisfy(\.isScalar)
    }

    static func clauses(_ condition: JSONValue) -> [ConditionClause] {
        guard let operators = condition.objectValue else { return [] }
        var result: [ConditionClause] = []
        for op in operators {
            let operatorPath = "Condition.\(op.key)"
            guard let keys = op.value.objectValue else {
                result.append(ConditionClause(written: op.key, key: "", values: [.null], path: operatorPath, operatorPath: operatorPath))
                continue
            }
            for key in keys {
                result.append(ConditionClause(
                    written: op.key, key: key.key, values: key.value.arrayValue ?? [key.value],
                    path: "\(operatorPath).\(key.key)", operatorPath: operatorPath))
            }
        }
        return result
    }

    init(written: String, key: String, values: [JSONValue], path: String, operatorPath: String) {
        self.written = written
        self.key = key
        self.values = values
        self.path = path
        self.operatorPath = operatorPath
        var name = Substring(written)
        if name.hasPrefix("ForAnyValue:") {
            qualifier = .forAnyValue
            name = name.dropFirst("ForAnyValue:".count)
        } else if name.hasPrefix("ForAllValues:") {
            qualifier = .forAllValues
            name = name.dropFirst("ForAllValues:".count)
        } else {
            qualifier = nil
        }
        ifExists = name.hasSuffix("IfExists")
        if ifExists { name = name.dropLast("IfExists".count) }
        base = String(name)
    }

    var textValues: [String] { values.compactMap(\.scalarText) }

    /// Keys whose value follows from who the principal is; every other key
    /// (kms:ViaService, encryption context, source IP…) depends on the request.
    static let principalKeys: Set<String> = ["kms:calleraccount", "aws:principalaccount", "aws:principalarn"]

    /// True, false, or nil when it depends on the request.
    func evaluate(for subject: Subject) -> Bool? {
        let lowerKey = key.lowercased()
        guard Self.principalKeys.contains(lowerKey), qualifier == nil else { return nil }
        let actual: String?
        switch subject.kind {
        case .aws(let arn, let account):
            actual = lowerKey == "aws:principalarn" ? arn : account
            if lowerKey == "aws:principalarn", arn == nil {
                // Some unnamed principal of the account: it equals none of the named ARNs.
                return unnamedArn(account: account)
            }
        case .service, .anonymous:
            actual = nil
        }
        if base == "Null" {
            guard let wanted = textValues.first?.lowercased() else { return nil }
            return (wanted == "true") == (actual == nil)
        }
        guard let actual else { return ifExists ? true : (isNegated ? true : false) }
        let values = textValues
        switch base {
        case "StringEquals", "ArnEquals": return values.contains(actual)
        case "StringNotEquals", "ArnNotEquals": return !values.contains(actual)
        case "StringEqualsIgnoreCase": return values.contains { $0.caseInsensitiveCompare(actual) == .orderedSame }
        case "StringNotEqualsIgnoreCase": return !values.contains { $0.caseInsensitiveCompare(actual) == .orderedSame }
        case "StringLike", "ArnLike": return values.contains { CaseSensitiveGlob($0).matches(actual) }
        case "StringNotLike", "ArnNotLike": return !values.contains { CaseSensitiveGlob($0).matches(actual) }
        default: return nil
        }
    }

    private var isNegated: Bool { base.contains("Not") }

    private func unnamedArn(account: String) -> Bool? {
        switch base {
        case "StringEquals", "ArnEquals", "StringEqualsIgnoreCase":
            return values.contains { $0.scalarText?.containsASCII(UInt8(ascii: "*")) == false && $0.scalarText?.containsASCII(UInt8(ascii: "?")) == false } ? false : nil
        case "StringNotEquals", "ArnNotEquals", "StringNotEqualsIgnoreCase": return true
        default: return nil
        }
    }

    /// ARNs named by `aws:PrincipalArn` equality conditions: principals too.
    var namedPrincipalArns: [String] {
        guard key.lowercased() == "aws:principalarn" else { return [] }
        return textValues.filter { !$0.containsASCII(UInt8(ascii: "*")) && !$0.containsASCII(UInt8(ascii: "?")) }
    }
}

/// StringLike matching: `*` and `?`, case-sensitive.
struct CaseSensitiveGlob {
    let pattern: [Unicode.Scalar]
    init(_ text: String) { pattern = Array(text.unicodeScalars) }
    func matches(_ text: String) -> Bool {
        Glob.matches(pattern: pattern, subject: Array(text.unicodeScalars))
    }
}

extension JSONValue {
    var isScalar: Bool {
        switch self {
        case .string, .number, .bool: true
        default: false
        }
    }

    var scalarText: String? {
        switch self {
        case .string(let s): s
        case .number(let n): n
        case .bool(let b): String(b)
        default: nil
        }
    }
}
