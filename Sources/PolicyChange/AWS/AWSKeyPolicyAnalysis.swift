import Foundation

/// The analysis of one proposed AWS key policy: every rule of `KeyPolicyRules`
/// in order. A document that does not parse gets only document checks (the
/// others would repeat the syntax error in other words); without the current
/// policy the change and key-safety checks do not run.
struct AWSKeyPolicyAnalysis {
    let request: AnalysisRequest

    func findings() -> [Finding] {
        let input = KeyPolicyAnalysisInput(request)
        var findings: [Finding] = []
        for rule in KeyPolicyRules.all {
            if input.proposed.document == nil, rule.stage != .document { continue }
            findings += rule.check(input)
        }
        return findings
    }
}

/// What the rules look at, with the semantic evaluation computed once, on
/// first use, and shared by the rules that need it.
public final class KeyPolicyAnalysisInput {
    public let proposed: ParsedKeyPolicy
    public let current: ParsedKeyPolicy?
    public let requirements: [Requirement]
    public let caller: String?
    public let keyIdentifier: String?
    public let bypassLockoutSafetyCheck: Bool

    public init(_ request: AnalysisRequest) {
        proposed = ParsedKeyPolicy(request.proposed.document, file: request.proposedFile)
        current = request.current.map { ParsedKeyPolicy($0.document) }
        requirements = request.requirements
        caller = request.caller
        keyIdentifier = request.keyIdentifier
        bypassLockoutSafetyCheck = request.bypassLockoutSafetyCheck
    }

    public lazy var proposedEvaluator = KeyPolicyEvaluator(proposed)
    public lazy var currentEvaluator: KeyPolicyEvaluator? = current.map(KeyPolicyEvaluator.init)

    /// The caller as a key policy names it (an assumed-role session is its role).
    public lazy var callerSubject: Subject? = caller.flatMap(Subject.parse)

    /// The key's account: from the key ARN, else the caller's, else the first
    /// account whose `:root` the current (or proposed) policy names.
    public lazy var ownerAccount: String? = {
        if let key = keyIdentifier, key.hasPrefix("arn:") {
            let parts = key.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count > 4, parts[4].count == 12 { return String(parts[4]) }
        }
        if let account = callerSubject?.account { return account }
        for policy in [current, proposed].compactMap({ $0 }) {
            for statement in policy.statements {
                if let account = statement.principals?.accounts.sorted().first { return account }
            }
        }
        return nil
    }()

    /// Every principal named in either policy (in Principal elements and in
    /// aws:PrincipalArn conditions), the required principals, the caller, an
    /// unnamed principal of the owner account, one of an account neither
    /// policy names, and anonymous.
    public lazy var subjects: [Subject] = {
        var seen = Set<Subject.Kind>()
        var result: [Subject] = []
        func add(_ subject: Subject) { if seen.insert(subject.kind).inserted { result.append(subject) } }
        var accounts = Set<String>()
        for policy in [current, proposed].compactMap({ $0 }) {
            for statement in policy.statements {
                if let set = statement.principals {
                    for arn in set.arns.sorted() {
                        if let principal = AWSPrincipal(arn) {
                            add(.principal(principal))
                            accounts.insert(principal.account)
                        }
                    }
                    for service in set.services.sorted() { add(.service(service)) }
                }
                for clause in statement.conditions {
                    for arn in clause.namedPrincipalArns {
                        if let principal = AWSPrincipal(arn) { add(.principal(principal)) }
                    }
                    if clause.key.lowercased() == "kms:calleraccount" || clause.key.lowercased() == "aws:principalaccount" {
                        accounts.formUnion(clause.textValues.filter { $0.count == 12 && $0.allSatisfy(\.isASCIIDigit) })
                    }
                }
            }
        }
        for requirement in requirements { if let subject = Subject.parse(requirement.principal) { add(subject) } }
        if let callerSubject { add(callerSubject) }
        if let ownerAccount {
            accounts.insert(ownerAccount)
            add(.unnamed(in: ownerAccount, label: "any other principal of the key's account \(ownerAccount)"))
        }
        for account in accounts.sorted() where account != ownerAccount {
            add(.unnamed(in: account, label: "any other principal of account \(account)"))
        }
        add(strangerSubject)
        add(.anonymous)
        return result
    }()

