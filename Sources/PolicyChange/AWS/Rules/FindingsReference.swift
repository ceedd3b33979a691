import Foundation

extension KeyPolicyRules {
    /// `docs/findings.md`, written from the rules themselves; a test fails when
    /// the checked-in file differs (regenerate with `make docs`).
    public static func markdownReference() -> String {
        var out = """
            # Findings reference (AWS key policies)

            Generated from `Sources/PolicyChange/AWS/Rules` by `make docs`; a test fails when this
            file and the code disagree. Each code's examples are also its tests. Severities follow
            IAM Access Analyzer's policy checks where it has the check. The verdict fails on any
            `error` or `security-warning` (DESIGN.md §5).

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

    private static func render(_ example: RuleExample) -> String {
        var out = ""
        var notes: [String] = []
        if !example.requirements.isEmpty {
            notes.append("require " + example.requirements.map { r in
                "\(r.principal): \(r.effectiveActions(for: .aws).joined(separator: ", "))"
            }.joined(separator: "; "))
        }
        if let caller = example.caller { notes.append("caller \(caller)") }
        if example.bypassLockoutSafetyCheck { notes.append("bypass of the lockout safety check requested") }
        if !notes.isEmpty { out += "- " + notes.joined(separator: " · ") + "\n" }
        if let current = example.current {
            out += "- current:\n\n  ```json\n  \(abbreviated(current))\n  ```\n\n- proposed:\n\n  ```json\n  \(abbreviated(example.proposed))\n  ```\n\n"
        } else {
            out += "- ```json\n  \(abbreviated(example.proposed))\n  ```\n\n"
        }
        return out
    }

    private static func abbreviated(_ text: String) -> String {
        text.count > 600 ? String(text.prefix(300)) + " … (\(text.utf8.count) bytes)" : text
    }
}
