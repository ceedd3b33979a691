import Foundation
import PolicyChange
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `policy-change run` against the GCP conformance fake (Fake/gcp_fake.py).
@Suite("GCP end to end: runs")
struct GCPRunTests {
    @Test("The example applies, verifies and monitors; the backup is getIamPolicy's answer; setIamPolicy carried its etag")
    func happyPath() async throws {
        try await GCPScenario.with { s in
            let result = try await s.run("gcp-update.yaml", GCPScenario.exampleTiming)
            #expect(result.exitedNormally && result.status == 0, "\(result)")
            let live = GCPScenario.bindingSet(try await s.livePolicy())
            #expect(live == GCPScenario.bindingSet(s.originalPolicy).union([
                "roles/cloudkms.cryptoKeyEncrypterDecrypter||\(GCPScenario.group)", "roles/cloudkms.viewer||\(GCPScenario.group)",
            ]), "\(live)")

            let (_, events) = try s.lastRun()
            try s.expectBackup(events)
            let sets = s.calls(":setIamPolicy")
            #expect(sets.count == 1)
            let sent = try #require(Inspect.jsonObject(sets.first?.body ?? ""))
            let etag = (s.originalPolicy["etag"] as? String) ?? "?"
            #expect((sent["policy"] as? [String: Any])?["etag"] as? String == etag, "setIamPolicy must carry the backup's etag")
            #expect(sent["updateMask"] as? String == "bindings,etag")
            #expect(s.calls(":getIamPolicy").allSatisfy { $0.query == "options.requestedPolicyVersion=3" && $0.method == "GET" })
            #expect(s.calls().filter { $0.path.hasPrefix("/v") }.allSatisfy { $0.auth == "bearer" })
            #expect(!s.calls("entries:list").isEmpty, "the audit-log check must query Cloud Logging")
            #expect(s.calls("/token").count == 1, "one token for the whole run (cached)")
            #expect(events.contains { $0.event == .check && $0.name == "caller" && $0.message == "serviceAccount:service-account@example.com" },
                    "\(events.filter { $0.event == .check }.map { $0.message ?? "" })")
            #expect(events.filter { $0.event == .monitorRound }.allSatisfy { $0.outcome == "passed" })
            #expect(!events.contains { $0.event == .rollbackIntent })
            #expect(events.last?.event == .runFinished && events.last?.exitCode == 0)

            // A second run changes nothing and writes nothing.
            let again = try await s.run("gcp-update.yaml", GCPScenario.exampleTiming, ["--output", "json"])
            #expect(again.exitedNormally && again.status == 0, "\(again)")
            #expect(Inspect.outcome(again) == "no-changes", "\(again.stdout)")
            #expect(s.calls(":setIamPolicy").count == 1)
        }
    }

    @Test("A replacement that drops the service group's bindings stops at validation: exit 3, no setIamPolicy")
    func dropsRequired() async throws {
        try await GCPScenario.with(policy: "policies/with-confluent.json") { s in
            let result = try await s.run("drop-required.yaml", [:], ["--output", "json"])
            #expect(result.exitedNormally && result.status == 3, "\(result)")
            #expect(Inspect.outcome(result) == "validation-failed", "\(result.stdout)")
            #expect(result.stdout.contains("REQUIRED_PERMISSION_MISSING"), "\(result.stdout)")
            #expect(s.calls(":setIamPolicy").isEmpty)
            #expect(try await s.control("policy") == s.original, "untouched, etag included")
            try s.expectBackup(try s.lastRun().events)
        }
    }

    @Test("A failing verify check rolls back: exit 5, the backup's bindings restored and verified")
    func verifyFails() async throws {
        try await GCPScenario.with { s in
            let result = try await s.run("verify-fails.yaml")
            try await s.expectRolledBack(result)
        }
    }

    @Test("A PERMISSION_DENIED entry in Cloud Logging during monitor rolls back: exit 5")
    func deniedDuringMonitor() async throws {
        try await GCPScenario.with { s in
            let child = try s.start(s.runArguments("denied-during-monitor.yaml"))
            let monitoring = await s.waitForJournal(of: child) { $0.contains { $0.event == .monitorRound } }
            try await s.control("log-entry", ["principal": "cck-d45e6381@confluent.io", "method": "Decrypt"])
            let result = await child.wait()
            s.record(["run"], result)
            try #require(monitoring, "the run never monitored: \(result)")
            try await s.expectRolledBack(result)
            let events = try s.lastRun().events
            #expect(events.contains { $0.event == .monitorRound && $0.outcome == "failed" }, "\(events.map(\.event.rawValue))")
        }
    }

    @Test("A custom role is read with IAM roles.get and counts for the required access")
    func customRole() async throws {
        try await GCPScenario.with { s in
            let result = try await s.run("custom-role.yaml")
            #expect(result.exitedNormally && result.status == 0, "\(result)")
            #expect(s.calls("/v1/projects/my-project/roles/confluentKeyUser").count == 1)
        }
    }

    @Test("Conditional bindings survive an add-members run; the write is version 3")
    func conditionalPreserved() async throws {
        try await GCPScenario.with(policy: "policies/conditional.json") { s in
            let result = try await s.run("quick.yaml")
            #expect(result.exitedNormally && result.status == 0, "\(result)")
            let live = try await s.livePolicy()
            #expect(GCPScenario.bindingSet(live).contains(
                "roles/cloudkms.cryptoKeyEncrypterDecrypter|until 2099|serviceAccount:app@my-project.iam.gserviceaccount.com"))
            let sent = try #require(Inspect.jsonObject(s.calls(":setIamPolicy").first?.body ?? ""))
            #expect((sent["policy"] as? [String: Any])?["version"] as? Int == 3)
        }
    }

    enum Recovery: String, Sendable, CaseIterable, CustomTestStringConvertible {
        case resume, rollback
        var testDescription: String { rawValue }
    }

    @Test("SIGKILL during monitor, then 'resume RUN' finishes or 'rollback RUN' restores the original bindings", arguments: Recovery.allCases)
    func killedDuringMonitor(_ recovery: Recovery) async throws {
        try await GCPScenario.with { s in
            let timing = ["SETTLE": "1s", "MONITOR": "8s", "INTERVAL": "1s", "RECOVERY": "1s"]
            let child = try s.start(s.runArguments("gcp-update.yaml", timing))
            let monitoring = await s.waitForJournal(of: child) { $0.contains { $0.event == .monitorRound } }
            child.signal(SIGKILL)
            let first = await child.wait()
            s.record(["run"], first)
            try #require(monitoring, "the run never reached a monitor round: \(first)")
            try #require(first.diedOfSIGKILL, "\(first)")
            let (id, before) = try s.lastRun()
            try s.expectBackup(before)
            #expect(GCPScenario.bindingSet(try await s.livePolicy()) != GCPScenario.bindingSet(s.originalPolicy), "killed after apply")

            switch recovery {
            case .resume:
                let resumed = try await s.product(
                    ["resume", id, "--yes", "--state-dir", s.state.path, "--set", "GCP_KEY=\(GCPScenario.key)"]
                        + timing.sorted { $0.key < $1.key }.flatMap { ["--set", "\($0.key)=\($0.value)"] })
                #expect(resumed.exitedNormally && resumed.status == 0, "resume: \(resumed)")
                #expect(GCPScenario.bindingSet(try await s.livePolicy()).contains("roles/cloudkms.viewer||\(GCPScenario.group)"))
                let after = try s.journal(id)
                #expect(after.contains { $0.event == .resumed })
                #expect(!after.contains { $0.event == .rollbackIntent })
                #expect(after.last?.event == .runFinished && after.last?.exitCode == 0)
            case .rollback:
                let rolledBack = try await s.product(["rollback", id, "--state-dir", s.state.path])
                #expect(rolledBack.exitedNormally && rolledBack.status == 0, "rollback: \(rolledBack)")
                #expect(GCPScenario.bindingSet(try await s.livePolicy()) == GCPScenario.bindingSet(s.originalPolicy))
                #expect(try s.journal(id).contains { $0.event == .rollbackVerified })
            }
        }
    }

    @Test("plan reads and writes nothing; restore --from BACKUP puts the backup's bindings back")
    func planAndRestore() async throws {
        try await GCPScenario.with { s in
            let plan = try await s.product(["plan", "quick.yaml", "--set", "GCP_KEY=\(GCPScenario.key)", "--state-dir", s.state.path])
            #expect(plan.exitedNormally && plan.status == 0, "\(plan)")
            #expect(plan.stdout.contains("roles/cloudkms.viewer") && plan.stdout.contains(GCPScenario.group), "\(plan.stdout)")
            #expect(s.calls(":setIamPolicy").isEmpty, "plan must not write")

            let result = try await s.run("quick.yaml")
            #expect(result.exitedNormally && result.status == 0, "\(result)")
            let backup = try s.expectBackup(try s.lastRun().events)
            let restored = try await s.product([
                "restore", "quick.yaml", "--from", backup, "--yes", "--set", "GCP_KEY=\(GCPScenario.key)", "--state-dir", s.state.path,
            ])
            #expect(restored.exitedNormally && restored.status == 0, "\(restored)")
            #expect(GCPScenario.bindingSet(try await s.livePolicy()) == GCPScenario.bindingSet(s.originalPolicy))
        }
    }
}