    /// A principal of an account neither policy names: what "public" means.
    public lazy var strangerSubject: Subject = {
        let texts = [current?.data, proposed.data].compactMap { $0 }
        let account = ["999999999999", "999988887777", "000000000001"].first { id in
            !texts.contains { Self.bytes($0, contain: Array(id.utf8)) }
        } ?? "999999999998"
        return .unnamed(in: account, label: "a principal of any other AWS account")
    }()

    /// Each subject's access under the current and the proposed policy.
    public lazy var rows: [(subject: Subject, current: AccessRow?, proposed: AccessRow)] = subjects.map { subject in
        (subject, currentEvaluator?.row(for: subject), proposedEvaluator.row(for: subject))
    }

    /// A plain byte search (the ids searched for are ASCII digits).
    static func bytes(_ data: Data, contain needle: [UInt8]) -> Bool {
        guard let first = needle.first, data.count >= needle.count else { return false }
        return data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> Bool in
            let last = buffer.count - needle.count
            var i = 0
            while i <= last {
                if buffer[i] == first {
                    var j = 1
                    while j < needle.count, buffer[i + j] == needle[j] { j += 1 }
                    if j == needle.count { return true }
                }
                i += 1
            }
            return false
        }
    }

    func isPublic(_ subject: Subject) -> Bool { subject.kind == .anonymous || subject.kind == strangerSubject.kind }

    /// The first valid Allow statement of the proposed policy that gives the subject one of `actions`.
    func grantingStatement(_ subject: Subject, _ actions: ActionSet) -> String? {
        proposedEvaluator.statements.first { statement in
            statement.effect == .allow && !statement.actions.intersection(actions).isEmpty
                && KeyPolicyEvaluator.applies(statement, to: subject) != nil
        }?.path
    }

    static func list(_ actions: ActionSet) -> String {
        if actions == ActionSet.all { return "every KMS action (kms:*)" }
        return actions.actions.joined(separator: ", ")
    }
}

/// What one principal gains and loses between two policies, for `diff`.
public struct PrincipalAccessChange: Sendable, Equatable, Codable {
    public var principal: String
    /// Catalogue actions, `kms:Decrypt` or `kms:Decrypt (conditional)` when the new state depends on the request.
    public var gained: [String]
    public var lost: [String]

    public init(principal: String, gained: [String], lost: [String]) {
        self.principal = principal
        self.gained = gained
        self.lost = lost
    }
}

extension AWSKeyPolicyDialect {
    /// Per principal (every principal either policy names, an unnamed one of
    /// the key's account, one of any other account, anonymous): the actions
    /// gained and lost, by the same evaluation as the analysis.
    public func accessChanges(from current: PolicySnapshot, to proposed: PolicySnapshot, keyIdentifier: String? = nil)
        -> [PrincipalAccessChange]
    {
        let input = KeyPolicyAnalysisInput(AnalysisRequest(current: current, proposed: proposed, keyIdentifier: keyIdentifier))
        return input.rows.compactMap { subject, before, after in
            guard let before else { return nil }
            let gained = after.granted.subtracting(before.granted).union(after.allowed.intersection(before.conditional))
            let lost = before.granted.subtracting(after.granted).union(before.allowed.intersection(after.conditional))
            guard !gained.isEmpty || !lost.isEmpty else { return nil }
            func names(_ set: ActionSet) -> [String] {
                KMSActionCatalogue.actions.indices.filter(set.contains).map { i in
                    KMSActionCatalogue.actions[i] + (after.access(i) == .conditional ? " (conditional)" : "")
                }
            }
            return PrincipalAccessChange(principal: subject.description, gained: names(gained), lost: names(lost))
        }
    }

    public func principalAccessChanges(from current: PolicySnapshot, to proposed: PolicySnapshot, keyIdentifier: String?)
        -> [PrincipalAccessChange]?
    {
        accessChanges(from: current, to: proposed, keyIdentifier: keyIdentifier)
    }
}
