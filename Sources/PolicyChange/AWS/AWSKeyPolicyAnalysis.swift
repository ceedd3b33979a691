import Foundation

/// The analysis of one proposed AWS key policy. Document checks first; a
/// document that does not parse gets no further checks (they would only
/// repeat the syntax error in other words).
struct AWSKeyPolicyAnalysis {
    let request: AnalysisRequest

    func findings() -> [Finding] {
        var findings: [Finding] = []
        let data = request.proposed.document
        if data.count > AWSKeyPolicyDialect.maximumPolicySize {
            findings.append(finding(
                "POLICY_SIZE_EXCEEDED", .error,
                "the policy is \(data.count) bytes; KMS accepts at most \(AWSKeyPolicyDialect.maximumPolicySize)"))
        }
        let document: JSONDocument
        do {
            document = try JSONParser.parse(data)
        } catch {
            findings.append(Finding(
                code: "JSON_SYNTAX_ERROR", severity: .error, message: error.message,
                line: error.position.line, column: error.position.column, file: request.proposedFile))
            return findings
        }
        for duplicate in document.duplicateKeys {
            findings.append(Finding(
                code: "DUPLICATE_JSON_KEY", severity: .error,
                message: "the key \"\(duplicate.path.split(separator: ".").last ?? "")\" appears twice in one object; "
                    + "KMS and other readers disagree on which value wins",
                path: duplicate.path, line: duplicate.position.line, column: duplicate.position.column,
                file: request.proposedFile))
        }
        findings += requiredAccessFindings(document)
        return findings
    }

    private func finding(_ code: String, _ severity: Severity, _ message: String, path: String? = nil, in document: JSONDocument? = nil)
        -> Finding
    {
        let position = path.flatMap { document?.locations[$0] }
        return Finding(
            code: code, severity: severity, message: message, path: path,
            line: position?.line, column: position?.column, file: position == nil ? nil : request.proposedFile)
    }

    /// Exact matching: a required action is granted when an `Allow` statement
    /// names the principal (or `*`) and lists the action as written
    /// (case-insensitively). A matching statement with a `Condition` only
    /// grants conditionally.
    private func requiredAccessFindings(_ document: JSONDocument) -> [Finding] {
        let statements = AWSKeyPolicyDialect.statements(of: document.root)
        var findings: [Finding] = []
        for requirement in request.requirements {
            for action in requirement.effectiveActions(for: .aws) {
                var grant: Grant = .none
                for statement in statements where statement["Effect"]?.stringValue == "Allow" {
                    guard Self.names(statement["Principal"], requirement.principal),
                        Self.lists(statement["Action"], action)
                    else { continue }
                    grant = max(grant, statement["Condition"] == nil ? .unconditional : .conditional)
                }
                for statement in statements where statement["Effect"]?.stringValue == "Deny" {
                    if Self.names(statement["Principal"], requirement.principal), Self.lists(statement["Action"], action),
                        statement["Condition"] == nil
                    {
                        grant = .none
                    }
                }
                switch grant {
                case .unconditional: break
                case .conditional:
                    findings.append(Finding(
                        code: "REQUIRED_PERMISSION_CONDITIONAL", severity: .error,
                        message: "\(requirement.principal) is granted \(action) only under a Condition that cannot be proven to hold"))
                case .none:
                    findings.append(Finding(
                        code: "REQUIRED_PERMISSION_MISSING", severity: .error,
                        message: "\(requirement.principal) must be allowed \(action), and the proposed policy does not allow it"))
                }
            }
        }
        return findings
    }

    private enum Grant: Int, Comparable {
        case none, conditional, unconditional
        static func < (a: Grant, b: Grant) -> Bool { a.rawValue < b.rawValue }
    }

    /// The account-root forms `111122223333` and `arn:aws:iam::111122223333:root` are one principal.
    static func names(_ principal: JSONValue?, _ wanted: String) -> Bool {
        guard let principal else { return false }
        if principal == .string("*") { return true }
        let values: [JSONValue]
        if let aws = principal["AWS"] {
            values = aws.arrayValue ?? [aws]
        } else if let service = principal["Service"] {
            values = service.arrayValue ?? [service]
        } else {
            return false
        }
        let target = canonicalPrincipal(wanted)
        return values.contains { $0.stringValue.map(canonicalPrincipal) == target || $0.stringValue == "*" }
    }

    static func canonicalPrincipal(_ principal: String) -> String {
        if principal.count == 12, principal.allSatisfy(\.isNumber) { return "arn:aws:iam::\(principal):root" }
        return principal
    }

    static func lists(_ action: JSONValue?, _ wanted: String) -> Bool {
        guard let action else { return false }
        let values = action.arrayValue ?? [action]
        return values.contains { $0.stringValue?.caseInsensitiveCompare(wanted) == .orderedSame || $0.stringValue == "*" }
    }
}
