import Foundation
import PolicyChange
import Testing

/// A run killed at any instant leaves a journal from which `resume` finishes
/// it and `rollback` restores its backup (DESIGN.md §6). The journals here are
/// made by running the engine with a storage that "dies" at a chosen event:
/// what it kept is exactly what a killed process leaves on disk.
@Suite("RunEngine: resume and rollback from a journal")
struct EngineResumeTests {
    static let steps = TestRunbooks.steps(then: [
        TestRunbooks.verify([.policyUnchanged, .requiredAccess, .auditLog(AuditLogCheck())]),
        TestRunbooks.monitor([.policyUnchanged, .http(TestRunbooks.healthCheck)], rounds: 5),
    ])

    static func harness(runbook: Runbook = TestRunbooks.addConfluent(steps: steps)) -> Harness {
        Harness(runbook: runbook)
    }

    /// Runs until the storage dies before the `occurrence`-th `kind`, then restarts it.
    static func crashedRun(
        _ h: Harness, before kind: JournalEvent.Kind, occurrence: Int = 1
    ) async -> (first: RunResult, journal: [JournalEvent]) {
        h.storage.crash(before: kind, occurrence: occurrence)
        let first = await h.run()
        h.storage.restart()
        return (first, h.storage.events)
    }

    // MARK: resume

    @Test("killed after the backup was written: resume backs up again and finishes (0)")
    func resumeAfterBackupWritten() async throws {
        let h = Self.harness()
        let (first, journal) = await Self.crashedRun(h, before: .proposalWritten)
        #expect(first.status == .internalError)
        #expect(journal.last?.event == .backupWritten)
        #expect(h.provider.writes == 0)

        let result = await h.engine().resume(journal: journal)

        #expect(result.status == .success)
        #expect(h.provider.policy == (try h.proposed()))
        #expect(h.provider.writes == 1)
        #expect(h.kinds.containsInOrder([.backupWritten, .resumed, .backupWritten, .applyIntent, .applied, .runFinished]))
    }

    @Test("killed before apply, the policy edited meanwhile: resume stops at the drift check (4)")
    func resumeBeforeApplySeesDrift() async throws {
        let h = Self.harness()
        let (_, journal) = await Self.crashedRun(h, before: .applyIntent)
        #expect(journal.contains { $0.event == .approved })
        let someoneElse = Fixtures.snapshot("key-policy-with-app-role.json")
        h.provider.setPolicyBySomeoneElse(someoneElse)

        let result = await h.engine().resume(journal: journal)

        #expect(result.status == .stoppedBeforeApply)
        #expect(result.message.contains("CONCURRENT_MODIFICATION"))
        #expect(h.provider.writes == 0)
        #expect(h.provider.policy == someoneElse)
    }

    @Test("killed after apply-intent, the write done: resume confirms it and goes on (0)")
    func resumeAfterWriteDone() async throws {
        let h = Self.harness()
        let (_, journal) = await Self.crashedRun(h, before: .applied)
        #expect(journal.last?.event == .applyIntent)
        #expect(h.provider.writes == 1)

        let result = await h.engine().resume(journal: journal)

        #expect(result.status == .success)
        #expect(h.provider.writes == 1)
        #expect(h.provider.policy == (try h.proposed()))
        #expect(h.count(.applied) == 1)
        #expect(h.kinds.containsInOrder([.applyIntent, .resumed, .applied, .monitorRound, .runFinished]))
        #expect(h.count(.monitorRound) == 5)
    }

    @Test("killed after apply-intent, before the write: resume applies (0)")
    func resumeAfterWriteNotDone() async throws {
        let h = Self.harness()
        let storage = h.storage
        h.provider.beforeWrite { _, _, _ in
            storage.crashNow()
            throw MemoryRunStorage.Crashed()
        }
        let first = await h.run()
        h.storage.restart()
        h.provider.beforeWrite(nil)
        let journal = h.storage.events
        #expect(first.status != .success)
        #expect(journal.last?.event == .applyIntent)
        #expect(h.provider.writes == 0)

        let result = await h.engine().resume(journal: journal)

        #expect(result.status == .success)
        #expect(h.provider.writes == 1)
        #expect(h.provider.policy == (try h.proposed()))
        #expect(h.count(.applyIntent) == 2)
    }

    @Test("killed after applied: resume verifies and monitors without writing again (0)")
    func resumeAfterApplied() async throws {
        let h = Self.harness()
        // step-finished #4 is apply's.
        let (_, journal) = await Self.crashedRun(h, before: .stepFinished, occurrence: 4)
        #expect(journal.last?.event == .applied)

        let result = await h.engine().resume(journal: journal)

        #expect(result.status == .success)
        #expect(h.provider.writes == 1)
        #expect(h.count(.applied) == 1)
        #expect(h.count(.monitorRound) == 5)
    }

