import Foundation

/// Who might call KMS, for the semantic analysis (DESIGN.md §5).
public struct Subject: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// An AWS principal; `arn` nil for "some other principal of the account".
        case aws(arn: String?, account: String)
        case service(String)
        case anonymous
    }

    public let kind: Kind
    /// What messages call it.
    public let description: String

    public init(kind: Kind, description: String) {
        self.kind = kind
        self.description = description
    }

    public static func principal(_ principal: AWSPrincipal) -> Subject {
        Subject(kind: .aws(arn: principal.arn, account: principal.account), description: principal.arn)
    }

    public static func unnamed(in account: String, label: String) -> Subject {
        Subject(kind: .aws(arn: nil, account: account), description: label)
    }

    public static let anonymous = Subject(kind: .anonymous, description: "anonymous (any caller, no AWS identity)")

    public static func service(_ name: String) -> Subject { Subject(kind: .service(name.lowercased()), description: name) }

    /// A requirement's or caller's principal: an account id, an IAM or STS ARN,
    /// a service name; nil when it is none of these.
    public static func parse(_ text: String) -> Subject? {
        if let principal = AWSPrincipal(text) { return .principal(principal) }
        if AWSPrincipal.isServiceName(text) { return .service(text) }
        return nil
    }

    public var account: String? {
        if case .aws(_, let account) = kind { return account }
        return nil
    }
}

/// ALLOW, CONDITIONAL (granted only under conditions on the request) or DENY
/// (explicitly or implicitly).
public enum Access: Int, Sendable, Comparable, CustomStringConvertible {
    case deny, conditional, allow
    public static func < (a: Access, b: Access) -> Bool { a.rawValue < b.rawValue }
    public var description: String {
        switch self {
        case .deny: "DENY"
        case .conditional: "CONDITIONAL"
        case .allow: "ALLOW"
        }
    }
}

/// What one subject may do under one policy, for every catalogue action.
public struct AccessRow: Sendable, Equatable {
    public var allowed = ActionSet()
    public var conditional = ActionSet()

    public func access(_ index: Int) -> Access {
        allowed.contains(index) ? .allow : conditional.contains(index) ? .conditional : .deny
    }

    /// Actions that are ALLOW or CONDITIONAL.
    public var granted: ActionSet { allowed.union(conditional) }
}

/// IAM's evaluation of a key policy for one subject: explicit Deny wins over
/// any Allow; a statement applies when its principal, action and condition
/// match; conditions on keys the principal determines (kms:CallerAccount,
/// aws:PrincipalAccount, aws:PrincipalArn) are evaluated, any other makes the
/// statement apply only conditionally; an invalid statement grants nothing.
/// A grant to an account's `:root` is taken to reach every principal of that
/// account (their IAM policies are assumed to allow it).
public struct KeyPolicyEvaluator: Sendable {
    public let statements: [KeyPolicyStatement]

    /// The statements that can name a subject, by what names it (indices into
    /// `statements`): a subject's row looks only at these, not at every statement.
    private let byARN: [String: [Int]]
    private let byAccount: [String: [Int]]
    private let byService: [String: [Int]]
    /// `*` and `NotPrincipal` statements: candidates for every subject.
    private let forEveryone: [Int]

    public init(_ policy: ParsedKeyPolicy) {
        statements = policy.statements.filter(\.isValid)
        var byARN: [String: [Int]] = [:], byAccount: [String: [Int]] = [:], byService: [String: [Int]] = [:]
        var forEveryone: [Int] = []
        for (i, statement) in statements.enumerated() {
            guard let set = statement.principals else { continue }  // names no one
            if set.everyone || statement.negatedPrincipal {
                forEveryone.append(i)
                continue
            }
            for arn in set.arns { byARN[arn, default: []].append(i) }
            for account in set.accounts { byAccount[account, default: []].append(i) }
            for service in set.services { byService[service, default: []].append(i) }
        }
        self.byARN = byARN
        self.byAccount = byAccount
        self.byService = byService
        self.forEveryone = forEveryone
    }

    /// Indices of the statements whose principal element may cover the
    /// subject (a superset of those `names` accepts; a statement may repeat,
    /// which changes no union).
    private func candidates(for subject: Subject) -> [Int] {
        var result = forEveryone
        switch subject.kind {
        case .aws(let arn, let account):
            if let arn, let listed = byARN[arn] { result += listed }
            if let listed = byAccount[account] { result += listed }
        case .service(let name):
            if let listed = byService[name] { result += listed }
        case .anonymous:
            break
        }
        return result
    }

    /// Whether the statement's principal element covers the subject.
    static func names(_ statement: KeyPolicyStatement, _ subject: Subject) -> Bool {
        guard let set = statement.principals else { return false }
        let listed: Bool
        if set.everyone {
            listed = true
        } else {
            switch subject.kind {
            case .aws(let arn, let account):
                listed = set.accounts.contains(account) || (arn.map(set.arns.contains) ?? false)
            case .service(let name): listed = set.services.contains(name)
            case .anonymous: listed = false
            }
        }
        return statement.negatedPrincipal ? !listed : listed
    }

    /// nil: does not apply; false: applies unconditionally; true: conditionally.
    static func applies(_ statement: KeyPolicyStatement, to subject: Subject) -> Bool? {
        guard names(statement, subject) else { return nil }
        var conditional = false
        for clause in statement.conditions {
            switch clause.evaluate(for: subject) {
            case false?: return nil
            case nil: conditional = true
            case true?: break
            }
        }
        return conditional
    }

    public func row(for subject: Subject) -> AccessRow {
        var allow = ActionSet(), allowIf = ActionSet(), deny = ActionSet(), denyIf = ActionSet()
        for index in candidates(for: subject) {
            let statement = statements[index]
            guard let conditional = Self.applies(statement, to: subject) else { continue }
            switch (statement.effect, conditional) {
            case (.allow?, false): allow = allow.union(statement.actions)
            case (.allow?, true): allowIf = allowIf.union(statement.actions)
            case (.deny?, false): deny = deny.union(statement.actions)
            case (.deny?, true): denyIf = denyIf.union(statement.actions)
            case (nil, _): break
            }
        }
        var row = AccessRow()
        row.allowed = allow.subtracting(deny).subtracting(denyIf)
        row.conditional = allow.union(allowIf).subtracting(deny).subtracting(row.allowed)
        return row
    }

    /// One action, in the catalogue or not.
    public func access(_ subject: Subject, _ action: String) -> Access {
        if let i = ActionSet.index(of: action) { return row(for: subject).access(i) }
        var best = Access.deny
        var denied = false, deniedIf = false
        for statement in statements where statement.covers(action: action) {
            guard let conditional = Self.applies(statement, to: subject) else { continue }
            if statement.effect == .deny {
                if conditional { deniedIf = true } else { denied = true }
            } else {
                best = max(best, conditional ? .conditional : .allow)
            }
        }
        if denied { return .deny }
        if deniedIf, best == .allow { return .conditional }
        return best
    }
}
