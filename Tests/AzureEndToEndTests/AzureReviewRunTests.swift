import Foundation
import PolicyChange
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Review findings, end to end against the Azure conformance fake.
@Suite("Azure end to end: review")
struct AzureReviewRunTests {
    typealias S = AzureScenario

    @Test("The 2nd of 2 deltas fails (403): the engine rolls back the 1st by inverse deltas from the live vault, exit 5")
    func writeFailsPartWay() async throws {
        let scenario = S.accessPolicyScenario()
        try await S.with(scenario) { s in
            let before = S.entries(try await s.liveVault())
            // accessPolicies/add (the service) lands; accessPolicies/remove (OTHER) is refused once.
            try await s.control("inject", ["match": "/accessPolicies/remove", "method": "PUT", "status": 403, "count": 1])
            let result = try await s.run("verify-fails.yaml")
            #expect(result.exitedNormally && result.status == 5, "\(result)")
            #expect(S.entries(try await s.liveVault()) == before)
            let ops = s.writes().map { $0["operation"] as? String ?? "" }
            #expect(ops == ["accessPolicies/add", "injected", "accessPolicies/remove"], "apply part-way, then the inverse of what landed: \(ops)")
            s.expectNoWholeWrites()
            let (_, events) = try s.lastRun()
            for kind in [JournalEvent.Kind.rollbackIntent, .rollbackApplied, .rollbackVerified] {
                #expect(events.contains { $0.event == kind }, "\(events.map(\.event.rawValue))")
            }
        }
    }
}

@Suite("Azure end to end: review, killed between deltas")
struct AzureReviewKillTests {
    typealias S = AzureScenario

    /// Starts verify-fails.yaml with the 2nd delta throttled for 30 s and SIGKILLs the run while it waits:
    /// the 1st delta (accessPolicies/add) is live, the 2nd never landed.
    static func killBetweenDeltas(_ s: AzureScenario) async throws -> String {
        try await s.control("inject", ["match": "/accessPolicies/remove", "method": "PUT", "status": 429, "count": 1, "retryAfter": 30])
        let child = try s.start(["run", "verify-fails.yaml", "--yes", "--state-dir", s.state.path])
        var throttled = false
        for _ in 0..<1200 {
            if s.operations().contains("injected") {
                throttled = true
                break
            }
            if !child.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        child.signal(SIGKILL)
        let first = await child.wait()
        try #require(throttled && first.diedOfSIGKILL, "\(first)")
        return try s.lastRun().id
    }

    @Test("SIGKILL between two deltas, then 'resume RUN': the half-written change is rolled back from the live vault, exit 5")
    func resume() async throws {
        try await S.with(S.accessPolicyScenario()) { s in
            let before = S.entries(try await s.liveVault())
            let id = try await Self.killBetweenDeltas(s)
            #expect(S.entries(try await s.liveVault()) != before, "the 1st delta landed")
            let resumed = try await s.product(["resume", id, "--state-dir", s.state.path])
            #expect(resumed.exitedNormally && resumed.status == 5, "\(resumed)")
            #expect(S.entries(try await s.liveVault()) == before)
            #expect(try s.journal(id).contains { $0.event == .rollbackVerified })
            s.expectNoWholeWrites()
        }
    }

    @Test("SIGKILL between two deltas, then 'rollback RUN': restored and verified, exit 0")
    func rollback() async throws {
        try await S.with(S.accessPolicyScenario()) { s in
            let before = S.entries(try await s.liveVault())
            let id = try await Self.killBetweenDeltas(s)
            let rolledBack = try await s.product(["rollback", id, "--state-dir", s.state.path])
            #expect(rolledBack.exitedNormally && rolledBack.status == 0, "\(rolledBack)")
            #expect(S.entries(try await s.liveVault()) == before)
            #expect(try s.journal(id).contains { $0.event == .rollbackVerified })
        }
    }
}

@Suite("Azure end to end: review, conditional assignments")
struct AzureReviewConditionRunTests {
    typealias S = AzureScenario

    @Test("add-role-assignment beside a conditional assignment of that role: exit 4, nothing written, the message names the condition")
    func addBesideConditional() async throws {
        var scenario = S.rbacScenario()
        var conditional = S.assignment(
            S.service, role: "e147488a-f6f5-4113-8e2d-b22465e65bf6", scope: S.vaultID + "/keys/cmk", name: "0d000000-0000-4000-8000-000000000004")
        var properties = conditional["properties"] as! [String: Any]
        properties["condition"] = "((!(ActionMatches{'Microsoft.KeyVault/vaults/keys/unwrap/action'})))"
        properties["conditionVersion"] = "2.0"
        conditional["properties"] = properties
        scenario["roleAssignments"] = (scenario["roleAssignments"] as! [[String: Any]]) + [conditional]
        try await S.with(scenario) { s in
            let before = try await s.liveAssignments().count
            let result = try await s.run("rbac.yaml")
            #expect(result.exitedNormally && result.status == 4, "\(result)")
            #expect(s.writes().isEmpty, "\(s.writes())")
            #expect(result.output.contains("different condition"), "\(result.output)")
            #expect(try await s.liveAssignments().count == before)
        }
    }
}

@Suite("Azure end to end: review, --verbose")
struct AzureReviewVerboseTests {
    typealias S = AzureScenario

    @Test("--verbose with throttling: no client secret, bearer token or JWT in the output")
    func verboseHasNoSecrets() async throws {
        try await S.with(S.rbacScenario()) { s in
            try await s.control("inject", ["match": "/roleAssignments", "method": "GET", "status": 429, "count": 1, "retryAfter": 0])
            let result = try await s.run("rbac.yaml", ["--verbose"])
            #expect(result.exitedNormally && result.status == 0, "\(result)")
            #expect(result.output.contains("429") || result.output.lowercased().contains("retry"), "the retry log is in the output: \(result.output)")
            #expect(!result.output.contains(S.clientSecret))
            #expect(!result.output.contains("eyJ"), "a JWT reached the output: \(result.output)")
            #expect(!result.output.contains("Bearer ey"), "\(result.output)")
        }
    }
}
