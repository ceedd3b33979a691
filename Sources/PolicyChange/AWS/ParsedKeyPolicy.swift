import Foundation

/// A set of catalogue actions, one bit per `KMSActionCatalogue.actions` index,
/// so the evaluator combines statements with bitwise operations.
public struct ActionSet: Sendable, Hashable {
    public static let capacity = 128
    var low: UInt64 = 0
    var high: UInt64 = 0

    public init() {}

    public static let all: ActionSet = {
        var set = ActionSet()
        for i in KMSActionCatalogue.actions.indices { set.insert(i) }
        return set
    }()

    public mutating func insert(_ index: Int) {
        if index < 64 { low |= 1 << UInt64(index) } else { high |= 1 << UInt64(index - 64) }
    }

    public func contains(_ index: Int) -> Bool {
        index < 64 ? low & (1 << UInt64(index)) != 0 : high & (1 << UInt64(index - 64)) != 0
    }

    public var isEmpty: Bool { low == 0 && high == 0 }
    public func union(_ o: ActionSet) -> ActionSet { var r = self; r.low |= o.low; r.high |= o.high; return r }
    public func subtracting(_ o: ActionSet) -> ActionSet { var r = self; r.low &= ~o.low; r.high &= ~o.high; return r }
    public func intersection(_ o: ActionSet) -> ActionSet { var r = self; r.low &= o.low; r.high &= o.high; return r }
    public var complement: ActionSet { ActionSet.all.subtracting(self) }
    public func isSubset(of o: ActionSet) -> Bool { subtracting(o).isEmpty }

    /// The catalogue actions in the set, in catalogue order.
    public var actions: [String] { KMSActionCatalogue.actions.indices.filter(contains).map { KMSActionCatalogue.actions[$0] } }

    /// The catalogue actions a pattern matches.
    public init(matching pattern: ActionPattern) {
        if let i = Self.indexByName[pattern.text.lowercased()] {
            insert(i)
            return
        }
        for (i, action) in Self.lowercasedCatalogue.enumerated() where pattern.matches(lowercased: action) { insert(i) }
    }

    static let lowercasedCatalogue: [[Unicode.Scalar]] = KMSActionCatalogue.actions.map { Array($0.lowercased().unicodeScalars) }
    static let indexByName: [String: Int] = Dictionary(
        uniqueKeysWithValues: KMSActionCatalogue.actions.enumerated().map { ($0.element.lowercased(), $0.offset) })

    static func index(of action: String) -> Int? { indexByName[action.lowercased()] }
}

/// A proposed or current key policy as the rules see it: the bytes, the parsed
/// document (nil when it does not parse) and its statements with their paths.
public struct ParsedKeyPolicy: Sendable {
    public let data: Data
    public let document: JSONDocument?
    public let syntaxError: JSONSyntaxError?
    public let statements: [KeyPolicyStatement]
    /// The file line:column refer to.
    public let file: String?
    /// The catalogue actions of each action pattern the statements name, as
    /// written: computed once per distinct pattern, shared by the rules.
    let actionSets: [String: ActionSet]

    public init(_ data: Data, file: String? = nil) {
        self.data = data
        self.file = file
        do {
            let document = try JSONParser.parse(data)
            self.document = document
            syntaxError = nil
            var cache: [String: ActionSet] = [:]
            statements = KeyPolicyStatement.statements(of: document.root, actionSets: &cache)
            actionSets = cache
        } catch {
            document = nil
            syntaxError = error
            statements = []
            actionSets = [:]
        }
    }

    /// The catalogue actions a pattern as written stands for.
    func actionSet(_ text: String) -> ActionSet {
        actionSets[text] ?? ActionSet(matching: ActionPattern(text))
    }

    public var root: JSONValue? { document?.root }

    /// A finding located at `path` in this policy's file.
    public func finding(_ code: String, _ severity: Severity, _ message: String, at path: String?) -> Finding {
        let position = path.flatMap { document?.locations[$0] }
        return Finding(
            code: code, severity: severity, message: message, path: path,
            line: position?.line, column: position?.column, file: position == nil ? nil : file)
    }
}

