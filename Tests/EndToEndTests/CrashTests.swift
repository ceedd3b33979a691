import Foundation
import PolicyChange
import RunStore
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// DESIGN.md §6 and §9: "A crash at any instant (SIGKILL, power loss) leaves
/// enough to finish safely". Each case SIGKILLs the testbed at one instant of
/// `Fixtures/crash.yaml`, then either resumes or rolls back the run and
/// checks the live policy, the journal and the backup.
@Suite("Crash: SIGKILL at every step boundary, then resume or rollback")
struct CrashTests {
    /// Where the first run dies.
    struct KillPoint: Sendable, CustomTestStringConvertible {
        /// `POLICY_CHANGE_TESTBED_KILL_AFTER` (a journal event kind, `#n`).
        var after: String?
        /// `POLICY_CHANGE_TESTBED_KILL_IN_WRITE` (`before` / `after`).
        var inWrite: String?
        /// The audit log reports an access-denied: the run heads for rollback.
        var accessDenied = false
        /// The kill comes before the backup is written.
        var beforeBackup = false
        /// The fixture runbook.
        var runbook = "crash.yaml"

        var testDescription: String {
            let point = after.map { "after \($0)" } ?? "inside the write (\(inWrite ?? "?"))"
            return point + (accessDenied ? " [access denied → rollback]" : "") + (runbook == "crash.yaml" ? "" : " (\(runbook))")
        }

        /// What `resume` must end with.
        var resumedExitCode: Int32 { accessDenied ? 5 : 0 }
    }

    enum Recovery: String, Sendable, CaseIterable, CustomTestStringConvertible {
        case resume, rollback
        var testDescription: String { rawValue }
    }

    /// Steps of crash.yaml: backup, validate, approve, apply, wait, verify,
    /// monitor. `check#1` is the caller identification (before any backup);
    /// `check#2` is the first check of verify.
    static let killPoints: [KillPoint] = [
        KillPoint(after: "run-started", beforeBackup: true),
        KillPoint(after: "step-started#1", beforeBackup: true),
        KillPoint(after: "check#1", beforeBackup: true),
        KillPoint(after: "backup-written"),
        KillPoint(after: "proposal-written"),
        KillPoint(after: "validated"),
        KillPoint(after: "approved"),
        KillPoint(after: "apply-intent"),
        KillPoint(inWrite: "before"),
        KillPoint(inWrite: "after"),
        KillPoint(after: "applied"),
        KillPoint(after: "check#2"),
        KillPoint(after: "monitor-round#1"),
    ] + (1...7).map { KillPoint(after: "step-finished#\($0)") } + [
        // verify's audit-log check (check#4) fails: rollback path.
        KillPoint(after: "check#4", accessDenied: true),
        KillPoint(after: "step-failed", accessDenied: true),
        KillPoint(after: "rollback-intent", accessDenied: true),
        KillPoint(after: "rollback-applied", accessDenied: true),
        KillPoint(after: "rollback-verified", accessDenied: true),
        // Verify is the last step: a failure journaled just before the crash
        // must still lead to the rollback on resume, not to "succeeded".
        KillPoint(after: "step-failed", accessDenied: true, runbook: "verify-last.yaml"),
    ]

