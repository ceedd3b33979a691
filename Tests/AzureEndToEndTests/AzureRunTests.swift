import Foundation
import PolicyChange
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `policy-change run` against the Azure conformance fake (Fake/azure_fake.py):
/// the issue's "Done when" scenarios. Each test has a fake of its own.
@Suite("Azure end to end")
struct AzureRunTests {
    typealias S = AzureScenario

    @Test("Access-policy model: one accessPolicies/add carrying only the new entry; backup = vault as returned; monitor passes")
    func accessPolicyHappyPath() async throws {
        let scenario = S.accessPolicyScenario()
        try await S.with(scenario) { s in
            let result = try await s.run("access-policy.yaml")
            #expect(result.exitedNormally && result.status == 0, "\(result)")
            let writes = s.writes()
            #expect(writes.map { $0["operation"] as? String ?? "" } == ["accessPolicies/add"], "\(writes)")
            let body = try #require(Inspect.jsonObject(writes.first?["body"] as? String ?? ""))
            let sent = ((body["properties"] as? [String: Any])?["accessPolicies"] as? [[String: Any]]) ?? []
            #expect(sent.count == 1 && sent.first?["objectId"] as? String == S.service, "only the changing entry: \(sent)")
            #expect(sent.first?["tenantId"] as? String == S.tenant)
            s.expectNoWholeWrites()
            let live = try await s.liveVault()
            #expect(S.entries(live).contains("\(S.service):get,unwrapkey,wrapkey"), "\(S.entries(live))")
            #expect(S.entries(live).count == 3)
            let (_, events) = try s.lastRun()
            try s.expectBackup(events, original: scenario["vault"] as! [String: Any])
            #expect(events.contains { $0.event == .check && $0.name == "caller" && $0.message == S.admin }, "the caller is the token's oid")
            #expect(events.filter { $0.event == .monitorRound }.allSatisfy { $0.outcome == "passed" })
            #expect(events.last?.event == .runFinished && events.last?.exitCode == 0)
            let ops = s.operations()
            #expect(ops.contains("query"), "verify and monitor query Log Analytics: \(ops)")
            #expect(ops.contains("GetKey"), "the key is checked on the data plane")
        }
    }

