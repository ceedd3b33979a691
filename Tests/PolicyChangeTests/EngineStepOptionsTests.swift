import Foundation
import PolicyChange
import Testing

/// `on-failure`, `retries` and `timeout`, which every step takes (DESIGN.md §3).
@Suite("RunEngine: on-failure, retries, timeouts")
struct EngineStepOptionsTests {
    static func command(_ name: String, _ options: StepOptions = StepOptions()) -> Step {
        Step(.command(CommandSpec(run: "./\(name).sh")), options: options)
    }

    static let exitOne = CommandOutcome.exited(1, output: "producing to orders…\nERROR: TopicAuthorizationException\n")
    static let exitZero = CommandOutcome.exited(0, output: "ok\n")

    @Test("on-failure: continue keeps the run going after a failed command")
    func continueAfterFailure() async throws {
        let h = Harness(
            runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
                Self.command("notify", StepOptions(onFailure: .continue)),
                Self.command("smoke"),
            ])),
            probes: ScriptedProbes(commands: [Self.exitOne, Self.exitZero]))
        let result = await h.run()
        #expect(result.status == .success)
        #expect(h.probes.commandCalls == 2)
        #expect(result.steps.map(\.outcome) == ["succeeded", "succeeded", "succeeded", "succeeded", "continued", "succeeded"])
        let failed = try #require(h.storage.events.first { $0.event == .stepFailed })
        #expect(failed.outcome == "continued")
        #expect(failed.message?.contains("TopicAuthorizationException") == true)
        #expect(h.provider.policy == (try h.proposed()))
    }

    @Test("on-failure: abort after apply leaves the new policy in place and asks a human (6)")
    func abortAfterApply() async throws {
        let h = Harness(
            runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
                Self.command("smoke", StepOptions(onFailure: .abort)),
            ])),
            probes: ScriptedProbes(commands: [Self.exitOne]))
        let result = await h.run()
        #expect(result.status == .needsHuman)
        #expect(result.outcome == "left-applied")
        #expect(h.provider.policy == (try h.proposed()))
        #expect(h.provider.writes == 1)
        #expect(!h.kinds.contains(.rollbackIntent))
        #expect(result.message.contains("policy-change rollback \(Harness.runID)"))
    }

    @Test("a failed command after apply rolls back by default (5)")
    func defaultAfterApplyIsRollback() async throws {
        let h = Harness(
            runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [Self.command("smoke")])),
            probes: ScriptedProbes(commands: [Self.exitOne]))
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
    }

    @Test("a failed command before apply stops the run by default (4), even with on-failure: rollback")
    func failureBeforeApply() async throws {
        for onFailure in [nil, FailureAction.rollback, .abort] {
            let h = Harness(
                runbook: TestRunbooks.addConfluent(steps: [
                    Step(.backup(BackupStep())), Self.command("precheck", StepOptions(onFailure: onFailure)),
                    Step(.validate(ValidateStep())), Step(.approve), Step(.apply),
                ]),
                probes: ScriptedProbes(commands: [Self.exitOne]))
            let result = await h.run()
            #expect(result.status == .stoppedBeforeApply, "on-failure: \(onFailure?.rawValue ?? "default")")
            #expect(h.provider.writes == 0)
            #expect(!h.kinds.contains(.rollbackIntent))
        }
    }

    @Test("retries: 2 lets a command fail twice and then succeed")
    func retriesThenSuccess() async throws {
        let h = Harness(
            runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
                Self.command("smoke", StepOptions(retries: 2)),
            ])),
            probes: ScriptedProbes(commands: [Self.exitOne, .failedToStart("not executable"), Self.exitZero]))
        let result = await h.run()
        #expect(result.status == .success)
        #expect(h.probes.commandCalls == 3)
        #expect(!h.kinds.contains(.stepFailed))
    }

    @Test("retries: 1 is not enough for a command that fails twice")
    func retriesExhausted() async throws {
        let h = Harness(
            runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
                Self.command("smoke", StepOptions(retries: 1)),
            ])),
            probes: ScriptedProbes(commands: [Self.exitOne, Self.exitOne, Self.exitZero]))
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.probes.commandCalls == 2)
    }

    @Test("a command step that hangs past its timeout fails; before apply that stops the run (4)")
    func commandTimeoutBeforeApply() async throws {
        let h = Harness(
            runbook: TestRunbooks.addConfluent(steps: [
                Step(.backup(BackupStep())), Self.command("precheck", StepOptions(timeout: .milliseconds(200))),
                Step(.validate(ValidateStep())), Step(.approve), Step(.apply),
            ]),
            probes: ScriptedProbes(command: { _, _, _ in
                await hangUntilCancelled()
                return .exited(0, output: "")
            }))
        let result = await h.run()
        #expect(result.status == .stoppedBeforeApply)
        #expect(h.provider.writes == 0)
        let failed = try #require(h.storage.events.first { $0.event == .stepFailed })
        #expect(failed.message?.contains("timed out") == true)
    }

    @Test("a verify step whose http probe hangs past the step's timeout rolls back (5)")
    func probeTimeoutAfterApply() async throws {
        let h = Harness(
            runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
                Step(.verify(VerifyStep(checks: [.http(TestRunbooks.healthCheck)])),
                     options: StepOptions(timeout: .milliseconds(200))),
            ])),
            probes: ScriptedProbes(http: { _, _ in
                await hangUntilCancelled()
                return .passed("too late")
            }))
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        let failed = try #require(h.storage.events.first { $0.event == .stepFailed })
        #expect(failed.message?.contains("timed out") == true)
    }

    @Test("retries apply to timeouts too: a probe that hangs once and then answers passes")
    func timeoutThenRetry() async throws {
        let h = Harness(
            runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
                Step(.command(CommandSpec(run: "./smoke.sh")), options: StepOptions(timeout: .milliseconds(200), retries: 1)),
            ])),
            probes: ScriptedProbes(command: { call, _, _ in
                if call == 1 { await hangUntilCancelled() }
                return .exited(0, output: "")
            }))
        let result = await h.run()
        #expect(result.status == .success)
        #expect(h.probes.commandCalls == 2)
    }

    @Test("a command check that times out is inconclusive, not failed")
    func commandCheckTimeoutIsInconclusive() async throws {
        let h = Harness(
            runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
                TestRunbooks.monitor([.command(CommandSpec(run: "./produce-consume.sh", timeout: .seconds(60)))], rounds: 5),
            ])),
            probes: ScriptedProbes(commands: [.timedOut, Self.exitZero]))
        let result = await h.run()
        #expect(result.status == .success)
        #expect(h.storage.events.filter { $0.event == .monitorRound }.map(\.outcome)
            == ["inconclusive", "passed", "passed", "passed", "passed"])
    }

    @Test("an approval that does not come within the approve step's timeout stops the run (4)", .timeLimit(.minutes(1)))
    func approveTimeout() async throws {
        let h = Harness(
            runbook: TestRunbooks.addConfluent(steps: [
                Step(.backup(BackupStep())), Step(.validate(ValidateStep())),
                Step(.approve, options: StepOptions(timeout: .milliseconds(200))), Step(.apply),
            ]),
            approver: ScriptedApprover { _ in
                // Nobody at the terminal.
                await hangUntilCancelled()
                return .approved(by: "too late")
            })
        let result = await h.run()
        #expect(result.status == .stoppedBeforeApply)
        #expect(result.message.contains("timed out"))
        #expect(h.provider.writes == 0)
        #expect(!h.kinds.contains(.approved))
    }

    @Test("a wait step sleeps on the run's clock")
    func waitStep() async throws {
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [Step(.wait(.seconds(30)))])))
        #expect(await h.run().status == .success)
        #expect(h.clock.sleeps == [.seconds(30)])
    }
}