    @Test("killed mid-monitor: resume monitors again and finishes (0)")
    func resumeMidMonitor() async throws {
        let h = Self.harness()
        let (_, journal) = await Self.crashedRun(h, before: .monitorRound, occurrence: 3)
        #expect(journal.filter { $0.event == .monitorRound }.count == 2)

        let result = await h.engine().resume(journal: journal)

        #expect(result.status == .success)
        #expect(h.provider.writes == 1)
        #expect(h.provider.policy == (try h.proposed()))
        #expect(h.count(.monitorRound) == 2 + 5)
        #expect(h.finished?.outcome == "succeeded")
    }

    @Test("killed after rollback-intent, the restore done: resume verifies it (5)")
    func resumeAfterRollbackWritten() async throws {
        let h = EngineRollbackTests.harnessDeniedAfterApply(runbook: TestRunbooks.addConfluent(steps: Self.steps))
        let (_, journal) = await Self.crashedRun(h, before: .rollbackApplied)
        #expect(journal.last?.event == .rollbackIntent)
        #expect(h.provider.policy == Fixtures.defaultPolicy)

        let result = await h.engine().resume(journal: journal)

        #expect(result.status == .rolledBack)
        #expect(h.provider.writes == 2)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(h.kinds.containsInOrder([.rollbackIntent, .resumed, .rollbackApplied, .rollbackVerified, .runFinished]))
    }

    @Test("killed after rollback-intent, before the restore: resume restores and verifies (5)")
    func resumeAfterRollbackIntent() async throws {
        let h = EngineRollbackTests.harnessDeniedAfterApply(runbook: TestRunbooks.addConfluent(steps: Self.steps))
        let storage = h.storage
        h.provider.beforeWrite { moment, _, _ in
            if moment.number == 2 {
                storage.crashNow()
                throw MemoryRunStorage.Crashed()
            }
        }
        _ = await h.run()
        h.storage.restart()
        h.provider.beforeWrite(nil)
        let journal = h.storage.events
        #expect(journal.last?.event == .rollbackIntent)
        #expect(h.provider.policy == (try h.proposed()))

        let result = await h.engine().resume(journal: journal)

        #expect(result.status == .rolledBack)
        #expect(h.provider.writes == 2)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(h.kinds.contains(.rollbackVerified))
    }

    @Test("resume after apply-intent when someone else changed the policy needs a human (6) and writes nothing")
    func resumeFindsSomeoneElsesPolicy() async throws {
        let h = Self.harness()
        let (_, journal) = await Self.crashedRun(h, before: .applied)
        let someoneElse = Fixtures.snapshot("key-policy-with-app-role.json")
        h.provider.setPolicyBySomeoneElse(someoneElse)

        let result = await h.engine().resume(journal: journal)

        #expect(result.status == .needsHuman)
        #expect(result.outcome == "conflict")
        #expect(h.provider.policy == someoneElse)
        #expect(h.provider.writes == 1)
    }

    @Test("resume of a finished run reports its outcome and touches nothing")
    func resumeFinishedRun() async throws {
        let h = EngineRollbackTests.harnessDeniedAfterApply()
        let first = await h.run()
        #expect(first.status == .rolledBack)
        let journal = h.storage.events
        let reads = h.provider.reads

        let result = await h.engine().resume(journal: journal)

        #expect(result.status == .rolledBack)
        #expect(result.outcome == "rolled-back")
        #expect(result.message.contains("already finished"))
        #expect(h.provider.reads == reads)
        #expect(h.provider.writes == 2)
        #expect(h.storage.events.count == journal.count)
    }

    @Test("resume re-runs a verify that failed before the rollback was journaled (5)")
    func resumeDoesNotSkipAFailedStep() async throws {
        let h = EngineRollbackTests.harnessDeniedAfterApply(runbook: TestRunbooks.addConfluent(steps: Self.steps))
        let (_, journal) = await Self.crashedRun(h, before: .rollbackIntent)
        #expect(journal.last?.event == .stepFailed)
        #expect(h.provider.policy == (try h.proposed()))

        let result = await h.engine().resume(journal: journal)

        // The access denied is still in the audit log: the change must not be declared a success.
        #expect(result.status == .rolledBack)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
    }

    @Test("resume finishes a rollback that was started, even with rollback.automatic: false (5)")
    func resumeFinishesAStartedRollback() async throws {
        let interruptionBox = Locked<Interruption?>(nil)
        let h = Harness(
            runbook: TestRunbooks.addConfluent(
                steps: TestRunbooks.steps(then: [TestRunbooks.monitor([.http(TestRunbooks.healthCheck)], rounds: 5)]),
                rollback: RollbackPolicy(automatic: false)),
            probes: ScriptedProbes(http: { call, _ in
                // Ctrl-C in round 2: interruption rolls back whatever `automatic` says.
                if call == 2 {
                    interruptionBox.value?.trigger("SIGINT")
                    await hangUntilCancelled()
                }
                return .passed("HTTP 200")
            }))
        interruptionBox.set(h.interruption)
        let (_, journal) = await Self.crashedRun(h, before: .rollbackApplied)
        #expect(journal.last?.event == .rollbackIntent)
        #expect(h.provider.policy == Fixtures.defaultPolicy)

        let result = await h.engine().resume(journal: journal)

        #expect(result.status == .rolledBack)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(h.kinds.contains(.rollbackVerified))
    }

