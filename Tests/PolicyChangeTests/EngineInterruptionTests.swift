import Foundation
import PolicyChange
import Testing

/// SIGINT/SIGTERM: before apply the run stops with the key untouched (4);
/// after apply it takes the rollback path and exits 5 (DESIGN.md §6).
@Suite("RunEngine: interruption")
struct EngineInterruptionTests {
    @Test("an interruption during monitor rolls back (5)")
    func interruptedDuringMonitor() async throws {
        let interruptionBox = Locked<Interruption?>(nil)
        let h = Harness(
            runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
                TestRunbooks.monitor([.http(TestRunbooks.healthCheck)], rounds: 5),
            ])),
            probes: ScriptedProbes(http: { call, _ in
                guard call == 2 else { return .passed("HTTP 200") }
                // Ctrl-C while round 2 waits for the cluster's answer.
                interruptionBox.value?.trigger("SIGINT")
                await hangUntilCancelled()
                return .inconclusive("cancelled")
            }))
        interruptionBox.set(h.interruption)

        let result = await h.run()

        #expect(result.status == .rolledBack)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(h.provider.writes == 2)
        #expect(h.kinds.containsInOrder([.applied, .monitorRound, .interrupted, .rollbackIntent, .rollbackApplied, .rollbackVerified, .runFinished]))
        // Round 2 was cut short: whatever it recorded, it did not pass, and round 3 never ran.
        let rounds = h.storage.events.filter { $0.event == .monitorRound }
        #expect(rounds.first?.outcome == "passed")
        #expect(rounds.dropFirst().allSatisfy { $0.outcome != "passed" })
        #expect(h.probes.httpCalls == 2)
        let interrupted = try #require(h.storage.events.first { $0.event == .interrupted })
        #expect(interrupted.message == "SIGINT")
    }

    @Test("an interruption at the approval prompt stops the run (4) and writes nothing")
    func interruptedDuringApprove() async throws {
        let interruptionBox = Locked<Interruption?>(nil)
        let h = Harness(approver: ScriptedApprover { _ in
            interruptionBox.value?.trigger("SIGTERM")
            await hangUntilCancelled()
            return .approved(by: "too late")
        })
        interruptionBox.set(h.interruption)

        let result = await h.run()

        #expect(result.status == .stoppedBeforeApply)
        #expect(result.message.contains("SIGTERM"))
        #expect(h.provider.writes == 0)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(!h.kinds.contains(.applyIntent))
        #expect(!h.kinds.contains(.approved))
        #expect(h.finished?.exitCode == 4)
    }

    @Test("an interruption between steps after apply rolls back (5)")
    func interruptedBetweenSteps() async throws {
        let interruptionBox = Locked<Interruption?>(nil)
        let h = Harness(
            runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
                Step(.command(CommandSpec(run: "./smoke.sh"))), Step(.command(CommandSpec(run: "./notify.sh"))),
            ])),
            probes: ScriptedProbes(command: { _, _, _ in
                interruptionBox.value?.trigger("SIGTERM")
                return .exited(0, output: "")
            }))
        interruptionBox.set(h.interruption)
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.probes.commandCalls == 1)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
    }

    @Test("an interruption while the key is being described stops the run (4), not an internal error")
    func interruptedWhileIdentifying() async throws {
        let h = Harness()
        let interruption = h.interruption
        h.provider.onDescribe {
            interruption.trigger("SIGINT")
            await hangUntilCancelled()
        }
        let result = await h.run()
        #expect(result.status == .stoppedBeforeApply)
        #expect(result.message.contains("SIGINT"))
        #expect(h.provider.reads == 0)
        #expect(h.provider.writes == 0)
    }

    @Test("an interruption that came before the run started stops it before apply (4)")
    func interruptedBeforeStart() async throws {
        let h = Harness()
        h.interruption.trigger("SIGTERM")
        let result = await h.run()
        #expect(result.status == .stoppedBeforeApply)
        #expect(h.provider.writes == 0)
        #expect(h.finished?.exitCode == 4)
    }

    @Test("an interruption during the rollback does not stop the rollback")
    func rollbackIsNotInterruptible() async throws {
        let h = EngineRollbackTests.harnessDeniedAfterApply()
        let interruption = h.interruption
        h.provider.beforeWrite { moment, _, _ in
            if moment.number == 2 { interruption.trigger("SIGINT") }
        }
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(h.kinds.contains(.rollbackVerified))
    }
}