/// One statement, with what the evaluator needs precomputed.
public struct KeyPolicyStatement: Sendable {
    public enum Effect: Sendable { case allow, deny }

    public let index: Int
    /// `Statement[2]`, or `Statement` when the policy holds one statement object.
    public let path: String
    public let value: JSONValue
    public let sid: String?
    public let effect: Effect?
    /// Principals of `Principal` (or of `NotPrincipal` when `negatedPrincipal`).
    public let principals: PrincipalSet?
    public let negatedPrincipal: Bool
    /// Catalogue actions of `Action` (or of `NotAction`, already complemented).
    public let actions: ActionSet
    /// The patterns as written, for actions outside the catalogue.
    public let actionPatterns: [ActionPattern]
    public let negatedAction: Bool
    public let conditions: [ConditionClause]
    /// Whether the statement is well-formed enough to grant or deny anything:
    /// an invalid statement grants nothing (KMS would reject the policy).
    public let isValid: Bool

    static func statements(of root: JSONValue, actionSets: inout [String: ActionSet]) -> [KeyPolicyStatement] {
        guard let statement = root["Statement"] else { return [] }
        if let items = statement.arrayValue {
            return items.enumerated().map {
                KeyPolicyStatement(index: $0.offset, path: "Statement[\($0.offset)]", value: $0.element, actionSets: &actionSets)
            }
        }
        return [KeyPolicyStatement(index: 0, path: "Statement", value: statement, actionSets: &actionSets)]
    }

    init(index: Int, path: String, value: JSONValue, actionSets: inout [String: ActionSet]) {
        self.index = index
        self.path = path
        self.value = value
        sid = value["Sid"]?.stringValue
        switch value["Effect"]?.stringValue {
        case "Allow": effect = .allow
        case "Deny": effect = .deny
        default: effect = nil
        }
        let principalValue = value["Principal"] ?? value["NotPrincipal"]
        negatedPrincipal = value["Principal"] == nil && value["NotPrincipal"] != nil
        principals = principalValue.flatMap(PrincipalSet.init)
        let actionValue = value["Action"] ?? value["NotAction"]
        negatedAction = value["Action"] == nil && value["NotAction"] != nil
        let patterns = (actionValue.map { $0.arrayValue ?? [$0] } ?? []).compactMap(\.stringValue).map(ActionPattern.init)
        actionPatterns = patterns
        var set = ActionSet()
        for pattern in patterns {
            if let known = actionSets[pattern.text] {
                set = set.union(known)
            } else {
                let expansion = ActionSet(matching: pattern)
                actionSets[pattern.text] = expansion
                set = set.union(expansion)
            }
        }
        actions = negatedAction ? set.complement : set
        conditions = value["Condition"].map(ConditionClause.clauses) ?? []
        let grammarOK = effect != nil && principals != nil && actionValue != nil
            && (value["Resource"] != nil || value["NotResource"] != nil)
            && !(value["Principal"] != nil && value["NotPrincipal"] != nil)
            && !(value["Action"] != nil && value["NotAction"] != nil)
            && conditions.allSatisfy { $0.isWellFormed }
            && (value["Condition"] == nil || value["Condition"]?.objectValue != nil)
        isValid = grammarOK
    }

    /// Whether the statement's action element covers `action` (catalogue or not).
    func covers(action: String) -> Bool {
        if let i = ActionSet.index(of: action) { return actions.contains(i) }
        let listed = actionPatterns.contains { $0.matches(action) }
        return negatedAction ? !listed : listed
    }
}

/// The principals a `Principal` element names, normalised: account ids as
/// `arn:aws:iam::A:root`, wildcards apart. Nil when the element is malformed
/// (a statement with an invalid principal grants nothing).
public struct PrincipalSet: Sendable {
    public var everyone = false
    /// Canonical AWS principal ARNs (roots, roles, users, sessions).
    public var arns: Set<String> = []
    /// Accounts whose `:root` is named: every principal of the account, as far as its IAM policies allow.
    public var accounts: Set<String> = []
    public var services: Set<String> = []
    /// Other principals (Federated, CanonicalUser): named, never matched by our subjects.
    public var others: Set<String> = []

