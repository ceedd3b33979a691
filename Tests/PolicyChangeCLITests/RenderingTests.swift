import Foundation
import PolicyChange
import RunbookYAML
import Testing

@testable import PolicyChangeCLI

/// The shapes scripts and reviewers depend on, rendered in-process.
@Suite struct RenderingTests {
    static let findings = [
        Finding(
            code: "JSON_SYNTAX_ERROR", severity: .error, message: "expected ','", line: 3, column: 7,
            file: "/work/policies/new.json"),
        Finding(code: "REQUIRED_PERMISSION_MISSING", severity: .error, message: "role must be allowed kms:Decrypt", path: "Statement[1]"),
        Finding(code: "NEW_ACCESS", severity: .warning, message: "new access", source: "access-analyzer"),
    ]

    static let plan = RunPlan(
        runbook: "confluent-byok-access", changeTicket: "CHG-1", cloud: .aws, key: "arn:aws:kms:us-east-1:1:key/k",
        caller: "arn:aws:iam::1:user/sre", noChanges: false,
        changes: ChangeSummary(entries: [
            .init(kind: .added, subject: "statement \"A | B\"", details: ["Action: kms:Decrypt"]),
            .init(kind: .modified, subject: "statement \"C\"", details: ["+ Action: kms:Encrypt", "- Action: kms:Sign"]),
        ]),
        findings: findings, verdict: .fail, steps: ["backup the live policy", "apply"], window: nil, proposedPolicy: "{}")

    @Test func validateJSONHasThePinnedShapeWithNullsKept() throws {
        let text = FindingsOutput.json(Self.findings, verdict: .fail)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["verdict"] as? String == "fail")
        let items = try #require(object["findings"] as? [[String: Any]])
        #expect(items.count == 3)
        for item in items {
            for key in ["code", "severity", "message", "path", "line", "column"] {
                #expect(item.keys.contains(key), "finding lacks \(key)")
            }
        }
        #expect(items[0]["line"] as? Int == 3)
        #expect(items[1]["path"] as? String == "Statement[1]")
        #expect(items[2]["line"] is NSNull)
    }

    @Test func sarifIsVersion210WithOneRulePerCodeAndLocations() throws {
        let text = FindingsOutput.sarif(Self.findings, defaultFile: "/work/policies/new.json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["version"] as? String == "2.1.0")
        let run = try #require((object["runs"] as? [[String: Any]])?.first)
        let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        let rules = try #require(driver["rules"] as? [[String: Any]])
        #expect(Set(rules.compactMap { $0["id"] as? String }) == ["JSON_SYNTAX_ERROR", "REQUIRED_PERMISSION_MISSING", "NEW_ACCESS"])
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(results.count == 3)
        let first = try #require((results[0]["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])
        #expect((first["region"] as? [String: Any])?["startLine"] as? Int == 3)
        #expect((first["region"] as? [String: Any])?["startColumn"] as? Int == 7)
        // ruleIndex points at the rule with the same id.
        for result in results {
            let index = try #require(result["ruleIndex"] as? Int)
            #expect(rules[index]["id"] as? String == result["ruleId"] as? String)
        }
    }

    @Test func markdownPlanIsReadableInAPullRequest() {
        let text = PlanRenderer().markdown(Self.plan)
        #expect(text.contains("## policy-change plan: `confluent-byok-access`"))
        #expect(text.contains("| Verdict | **fail** |"))
        #expect(text.contains("```diff\n+ added statement \"A | B\""))
        #expect(text.contains("+ Action: kms:Encrypt\n- Action: kms:Sign"))
        // A pipe in a message must not break the findings table.
        #expect(text.contains("| error | `JSON_SYNTAX_ERROR` | line 3 | expected ',' |"))
        #expect(text.contains("1. backup the live policy\n2. apply"))
    }

    static let access = [
        PrincipalAccessChange(
            principal: "arn:aws:iam::152535741197:role/cc-kafka", gained: ["kms:CreateGrant", "kms:Decrypt (conditional)"], lost: []),
        PrincipalAccessChange(principal: "arn:aws:iam::111122223333:role/old", gained: [], lost: ["kms:Encrypt", "kms:Sign"]),
    ]

    @Test func markdownPlanShowsTheAccessChangePerPrincipal() throws {
        var plan = Self.plan
        plan.access = Self.access
        let text = PlanRenderer().markdown(plan)
        #expect(text.contains(
            "### Access by principal\n\n| Principal | Gains | Loses |\n|---|---|---|\n"
                + "| arn:aws:iam::152535741197:role/cc-kafka | `kms:CreateGrant`, `kms:Decrypt (conditional)` | — |\n"
                + "| arn:aws:iam::111122223333:role/old | — | `kms:Encrypt`, `kms:Sign` |\n\n### Findings"))
        // Without access data (or with no change in access) there is no section.
        #expect(!PlanRenderer().markdown(Self.plan).contains("Access by principal"))
        plan.access = []
        #expect(!PlanRenderer().markdown(plan).contains("Access by principal"))
    }

    @Test func textPlanShowsTheAccessChangePerPrincipal() {
        var plan = Self.plan
        plan.access = Self.access
        let text = PlanRenderer().text(plan)
        #expect(text.contains(
            "Access by principal:\n  arn:aws:iam::152535741197:role/cc-kafka\n    + kms:CreateGrant\n    + kms:Decrypt (conditional)\n"
                + "  arn:aws:iam::111122223333:role/old\n    - kms:Encrypt\n    - kms:Sign\n\nFindings: 3"))
        #expect(!PlanRenderer().text(Self.plan).contains("Access by principal"))
    }

    @Test func jsonPlanAddsAccessAndKeepsItsFields() throws {
        var plan = Self.plan
        plan.access = Self.access
        let object = try #require(try JSONSerialization.jsonObject(with: Data(PlanRenderer().json(plan).utf8)) as? [String: Any])
        let fields = try #require(object["plan"] as? [String: Any])
        for key in ["runbook", "changeTicket", "cloud", "key", "caller", "noChanges", "changes", "findings", "verdict", "steps", "proposedPolicy"] {
            #expect(fields.keys.contains(key), "plan lacks \(key)")
        }
        let access = try #require(fields["access"] as? [[String: Any]])
        #expect(access.count == 2)
        #expect(access[0]["principal"] as? String == "arn:aws:iam::152535741197:role/cc-kafka")
        #expect(access[1]["lost"] as? [String] == ["kms:Encrypt", "kms:Sign"])
    }

    @Test func textPlanWithoutColourHasNoEscapes() {
        let text = PlanRenderer().text(Self.plan)
        #expect(!text.contains("\u{1B}["))
        #expect(text.contains("Findings: 3 — verdict: fail"))
        #expect(text.contains("/work/policies/new.json:3:7: error JSON_SYNTAX_ERROR: expected ','"))
    }

    @Test func noChangesPlanSaysSo() {
        var plan = Self.plan
        plan.noChanges = true
        #expect(PlanRenderer().text(plan).contains("No changes: the live policy already matches the runbook."))
        #expect(PlanRenderer().markdown(plan).contains("No changes"))
    }

    @Test func planJSONCarriesItsSchema() throws {
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(PlanRenderer().json(Self.plan).utf8)) as? [String: Any])
        #expect(object["schema"] as? String == "policy-change/plan@1")
        #expect((object["plan"] as? [String: Any])?["verdict"] as? String == "fail")
    }
}

