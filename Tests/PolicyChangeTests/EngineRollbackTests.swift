import Foundation
import PolicyChange
import Testing

/// After apply every failure leads to the rollback path; a rollback that
/// cannot restore and verify the backup ends with 6 (DESIGN.md §3, §6).
@Suite("RunEngine: verify failures and the rollback path")
struct EngineRollbackTests {
    /// A harness where, right after the first write, the cluster's role is denied on the key.
    static func harnessDeniedAfterApply(runbook: Runbook = TestRunbooks.addConfluent()) -> Harness {
        let h = Harness(runbook: runbook)
        let log = h.auditLog
        let clock = h.clock
        h.provider.afterWrite { moment, _, _ in
            guard moment.writes == 0 else { return }
            log?.record(AuditEvent(
                time: clock.now(), principal: TestRunbooks.confluentRole, action: "kms:GenerateDataKey",
                errorCode: "AccessDeniedException", id: "evt-1"))
        }
        return h
    }

    @Test("an access-denied event after apply fails verify; the backup is restored and verified (5)")
    func auditLogFailureRollsBack() async throws {
        let h = Self.harnessDeniedAfterApply()
        let result = await h.run()

        #expect(result.status == .rolledBack)
        #expect(result.status.rawValue == 5)
        #expect(result.outcome == "rolled-back")
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(h.provider.writes == 2)
        #expect(h.provider.written.last == Fixtures.defaultPolicy)
        #expect(h.kinds.containsInOrder([
            .applyIntent, .applied, .stepFailed, .rollbackIntent, .rollbackApplied, .rollbackVerified, .runFinished,
        ]))
        #expect(!h.kinds.contains(.monitorRound))
        let failed = try #require(h.storage.events.first { $0.event == .stepFailed })
        #expect(failed.name == "verify")
        #expect(failed.message?.contains("AccessDeniedException") == true)
        #expect(h.finished?.exitCode == 5)
        let intent = try #require(h.storage.events.first { $0.event == .rollbackIntent })
        #expect(intent.file == result.backup)
    }

    @Test("rollback.automatic: false leaves the change in place and asks a human (6)")
    func automaticRollbackOff() async throws {
        let h = Self.harnessDeniedAfterApply(runbook: TestRunbooks.addConfluent(rollback: RollbackPolicy(automatic: false)))
        let result = await h.run()
        #expect(result.status == .needsHuman)
        #expect(result.outcome == "left-applied")
        #expect(h.provider.policy == (try h.proposed()))
        #expect(h.provider.writes == 1)
        #expect(!h.kinds.contains(.rollbackIntent))
    }

    @Test("a rollback write the cloud refuses ends with 6 and the change still live")
    func rollbackWriteFails() async throws {
        let h = Self.harnessDeniedAfterApply()
        h.provider.beforeWrite { moment, _, _ in
            if moment.number == 2 { throw ProviderError(.accessDenied, "not authorized to perform kms:PutKeyPolicy") }
        }
        let result = await h.run()
        #expect(result.status == .needsHuman)
        #expect(result.outcome == "rollback-failed")
        #expect(h.provider.policy == (try h.proposed()))
        #expect(h.provider.writes == 1)
        #expect(h.kinds.contains(.rollbackFailed))
        #expect(!h.kinds.contains(.rollbackVerified))
    }

    @Test("transient errors during the rollback write are retried until it lands (5)")
    func rollbackWriteRetriesTransientErrors() async throws {
        let h = Self.harnessDeniedAfterApply()
        h.provider.beforeWrite { moment, _, _ in
            if (2...3).contains(moment.number) { throw ProviderError(.unavailable, "HTTP 503 from kms.us-east-1.amazonaws.com") }
        }
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(h.provider.writes == 2)
    }

    @Test("a rollback whose read-back differs from the backup ends with 6")
    func rollbackReadBackDiffers() async throws {
        let h = Self.harnessDeniedAfterApply()
        let someoneElse = Fixtures.snapshot("key-policy-with-app-role.json")
        h.provider.afterWrite { moment, _, provider in
            if moment.writes == 1 { provider.setPolicyBySomeoneElse(someoneElse) }
        }
        // (afterWrite replaced the audit-log hook: make verify fail another way.)
        h.auditLog?.record(AuditEvent(time: TestRunbooks.start, errorCode: "AccessDeniedException"))
        let result = await h.run()
        #expect(result.status == .needsHuman)
        #expect(result.outcome == "rollback-failed")
        #expect(h.kinds.contains(.rollbackApplied))
        #expect(h.kinds.contains(.rollbackFailed))
        #expect(!h.kinds.contains(.rollbackVerified))
    }

    @Test("with rollback.verify: false the journal and the result do not claim a verification")
    func rollbackWithoutVerification() async throws {
        let h = Self.harnessDeniedAfterApply(runbook: TestRunbooks.addConfluent(rollback: RollbackPolicy(verify: false)))
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(h.kinds.contains(.rollbackApplied))
        #expect(!h.kinds.contains(.rollbackVerified))
        #expect(result.message.contains("not verified"))
    }

    @Test("someone else's edit after apply is not overwritten by the rollback (6)")
    func rollbackRefusesToOverwriteSomeoneElse() async throws {
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
            TestRunbooks.monitor([.requiredAccess], rounds: 5),
        ])))
        // In round 2 an admin replaces the policy with one that lacks Confluent's statements.
        let someoneElse = Fixtures.snapshot("key-policy-with-app-role.json")
        h.provider.beforeRead { moment, provider in
            if moment.writes == 1, moment.readsSinceWrite == 3 { provider.setPolicyBySomeoneElse(someoneElse) }
        }
        let result = await h.run()
        #expect(result.status == .needsHuman)
        #expect(result.outcome == "rollback-failed")
        #expect(result.message.contains("someone else"))
        #expect(h.provider.policy == someoneElse)
        #expect(h.provider.writes == 1)
        #expect(h.count(.monitorRound) == 2)
        #expect(h.kinds.contains(.rollbackFailed))
    }

    @Test("a policy someone already restored to the backup is verified, not written again (5)")
    func rollbackFindsBackupAlreadyRestored() async throws {
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
            TestRunbooks.monitor([.policyUnchanged], rounds: 5),
        ])))
        h.provider.beforeRead { moment, provider in
            if moment.writes == 1, moment.readsSinceWrite == 3 { provider.setPolicyBySomeoneElse(Fixtures.defaultPolicy) }
        }
        let result = await h.run()
        #expect(result.status == .rolledBack)
        #expect(h.provider.writes == 1)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(h.kinds.containsInOrder([.rollbackIntent, .rollbackApplied, .rollbackVerified]))
    }

    @Test("the recovery watch after a rollback journals its rounds")
    func recoveryWatch() async throws {
        let h = Self.harnessDeniedAfterApply(runbook: TestRunbooks.addConfluent(
            rollback: RollbackPolicy(monitor: .seconds(180))))
        let result = await h.run()
        #expect(result.status == .rolledBack)
        let recovery = h.storage.events.filter { $0.event == .monitorRound && ($0.name ?? "").hasPrefix("recovery") }
        #expect(recovery.map(\.name) == ["recovery 1/3", "recovery 2/3", "recovery 3/3"])
    }

    @Test("the recovery watch lasts at least rollback.monitor")
    func recoveryWatchCoversTheWholeDuration() async throws {
        let h = Self.harnessDeniedAfterApply(runbook: TestRunbooks.addConfluent(
            rollback: RollbackPolicy(monitor: .seconds(90))))
        #expect(await h.run().status == .rolledBack)
        let verified = try #require(h.storage.events.first { $0.event == .rollbackVerified }?.time)
        let last = try #require(h.storage.events.last { $0.event == .monitorRound }?.time)
        #expect(last.timeIntervalSince(verified) >= 90)
    }

    @Test("a policy that changes again during the recovery watch needs a human (6)")
    func recoveryWatchSeesAnotherChange() async throws {
        let h = Self.harnessDeniedAfterApply(runbook: TestRunbooks.addConfluent(
            rollback: RollbackPolicy(monitor: .seconds(180))))
        let someoneElse = Fixtures.snapshot("key-policy-with-app-role.json")
        h.provider.beforeRead { moment, provider in
            // After the rollback write: its verification read, then recovery rounds.
            if moment.writes == 2, moment.readsSinceWrite == 3 { provider.setPolicyBySomeoneElse(someoneElse) }
        }
        let result = await h.run()
        #expect(result.status == .needsHuman)
        #expect(result.outcome == "rollback-failed")
        #expect(h.kinds.contains(.rollbackVerified))
    }

    @Test("the write reporting an error after the proposed policy became live continues the run")
    func writeErrorButApplied() async throws {
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
            TestRunbooks.verify([.policyUnchanged, .requiredAccess]),
        ])))
        h.provider.afterWrite { moment, _, _ in
            if moment.writes == 0 { throw ProviderError(.unavailable, "connection reset after the request was sent") }
        }
        let result = await h.run()
        #expect(result.status == .success)
        #expect(h.provider.writes == 1)
        #expect(h.provider.policy == (try h.proposed()))
    }

    @Test("a write that fails part-way (the live policy is neither) takes the rollback path")
    func writeFailsPartWay() async throws {
        let h = Harness()
        let garbled = PolicySnapshot(text: #"{"Version": "2012-10-17", "Statement": []}"#)
        h.provider.afterWrite { moment, _, provider in
            if moment.writes == 0 {
                provider.setPolicyBySomeoneElse(garbled)
                throw ProviderError(.other, "the write failed part-way")
            }
        }
        let result = await h.run()
        // The live policy is neither the backup nor ours: the rollback must not guess.
        #expect(result.status == .needsHuman)
        #expect(h.kinds.contains(.rollbackIntent))
        #expect(h.provider.policy == garbled)
        #expect(h.provider.writes == 1)
    }
}