    @Test(arguments: killPoints, Recovery.allCases)
    func killedThenRecovered(_ point: KillPoint, _ recovery: Recovery) async throws {
        try await Slots.with {
            let sandbox = try Sandbox()
            if point.accessDenied { try sandbox.injectAccessDenied() }
            let original = try sandbox.livePolicy()
            let proposed = try Fixtures.proposedPolicy()
            let runbook = sandbox.runbook(point.runbook)

            var kill: [String: String] = [:]
            if let after = point.after { kill["POLICY_CHANGE_TESTBED_KILL_AFTER"] = after }
            if let inWrite = point.inWrite { kill["POLICY_CHANGE_TESTBED_KILL_IN_WRITE"] = inWrite }
            let first = try await sandbox.testbed(["run", runbook, "--yes", "--state-dir", sandbox.statePath], environment: kill)
            try #require(first.diedOfSIGKILL, "the run should have died of SIGKILL \(point.testDescription): \(first)")

            let runs = sandbox.runIDs()
            try #require(runs.count == 1, "one run folder under state/runs, found \(runs)")
            let run = runs[0]
            let before = try sandbox.journal(run)
            let hadBackup = before.contains { $0.event == .backupWritten }
            #expect(hadBackup == !point.beforeBackup, "backup-written in the journal at the kill: \(hadBackup)")
            expectKilled(at: point, journal: before, live: try sandbox.livePolicy(), original: original, proposed: proposed)
            try expectBackupsIntact(before, original: original)

            switch recovery {
            case .resume:
                let resumed = try await sandbox.testbed(["resume", run, "--yes", "--state-dir", sandbox.statePath])
                #expect(resumed.exitedNormally && resumed.status == point.resumedExitCode, "resume: \(resumed)")
                let live = try sandbox.livePolicy()
                if point.accessDenied {
                    #expect(Inspect.sameJSON(live, original), "after a rollback the live policy must be the backup")
                } else {
                    #expect(Inspect.sameJSON(live, proposed), "after resume the live policy must be the proposed one")
                }
                let after = try sandbox.journal(run)
                let last = try #require(after.last)
                #expect(last.event == .runFinished && last.exitCode == point.resumedExitCode, "last event: \(last)")
                if point.accessDenied {
                    let verified = after.lastIndex { $0.event == .rollbackVerified }
                    #expect(verified != nil && verified! < after.count - 1, "rollback-verified must precede run-finished")
                } else {
                    #expect(!after.contains { $0.event == .rollbackIntent }, "a healthy run must not roll back")
                }
                try expectBackupsIntact(after, original: original)

            case .rollback:
                let rolledBack = try await sandbox.testbed(["rollback", run, "--state-dir", sandbox.statePath])
                let after = try sandbox.journal(run)
                if hadBackup {
                    #expect(rolledBack.exitedNormally && rolledBack.status == 0, "rollback: \(rolledBack)")
                    #expect(Inspect.sameJSON(try sandbox.livePolicy(), original), "after rollback the live policy must be the backup")
                    #expect(after.contains { $0.event == .rollbackVerified }, "the journal must record rollback-verified")
                } else {
                    #expect(rolledBack.exitedNormally && rolledBack.status == 4, "rollback without a backup: \(rolledBack)")
                    #expect(rolledBack.output.contains("nothing to roll back"), "it must say so: \(rolledBack)")
                    #expect(try sandbox.livePolicy() == original, "the policy must be untouched")
                    #expect(sandbox.writeCalls() == 0)
                }
                try expectBackupsIntact(after, original: original)
            }
        }
    }

    /// The child died exactly where it was told to: right after the n-th event
    /// of the kind (it is the journal's last line), or inside the write with
    /// the file not yet / already replaced.
    func expectKilled(
        at point: KillPoint, journal: [JournalEvent], live: Data, original: Data, proposed: Data,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        if let after = point.after {
            let parts = after.split(separator: "#")
            let kind = String(parts[0])
            let n = parts.count > 1 ? Int(parts[1])! : 1
            #expect(journal.last?.event.rawValue == kind, "the last event at the kill: \(String(describing: journal.last))", sourceLocation: sourceLocation)
            #expect(journal.filter { $0.event.rawValue == kind }.count == n, "occurrences of \(kind)", sourceLocation: sourceLocation)
            #expect(!journal.contains { $0.event == .runFinished }, "the run must not have finished", sourceLocation: sourceLocation)
        } else {
            #expect(journal.last?.event == .applyIntent, "killed inside the write, after apply-intent", sourceLocation: sourceLocation)
            if point.inWrite == "before" {
                #expect(live == original, "killed before the file was replaced", sourceLocation: sourceLocation)
            } else {
                #expect(Inspect.sameJSON(live, proposed), "killed after the file was replaced", sourceLocation: sourceLocation)
            }
        }
    }

