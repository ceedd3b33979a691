import Foundation
import PolicyChange
import Testing

/// `verify` and `monitor`: failed rounds, the `failures` threshold, and
/// inconclusive answers (a check that cannot get an answer is not a failure
/// by itself; repeated inconclusive rounds are) (DESIGN.md §3).
@Suite("RunEngine: verify and monitor rounds")
struct EngineMonitorTests {
    static func monitoring(
        _ outcomes: [CheckOutcome], rounds: Int = 5, failures: Int = 1, inconclusive: Int = 3
    ) -> Harness {
        Harness(
            runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
                TestRunbooks.monitor(
                    [.http(TestRunbooks.healthCheck)], rounds: rounds, failures: failures, inconclusive: inconclusive),
            ])),
            probes: ScriptedProbes(http: outcomes))
    }

    static let ok = CheckOutcome.passed("HTTP 200, status.phase = PROVISIONED")
    static let down = CheckOutcome.failed("status.phase is FAILED, expected PROVISIONED")
    static let noAnswer = CheckOutcome.inconclusive("HTTP 503")

    @Test("a failed round 2 of 5 with failures: 1 rolls back (5)")
    func failedRoundRollsBack() async throws {
        let h = Self.monitoring([Self.ok, Self.down, Self.ok])
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.probes.httpCalls == 2)
        #expect(h.count(.monitorRound) == 2)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(h.provider.writes == 2)
        let rounds = h.storage.events.filter { $0.event == .monitorRound }
        #expect(rounds.map(\.outcome) == ["passed", "failed"])
        #expect(rounds.map(\.name) == ["round 1/5", "round 2/5"])
    }

    @Test("rounds are an interval apart on the clock")
    func roundsFollowTheInterval() async throws {
        let h = Self.monitoring([Self.ok])
        #expect(await h.run().status == .success)
        let times = h.storage.events.filter { $0.event == .monitorRound }.map(\.time)
        #expect(times.count == 5)
        #expect(zip(times, times.dropFirst()).allSatisfy { $1.timeIntervalSince($0) == 60 })
        #expect(times.first == TestRunbooks.start.addingTimeInterval(60))
    }

    @Test("monitoring lasts at least its duration when the interval does not divide it")
    func monitorCoversTheWholeDuration() async throws {
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
            Step(.monitor(MonitorStep(duration: .seconds(150), interval: .seconds(60), checks: [.policyUnchanged]))),
        ])))
        #expect(await h.run().status == .success)
        let applied = try #require(h.storage.events.first { $0.event == .applied }?.time)
        let last = try #require(h.storage.events.last { $0.event == .monitorRound }?.time)
        #expect(last.timeIntervalSince(applied) >= 150)
        #expect(h.count(.monitorRound) == 3)
    }

    @Test("an audit-log denial in round 2 rolls back (5)")
    func auditLogDenialInRound2() async throws {
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
            TestRunbooks.monitor([.auditLog(AuditLogCheck())], rounds: 5),
        ])))
        h.auditLog?.record(AuditEvent(
            time: TestRunbooks.start.addingTimeInterval(90), principal: TestRunbooks.confluentRole, action: "kms:Decrypt",
            errorCode: "AccessDeniedException"))
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.storage.events.filter { $0.event == .monitorRound }.map(\.outcome) == ["passed", "failed"])
    }

    @Test("with failures: 2, one failed round followed by passes is a success")
    func singleFailureTolerated() async throws {
        let h = Self.monitoring([Self.ok, Self.down, Self.ok], failures: 2)
        let result = await h.run()
        #expect(result.status == .success)
        #expect(h.count(.monitorRound) == 5)
        #expect(h.provider.writes == 1)
        #expect(h.provider.policy == (try h.proposed()))
    }

    @Test("with failures: 2, two failed rounds in a row roll back (5)")
    func twoFailuresInARow() async throws {
        let h = Self.monitoring([Self.ok, Self.down, Self.down, Self.ok], failures: 2)
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.count(.monitorRound) == 3)
    }

    @Test("with failures: 2, failed rounds that are not consecutive are a success")
    func failuresNotInARow() async throws {
        let h = Self.monitoring([Self.down, Self.ok, Self.down, Self.ok], failures: 2)
        #expect(await h.run().status == .success)
    }

    @Test("3 inconclusive rounds in a row count as a failed round (5)")
    func inconclusiveRoundsCountAsFailure() async throws {
        let h = Self.monitoring([Self.noAnswer], inconclusive: 3)
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.count(.monitorRound) == 3)
        #expect(h.storage.events.filter { $0.event == .monitorRound }.allSatisfy { $0.outcome == "inconclusive" })
    }

    @Test("inconclusive rounds broken by a passing round are not a failure")
    func inconclusiveRunBroken() async throws {
        let h = Self.monitoring([Self.noAnswer, Self.noAnswer, Self.ok, Self.noAnswer, Self.noAnswer], inconclusive: 3)
        let result = await h.run()
        #expect(result.status == .success)
        #expect(h.count(.monitorRound) == 5)
    }

    @Test("inconclusive rounds (the provider's transient errors) × the limit count as one failure (5)")
    func transientProviderErrorsInMonitor() async throws {
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
            TestRunbooks.monitor([.policyUnchanged], rounds: 5, inconclusive: 3),
        ])))
        // Reads after apply: 1 is apply's read-back, 2… are the monitor rounds.
        h.provider.beforeRead { moment, _ in
            if moment.writes == 1, (2...4).contains(moment.readsSinceWrite) {
                throw ProviderError(.unavailable, "HTTP 503 Service Unavailable", httpStatus: 503)
            }
        }
        let result = await h.run()
        #expect(result.status == .rolledBack)
        let checks = h.storage.events.filter { $0.event == .check && $0.name == "policy-unchanged" }
        #expect(checks.map(\.outcome) == ["inconclusive", "inconclusive", "inconclusive"])
        #expect(h.provider.policy == Fixtures.defaultPolicy)
    }

    @Test("with inconclusive: 3 and failures: 2, two runs of three inconclusive rounds are needed")
    func inconclusiveAndFailuresCombine() async throws {
        let h = Self.monitoring([Self.noAnswer], rounds: 10, failures: 2, inconclusive: 3)
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.count(.monitorRound) == 6)
    }

    // MARK: Verify

    @Test("verify: an inconclusive check asked again and then passing is a success")
    func verifyInconclusiveThenPassed() async throws {
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
            TestRunbooks.verify([.policyUnchanged, .requiredAccess]),
        ])))
        h.provider.beforeRead { moment, _ in
            if moment.writes == 1, moment.readsSinceWrite == 2 { throw ProviderError(.throttled, "ThrottlingException") }
        }
        let result = await h.run()
        #expect(result.status == .success)
        #expect(h.clock.sleeps == [.seconds(10)])
        let checks = h.storage.events.filter { $0.event == .check && $0.name != "caller" }
        #expect(checks.map(\.outcome) == ["inconclusive", "passed", "passed", "passed"])
    }

    @Test("verify: a check inconclusive as many times as the limit fails verify (5)")
    func verifyInconclusiveTooOften() async throws {
        let h = Harness(
            runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
                TestRunbooks.verify([.http(TestRunbooks.healthCheck)], inconclusiveLimit: 3),
            ])),
            probes: ScriptedProbes(http: [Self.noAnswer]))
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.probes.httpCalls == 3)
        let failed = try #require(h.storage.events.first { $0.event == .stepFailed })
        #expect(failed.message?.contains("inconclusive 3 times") == true)
    }

    @Test("verify: a non-transient error is a failure at once, not inconclusive (5)")
    func verifyHardErrorFails() async throws {
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
            TestRunbooks.verify([.policyUnchanged]),
        ])))
        h.provider.beforeRead { moment, _ in
            if moment.writes == 1, moment.readsSinceWrite == 2 {
                throw ProviderError(.accessDenied, "not authorized to perform kms:GetKeyPolicy")
            }
        }
        let result = await h.run()
        #expect(result.status == .rolledBack)
        // Not asked again after a pause: a refusal is an answer.
        #expect(h.clock.sleeps.isEmpty)
        let check = try #require(h.storage.events.first { $0.event == .check && $0.name == "policy-unchanged" })
        #expect(check.outcome == "failed")
    }

    @Test("verify: key-enabled fails when the key was disabled after apply (5)")
    func verifyKeyDisabled() async throws {
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
            TestRunbooks.verify([.keyEnabled]),
        ])))
        h.provider.afterWrite { moment, _, provider in
            if moment.writes == 0 { provider.setEnabled(false) }
        }
        let result = await h.run()
        #expect(result.status == .rolledBack)
        let check = try #require(h.storage.events.first { $0.event == .check && $0.name == "key-enabled" })
        #expect(check.outcome == "failed")
    }
}
