import Foundation

extension GCPPolicyRules {
    /// `docs/findings-gcp.md`, written from the rules; a test fails when the
    /// checked-in file differs (regenerate with POLICY_CHANGE_UPDATE_DOCS=1).
    public static func markdownReference() -> String {
        var out = """
            # Findings reference (GCP Cloud KMS IAM policies)

            Generated from `Sources/PolicyChange/GCP/Rules`; a test fails when this file and the code
            disagree (`POLICY_CHANGE_UPDATE_DOCS=1 swift test --filter GCPFindingsReferenceTests` rewrites it).
            Each code's examples are also its tests. The verdict fails on any `error` or
            `security-warning` (DESIGN.md §5). Examples use the pinned predefined-role catalogue
            (`Sources/PolicyChange/GCP/PredefinedKMSRoles.swift`) and the clock 2026-01-01T00:00:00Z.

            | Code | Severity | Stage |
            |---|---|---|

            """
        for rule in all {
            out += "| [`\(rule.id)`](#\(rule.id.lowercased())) | \(rule.severity.rawValue) | \(rule.stage.rawValue) |\n"
        }
        for rule in all {
            out += "\n## \(rule.id)\n\n"
            out += "Severity: **\(rule.severity.rawValue)** · stage: \(rule.stage.rawValue)\n\n"
            out += rule.description + "\n\n"
            out += "**Fix:** " + rule.fix + "\n\n"
            out += "Triggering:\n\n"
            for example in rule.triggering { out += render(example) }
            out += "Not triggering:\n\n"
            for example in rule.nonTriggering { out += render(example) }
        }
        return out
    }

    private static func render(_ example: GCPRuleExample) -> String {
        var out = ""
        var notes: [String] = []
        if !example.requirements.isEmpty {
            notes.append("require " + example.requirements.map { r in
                "\(r.principal): \(r.effectiveActions(for: .gcp).joined(separator: ", "))"
            }.joined(separator: "; "))
        }
        if let caller = example.caller { notes.append("caller \(caller)") }
        if !example.inheritedAdmins.isEmpty { notes.append("inherited admins \(example.inheritedAdmins.joined(separator: ", "))") }
        if !example.customRoles.isEmpty {
            notes.append("roles " + example.customRoles.map { "\($0.name) = \($0.includedPermissions.joined(separator: ", "))" }.joined(separator: "; "))
        }
        if !notes.isEmpty { out += "- " + notes.joined(separator: " · ") + "\n" }
        if let current = example.current {
            out += "- current:\n\n  ```json\n  \(current)\n  ```\n\n- proposed:\n\n  ```json\n  \(example.proposed)\n  ```\n\n"
        } else {
            out += "- ```json\n  \(example.proposed)\n  ```\n\n"
        }
        return out
    }
}
