import Foundation
import PolicyChange

/// Plans as people and programs read them.
struct PlanRenderer {
    var terminal: Terminal = Terminal(fd: 1, forceNoColor: true)

    func text(_ plan: RunPlan) -> String {
        var out = "Plan for \(plan.runbook)" + (plan.changeTicket.map { " (\($0))" } ?? "") + "\n"
        out += "  key:    \(plan.key) (\(plan.cloud))\n"
        if let caller = plan.caller { out += "  caller: \(caller)\n" }
        if let window = plan.window {
            out += "  window: \(JournalCoding.timestamp(window.start)) – \(JournalCoding.timestamp(window.end))\n"
        }
        out += "\n"
        if plan.noChanges {
            out += "No changes: the live policy already matches the runbook.\n"
        } else {
            out += "Changes:\n"
            for entry in plan.changes.entries {
                let (mark, style): (String, Terminal.Style) =
                    switch entry.kind {
                    case .added: ("+", .green)
                    case .removed: ("-", .red)
                    case .modified: ("~", .yellow)
                    }
                out += terminal.styled("  \(mark) \(entry.kind.rawValue) \(entry.subject)", style) + "\n"
                for detail in entry.details { out += "      \(detail)\n" }
            }
        }
        if let access = plan.access, !access.isEmpty {
            out += "\nAccess by principal:\n"
            for change in access {
                out += "  \(change.principal)\n"
                for action in change.gained { out += terminal.styled("    + \(action)", .green) + "\n" }
                for action in change.lost { out += terminal.styled("    - \(action)", .red) + "\n" }
            }
        }
        out += "\n" + findingsText(plan.findings, verdict: plan.verdict)
        out += "\nSteps:\n"
        for (i, step) in plan.steps.enumerated() { out += "  \(i + 1). \(step)\n" }
        return out
    }

    func findingsText(_ findings: [Finding], verdict: Verdict) -> String {
        var out = "Findings: " + (findings.isEmpty ? "none" : "\(findings.count)") + " — verdict: "
        out += verdict == .pass ? terminal.styled("pass", .green) : terminal.styled("fail", .red)
        out += "\n"
        for finding in findings { out += "  " + FindingFormat.line(finding, terminal: terminal) + "\n" }
        return out
    }

    /// For a pull request: GitHub-flavoured markdown.
    func markdown(_ plan: RunPlan) -> String {
        var out = "## policy-change plan: `\(plan.runbook)`\n\n"
        out += "| | |\n|---|---|\n| Key | `\(plan.key)` |\n| Cloud | \(plan.cloud) |\n"
        if let ticket = plan.changeTicket { out += "| Change ticket | \(ticket) |\n" }
        if let window = plan.window {
            out += "| Window | \(JournalCoding.timestamp(window.start)) – \(JournalCoding.timestamp(window.end)) |\n"
        }
        out += "| Verdict | **\(plan.verdict.rawValue)** |\n\n"
        out += "### Changes\n\n"
        if plan.noChanges {
            out += "No changes: the live policy already matches the runbook.\n\n"
        } else {
            out += "```diff\n"
            for entry in plan.changes.entries {
                let mark = entry.kind == .added ? "+" : entry.kind == .removed ? "-" : "!"
                out += "\(mark) \(entry.kind.rawValue) \(entry.subject)\n"
                for detail in entry.details {
                    let first = detail.first
                    out += (first == "+" || first == "-" ? detail : "\(mark)     \(detail)") + "\n"
                }
            }
            out += "```\n\n"
        }
        if let access = plan.access, !access.isEmpty {
            out += "### Access by principal\n\n"
            out += "| Principal | Gains | Loses |\n|---|---|---|\n"
            func cell(_ actions: [String]) -> String {
                actions.isEmpty ? "—" : actions.map { "`\($0)`" }.joined(separator: ", ")
            }
            for change in access {
                let principal = change.principal.replacingOccurrences(of: "|", with: "\\|")
                out += "| \(principal) | \(cell(change.gained)) | \(cell(change.lost)) |\n"
            }
            out += "\n"
        }
        out += "### Findings\n\n"
        if plan.findings.isEmpty {
            out += "None.\n\n"
        } else {
            out += "| Severity | Code | Where | Message |\n|---|---|---|---|\n"
            for f in plan.findings {
                let place = [f.path, f.line.map { "line \($0)" }].compactMap { $0 }.joined(separator: ", ")
                out += "| \(f.severity.rawValue) | `\(f.code)` | \(place) | \(f.message.replacingOccurrences(of: "|", with: "\\|")) |\n"
            }
            out += "\n"
        }
        out += "### Steps\n\n"
        for (i, step) in plan.steps.enumerated() { out += "\(i + 1). \(step)\n" }
        return out
    }

    func json(_ plan: RunPlan) -> String {
        Envelope.encode(PlanDocument(plan: plan))
    }
}

