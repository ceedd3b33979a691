import Foundation
import PolicyChange
import RunStore
import Testing

/// The command line as users and scripts meet it (DESIGN.md §5–§7): the real
/// `policy-change` binary where no cloud is needed, the testbed where a key
/// is.
@Suite("CLI end to end")
struct CLITests {
    static let subcommands = ["run", "plan", "validate", "diff", "backup", "rollback", "restore", "resume", "status", "init", "schema"]

    // MARK: Help, version, usage

    @Test("--help lists every subcommand of DESIGN §7 and the exit-code table")
    func help() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.product(["--help"])
        #expect(result.exitedNormally && result.status == 0, "\(result)")
        let lines = result.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        for command in Self.subcommands {
            #expect(lines.contains { $0.hasPrefix(command + " ") || $0 == command }, "--help must list '\(command)': \(result.stdout)")
        }
        for status in ExitStatus.allCases {
            let code = String(status.rawValue)
            #expect(lines.contains { $0.hasPrefix(code + " ") && $0.contains(status.meaning.prefix(20)) },
                    "--help must explain exit code \(code): \(result.stdout)")
        }
    }

    @Test func version() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.product(["--version"])
        #expect(result.exitedNormally && result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).range(of: #"^\d+\.\d+\.\d+"#, options: .regularExpression) != nil,
                "\(result)")
    }

    @Test("An unknown flag is a usage error (64)", arguments: [
        ["--frobnicate"],
        ["plan", "crash.yaml", "--frobnicate"],
        ["run", "crash.yaml", "--yes", "--colour"],
        ["validate", "--cloud", "aws", "--proposed", "default-policy.json", "--format", "yaml"],
    ])
    func unknownFlag(_ arguments: [String]) async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.product(arguments)
        #expect(result.exitedNormally && result.status == 64, "\(result)")
    }

    // MARK: Runbook errors

    @Test("A malformed runbook exits 2 with one FILE:LINE:COL line", arguments: ["plan", "run"])
    func malformedRunbook(_ command: String) async throws {
        let sandbox = try Sandbox()
        let arguments = command == "plan"
            ? ["plan", "malformed.yaml", "--current", "default-policy.json"]
            : ["run", "malformed.yaml", "--yes", "--state-dir", sandbox.statePath]
        let result = try await sandbox.testbed(arguments)
        #expect(result.exitedNormally && result.status == 2, "\(result)")
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "one line on stderr: \(result.stderr)")
        let line = String(lines.first ?? "")
        #expect(line.hasPrefix("malformed.yaml:7:5: "), "FILE:LINE:COL first: \(line)")
        #expect(line.contains("backpu") && line.contains("backup"), "\(line)")
        #expect(result.stdout.isEmpty)
        #expect(sandbox.runIDs().isEmpty, "an invalid runbook starts no run")
    }

    @Test("With --output json, a failure before any result is a policy-change/error@1 document", arguments: ["run", "status"])
    func jsonErrorDocument(_ command: String) async throws {
        let sandbox = try Sandbox()
        let arguments = command == "run"
            ? ["run", "malformed.yaml", "--yes", "--output", "json", "--state-dir", sandbox.statePath]
            : ["status", "no-such-run", "--output", "json", "--state-dir", sandbox.statePath]
        let result = try await sandbox.testbed(arguments)
        #expect(result.exitedNormally && result.status == 2, "\(result)")
        let document = try #require(Inspect.jsonObject(result.stdout), "stdout is one JSON document: \(result.stdout)")
        #expect(document["schema"] as? String == "policy-change/error@1")
        #expect(document["exitCode"] as? Int == 2)
        #expect((document["message"] as? String)?.isEmpty == false)
    }

    @Test("A runbook asking for the lockout-safety bypass fails validation (3) and nothing is written")
    func bypassRequested() async throws {
        let sandbox = try Sandbox()
        let before = try sandbox.livePolicy()
        let validate = try await sandbox.product(
            ["validate", "bypass.yaml", "--current", "default-policy.json", "--format", "json"])
        #expect(validate.exitedNormally && validate.status == 3, "\(validate)")
        #expect(validate.stdout.contains("BYPASS_LOCKOUT_SAFETY_CHECK_REQUESTED"), "\(validate)")
        let run = try await sandbox.testbed(["run", "bypass.yaml", "--yes", "--state-dir", sandbox.statePath])
        #expect(run.exitedNormally && run.status == 3, "\(run)")
        #expect(try sandbox.livePolicy() == before, "the policy was not touched")
        #expect(sandbox.writeCalls() == 0)
    }

    // MARK: plan

    @Test("plan --current prints the change and exits 0")
    func planOffline() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.product(["plan", "crash.yaml", "--current", "default-policy.json"])
        #expect(result.exitedNormally && result.status == 0, "\(result)")
        #expect(result.stdout.contains("Allow Confluent account(s) (152535741197) to use the key"), "\(result.stdout)")
        #expect(result.stdout.contains("Allow Confluent account(s) (152535741197) to attach persistent resources"))
        #expect(result.stdout.contains("added"))
        #expect(result.stdout.contains("verdict: pass"))
    }

    @Test("plan exits 3 when the change drops a required action")
    func planDropsRequired() async throws {
        let sandbox = try Sandbox()
        let current = sandbox.work.appendingPathComponent("with-confluent.json")
        try Fixtures.proposedPolicy().write(to: current)
        let result = try await sandbox.product(["plan", "drop-required.yaml", "--current", current.path])
        #expect(result.exitedNormally && result.status == 3, "\(result)")
        #expect(result.stdout.contains("REQUIRED_PERMISSION_MISSING"), "\(result.stdout)")
        #expect(result.stdout.contains("kms:CreateGrant"), "the dropped action should be named: \(result.stdout)")
    }

    @Test("plan --format markdown and json")
    func planFormats() async throws {
        let sandbox = try Sandbox()
        let markdown = try await sandbox.product(["plan", "crash.yaml", "--current", "default-policy.json", "--format", "markdown"])
        #expect(markdown.exitedNormally && markdown.status == 0, "\(markdown)")
        #expect(markdown.stdout.hasPrefix("## "), "\(markdown.stdout)")
        #expect(markdown.stdout.contains("```diff"))
        #expect(markdown.stdout.contains("| Verdict | **pass** |"))

        let json = try await sandbox.product(["plan", "crash.yaml", "--current", "default-policy.json", "--format", "json"])
        #expect(json.exitedNormally && json.status == 0, "\(json)")
        let document = try #require(Inspect.jsonObject(json.stdout), "valid JSON: \(json.stdout)")
        #expect(document["schema"] as? String == "policy-change/plan@1")
        let plan = try #require(document["plan"] as? [String: Any])
        #expect(plan["verdict"] as? String == "pass")
        #expect(plan["noChanges"] as? Bool == false)
    }

    @Test("plan through the testbed reads the key and makes no write")
    func planMakesNoWrite() async throws {
        let sandbox = try Sandbox()
        let before = try sandbox.livePolicy()
        let mtime = Inspect.modificationTime(of: sandbox.policyURL.path)
        for format in ["text", "markdown", "json"] {
            let result = try await sandbox.testbed(["plan", "crash.yaml", "--format", format, "--state-dir", sandbox.statePath])
            #expect(result.exitedNormally && result.status == 0, "\(result)")
        }
        let dryRun = try await sandbox.testbed(["run", "crash.yaml", "--dry-run", "--state-dir", sandbox.statePath])
        #expect(dryRun.exitedNormally && dryRun.status == 0, "\(dryRun)")
        #expect(try sandbox.livePolicy() == before)
        let after = Inspect.modificationTime(of: sandbox.policyURL.path)
        #expect(mtime?.tv_sec == after?.tv_sec && mtime?.tv_nsec == after?.tv_nsec, "policy.json's mtime changed")
        #expect(sandbox.writeCalls() == 0, "writePolicy was called")
        #expect(sandbox.runIDs().isEmpty, "plan and --dry-run start no run")
    }

    // MARK: run

    @Test("run --output json prints a run-result document; a second run changes nothing")
    func runTwice() async throws {
        let sandbox = try Sandbox()
        let first = try await sandbox.testbed(["run", "crash.yaml", "--yes", "--output", "json", "--state-dir", sandbox.statePath])
        #expect(first.exitedNormally && first.status == 0, "\(first)")
        let document = try #require(Inspect.jsonObject(first.stdout), "stdout must be one JSON document: \(first.stdout)")
        #expect(document["schema"] as? String == "policy-change/run-result@1")
        #expect(document["exitCode"] as? Int == 0)
        #expect((document["result"] as? [String: Any])?["outcome"] as? String == "succeeded")
        #expect(Inspect.sameJSON(try sandbox.livePolicy(), try Fixtures.proposedPolicy()))

        let applied = try sandbox.livePolicy()
        let mtime = Inspect.modificationTime(of: sandbox.policyURL.path)
        let writes = sandbox.writeCalls()
        let second = try await sandbox.testbed(["run", "crash.yaml", "--yes", "--output", "json", "--state-dir", sandbox.statePath])
        #expect(second.exitedNormally && second.status == 0, "\(second)")
        let again = try #require(Inspect.jsonObject(second.stdout), "\(second.stdout)")
        #expect(again["exitCode"] as? Int == 0)
        #expect((again["result"] as? [String: Any])?["outcome"] as? String == "no-changes", "\(second.stdout)")
        #expect(try sandbox.livePolicy() == applied, "a run with nothing to change must not rewrite the policy")
        let after = Inspect.modificationTime(of: sandbox.policyURL.path)
        #expect(mtime?.tv_sec == after?.tv_sec && mtime?.tv_nsec == after?.tv_nsec)
        #expect(sandbox.writeCalls() == writes)
        #expect(sandbox.runIDs().count == 2)
    }

    @Test("A policy edited between backup and apply stops the run (exit 4) and keeps the edit")
    func driftStops() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.testbed(["run", "drift.yaml", "--yes", "--output", "json", "--state-dir", sandbox.statePath])
        #expect(result.exitedNormally && result.status == 4, "\(result)")
        let document = try #require(Inspect.jsonObject(result.stdout), "\(result.stdout)")
        #expect((document["result"] as? [String: Any])?["outcome"] as? String == "drift")
        #expect(try sandbox.livePolicy() == (try Fixtures.data("drifted-policy.json")), "the other edit must survive")
        #expect(sandbox.writeCalls() == 0, "nothing may be written over drift")
        let events = try sandbox.journal(try #require(sandbox.runIDs().first))
        #expect(!events.contains { $0.event == .applyIntent })
    }

    @Test("Without POLICY_CHANGE_TESTBED_DIR the testbed says what is missing")
    func testbedNeedsItsFolder() async throws {
        let sandbox = try Sandbox()
        let result = try await sandbox.testbed(
            ["run", "crash.yaml", "--yes", "--state-dir", sandbox.statePath], environment: ["POLICY_CHANGE_TESTBED_DIR": ""])
        #expect(result.exitedNormally && result.status == 4, "\(result)")
        #expect(result.stderr.contains("POLICY_CHANGE_TESTBED_DIR"), "\(result)")
        #expect(!result.stderr.contains("internal error"), "\(result)")
    }

    // MARK: validate

    @Test("validate --format json: the pinned shape, exit 3 and line:column on a JSON syntax error")
    func validateJSON() async throws {
        let sandbox = try Sandbox()
        let clean = try await sandbox.product(["validate", "--cloud", "aws", "--proposed", "default-policy.json", "--format", "json"])
        #expect(clean.exitedNormally && clean.status == 0, "\(clean)")
        let passed = try #require(Inspect.jsonObject(clean.stdout), "\(clean.stdout)")
        #expect(passed["verdict"] as? String == "pass")
        #expect(passed["findings"] is [Any])

        // Line 3, column 3: the second member follows the first without a comma.
        let broken = sandbox.work.appendingPathComponent("broken.json")
        try Data("{\n  \"Version\": \"2012-10-17\"\n  \"Statement\": []\n}\n".utf8).write(to: broken)
        let result = try await sandbox.product(["validate", "--cloud", "aws", "--proposed", "broken.json", "--format", "json"])
        #expect(result.exitedNormally && result.status == 3, "\(result)")
        let document = try #require(Inspect.jsonObject(result.stdout), "\(result.stdout)")
        #expect(document["verdict"] as? String == "fail")
        let findings = try #require(document["findings"] as? [[String: Any]])
        for finding in findings {
            for key in ["code", "severity", "message", "path", "line", "column"] {
                #expect(finding.keys.contains(key), "every finding has '\(key)' (null when it does not apply): \(finding)")
            }
        }
        let syntax = try #require(findings.first { $0["code"] as? String == "JSON_SYNTAX_ERROR" }, "\(findings)")
        #expect(syntax["severity"] as? String == "error")
        #expect(syntax["line"] as? Int == 3, "\(syntax)")
        #expect(syntax["column"] as? Int == 3, "\(syntax)")
    }

    @Test("validate --format sarif is SARIF 2.1.0")
    func validateSARIF() async throws {
        let sandbox = try Sandbox()
        let broken = sandbox.work.appendingPathComponent("broken.json")
        try Data("{\n  \"Version\": \"2012-10-17\"\n  \"Statement\": []\n}\n".utf8).write(to: broken)
        let result = try await sandbox.product(["validate", "--cloud", "aws", "--proposed", "broken.json", "--format", "sarif"])
        #expect(result.exitedNormally && result.status == 3, "\(result)")
        let document = try #require(Inspect.jsonObject(result.stdout), "\(result.stdout)")
        #expect(document["version"] as? String == "2.1.0")
        let run = try #require((document["runs"] as? [[String: Any]])?.first)
        let driver = try #require((run["tool"] as? [String: Any])?["driver"] as? [String: Any])
        #expect(driver["name"] as? String == "policy-change")
        let rules = try #require(driver["rules"] as? [[String: Any]])
        let results = try #require(run["results"] as? [[String: Any]])
        #expect(!results.isEmpty)
        let ruleIDs = Set(rules.compactMap { $0["id"] as? String })
        for item in results {
            let ruleID = try #require(item["ruleId"] as? String)
            #expect(ruleIDs.contains(ruleID), "result rule \(ruleID) is among the driver's rules")
            #expect((item["message"] as? [String: Any])?["text"] is String)
            if let index = item["ruleIndex"] as? Int { #expect(rules[index]["id"] as? String == ruleID) }
        }
        let syntax = try #require(results.first { $0["ruleId"] as? String == "JSON_SYNTAX_ERROR" })
        let location = (syntax["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any]
        #expect((location?["artifactLocation"] as? [String: Any])?["uri"] as? String == "broken.json", "\(syntax)")
        #expect((location?["region"] as? [String: Any])?["startLine"] as? Int == 3)
    }

    // MARK: status

    @Test("status lists runs, in text and JSON")
    func status() async throws {
        let sandbox = try Sandbox()
        let empty = try await sandbox.product(["status", "--state-dir", sandbox.statePath])
        #expect(empty.exitedNormally && empty.status == 0, "\(empty)")
        #expect(empty.stdout.contains("No runs"))

        let run = try await sandbox.testbed(["run", "crash.yaml", "--yes", "--state-dir", sandbox.statePath])
        #expect(run.status == 0, "\(run)")
        let id = try #require(sandbox.runIDs().first)
        let text = try await sandbox.product(["status", "--state-dir", sandbox.statePath])
        #expect(text.exitedNormally && text.status == 0, "\(text)")
        #expect(text.stdout.contains(id) && text.stdout.contains("succeeded"), "\(text.stdout)")
        let one = try await sandbox.product(["status", id, "--state-dir", sandbox.statePath])
        #expect(one.stdout.contains("run-finished"), "status RUN shows its journal: \(one.stdout)")

        let json = try await sandbox.product(["status", "--output", "json", "--state-dir", sandbox.statePath])
        let document = try #require(Inspect.jsonObject(json.stdout), "\(json.stdout)")
        #expect(document["schema"] as? String == "policy-change/status@1")
        let runs = try #require(document["runs"] as? [[String: Any]])
        #expect(runs.count == 1)
        #expect(runs.first?["run"] as? String == id)
        #expect(runs.first?["exitCode"] as? Int == 0)
        #expect(runs.first?["state"] as? String == "succeeded")
    }

    // MARK: init

    @Test("init --cloud aws writes a runbook that plan --current accepts")
    func initScaffold() async throws {
        let sandbox = try Sandbox()
        let folder = sandbox.root.appendingPathComponent("scaffold")
        let out = folder.appendingPathComponent("runbook.yaml").path
        let result = try await sandbox.product(["init", "--cloud", "aws", "--out", out])
        #expect(result.exitedNormally && result.status == 0, "\(result)")
        #expect(FileManager.default.fileExists(atPath: out))
        let plan = try await sandbox.product(["plan", out, "--current", sandbox.runbook("default-policy.json")])
        #expect(plan.exitedNormally && plan.status == 0, "\(plan)")
        #expect(plan.stdout.contains("added"), "\(plan.stdout)")
        let again = try await sandbox.product(["init", "--cloud", "aws", "--out", out])
        #expect(again.status == 2, "init must not overwrite without --force: \(again)")
    }

    // MARK: Colour and secrets

    @Test("NO_COLOR=1 and --no-color turn off escape sequences, even on a terminal")
    func noColor() async throws {
        let sandbox = try Sandbox()
        func plan(_ arguments: [String], _ environment: [String: String]) async throws -> String {
            let terminal = try PseudoTerminal()
            let child = try Child(
                try Binaries.product.get(), ["plan", "crash.yaml", "--current", "default-policy.json"] + arguments,
                environment: sandbox.environment(environment), directory: sandbox.work, stdout: terminal.childEnd)
            terminal.closeChildEnd()
            let result = await child.wait()
            #expect(result.exitedNormally && result.status == 0, "\(result)")
            return await terminal.output()
        }
        let coloured = try await plan([], ["TERM": "xterm-256color"])
        #expect(coloured.contains("\u{1B}["), "on a terminal the plan is coloured (else this test proves nothing): \(coloured)")
        let withoutColour = try await plan([], ["TERM": "xterm-256color", "NO_COLOR": "1"])
        #expect(!withoutColour.contains("\u{1B}"), "NO_COLOR=1: \(withoutColour)")
        #expect(withoutColour.contains("verdict: pass"))
        let flag = try await plan(["--no-color"], ["TERM": "xterm-256color"])
        #expect(!flag.contains("\u{1B}"), "--no-color: \(flag)")

        let run = try await sandbox.testbed(
            ["run", "crash.yaml", "--yes", "--state-dir", sandbox.statePath], environment: ["NO_COLOR": "1", "TERM": "xterm-256color"])
        #expect(run.status == 0, "\(run)")
        #expect(!run.output.contains("\u{1B}"), "\(run)")
    }

    @Test("A --set secret used in an http check header appears in no output and no file")
    func secretsStayOut() async throws {
        let sandbox = try Sandbox()
        let secret = "s3cr3t-\(UUID().uuidString)"
        var outputs: [ChildResult] = []
        let run = try await sandbox.testbed(
            ["run", "secret-header.yaml", "--yes", "--set", "SECRET=\(secret)", "--state-dir", sandbox.statePath, "--verbose"])
        #expect(run.exitedNormally && run.status == 0, "\(run)")
        outputs.append(run)
        let id = try #require(sandbox.runIDs().first)
        let events = try sandbox.journal(id)
        #expect(events.contains { $0.event == .check && $0.name == "http" && $0.outcome == "inconclusive" },
                "the http check against a closed port is inconclusive")
        outputs.append(try await sandbox.testbed(
            ["run", "secret-header.yaml", "--yes", "--output", "json", "--set", "SECRET=\(secret)", "--state-dir", sandbox.statePath]))
        for format in ["text", "markdown", "json"] {
            outputs.append(try await sandbox.testbed(
                ["plan", "secret-header.yaml", "--format", format, "--set", "SECRET=\(secret)", "--state-dir", sandbox.statePath]))
        }
        outputs.append(try await sandbox.testbed(
            ["run", "secret-header.yaml", "--dry-run", "--set", "SECRET=\(secret)", "--state-dir", sandbox.statePath]))
        outputs.append(try await sandbox.product(["status", "--state-dir", sandbox.statePath]))
        outputs.append(try await sandbox.product(["status", id, "--state-dir", sandbox.statePath]))
        outputs.append(try await sandbox.product(["status", "--output", "json", "--state-dir", sandbox.statePath]))
        for output in outputs {
            #expect(!output.output.contains(secret), "the secret leaked into output: \(output)")
        }
        // Journals, reports, plans, backups, command logs: every file the runs left.
        let files = FileManager.default.enumerator(at: sandbox.root, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL } ?? []
        #expect(files.count > 5)
        for file in files {
            guard let data = try? Data(contentsOf: file) else { continue }
            #expect(!String(decoding: data, as: UTF8.self).contains(secret), "the secret leaked into \(file.path)")
        }
    }
}
