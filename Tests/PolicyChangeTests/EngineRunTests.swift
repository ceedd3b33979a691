import Foundation
import PolicyChange
import Testing

/// A whole run of the documented procedure, and every way it must stop
/// before touching the key (DESIGN.md §3 safety invariants, §6 exit codes).
@Suite("RunEngine: runs and stops before apply")
struct EngineRunTests {
    @Test("the default procedure backs up, validates, approves, applies, verifies and monitors")
    func happyPath() async throws {
        let h = Harness()
        let expected = try h.proposed()
        let storage = h.storage
        let journalAtWrite = Locked<[JournalEvent.Kind]>([])
        h.provider.beforeWrite { _, _, _ in journalAtWrite.set(storage.kinds) }

        let result = await h.run()

        #expect(result.status == .success)
        #expect(result.outcome == "succeeded")
        #expect(h.provider.writes == 1)
        #expect(h.provider.policy == expected)
        // The write was announced (and durable) before it was made.
        #expect(journalAtWrite.value.last == .applyIntent)
        #expect(h.actions == [.runStarted, .backupWritten, .proposalWritten, .validated, .approved, .applyIntent, .applied]
            + Array(repeating: .monitorRound, count: 30) + [.runFinished])
        // caller + 3 verify checks + 30 monitor rounds of 3 checks.
        #expect(h.count(.check) == 1 + 3 + 30 * 3)
        #expect(h.storage.events.filter { $0.event == .check && $0.name != "caller" }.allSatisfy { $0.outcome == "passed" })
        #expect(h.finished?.exitCode == 0)
        #expect(h.storage.events.first?.start?.changeTicket == "CHG-1234")
        #expect(result.steps.map(\.step) == ["backup", "validate", "approve", "apply", "verify", "monitor"])
        #expect(result.steps.allSatisfy { $0.outcome == "succeeded" })
        #expect(result.caller == TestRunbooks.caller)
        // The person watching saw each step start, in order.
        #expect(h.observer.events.filter { $0.kind == .stepStarted }.map(\.step) == [0, 1, 2, 3, 4, 5])
    }

    @Test("the backup holds the live policy byte for byte, and the journal its SHA-256")
    func backupIsTheLivePolicy() async throws {
        let h = Harness()
        let result = await h.run()
        let backupEvent = try #require(h.storage.events.first { $0.event == .backupWritten })
        let file = try #require(backupEvent.file)
        #expect(result.backup == file)
        #expect(h.storage.files[file.path] == Fixtures.data("default-key-policy.json"))
        #expect(file.sha256 == SHA256Digest.hex(Fixtures.data("default-key-policy.json")))
        #expect(file.bytes == Fixtures.data("default-key-policy.json").count)
    }

    @Test("the approver sees the plan: what is added, no findings, the steps")
    func approverSeesThePlan() async throws {
        let h = Harness()
        _ = await h.run()
        let plan = try #require(h.approver.plans.first)
        #expect(h.approver.plans.count == 1)
        #expect(!plan.noChanges)
        #expect(plan.verdict == .pass)
        #expect(plan.changes.entries.map(\.kind) == [.added, .added])
        #expect(plan.changes.entries.map(\.subject) == [
            "statement \"Allow Confluent account(s) (152535741197) to use the key\"",
            "statement \"Allow Confluent account(s) (152535741197) to attach persistent resources\"",
        ])
        #expect(plan.key == TestRunbooks.keyARN)
        #expect(plan.caller == TestRunbooks.caller)
        #expect(plan.steps.count == 6)
    }

    @Test("the audit log is asked about the time since apply, not before")
    func auditLogWindowStartsAtApply() async throws {
        let log = FakeAuditLog([
            // Denied before the change: not this change's doing.
            AuditEvent(time: TestRunbooks.start.addingTimeInterval(-600), principal: TestRunbooks.confluentRole,
                       action: "kms:Decrypt", errorCode: "AccessDeniedException")
        ])
        let h = Harness(auditLog: log)
        let result = await h.run()
        #expect(result.status == .success)
        let applied = try #require(h.storage.events.first { $0.event == .applied })
        #expect(!log.queries.isEmpty)
        #expect(log.queries.allSatisfy { $0.since == applied.time && $0.until >= $0.since })
    }

    // MARK: Validation

    @Test("a proposal that drops a required action fails validation (3) and writes nothing")
    func validationFailure() async throws {
        var runbook = TestRunbooks.addConfluent()
        runbook.change = [.replacePolicy(Fixtures.file("key-policy-missing-revoke-grant.json"))]
        let h = Harness(runbook: runbook)

        let result = await h.run()

        #expect(result.status == .validationFailed)
        #expect(result.status.rawValue == 3)
        #expect(result.outcome == "validation-failed")
        #expect(h.provider.writes == 0)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(!h.kinds.contains(.applyIntent))
        #expect(h.approver.plans.isEmpty)
        let validated = try #require(h.storage.events.first { $0.event == .validated })
        #expect(validated.verdict == .fail)
        // With the live policy known, the change analysis also reports (as
        // warnings, which do not block) Confluent's new access and account.
        #expect(validated.findings?.map(\.code) == ["REQUIRED_PERMISSION_MISSING", "NEW_ACCESS", "NEW_EXTERNAL_ACCOUNT"])
        #expect(validated.findings?.first?.message.contains("kms:RevokeGrant") == true)
        #expect(result.findings.filter { $0.severity >= .securityWarning }.map(\.code) == ["REQUIRED_PERMISSION_MISSING"])
    }

    @Test("on-failure: continue on validate cannot get a failing proposal applied")
    func validationInvariantHoldsWithContinue() async throws {
        var runbook = TestRunbooks.addConfluent(steps: [
            Step(.backup(BackupStep())), Step(.validate(ValidateStep()), options: StepOptions(onFailure: .continue)),
            Step(.approve), Step(.apply),
        ])
        runbook.change = [.replacePolicy(Fixtures.file("key-policy-missing-revoke-grant.json"))]
        let h = Harness(runbook: runbook)
        let result = await h.run()
        #expect(result.status == .validationFailed)
        #expect(h.provider.writes == 0)
        #expect(!h.kinds.contains(.applyIntent))
    }

    @Test("without a validate step, apply validates first")
    func applyValidatesWhenNoValidateStep() async throws {
        var runbook = TestRunbooks.addConfluent(steps: [Step(.backup(BackupStep())), Step(.approve), Step(.apply)])
        runbook.change = [.replacePolicy(Fixtures.file("key-policy-missing-revoke-grant.json"))]
        let h = Harness(runbook: runbook)
        let result = await h.run()
        #expect(result.status == .validationFailed)
        #expect(h.provider.writes == 0)
        #expect(h.kinds.contains(.validated))
    }

    // MARK: Approval, backup, window

    @Test("a declined approval stops the run (4) and writes nothing")
    func notApproved() async throws {
        let h = Harness(approver: .declining("the change board said no"))
        let result = await h.run()
        #expect(result.status == .stoppedBeforeApply)
        #expect(result.outcome == "not-approved")
        #expect(result.message.contains("the change board said no"))
        #expect(h.provider.writes == 0)
        #expect(h.kinds.contains(.declined))
        #expect(!h.kinds.contains(.applyIntent))
        #expect(h.finished?.exitCode == 4)
    }

    @Test("a runbook without a backup step is refused at apply (4)")
    func noBackupStep() async throws {
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: [
            Step(.validate(ValidateStep())), Step(.approve), Step(.apply),
        ]))
        let result = await h.run()
        #expect(result.status == .stoppedBeforeApply)
        #expect(result.message.contains("backup"))
        #expect(h.provider.writes == 0)
        #expect(!h.kinds.contains(.applyIntent))
    }

    @Test("outside the maintenance window the run stops before apply (4) unless told to ignore it")
    func outsideWindow() async throws {
        let late = VirtualClock(start: TestRunbooks.window.end.addingTimeInterval(3600))
        let runbook = TestRunbooks.addConfluent(window: TestRunbooks.window)

        let h = Harness(runbook: runbook, clock: late)
        let result = await h.run()
        #expect(result.status == .stoppedBeforeApply)
        #expect(result.outcome == "outside-window")
        #expect(h.provider.writes == 0)

        var ignoring = Harness(runbook: runbook, clock: VirtualClock(start: TestRunbooks.window.end.addingTimeInterval(3600)))
        ignoring.ignoreWindow = true
        let forced = await ignoring.run()
        #expect(forced.status == .success)
        #expect(ignoring.provider.writes == 1)

        let inside = Harness(runbook: runbook)
        #expect(await inside.run().status == .success)
    }

    // MARK: Drift

    @Test("a change by someone else between backup and apply stops the run (4): CONCURRENT_MODIFICATION")
    func driftBeforeApply() async throws {
        let someoneElse = Fixtures.snapshot("key-policy-with-app-role.json")
        let providerBox = Locked<FakeKeyPolicyProvider?>(nil)
        let h = Harness(approver: ScriptedApprover { _ in
            // While the approver reads the plan, an admin edits the key in the console.
            providerBox.value?.setPolicyBySomeoneElse(someoneElse)
            return .approved(by: "tester")
        })
        providerBox.set(h.provider)

        let result = await h.run()

        #expect(result.status == .stoppedBeforeApply)
        #expect(result.outcome == "drift")
        #expect(result.message.contains("CONCURRENT_MODIFICATION"))
        #expect(h.provider.writes == 0)
        #expect(h.provider.policy == someoneElse)
        #expect(!h.kinds.contains(.applyIntent))
    }

    @Test("a write the cloud refuses as a concurrent modification stops the run (4)")
    func writeReportsConcurrentModification() async throws {
        let h = Harness()
        h.provider.beforeWrite { _, _, _ in throw ProviderError.concurrentModification("PutKeyPolicy: the policy changed") }
        let result = await h.run()
        #expect(result.status == .stoppedBeforeApply)
        #expect(result.message.contains("CONCURRENT_MODIFICATION"))
        #expect(h.provider.writes == 0)
        #expect(h.provider.policy == Fixtures.defaultPolicy)
        #expect(!h.kinds.contains(.rollbackIntent))
    }

    @Test("someone else's edit between the drift check and the write is not overwritten (4)")
    func raceBetweenDriftCheckAndWrite() async throws {
        let someoneElse = Fixtures.snapshot("key-policy-with-app-role.json")
        let h = Harness()
        h.provider.beforeWrite { moment, _, provider in
            if moment.number == 1 { provider.setPolicyBySomeoneElse(someoneElse) }
        }
        let result = await h.run()
        #expect(result.status == .stoppedBeforeApply)
        #expect(h.provider.writes == 0)
        #expect(h.provider.policy == someoneElse)
    }

    @Test("a write the cloud refuses for another reason stops the run (4) when the policy is unchanged")
    func writeRefused() async throws {
        let h = Harness()
        h.provider.beforeWrite { _, _, _ in
            throw ProviderError(.accessDenied, "not authorized to perform kms:PutKeyPolicy", serviceCode: "AccessDeniedException")
        }
        let result = await h.run()
        #expect(result.status == .stoppedBeforeApply)
        #expect(result.message.contains("kms:PutKeyPolicy"))
        #expect(h.provider.writes == 0)
        #expect(!h.kinds.contains(.rollbackIntent))
    }

    // MARK: Before anything

    @Test("a disabled key stops the run (4) before its policy is read")
    func disabledKey() async throws {
        let h = Harness()
        h.provider.setEnabled(false)
        let result = await h.run()
        #expect(result.status == .stoppedBeforeApply)
        #expect(result.outcome == "key-not-enabled")
        #expect(h.provider.reads == 0)
    }

    @Test("an audit-log check without an audit log source is invalid input (2), nothing contacted")
    func auditLogWithoutSource() async throws {
        let h = Harness(auditLog: nil)
        let result = await h.run()
        #expect(result.status == .invalidInput)
        #expect(h.provider.describes == 0)
        #expect(h.provider.reads == 0)
    }

    @Test("a cloud error reading the policy stops the run (4)")
    func cloudErrorBeforeApply() async throws {
        let h = Harness()
        h.provider.beforeRead { _, _ in throw ProviderError(.credentials, "no credentials found for profile prod-admin") }
        let result = await h.run()
        #expect(result.status == .stoppedBeforeApply)
        #expect(result.message.contains("no credentials"))
        #expect(h.provider.writes == 0)
    }

    // MARK: Idempotence

    @Test("running the same runbook again changes nothing: no-changes, zero writes")
    func idempotentSecondRun() async throws {
        let first = Harness()
        #expect(await first.run().status == .success)
        #expect(first.provider.writes == 1)

        let second = Harness(policy: first.provider.policy)
        let result = await second.run()

        #expect(result.status == .success)
        #expect(result.outcome == "no-changes")
        #expect(second.provider.writes == 0)
        #expect(second.provider.policy == first.provider.policy)
        #expect(second.kinds.contains(.noChanges))
        #expect(!second.kinds.contains(.applyIntent))
        #expect(second.approver.plans.isEmpty)
        #expect(second.finished?.outcome == "no-changes")
    }

    // MARK: Secrets

    @Test("http header values and command environment never reach the journal")
    func secretsStayOutOfTheJournal() async throws {
        let secret = "c2VjcmV0LWFwaS1rZXk6c2VjcmV0LXZhbHVl"
        let command = CommandSpec(run: "./smoke.sh", environment: ["CONFLUENT_API_SECRET": "hunter2-secret"])
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
            TestRunbooks.verify([.http(TestRunbooks.healthCheck), .command(command)]),
            TestRunbooks.monitor([.http(TestRunbooks.healthCheck)], rounds: 2),
            Step(.command(command)),
        ])))
        let result = await h.run()
        #expect(result.status == .success)
        let journal = try h.storage.events.map { String(decoding: try JournalCoding.encoder().encode($0), as: UTF8.self) }
            .joined(separator: "\n")
        #expect(!journal.contains(secret))
        #expect(!journal.contains("hunter2"))
        #expect(!result.message.contains(secret))
        #expect(!h.observer.events.contains { $0.message.contains(secret) || $0.message.contains("hunter2") })
    }

    @Test("commands get the run id, the key, the backup and whether the change is applied")
    func commandEnvironment() async throws {
        let h = Harness(runbook: TestRunbooks.addConfluent(steps: [
            Step(.backup(BackupStep())), Step(.command(CommandSpec(run: "./pre.sh"))), Step(.validate(ValidateStep())),
            Step(.approve), Step(.apply), Step(.command(CommandSpec(run: "./post.sh"))),
        ]))
        #expect(await h.run().status == .success)
        let environments = h.probes.commandEnvironments
        try #require(environments.count == 2)
        #expect(environments[0]["POLICY_CHANGE_APPLIED"] == "false")
        #expect(environments[1]["POLICY_CHANGE_APPLIED"] == "true")
        #expect(environments.allSatisfy { $0["POLICY_CHANGE_RUN_ID"] == Harness.runID })
        #expect(environments.allSatisfy { $0["POLICY_CHANGE_KEY"] == TestRunbooks.keyARN })
        #expect(environments.allSatisfy { $0["POLICY_CHANGE_STATE_DIR"] == "/state" })
        let backup = try #require(h.storage.events.first { $0.event == .backupWritten }?.file)
        #expect(environments[1]["POLICY_CHANGE_BACKUP"] == backup.path)
    }
}
