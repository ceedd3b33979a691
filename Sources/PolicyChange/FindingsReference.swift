import Foundation

/// A finding code documented by its own examples, as SwiftLint writes its
/// rules: AWS `KeyPolicyRule`, Azure `AzureVaultRule` and GCP `GCPPolicyRule`.
/// The examples are both the rule's tests and its entry in the findings
/// reference (`docs/findings*.md`, written by `FindingsReference`).
public protocol DocumentedRule: Sendable {
    associatedtype Example: DocumentedRuleExample
    static var id: String { get }
    static var severity: Severity { get }
    /// The reference's stage column, for clouds whose rules run in stages (nil: no column).
    static var documentedStage: String? { get }
    /// What the finding means, in a sentence or two.
    static var description: String { get }
    /// What to do about it.
    static var fix: String { get }
    static var triggering: [Example] { get }
    static var nonTriggering: [Example] { get }
}

extension DocumentedRule {
    public static var documentedStage: String? { nil }
}

/// An example input of a documented rule: the proposed policy, for change
/// rules the current one, the requirements and caller, and the cloud's own
/// settings (`settingNotes`).
public protocol DocumentedRuleExample: Sendable {
    /// The cloud whose action names the requirements are shown in.
    static var cloud: Cloud { get }
    var proposed: String { get }
    var current: String? { get }
    var requirements: [Requirement] { get }
    var caller: String? { get }
    /// What else the example sets, one note each, as the reference shows it.
    var settingNotes: [String] { get }
}

/// The markdown findings reference of one cloud's rules (`docs/findings.md`,
/// `findings-azure.md`, `findings-gcp.md`); a staleness test fails when a
/// checked-in file differs (`make docs` rewrites them).
public enum FindingsReference {
    /// `# title`, the introduction, a table of the codes (with a stage column
    /// when the rules have stages), then each code's meaning, fix and examples.
    public static func markdown(title: String, introduction: String, rules: [any DocumentedRule.Type]) -> String {
        render(title: title, introduction: introduction, entries: rules.map { Entry($0) })
    }

    /// A rule as the reference shows it.
    private struct Entry {
        var id: String
        var severity: Severity
        var stage: String?
        var description: String
        var fix: String
        var triggering: [String]
        var nonTriggering: [String]

        init<Rule: DocumentedRule>(_ rule: Rule.Type) {
            id = rule.id
            severity = rule.severity
            stage = rule.documentedStage
            description = rule.description
            fix = rule.fix
            triggering = rule.triggering.map(FindingsReference.render)
            nonTriggering = rule.nonTriggering.map(FindingsReference.render)
        }
    }

    private static func render(title: String, introduction: String, entries: [Entry]) -> String {
        let staged = entries.contains { $0.stage != nil }
        var out = "# \(title)\n\n\(introduction)\n\n"
        out += staged ? "| Code | Severity | Stage |\n|---|---|---|\n" : "| Code | Severity |\n|---|---|\n"
        for entry in entries {
            out += "| [`\(entry.id)`](#\(entry.id.lowercased())) | \(entry.severity.rawValue) |"
            if staged { out += " \(entry.stage ?? "") |" }
            out += "\n"
        }
        for entry in entries {
            out += "\n## \(entry.id)\n\n"
            out += "Severity: **\(entry.severity.rawValue)**"
            if let stage = entry.stage { out += " · stage: \(stage)" }
            out += "\n\n"
            out += entry.description + "\n\n"
            out += "**Fix:** " + entry.fix + "\n\n"
            out += "Triggering:\n\n" + entry.triggering.joined()
            out += "Not triggering:\n\n" + entry.nonTriggering.joined()
        }
        return out
    }

    private static func render<Example: DocumentedRuleExample>(_ example: Example) -> String {
        var notes: [String] = []
        if !example.requirements.isEmpty {
            notes.append("require " + example.requirements.map { r in
                "\(r.principal): \(r.effectiveActions(for: Example.cloud).joined(separator: ", "))"
            }.joined(separator: "; "))
        }
        if let caller = example.caller { notes.append("caller \(caller)") }
        notes += example.settingNotes
        var out = notes.isEmpty ? "" : "- " + notes.joined(separator: " · ") + "\n"
        if let current = example.current {
            out += "- current:\n\n  ```json\n  \(abbreviated(current))\n  ```\n\n"
            out += "- proposed:\n\n  ```json\n  \(abbreviated(example.proposed))\n  ```\n\n"
        } else {
            out += "- ```json\n  \(abbreviated(example.proposed))\n  ```\n\n"
        }
        return out
    }

    /// A document over 4,096 characters (the size-limit examples) is shown by its first 300 and its size.
    private static func abbreviated(_ text: String) -> String {
        text.count > 4096 ? String(text.prefix(300)) + " … (\(text.utf8.count) bytes)" : text
    }
}