    /// Every backup the journal names still exists, hashes to the journal's
    /// SHA-256, is mode 0600 and holds the original policy byte for byte.
    func expectBackupsIntact(_ events: [JournalEvent], original: Data, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        for event in events where event.event == .backupWritten {
            let file = try #require(event.file, "backup-written without a file", sourceLocation: sourceLocation)
            guard let bytes = FileManager.default.contents(atPath: file.path) else {
                Issue.record("the backup \(file.path) is gone", sourceLocation: sourceLocation)
                continue
            }
            #expect(try Inspect.sha256(of: file.path) == file.sha256, "backup SHA-256", sourceLocation: sourceLocation)
            #expect(Inspect.mode(of: file.path) == 0o600, "backup mode", sourceLocation: sourceLocation)
            #expect(bytes == original, "the backup must be the original policy byte for byte", sourceLocation: sourceLocation)
        }
    }

    // MARK: Approval across a crash

    /// `resume --yes` approves "if the run had not been approved yet": a run
    /// approved before the crash needs no second approval, one that was not
    /// must still ask (and, with no terminal and no --yes, stop).
    @Test("resume without --yes: approved before the crash goes on, not approved stops", arguments: [
        ("validated", false), ("approved", true), ("step-finished#3", true), ("apply-intent", true),
    ])
    func approvalSurvivesCrash(_ killAfter: String, _ approvedBeforeCrash: Bool) async throws {
        try await Slots.with {
            let sandbox = try Sandbox()
            let original = try sandbox.livePolicy()
            let first = try await sandbox.testbed(
                ["run", sandbox.runbook("crash.yaml"), "--yes", "--state-dir", sandbox.statePath],
                environment: ["POLICY_CHANGE_TESTBED_KILL_AFTER": killAfter])
            try #require(first.diedOfSIGKILL, "\(first)")
            let run = try #require(sandbox.runIDs().first)
            let resumed = try await sandbox.testbed(["resume", run, "--state-dir", sandbox.statePath])
            if approvedBeforeCrash {
                #expect(resumed.exitedNormally && resumed.status == 0, "\(resumed)")
                #expect(Inspect.sameJSON(try sandbox.livePolicy(), try Fixtures.proposedPolicy()))
            } else {
                #expect(resumed.exitedNormally && resumed.status == 4, "\(resumed)")
                #expect(try sandbox.livePolicy() == original)
                #expect(sandbox.writeCalls() == 0)
            }
        }
    }

    // MARK: Someone else's change after a crash

    /// After a crash the live policy is neither the backup nor the proposal:
    /// neither resume nor rollback may overwrite that change blindly (exit 6).
    @Test("After a crash, a third party's change is never overwritten", arguments: Recovery.allCases)
    func thirdPartyChangeAfterCrash(_ recovery: Recovery) async throws {
        try await Slots.with {
            let sandbox = try Sandbox()
            let first = try await sandbox.testbed(
                ["run", sandbox.runbook("crash.yaml"), "--yes", "--state-dir", sandbox.statePath],
                environment: ["POLICY_CHANGE_TESTBED_KILL_AFTER": "applied"])
            try #require(first.diedOfSIGKILL, "\(first)")
            let run = try #require(sandbox.runIDs().first)
            let theirs = try Fixtures.data("drifted-policy.json")
            try theirs.write(to: sandbox.policyURL)
            let writes = sandbox.writeCalls()
            let arguments = recovery == .resume ? ["resume", run, "--yes"] : ["rollback", run]
            let result = try await sandbox.testbed(arguments + ["--state-dir", sandbox.statePath])
            #expect(result.exitedNormally && result.status == 6, "\(result)")
            #expect(try sandbox.livePolicy() == theirs, "the other change must survive")
            #expect(sandbox.writeCalls() == writes, "no write over someone else's change")
            #expect(result.output.contains("policy-change restore"), "the message says how to restore by hand: \(result)")
        }
    }

