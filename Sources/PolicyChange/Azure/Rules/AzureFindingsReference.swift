import Foundation

extension AzureVaultRules {
    /// `docs/findings-azure.md`, written from the rules; a test fails when the
    /// checked-in file differs (POLICY_CHANGE_UPDATE_DOCS=1 rewrites it).
    public static func markdownReference() -> String {
        var out = """
            # Findings reference (Azure Key Vault)

            Generated from `Sources/PolicyChange/Azure/Rules`; a test fails when this file and the
            code disagree. Each code's examples are also its tests. The verdict fails on any `error`
            or `security-warning` (DESIGN.md §5). Snapshots are the vault as ARM returns it, plus
            `roleAssignments` in RBAC mode (DESIGN.md §4).

            | Code | Severity |
            |---|---|

            """
        for rule in all { out += "| [`\(rule.id)`](#\(rule.id.lowercased())) | \(rule.severity.rawValue) |\n" }
        for rule in all {
            out += "\n## \(rule.id)\n\nSeverity: **\(rule.severity.rawValue)**\n\n\(rule.description)\n\n**Fix:** \(rule.fix)\n\n"
            out += "Triggering:\n\n"
            for example in rule.triggering { out += render(example) }
            out += "Not triggering:\n\n"
            for example in rule.nonTriggering { out += render(example) }
        }
        return out
    }

    private static func render(_ example: AzureRuleExample) -> String {
        var notes: [String] = []
        for r in example.requirements {
            notes.append("require \(r.principal): \(r.effectiveActions(for: .azure).joined(separator: ", "))")
        }
        if let caller = example.caller { notes.append("caller \(caller)") }
        if let model = example.pinnedModel { notes.append("model pinned to \(model.rawValue)") }
        var out = notes.isEmpty ? "" : "- " + notes.joined(separator: " · ") + "\n"
        if let current = example.current { out += "- current:\n\n  ```json\n  \(current)\n  ```\n\n" }
        out += "- \(example.current == nil ? "" : "proposed:\n\n  ")```json\n  \(example.proposed)\n  ```\n\n"
        return out
    }
}