/// Versioned JSON documents for scripts: every one carries `schema`.
enum Envelope {
    static func encode<T: Encodable>(_ value: T) -> String {
        let data = (try? JournalCoding.encoder(pretty: true).encode(value)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

struct PlanDocument: Encodable {
    let schema = "policy-change/plan@1"
    let plan: RunPlan
}

struct RunResultDocument: Encodable {
    let schema = "policy-change/run-result@1"
    let exitCode: Int32
    let result: RunResult
    init(_ result: RunResult) {
        self.result = result
        exitCode = result.status.rawValue
    }
}

enum FindingFormat {
    static func line(_ f: Finding, terminal: Terminal) -> String {
        let style: Terminal.Style = f.severity >= .securityWarning ? .red : f.severity == .warning ? .yellow : .dim
        var place = ""
        if let file = f.file, let line = f.line { place = "\(file):\(line):\(f.column ?? 1): " }
        else if let line = f.line { place = "\(line):\(f.column ?? 1): " }
        let path = f.path.map { " [\($0)]" } ?? ""
        let source = f.source == "policy-change" ? "" : " (\(f.source))"
        return place + terminal.styled("\(f.severity.rawValue) \(f.code)", style) + path + ": \(f.message)\(source)"
    }
}

/// Findings for `validate`: text, the pinned JSON shape, or SARIF 2.1.0.
enum FindingsOutput {
    struct JSONShape: Encodable {
        struct Item: Encodable {
            let code: String, severity: String, message: String
            let path: String?, line: Int?, column: Int?
            let source: String

            private enum CodingKeys: String, CodingKey { case code, severity, message, path, line, column, source }

            /// DESIGN §5 pins every key: an absent location is `null`, not a missing key.
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(code, forKey: .code)
                try container.encode(severity, forKey: .severity)
                try container.encode(message, forKey: .message)
                try container.encode(path, forKey: .path)
                try container.encode(line, forKey: .line)
                try container.encode(column, forKey: .column)
                try container.encode(source, forKey: .source)
            }
        }
        let verdict: String
        let findings: [Item]
    }

    static func json(_ findings: [Finding], verdict: Verdict) -> String {
        Envelope.encode(JSONShape(
            verdict: verdict.rawValue,
            findings: findings.map {
                .init(code: $0.code, severity: $0.severity.rawValue, message: $0.message, path: $0.path,
                      line: $0.line, column: $0.column, source: $0.source)
            }))
    }

    /// SARIF 2.1.0 as GitHub code scanning reads it: one rule per code.
    static func sarif(_ findings: [Finding], defaultFile: String?) -> String {
        let codes = Array(Set(findings.map(\.code))).sorted()
        func level(_ s: Severity) -> String {
            switch s {
            case .error, .securityWarning: "error"
            case .warning: "warning"
            case .suggestion: "note"
            }
        }
        let rules: [[String: Any]] = codes.map { code in
            let example = findings.first { $0.code == code }!
            // The rule's own documentation (docs/findings.md is generated from the same text).
            let rule = KeyPolicyRules.rule(code)
            return [
                "id": code,
                "name": code.split(separator: "_").map { $0.capitalized }.joined(),
                "shortDescription": ["text": code.replacingOccurrences(of: "_", with: " ").lowercased()],
                "fullDescription": ["text": rule?.description ?? example.message],
                "help": [
                    "text": rule.map { "\($0.description)\n\nFix: \($0.fix)" } ?? "policy-change finding \(code); see docs/findings.md",
                    "markdown": rule.map { "\($0.description)\n\n**Fix:** \($0.fix)\n\nSee docs/findings.md#\(code.lowercased())" }
                        ?? "policy-change finding \(code); see docs/findings.md",
                ],
                "defaultConfiguration": ["level": level(example.severity)],
                "properties": ["security-severity": example.severity >= .securityWarning ? "8.0" : "4.0"],
            ]
        }
        let results: [[String: Any]] = findings.map { f in
            var result: [String: Any] = [
                "ruleId": f.code, "ruleIndex": codes.firstIndex(of: f.code)!, "level": level(f.severity),
                "message": ["text": f.message + (f.path.map { " (\($0))" } ?? "")],
            ]
            if let file = f.file ?? defaultFile {
                var region: [String: Any] = ["startLine": f.line ?? 1]
                if let column = f.column { region["startColumn"] = column }
                result["locations"] = [["physicalLocation": [
                    "artifactLocation": ["uri": relative(file)], "region": region,
                ]]]
            }
            return result
        }
        let document: [String: Any] = [
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [[
                "tool": ["driver": [
                    "name": "policy-change", "version": PolicyChangeCommand.version,
                    "informationUri": "https://github.com/policy-change/policy-change", "rules": rules,
                ]],
                "results": results,
            ]],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static func relative(_ path: String) -> String {
        let cwd = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(cwd) ? String(path.dropFirst(cwd.count)) : path
    }
}
