import Foundation

/// What the GCP rules look at: the parsed proposed and current policies, the
/// role catalogue, and how to locate a finding in the proposed file.
public struct GCPAnalysisInput: Sendable {
    public let request: AnalysisRequest
    let dialect: CloudKMSIAMDialect
    let document: JSONDocument?
    let syntaxError: JSONSyntaxError?
    let proposed: IAMPolicy?
    let current: IAMPolicy?

    init(request: AnalysisRequest, dialect: CloudKMSIAMDialect) {
        self.request = request
        self.dialect = dialect
        do {
            let document = try JSONParser.parse(request.proposed.document)
            self.document = document
            self.syntaxError = nil
            self.proposed = IAMPolicy(json: document.root)
        } catch {
            self.document = nil
            self.syntaxError = error
            self.proposed = nil
        }
        current = request.current.flatMap { IAMPolicy.parse($0.document) }
    }

    func shouldRun(_ stage: KeyPolicyRuleStage) -> Bool {
        switch stage {
        case .document: true
        case .change: proposed != nil && current != nil
        default: proposed != nil
        }
    }

    func finding(_ code: String, _ severity: Severity, _ message: String, at path: String?) -> Finding {
        var finding = Finding(code: code, severity: severity, message: message, path: path)
        if let file = request.proposedFile, let path, let position = document?.locations[path] {
            finding.file = file
            finding.line = position.line
            finding.column = position.column
        }
        return finding
    }

    // MARK: Access

    static let publicMembers: Set<String> = ["allUsers", "allAuthenticatedUsers"]

    /// What a member holds under a policy: without condition, and only under one.
    func access(_ policy: IAMPolicy, for member: String) -> (granted: Set<String>, conditional: Set<String>) {
        var granted = Set<String>(), conditional = Set<String>()
        for binding in policy.bindings {
            let applies = binding.members.contains(member) || binding.members.contains("allUsers")
                || (member != "allUsers" && binding.members.contains("allAuthenticatedUsers"))
            guard applies, let permissions = dialect.permissions(of: binding.role) else { continue }
            if binding.condition == nil { granted.formUnion(permissions) } else { conditional.formUnion(permissions) }
        }
        return (granted, conditional.subtracting(granted))
    }

    func members(of policy: IAMPolicy) -> Set<String> { Set(policy.bindings.flatMap(\.members)) }

    /// Per member named in either policy: permissions gained and lost (a
    /// permission that becomes conditional counts as lost, and `(conditional)`
    /// marks one gained only under a condition).
    func accessChanges() -> [(member: String, gained: [String], lost: [String])] {
        guard let proposed, let current else { return [] }
        return members(of: proposed).union(members(of: current)).sorted().compactMap { member in
            let before = access(current, for: member), after = access(proposed, for: member)
            let gained = after.granted.subtracting(before.granted).sorted()
                + after.conditional.subtracting(before.granted).subtracting(before.conditional).sorted().map { "\($0) (conditional)" }
            let lost = before.granted.subtracting(after.granted).sorted()
                + before.conditional.subtracting(after.granted).subtracting(after.conditional).sorted().map { "\($0) (conditional)" }
            return gained.isEmpty && lost.isEmpty ? nil : (member, gained, lost)
        }
    }

    /// Members holding `cloudkms.cryptoKeys.setIamPolicy` without a condition.
    func admins(of policy: IAMPolicy) -> Set<String> {
        Set(members(of: policy).filter { !$0.hasPrefix("deleted:") && access(policy, for: $0).granted.contains(Self.setIamPolicy) })
    }

    static let setIamPolicy = "cloudkms.cryptoKeys.setIamPolicy"
}