    @Test("resume finishes an operator's rollback of a finished run that was killed part-way")
    func resumeFinishesAnOperatorRollback() async throws {
        let h = Self.harness()
        #expect(await h.run().status == .success)
        // `policy-change rollback RUN`, killed after announcing the restore and before making it.
        let storage = h.storage
        h.provider.beforeWrite { moment, _, _ in
            if moment.number == 2 {
                storage.crashNow()
                throw MemoryRunStorage.Crashed()
            }
        }
        _ = await h.engine().rollback(journal: h.storage.events)
        h.storage.restart()
        h.provider.beforeWrite(nil)
        #expect(h.storage.events.last?.event == .rollbackIntent)
        #expect(h.provider.policy == (try h.proposed()))

        let result = await h.engine().resume(journal: h.storage.events)

        // Not "already finished: succeeded" while the restore is still to do.
        #expect(result.status == .rolledBack)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
    }

    @Test("resume reports the caller the run identified at its start")
    func resumeKeepsTheCaller() async throws {
        let h = Self.harness()
        let (_, journal) = await Self.crashedRun(h, before: .applied)
        let result = await h.engine().resume(journal: journal)
        #expect(result.status == .success)
        #expect(result.caller == TestRunbooks.caller)
    }

    @Test("a backup file changed since the run wrote it is refused (6)")
    func resumeRefusesATamperedBackup() async throws {
        let h = Self.harness()
        let (_, journal) = await Self.crashedRun(h, before: .applied)
        let backup = try #require(journal.first { $0.event == .backupWritten }?.file)
        h.storage.tamper(with: backup.path) { $0.append(contentsOf: Array(" ".utf8)) }

        let resumed = await h.engine().resume(journal: journal)
        #expect(resumed.status == .needsHuman)
        #expect(resumed.outcome == "unreadable")

        let rolledBack = await h.engine().rollback(journal: journal)
        #expect(rolledBack.status == .needsHuman)
        #expect(h.provider.writes == 1)
    }

    // MARK: rollback

    @Test("rollback of an applied run restores and verifies the backup (0)")
    func rollbackAfterApplied() async throws {
        let h = Self.harness()
        let (_, journal) = await Self.crashedRun(h, before: .stepFinished, occurrence: 4)

        let result = await h.engine().rollback(journal: journal)

        #expect(result.status == .success)
        #expect(result.outcome == "rolled-back")
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(h.provider.writes == 2)
        #expect(h.kinds.containsInOrder([.applied, .rollbackIntent, .rollbackApplied, .rollbackVerified, .runFinished]))
    }

    @Test("rollback of a finished, successful run restores the backup (0)")
    func rollbackAfterSuccess() async throws {
        let h = Self.harness()
        #expect(await h.run().status == .success)
        let result = await h.engine().rollback(journal: h.storage.events)
        #expect(result.status == .success)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
    }

    @Test("rollback of a run that never wrote a backup is refused (4)")
    func rollbackWithoutBackup() async throws {
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: [
            Step(.validate(ValidateStep())), Step(.approve), Step(.apply),
        ]))
        #expect(await h.run().status == .stoppedBeforeApply)

        let result = await h.engine().rollback(journal: h.storage.events)

        #expect(result.status == .stoppedBeforeApply)
        #expect(result.outcome == "no-backup")
        #expect(h.provider.writes == 0)
    }

    @Test("rollback after someone else changed the policy refuses to overwrite it (6)")
    func rollbackConflict() async throws {
        let h = Self.harness()
        #expect(await h.run().status == .success)
        let someoneElse = Fixtures.snapshot("key-policy-with-app-role.json")
        h.provider.setPolicyBySomeoneElse(someoneElse)

        let result = await h.engine().rollback(journal: h.storage.events)

        #expect(result.status == .needsHuman)
        #expect(h.provider.policy == someoneElse)
        #expect(h.provider.writes == 1)
    }

    @Test("a rollback can still read the journal after a resume made a new proposal")
    func rollbackAfterResumeWithNewProposal() async throws {
        let h = Self.harness()
        // Killed after the backup and the proposal were written, before the backup step finished.
        let (_, journal) = await Self.crashedRun(h, before: .stepFinished, occurrence: 1)
        #expect(journal.last?.event == .proposalWritten)
        // Meanwhile an admin adds a statement: the resumed run backs up and proposes again.
        let someoneElse = Fixtures.snapshot("key-policy-with-app-role.json")
        h.provider.setPolicyBySomeoneElse(someoneElse)
        let resumed = await h.engine().resume(journal: journal)
        #expect(resumed.status == .success)
        #expect(h.count(.proposalWritten) == 2)

        let result = await h.engine().rollback(journal: h.storage.events)

        #expect(result.status == .success)
        #expect(h.provider.policy == someoneElse)
    }
}