    init?(_ value: JSONValue) {
        if value == .string("*") {
            everyone = true
            return
        }
        guard let members = value.objectValue else { return nil }
        for member in members {
            let items = member.value.arrayValue ?? [member.value]
            for item in items {
                guard let text = item.stringValue else { return nil }
                switch member.key {
                case "AWS":
                    if text == "*" {
                        everyone = true
                        continue
                    }
                    guard let principal = AWSPrincipal(text) else { return nil }
                    if let account = principal.rootAccount { accounts.insert(account) }
                    arns.insert(principal.arn)
                case "Service":
                    guard AWSPrincipal.isServiceName(text) else { return nil }
                    services.insert(text.lowercased())
                case "Federated", "CanonicalUser":
                    guard !text.isEmpty, !text.containsASCII(UInt8(ascii: "*")) else { return nil }
                    others.insert(text)
                default:
                    return nil
                }
            }
        }
    }
}

/// An AWS principal as written in a policy or given as the caller.
public struct AWSPrincipal: Sendable, Hashable {
    /// Canonical ARN: accounts as `arn:aws:iam::A:root`, assumed-role sessions as their role.
    public let arn: String
    public let account: String

    public var rootAccount: String? { arn.hasSuffix(":root") ? account : nil }

    /// `111122223333`, `arn:aws:iam::A:root|user/…|role/…`, `arn:aws:sts::A:assumed-role/R/S`
    /// (which maps to `arn:aws:iam::A:role/R`, the principal a key policy names),
    /// `arn:aws:sts::A:federated-user/N`. Nil for anything else (groups, partial wildcards, unique ids).
    public init?(_ text: String) {
        if let parsed = Self.parseASCII(text) {
            guard let parsed else { return nil }
            (arn, account) = parsed
            return
        }
        if text.count == 12, text.allSatisfy(\.isASCIIDigit) {
            arn = "arn:aws:iam::\(text):root"
            account = text
            return
        }
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", ["aws", "aws-cn", "aws-us-gov"].contains(parts[1]), parts[3].isEmpty,
            parts[4].count == 12, parts[4].allSatisfy(\.isASCIIDigit), !text.containsASCII(UInt8(ascii: "*")), !text.containsASCII(UInt8(ascii: "?"))
        else { return nil }
        let partition = parts[1], accountID = String(parts[4]), resource = parts[5]
        account = accountID
        switch parts[2] {
        case "iam":
            if resource == "root" {
                arn = "arn:\(partition):iam::\(accountID):root"
                return
            }
            guard resource.hasPrefix("user/") || resource.hasPrefix("role/"), resource.count > 5 else { return nil }
            arn = text
        case "sts":
            let segments = resource.split(separator: "/", omittingEmptySubsequences: false)
            if segments.count >= 3, segments[0] == "assumed-role", !segments[1].isEmpty {
                arn = "arn:\(partition):iam::\(accountID):role/\(segments[1])"
            } else if segments.count == 2, segments[0] == "federated-user", !segments[1].isEmpty {
                arn = text
            } else {
                return nil
            }
        default:
            return nil
        }
    }