    @Test("resume refuses a runbook edited since the run started; rollback still works")
    func runbookEditedAfterCrash() async throws {
        try await Slots.with {
            let sandbox = try Sandbox()
            let runbook = sandbox.runbook("crash.yaml")
            let first = try await sandbox.testbed(
                ["run", runbook, "--yes", "--state-dir", sandbox.statePath], environment: ["POLICY_CHANGE_TESTBED_KILL_AFTER": "applied"])
            try #require(first.diedOfSIGKILL, "\(first)")
            let run = try #require(sandbox.runIDs().first)
            let edited = try String(contentsOfFile: runbook, encoding: .utf8).replacingOccurrences(of: "duration: 2s", with: "duration: 3s")
            try edited.write(toFile: runbook, atomically: true, encoding: .utf8)
            let resumed = try await sandbox.testbed(["resume", run, "--yes", "--state-dir", sandbox.statePath])
            #expect(resumed.exitedNormally && resumed.status == 2, "\(resumed)")
            #expect(resumed.stderr.contains("changed since run \(run) started"), "\(resumed)")
            #expect(Inspect.sameJSON(try sandbox.livePolicy(), try Fixtures.proposedPolicy()), "resume refused: nothing changes")
            let rolledBack = try await sandbox.testbed(["rollback", run, "--state-dir", sandbox.statePath])
            #expect(rolledBack.exitedNormally && rolledBack.status == 0, "\(rolledBack)")
            #expect(Inspect.sameJSON(try sandbox.livePolicy(), try Fixtures.data("default-policy.json")))
        }
    }

    // MARK: Crashes during recovery

    /// One stage of a chain: a command and where (if anywhere) it dies.
    struct Stage: Sendable {
        var command: Recovery?
        var killAfter: String?
        var killInWrite: String?
    }

    struct Chain: Sendable, CustomTestStringConvertible {
        var name: String
        var accessDenied = false
        /// The first `run`, then recoveries; every stage but the last is killed.
        var stages: [Stage]
        /// The last stage's exit code and whether the proposed (else the
        /// original) policy must be live.
        var exitCode: Int32
        var proposedLive: Bool
        var testDescription: String { name }
    }

    static let chains: [Chain] = [
        Chain(
            name: "run dies in the write, resume dies in monitor, resume finishes",
            stages: [Stage(killInWrite: "after"), Stage(command: .resume, killAfter: "monitor-round#1"), Stage(command: .resume)],
            exitCode: 0, proposedLive: true),
        Chain(
            name: "run dies after applied, resume dies right after resumed, resume finishes",
            stages: [Stage(killAfter: "applied"), Stage(command: .resume, killAfter: "resumed"), Stage(command: .resume)],
            exitCode: 0, proposedLive: true),
        Chain(
            name: "run dies after apply-intent, resume dies inside its write, resume finishes",
            stages: [Stage(killAfter: "apply-intent"), Stage(command: .resume, killInWrite: "after"), Stage(command: .resume)],
            exitCode: 0, proposedLive: true),
        Chain(
            name: "run dies after apply-intent, rollback dies after rollback-intent, rollback finishes",
            stages: [Stage(killAfter: "apply-intent"), Stage(command: .rollback, killAfter: "rollback-intent"), Stage(command: .rollback)],
            exitCode: 0, proposedLive: false),
        Chain(
            name: "run dies in the write, rollback dies inside its write, resume finishes the rollback",
            stages: [Stage(killInWrite: "after"), Stage(command: .rollback, killInWrite: "after"), Stage(command: .resume)],
            exitCode: 5, proposedLive: false),
        Chain(
            name: "access denied: run dies after rollback-intent, resume dies after rollback-applied, resume finishes",
            accessDenied: true,
            stages: [Stage(killAfter: "rollback-intent"), Stage(command: .resume, killAfter: "rollback-applied"), Stage(command: .resume)],
            exitCode: 5, proposedLive: false),
        Chain(
            name: "access denied: run dies after rollback-applied, rollback dies after rollback-applied, rollback finishes",
            accessDenied: true,
            stages: [Stage(killAfter: "rollback-applied"), Stage(command: .rollback, killAfter: "rollback-applied"), Stage(command: .rollback)],
            exitCode: 0, proposedLive: false),
    ]

