import Foundation
import PolicyChange
import Testing

/// `policy-change run` against moto_server with authentication on (DESIGN.md
/// §9), CloudTrail and Access Analyzer from scripts/aws/aws_fakes.py. Each
/// test has a key of its own in the suite's moto.
@Suite("AWS end to end: runs")
struct AWSRunTests {
    func world() async throws -> AWSWorld { try await AWSWorld.shared("runs") }

    @Test("The example applies, verifies and monitors; the backup is GetKeyPolicy's answer; the caller is the IAM user")
    func happyPath() async throws {
        try await Scenario.with(try await world()) { s in
            let result = try await s.run("aws-update.yaml", Scenario.exampleTiming)
            #expect(result.exitedNormally && result.status == 0, "\(result)")

            let live = try await s.livePolicy()
            #expect(Inspect.sameJSON(live, try s.proposedPolicy()), "live: \(String(decoding: live, as: UTF8.self))")

            let (_, events) = try s.lastRun()
            try s.expectBackup(events)
            #expect(s.world.userARN.hasPrefix("arn:aws:iam::123456789012:user/"), "\(s.world.userARN)")
            #expect(events.contains { $0.event == .check && $0.name == "caller" && $0.message == s.world.userARN },
                    "the journal must name the caller: \(events.filter { $0.event == .check }.map { $0.message ?? "" })")
            #expect(events.contains { $0.event == .applied })
            #expect(events.filter { $0.event == .monitorRound }.allSatisfy { $0.outcome == "passed" })
            #expect(events.filter { $0.event == .monitorRound }.count == 3, "3 s of monitoring, a round a second")
            #expect(!events.contains { $0.event == .rollbackIntent })
            let last = try #require(events.last)
            #expect(last.event == .runFinished && last.exitCode == 0 && last.outcome == "succeeded", "\(last)")
        }
    }

    @Test("A second run changes nothing: exit 0, no-changes, no PutKeyPolicy; plan says No changes")
    func idempotent() async throws {
        try await Scenario.with(try await world()) { s in
            // The proxy passes everything through and logs each X-Amz-Target.
            let proxy = try await s.proxyKMS()
            let first = try await s.run("aws-update.yaml", Scenario.exampleTiming, ["--output", "json"])
            #expect(first.exitedNormally && first.status == 0, "\(first)")
            #expect(proxy.count("PutKeyPolicy") == 1, "the first run writes once: \(proxy.requests().map(\.operation))")
            let applied = try await s.livePolicy()

            let before = proxy.requests().count
            let second = try await s.run("aws-update.yaml", Scenario.exampleTiming, ["--output", "json"])
            #expect(second.exitedNormally && second.status == 0, "\(second)")
            #expect(Inspect.outcome(second) == "no-changes", "\(second.stdout)")
            let plan = try await s.product(["plan", "aws-update.yaml", "--set", "KEY_ARN=\(s.keyARN)"] + Scenario.exampleTiming.flatMap {
                ["--set", "\($0.key)=\($0.value)"]
            })
            #expect(plan.exitedNormally && plan.status == 0, "\(plan)")
            #expect(plan.stdout.contains("No changes"), "\(plan.stdout)")

            let later = proxy.requests().dropFirst(before)
            #expect(later.contains { $0.operation == "GetKeyPolicy" }, "the second run and plan must go through the proxy")
            #expect(!later.contains { $0.operation == "PutKeyPolicy" }, "no write call: \(later.map(\.operation))")
            #expect(try await s.livePolicy() == applied, "the policy must not be rewritten")
            let events = try s.journal(try #require(s.runIDs().last))
            #expect(events.contains { $0.event == .noChanges })
            #expect(!events.contains { $0.event == .applyIntent })
        }
    }

    @Test("A replacement that narrows kms:GenerateDataKey* stops at validation: exit 3, nothing written")
    func dropsRequiredAction() async throws {
        try await Scenario.with(try await world(), keyPolicy: "policies/with-confluent-key-policy.json") { s in
            let proxy = try await s.proxyKMS()
            let result = try await s.run("drop-required.yaml", [:], ["--output", "json"])
            try await s.expectUntouched(result, status: 3)
            #expect(Inspect.outcome(result) == "validation-failed", "\(result.stdout)")
            let findings = (Inspect.jsonObject(result.stdout)?["result"] as? [String: Any])?["findings"] as? [[String: Any]] ?? []
            let missing = findings.filter { $0["code"] as? String == "REQUIRED_PERMISSION_MISSING" }
            #expect(!missing.isEmpty, "\(findings)")
            #expect(missing.contains { ($0["message"] as? String ?? "").contains("kms:GenerateDataKey") }, "\(missing)")
            #expect(proxy.count("PutKeyPolicy") == 0)
            try s.expectBackup(try s.lastRun().events)
        }
    }

    @Test("A verify check that fails rolls back: exit 5, the original policy live again")
    func verifyFails() async throws {
        try await Scenario.with(try await world()) { s in
            let result = try await s.run("verify-fails.yaml")
            try await s.expectRolledBack(result)
            let (_, events) = try s.lastRun()
            #expect(events.contains { $0.event == .check && $0.name == "command" && $0.outcome == "failed" })
            #expect(events.contains { $0.event == .stepFailed && $0.name == "verify" }, "\(events.map(\.event.rawValue))")
        }
    }

    @Test("A monitor check that fails in its second round rolls back: exit 5")
    func monitorFailsMidway() async throws {
        try await Scenario.with(try await world()) { s in
            let result = try await s.run("monitor-fails.yaml")
            try await s.expectRolledBack(result)
            let (_, events) = try s.lastRun()
            let rounds = events.filter { $0.event == .monitorRound }.map { $0.outcome ?? "" }
            #expect(rounds == ["passed", "failed"], "\(rounds)")
            let calls = try String(contentsOf: s.work.appendingPathComponent("smoke-calls"), encoding: .utf8)
            #expect(calls.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "the smoke test runs once per round")
        }
    }

    @Test("An AccessDenied that CloudTrail reports during monitoring rolls back: exit 5")
    func accessDeniedDuringMonitor() async throws {
        try await Scenario.with(try await world()) { s in
            let result = try await s.run("denied-during-monitor.yaml", ["EVENTS": s.fakes.events.path])
            try await s.expectRolledBack(result)
            let (_, events) = try s.lastRun()
            #expect(events.contains { $0.event == .check && $0.name == "audit-log" && $0.outcome == "passed" },
                    "verify's audit-log check passes before the denial")
            let failed = try #require(events.first { $0.event == .monitorRound && $0.outcome == "failed" }, "\(events.map(\.event.rawValue))")
            #expect(failed.message?.contains("AccessDenied") == true, "\(failed.message ?? "")")
            #expect(failed.message?.contains("kms:Decrypt") == true, "\(failed.message ?? "")")
            let lookups = (try? String(contentsOf: s.fakes.log, encoding: .utf8))?.split(separator: "\n")
                .filter { $0.contains("LookupEvents") && $0.contains("\"status\": 200") } ?? []
            #expect(lookups.count >= 2, "CloudTrail answered verify and the monitor")
        }
    }

    @Test("A policy changed by the AWS CLI between backup and apply stops the run: exit 4, their policy stays")
    func driftStops() async throws {
        _ = try Toolchain.awsCLI()
        try await Scenario.with(try await world()) { s in
            let result = try await s.run("drift.yaml", [:], ["--output", "json"])
            let drifted = try s.file("policies/drifted-key-policy.json")
            try await s.expectUntouched(result, status: 4, expected: drifted)
            #expect(Inspect.outcome(result) == "drift", "\(result.stdout)")
            let (_, events) = try s.lastRun()
            #expect(events.contains { $0.event == .stepFinished && $0.name == "command" }, "the aws CLI step must have succeeded: \(result)")
            try s.expectBackup(events)
        }
    }

    @Test("The backup restores with the real AWS CLI (DESIGN.md §4)")
    func backupRestoresWithAWSCLI() async throws {
        let aws = try Toolchain.awsCLI()
        try await Scenario.with(try await world()) { s in
            let result = try await s.run("quick.yaml")
            #expect(result.exitedNormally && result.status == 0, "\(result)")
            let backup = try s.expectBackup(try s.lastRun().events)
            #expect(Inspect.sameJSON(try await s.livePolicy(), try s.proposedPolicy()))

            let restore = try await runTool(
                [aws, "kms", "put-key-policy", "--key-id", s.keyARN, "--policy-name", "default", "--policy", "file://\(backup)",
                 "--endpoint-url", s.world.endpoint, "--region", "us-east-1"],
                environment: try s.world.adminEnvironment(["HOME": s.home.path]), in: s.work)
            #expect(restore.exitedNormally && restore.status == 0, "\(restore)")
            let live = try await s.livePolicy()
            #expect(live == (try Data(contentsOf: URL(fileURLWithPath: backup))), "GetKeyPolicy must return the backup")
            #expect(live == s.original)
        }
    }

    @Test("validate: { access-analyzer: true } — a SECURITY_WARNING stops the run (exit 3); no findings pass",
          arguments: ["findings/security-warning.json", "findings/none.json"])
    func accessAnalyzer(_ findings: String) async throws {
        try await Scenario.with(try await world()) { s in
            try s.setFindings(findings)
            let result = try await s.run("access-analyzer.yaml", [:], ["--output", "json"])
            let requests = (try? String(contentsOf: s.fakes.log, encoding: .utf8)) ?? ""
            #expect(requests.contains("/policy/validation"), "Access Analyzer must be asked: \(requests)")
            if findings.hasSuffix("none.json") {
                #expect(result.exitedNormally && result.status == 0, "\(result)")
                #expect(Inspect.sameJSON(try await s.livePolicy(), try s.proposedPolicy()))
                return
            }
            try await s.expectUntouched(result, status: 3)
            let document = try #require(Inspect.jsonObject(result.stdout), "\(result.stdout)")
            let all = (document["result"] as? [String: Any])?["findings"] as? [[String: Any]] ?? []
            let finding = try #require(all.first { $0["source"] as? String == "access-analyzer" }, "\(all)")
            #expect(finding["code"] as? String == "ALLOW_WITH_NOT_PRINCIPAL")
            #expect(finding["severity"] as? String == "security-warning")
            #expect(finding["path"] as? String == "Statement[1].Principal", "Access Analyzer's location as a JSON path: \(finding)")
            let (_, events) = try s.lastRun()
            try s.expectBackup(events)
            #expect(events.contains { $0.event == .validated && $0.verdict == .fail })
        }
    }
}