/// `init` writes runbooks that load cleanly, for every cloud.
@Suite struct ScaffoldTests {
    @Test(arguments: Cloud.allCases)
    func scaffoldLoads(_ cloud: Cloud) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("scaffold-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let files = Scaffold.files(for: cloud)
        try files.runbook.write(toFile: "\(folder)/runbook.yaml", atomically: true, encoding: .utf8)
        for (name, contents) in files.extras {
            try contents.write(toFile: "\(folder)/\(name)", atomically: true, encoding: .utf8)
        }
        let runbook = try RunbookLoader().load(path: "\(folder)/runbook.yaml")
        #expect(runbook.target.cloud == cloud)
        #expect(!runbook.require.isEmpty)
    }
}

/// Exit codes are documented where scripts look for them.
@Suite struct HelpTests {
    @Test func rootHelpListsEveryExitCode() {
        let help = PolicyChangeCommand.helpMessage(columns: 200)
        for status in ExitStatus.allCases {
            #expect(help.contains("\(status.rawValue)"), "help lacks exit code \(status.rawValue)")
            #expect(help.contains(status.meaning), "help lacks the meaning of \(status.rawValue)")
        }
        for command in ["run", "plan", "validate", "diff", "backup", "rollback", "restore", "resume", "status", "init", "schema"] {
            #expect(help.contains("  \(command) "), "help lacks \(command)")
        }
    }

    @Test func readmeDocumentsEveryExitCode() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        for status in ExitStatus.allCases {
            #expect(text.contains("| \(status.rawValue) |"), "README lacks exit code \(status.rawValue)")
        }
    }
}