    @Test("A crash during resume or rollback is recovered too", arguments: chains)
    func crashDuringRecovery(_ chain: Chain) async throws {
        try await Slots.with {
            let sandbox = try Sandbox()
            if chain.accessDenied { try sandbox.injectAccessDenied() }
            let original = try sandbox.livePolicy()
            var run = ""
            for (index, stage) in chain.stages.enumerated() {
                var environment: [String: String] = [:]
                if let after = stage.killAfter { environment["POLICY_CHANGE_TESTBED_KILL_AFTER"] = after }
                if let inWrite = stage.killInWrite { environment["POLICY_CHANGE_TESTBED_KILL_IN_WRITE"] = inWrite }
                let arguments: [String] =
                    switch stage.command {
                    case nil: ["run", sandbox.runbook("crash.yaml"), "--yes"]
                    case .resume: ["resume", run, "--yes"]
                    case .rollback: ["rollback", run]
                    }
                let result = try await sandbox.testbed(arguments + ["--state-dir", sandbox.statePath], environment: environment)
                if index == 0 { run = try #require(sandbox.runIDs().first) }
                if index < chain.stages.count - 1 {
                    try #require(result.diedOfSIGKILL, "stage \(index + 1) should have died of SIGKILL: \(result)")
                } else {
                    #expect(result.exitedNormally && result.status == chain.exitCode, "last stage: \(result)")
                }
            }
            let live = try sandbox.livePolicy()
            #expect(Inspect.sameJSON(live, chain.proposedLive ? try Fixtures.proposedPolicy() : original), "live policy")
            let events = try sandbox.journal(run)
            #expect(events.last?.event == .runFinished)
            if !chain.proposedLive { #expect(events.contains { $0.event == .rollbackVerified }) }
            try expectBackupsIntact(events, original: original)
        }
    }

    // MARK: Lock

    @Test("A second run of the same key is refused while the first holds the lock; a SIGKILL frees it")
    func lockHeld() async throws {
        try await Slots.with {
            let sandbox = try Sandbox()
            let runbook = sandbox.runbook("long-monitor.yaml")
            let holder = try sandbox.start(Binaries.testbed, ["run", runbook, "--yes", "--state-dir", sandbox.statePath])
            defer { holder.terminate() }
            let monitoring = await sandbox.waitForJournal(of: holder) { events in events.contains { $0.event == .monitorRound } }
            try #require(monitoring, "the first run should reach its monitor")
            let firstRun = try #require(sandbox.runIDs().first)

            let second = try await sandbox.testbed(["run", runbook, "--yes", "--state-dir", sandbox.statePath])
            #expect(second.exitedNormally && second.status == 4, "second run: \(second)")
            #expect(second.stderr.contains(firstRun), "the refusal must name the run holding the lock (\(firstRun)): \(second)")
            #expect(sandbox.runIDs() == [firstRun], "the refused run must not leave a run folder")

            holder.terminate()
            let ended = await holder.wait()
            #expect(ended.diedOfSIGKILL)
            // status tells the operator where the killed run stands and what to do.
            let status = try await sandbox.testbed(["status", "--output", "json", "--state-dir", sandbox.statePath])
            let entry = (Inspect.jsonObject(status.stdout)?["runs"] as? [[String: Any]])?.first
            #expect(entry?["state"] as? String == "interrupted after apply", "\(status)")
            #expect((entry?["next"] as? String)?.contains("policy-change resume \(firstRun)") == true, "\(status)")
            // The kernel released the flock with the process: rollback may take it.
            let rollback = try await sandbox.testbed(["rollback", firstRun, "--state-dir", sandbox.statePath])
            #expect(rollback.exitedNormally && rollback.status == 0, "rollback after SIGKILL: \(rollback)")
            #expect(Inspect.sameJSON(try sandbox.livePolicy(), try Fixtures.data("default-policy.json")))
        }
    }

    // MARK: Signals

    @Test("SIGTERM during monitor rolls back and exits 5")
    func sigtermDuringMonitor() async throws {
        try await Slots.with {
            let sandbox = try Sandbox()
            let original = try sandbox.livePolicy()
            let child = try sandbox.start(
                Binaries.testbed, ["run", sandbox.runbook("long-monitor.yaml"), "--yes", "--state-dir", sandbox.statePath])
            defer { child.terminate() }
            let monitoring = await sandbox.waitForJournal(of: child) { events in events.contains { $0.event == .monitorRound } }
            try #require(monitoring, "the run should reach its monitor")
            child.signal(SIGTERM)
            let result = await child.wait()
            #expect(result.exitedNormally && result.status == 5, "after SIGTERM: \(result)")
            #expect(Inspect.sameJSON(try sandbox.livePolicy(), original), "the backup must be live again")
            let events = try sandbox.journal(try #require(sandbox.runIDs().first))
            #expect(events.contains { $0.event == .interrupted })
            #expect(events.contains { $0.event == .rollbackVerified })
            #expect(events.last?.event == .runFinished && events.last?.exitCode == 5)
        }
    }

    @Test("SIGTERM during monitor, then a SIGKILL before the rollback starts: resume still rolls back")
    func sigtermThenCrash() async throws {
        try await Slots.with {
            let sandbox = try Sandbox()
            let original = try sandbox.livePolicy()
            let child = try sandbox.start(
                Binaries.testbed, ["run", sandbox.runbook("long-monitor.yaml"), "--yes", "--state-dir", sandbox.statePath],
                environment: ["POLICY_CHANGE_TESTBED_KILL_AFTER": "interrupted"])
            defer { child.terminate() }
            let monitoring = await sandbox.waitForJournal(of: child) { events in events.contains { $0.event == .monitorRound } }
            try #require(monitoring, "the run should reach its monitor")
            child.signal(SIGTERM)
            let killed = await child.wait()
            try #require(killed.diedOfSIGKILL, "the run should die right after journaling 'interrupted': \(killed)")
            let run = try #require(sandbox.runIDs().first)
            #expect(try sandbox.journal(run).last?.event == .interrupted)

            let resumed = try await sandbox.testbed(["resume", run, "--yes", "--state-dir", sandbox.statePath])
            #expect(resumed.exitedNormally && resumed.status == 5, "the operator's SIGTERM asked for the rollback: \(resumed)")
            #expect(Inspect.sameJSON(try sandbox.livePolicy(), original), "the backup must be live again")
            let events = try sandbox.journal(run)
            #expect(events.contains { $0.event == .rollbackVerified })
            #expect(events.last?.event == .runFinished && events.last?.exitCode == 5)
        }
    }

    @Test("SIGINT before apply stops with exit 4 and leaves the policy untouched")
    func sigintBeforeApply() async throws {
        try await Slots.with {
            let sandbox = try Sandbox()
            let original = try sandbox.livePolicy()
            let child = try sandbox.start(
                Binaries.testbed, ["run", sandbox.runbook("wait-before-apply.yaml"), "--yes", "--state-dir", sandbox.statePath])
            defer { child.terminate() }
            let waiting = await sandbox.waitForJournal(of: child) { events in
                events.contains { $0.event == .stepStarted && $0.name == "wait" }
            }
            try #require(waiting, "the run should reach its wait before apply")
            child.signal(SIGINT)
            let result = await child.wait()
            #expect(result.exitedNormally && result.status == 4, "after SIGINT: \(result)")
            #expect(try sandbox.livePolicy() == original, "the policy must be untouched")
            #expect(sandbox.writeCalls() == 0, "no write call may have been made")
            let events = try sandbox.journal(try #require(sandbox.runIDs().first))
            #expect(!events.contains { $0.event == .applyIntent })
            #expect(events.last?.event == .runFinished && events.last?.exitCode == 4)
        }
    }
}