    /// The same reading over the bytes of an ASCII text (what policies hold),
    /// without splitting into substrings: nil when the text is not ASCII (the
    /// general reading above applies), `.some(nil)` when it is no principal.
    private static func parseASCII(_ original: String) -> (arn: String, account: String)?? {
        var text = original
        return text.withUTF8 { b -> (arn: String, account: String)?? in
            var hasWildcard = false
            var cuts = (0, 0, 0, 0, 0), colons = 0
            for (i, c) in b.enumerated() {
                if c >= 0x80 { return .none }
                if c == UInt8(ascii: "*") || c == UInt8(ascii: "?") { hasWildcard = true }
                if c == UInt8(ascii: ":"), colons < 5 {
                    switch colons {
                    case 0: cuts.0 = i
                    case 1: cuts.1 = i
                    case 2: cuts.2 = i
                    case 3: cuts.3 = i
                    default: cuts.4 = i
                    }
                    colons += 1
                }
            }
            func isDigits(_ r: Range<Int>) -> Bool { r.allSatisfy { b[$0] >= UInt8(ascii: "0") && b[$0] <= UInt8(ascii: "9") } }
            func string(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: b[r]), as: UTF8.self) }
            if b.count == 12, isDigits(0..<12) { return .some((arn: "arn:aws:iam::\(original):root", account: original)) }
            guard colons == 5, !hasWildcard else { return .some(nil) }
            let partition = string(cuts.0 + 1..<cuts.1)
            guard string(0..<cuts.0) == "arn", partition == "aws" || partition == "aws-cn" || partition == "aws-us-gov",
                cuts.3 == cuts.2 + 1, cuts.4 - cuts.3 - 1 == 12, isDigits(cuts.3 + 1..<cuts.4)
            else { return .some(nil) }
            let account = string(cuts.3 + 1..<cuts.4)
            let resource = UnsafeBufferPointer(rebasing: b[(cuts.4 + 1)...])
            func resourceStarts(_ prefix: StaticString) -> Bool {
                resource.count >= prefix.utf8CodeUnitCount
                    && prefix.withUTF8Buffer { p in resource.prefix(p.count).elementsEqual(p) }
            }
            switch string(cuts.1 + 1..<cuts.2) {
            case "iam":
                if resource.count == 4, resourceStarts("root") { return .some((arn: "arn:\(partition):iam::\(account):root", account: account)) }
                guard resourceStarts("user/") || resourceStarts("role/"), resource.count > 5 else { return .some(nil) }
                return .some((arn: original, account: account))
            case "sts":
                let slashes = resource.indices.filter { resource[$0] == UInt8(ascii: "/") }
                guard let first = slashes.first else { return .some(nil) }
                let segment0 = String(decoding: resource[..<first], as: UTF8.self)
                if slashes.count >= 2, segment0 == "assumed-role", slashes[1] > first + 1 {
                    let role = String(decoding: resource[(first + 1)..<slashes[1]], as: UTF8.self)
                    return .some((arn: "arn:\(partition):iam::\(account):role/\(role)", account: account))
                }
                if slashes.count == 1, segment0 == "federated-user", first + 1 < resource.count {
                    return .some((arn: original, account: account))
                }
                return .some(nil)
            default:
                return .some(nil)
            }
        }
    }

    static func isServiceName(_ text: String) -> Bool {
        let lower = text.lowercased()
        guard lower.hasSuffix(".amazonaws.com") || lower.hasSuffix(".amazonaws.com.cn") else { return false }
        return lower.allSatisfy { $0.isASCIILetterOrDigit || $0 == "." || $0 == "-" } && !lower.hasPrefix(".")
    }

    /// `AROA…` (role) and `AIDA…` (user) unique ids: what IAM shows in a policy
    /// once the role or user it named is deleted.
    static func isUniqueID(_ text: String) -> Bool {
        (text.hasPrefix("AROA") || text.hasPrefix("AIDA")) && text.count >= 16
            && text.allSatisfy { $0.isASCIIDigit || ($0.isASCII && $0.isUppercase) }
    }
}

extension String {
    /// Whether the string holds the ASCII character `byte` (as a whole
    /// character, as `contains("*")` means it), without Foundation's search.
    func containsASCII(_ byte: UInt8) -> Bool {
        var found = false
        for b in utf8 {
            if b >= 0x80 { return contains(Character(Unicode.Scalar(byte))) }
            if b == byte { found = true }
        }
        return found
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isASCIILetterOrDigit: Bool { isASCII && (isLetter || isNumber) }
}