    @Test("RBAC model: one role-assignment PUT at key scope; inherited assignments stay out of the snapshot; nothing else written")
    func rbacHappyPath() async throws {
        let scenario = S.rbacScenario()
        try await S.with(scenario) { s in
            // The runbook's `login` endpoint wins over AZURE_AUTHORITY_HOST.
            var env = s.environment()
            env["AZURE_AUTHORITY_HOST"] = "http://127.0.0.1:9/"
            let result = try await s.run("rbac.yaml", environment: env)
            #expect(result.exitedNormally && result.status == 0, "\(result)")
            let writes = s.writes()
            #expect(writes.map { $0["operation"] as? String ?? "" } == ["roleAssignments_Create"], "\(writes)")
            let path = writes.first?["path"] as? String ?? ""
            #expect(path.hasPrefix(S.vaultID + "/keys/cmk/providers/Microsoft.Authorization/roleAssignments/"), "\(path)")
            let body = try #require(Inspect.jsonObject(writes.first?["body"] as? String ?? ""))
            let properties = body["properties"] as? [String: Any] ?? [:]
            #expect((properties["roleDefinitionId"] as? String ?? "").hasSuffix("/e147488a-f6f5-4113-8e2d-b22465e65bf6"))
            #expect(properties["principalId"] as? String == S.service)
            s.expectNoWholeWrites()
            #expect(s.operations().filter { $0 == "roleAssignments_ListForScope" }.count >= 4, "atScope() lists are paged by nextLink")
            let (_, events) = try s.lastRun()
            try s.expectBackup(events, original: scenario["vault"] as! [String: Any])
            let backupPath = try #require(events.first { $0.event == .backupWritten }?.file?.path)
            let backup = try #require(Inspect.jsonObject(try String(contentsOfFile: backupPath, encoding: .utf8)))
            let names = (backup["roleAssignments"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }.sorted()
            #expect(names == ["0a000000-0000-4000-8000-000000000001", "0b000000-0000-4000-8000-000000000002"], "vault and key scope only: \(names)")
            #expect(try await s.liveAssignments().count == 4)
        }
    }

    @Test("Removing unwrapKey from the service's entry stops at validation: exit 3, no write call")
    func dropUnwrap() async throws {
        var scenario = S.accessPolicyScenario()
        scenario["vault"] = S.vault(rbac: false, policies: [S.entry(S.admin, S.allKeys), S.entry(S.service, ["get", "wrapKey", "unwrapKey"])])
        try await S.with(scenario) { s in
            let result = try await s.run("drop-unwrap.yaml", ["--output", "json"])
            #expect(result.exitedNormally && result.status == 3, "\(result)")
            #expect(s.writes().isEmpty, "\(s.writes())")
            #expect(result.stdout.contains("REQUIRED_PERMISSION_MISSING") && result.stdout.contains("unwrapKey"), "\(result.stdout)")
            #expect(S.entries(try await s.liveVault()).contains("\(S.service):get,unwrapkey,wrapkey"))
        }
    }

    @Test("A failing verify check restores by inverse deltas and verifies: exit 5, the vault's entries as before")
    func verifyFails() async throws {
        let scenario = S.accessPolicyScenario()
        try await S.with(scenario) { s in
            let before = S.entries(try await s.liveVault())
            let result = try await s.run("verify-fails.yaml")
            #expect(result.exitedNormally && result.status == 5, "\(result)")
            #expect(S.entries(try await s.liveVault()) == before)
            let ops = s.writes().map { $0["operation"] as? String ?? "" }
            #expect(ops == ["accessPolicies/add", "accessPolicies/remove", "accessPolicies/add", "accessPolicies/remove"], "apply then the inverse: \(ops)")
            s.expectNoWholeWrites()
            let (_, events) = try s.lastRun()
            for kind in [JournalEvent.Kind.applied, .rollbackIntent, .rollbackApplied, .rollbackVerified] {
                #expect(events.contains { $0.event == kind }, "\(events.map(\.event.rawValue))")
            }
        }
    }

    @Test("A Forbidden event in Log Analytics during monitor rolls back: exit 5")
    func forbiddenDuringMonitor() async throws {
        let scenario = S.accessPolicyScenario()
        try await S.with(scenario) { s in
            let before = S.entries(try await s.liveVault())
            let result = try await s.run("denied-during-monitor.yaml")
            #expect(result.exitedNormally && result.status == 5, "\(result)")
            #expect(S.entries(try await s.liveVault()) == before)
            let (_, events) = try s.lastRun()
            #expect(events.contains { $0.event == .check && $0.name == "audit-log" && $0.outcome == "passed" }, "verify's audit-log check passes before the denial")
            let failed = try #require(events.first { $0.event == .monitorRound && $0.outcome == "failed" }, "\(events.map(\.event.rawValue))")
            #expect(failed.message?.contains("Forbidden") == true, "\(failed.message ?? "")")
        }
    }

    @Test("Drift between backup and apply: exit 4, nothing written")
    func drift() async throws {
        try await S.with(S.accessPolicyScenario()) { s in
            let result = try await s.run("drift.yaml")
            #expect(result.exitedNormally && result.status == 4, "\(result)")
            #expect(s.writes().isEmpty, "\(s.writes())")
            #expect(S.entries(try await s.liveVault()).isEmpty, "the drifted state stays")
        }
    }

    @Test("A bad client secret: exit 4, one line with the AADSTS code, the secret nowhere")
    func badSecret() async throws {
        try await S.with(S.accessPolicyScenario()) { s in
            let wrong = "wrong-secret-Zz9~k3.Lq0pW"
            KnownSecrets.add(wrong)
            let result = try await s.run("access-policy.yaml", environment: s.environment(secret: wrong))
            #expect(result.exitedNormally && result.status == 4, "\(result)")
            let lines = result.output.split(separator: "\n").filter { $0.contains("AADSTS7000215") }
            #expect(lines.count >= 1, "\(result)")
            #expect(!result.output.contains(wrong) && !result.output.contains(S.clientSecret))
            #expect(s.writes().isEmpty)
            for id in s.runIDs() {
                let journal = try String(contentsOf: s.state.appendingPathComponent("runs/\(id)/journal.jsonl"), encoding: .utf8)
                #expect(!journal.contains(wrong))
            }
        }
    }

    @Test("Throttling (429 with Retry-After, then 503) is retried and the run completes: exit 0")
    func throttling() async throws {
        try await S.with(S.accessPolicyScenario()) { s in
            try await s.control("inject", ["match": "/vaults/kv-kafka", "status": 429, "retryAfter": 1, "count": 2, "method": "GET"])
            try await s.control("inject", ["match": "/accessPolicies/add", "status": 503, "count": 1])
            try await s.control("inject", ["match": "/query", "status": 429, "retryAfter": 1, "count": 1])
            let result = try await s.run("access-policy.yaml")
            #expect(result.exitedNormally && result.status == 0, "\(result)")
            let injected = s.calls().filter { $0["operation"] as? String == "injected" }
            #expect(injected.count == 4, "every injected fault was met: \(injected.count)")
            #expect(S.entries(try await s.liveVault()).contains("\(S.service):get,unwrapkey,wrapkey"))
        }
    }

    @Test("SIGKILL during monitor, then 'rollback RUN' restores the original by deltas and verifies it")
    func killedDuringMonitor() async throws {
        try await S.with(S.accessPolicyScenario()) { s in
            let before = S.entries(try await s.liveVault())
            let child = try s.start(["run", "access-policy.yaml", "--yes", "--state-dir", s.state.path], environment: s.environment(monitor: "30s"))
            let monitoring = await s.waitForJournal(of: child, bound: .seconds(60)) { $0.contains { $0.event == .monitorRound } }
            child.signal(SIGKILL)
            let first = await child.wait()
            try #require(monitoring && first.diedOfSIGKILL, "\(first)")
            #expect(S.entries(try await s.liveVault()) != before, "killed after apply: the change is live")
            let (id, _) = try s.lastRun()
            let rolledBack = try await s.product(["rollback", id, "--state-dir", s.state.path])
            #expect(rolledBack.exitedNormally && rolledBack.status == 0, "\(rolledBack)")
            #expect(S.entries(try await s.liveVault()) == before)
            #expect(try s.journal(id).contains { $0.event == .rollbackVerified })
            s.expectNoWholeWrites()
        }
    }

    @Test("An EC key stops the run before anything is written: exit 4, the message says the vendor requires RSA")
    func nonRSAKey() async throws {
        var scenario = S.accessPolicyScenario()
        scenario["key"] = ["name": "cmk", "kty": "EC-HSM", "enabled": true]
        try await S.with(scenario) { s in
            let result = try await s.run("access-policy.yaml")
            #expect(result.exitedNormally && result.status == 4, "\(result)")
            #expect(result.output.contains("RSA or RSA-HSM") && result.output.contains("EC-HSM"), "\(result)")
            #expect(s.writes().isEmpty)
        }
    }

    @Test("A second run changes nothing: exit 0, no-changes, no write call; plan says No changes")
    func idempotent() async throws {
        try await S.with(S.accessPolicyScenario()) { s in
            let first = try await s.run("access-policy.yaml")
            #expect(first.exitedNormally && first.status == 0, "\(first)")
            let writes = s.writes().count
            let second = try await s.run("access-policy.yaml", ["--output", "json"])
            #expect(second.exitedNormally && second.status == 0, "\(second)")
            #expect(Inspect.outcome(second) == "no-changes", "\(second.stdout)")
            let plan = try await s.product(["plan", "access-policy.yaml"])
            #expect(plan.exitedNormally && plan.status == 0 && plan.stdout.contains("No changes"), "\(plan)")
            #expect(s.writes().count == writes, "no write after the first run: \(s.writes())")
        }
    }

    @Test("SIGKILL during monitor, then 'resume RUN' finishes the run: exit 0, the change stays")
    func killedThenResumed() async throws {
        try await S.with(S.accessPolicyScenario()) { s in
            let env = s.environment(monitor: "6s")
            let child = try s.start(["run", "access-policy.yaml", "--yes", "--state-dir", s.state.path], environment: env)
            let monitoring = await s.waitForJournal(of: child, bound: .seconds(60)) { $0.contains { $0.event == .monitorRound } }
            child.signal(SIGKILL)
            let first = await child.wait()
            try #require(monitoring && first.diedOfSIGKILL, "\(first)")
            let (id, _) = try s.lastRun()
            let resumed = try await s.product(["resume", id, "--yes", "--state-dir", s.state.path], environment: env)
            #expect(resumed.exitedNormally && resumed.status == 0, "\(resumed)")
            #expect(S.entries(try await s.liveVault()).contains("\(S.service):get,unwrapkey,wrapkey"))
            let events = try s.journal(id)
            #expect(events.contains { $0.event == .resumed } && !events.contains { $0.event == .rollbackIntent })
            #expect(s.writes().map { $0["operation"] as? String ?? "" } == ["accessPolicies/add"], "resume writes nothing again")
        }
    }
}
