import Foundation
import PolicyChange
import Testing

@testable import RunStore

/// The engine with the real file storage: the journal on disk is what
/// `resume` and `rollback` read after a crash (DESIGN.md §6).
@Suite("RunStore: the engine on disk")
struct EngineOnDiskTests {
    static let keyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    static let target = Target.aws(AWSTarget(key: keyARN))
    static let runID = "20261128T023000Z-add-audit-role-0a1b"
    static let live = DurableFileTests.policy
    static let auditRole = "arn:aws:iam::444455556666:role/audit"

    static let runbook = Runbook(
        name: "add-audit-role", target: target,
        change: [.addPrincipals(sid: "Enable IAM User Permissions", principals: [auditRole])],
        require: [Requirement(principal: auditRole, actions: ["kms:*"])],
        steps: [
            Step(.backup(BackupStep())), Step(.validate(ValidateStep())), Step(.approve), Step(.apply),
            Step(.verify(VerifyStep(checks: [.policyUnchanged, .requiredAccess]))),
            Step(.monitor(MonitorStep(duration: .seconds(180), interval: .seconds(60), checks: [.policyUnchanged]))),
        ])

    static func engine(_ provider: DiskTestProvider, _ storage: FileRunStorage) -> RunEngine {
        RunEngine(
            runbook: runbook,
            context: RunContext(
                provider: provider, dialect: AWSKeyPolicyDialect(), auditLog: nil, storage: storage, clock: DiskTestClock(),
                approver: AlwaysApprove(), probes: PassingProbes(), observer: SilentObserver(), interruption: Interruption()),
            settings: RunSettings(runID: runID, runbookSHA256: String(repeating: "0", count: 64), toolVersion: "0.0.0-test"))
    }

    @Test("a run leaves a readable journal, a 0600 backup whose SHA-256 the journal records, and proposed.json")
    func runOnDisk() async throws {
        try await withTemporaryDirectory { folder in
            let state = StateDirectory(path: folder)
            let provider = DiskTestProvider(policy: Self.live, target: Self.target)
            let result = await Self.engine(provider, try state.createRun(Self.runID)).run()

            #expect(result.status == .success)
            #expect(provider.writes == 1)
            let journal = try state.journal(of: Self.runID)
            let boundaries: Set<JournalEvent.Kind> = [.stepStarted, .stepFinished, .check]
            let actions = journal.map(\.event).filter { !boundaries.contains($0) }
            let expected: [JournalEvent.Kind] = [
                .runStarted, .backupWritten, .proposalWritten, .validated, .approved, .applyIntent, .applied,
                .monitorRound, .monitorRound, .monitorRound, .runFinished,
            ]
            #expect(actions == expected)
            let backup = try #require(journal.first { $0.event == .backupWritten }?.file)
            #expect(backup == result.backup)
            #expect(permissions(of: backup.path) == 0o600)
            #expect(FileManager.default.contents(atPath: backup.path) == Self.live.document)
            #expect(try sha256sum(backup.path).map { $0 == backup.sha256 } ?? true)
            let proposal = try #require(journal.first { $0.event == .proposalWritten }?.file)
            #expect(FileManager.default.contents(atPath: proposal.path) == provider.policy.document)
        }
    }

    /// Cuts the journal file just after the line of the first `kind`, keeping
    /// `torn` bytes of the next line (a crash in the middle of an append).
    static func cutJournal(_ path: String, after kind: JournalEvent.Kind, torn: Int) throws {
        let data = try #require(FileManager.default.contents(atPath: path))
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let decoder = JournalCoding.decoder()
        let kinds = lines.map { line in (try? decoder.decode(JournalEvent.self, from: Data(line)))?.event }
        let index = try #require(kinds.firstIndex(of: kind))
        var kept = Data(lines[...index].joined(separator: [UInt8(ascii: "\n")])) + Data("\n".utf8)
        kept += Data(lines[index + 1].prefix(torn))
        try kept.write(to: URL(fileURLWithPath: path))
    }

    @Test("killed while appending 'applied': resume from the journal on disk finishes the run, and the journal stays readable")
    func resumeAfterTornAppend() async throws {
        try await withTemporaryDirectory { folder in
            let state = StateDirectory(path: folder)
            let provider = DiskTestProvider(policy: Self.live, target: Self.target)
            let first = try state.createRun(Self.runID)
            #expect(await Self.engine(provider, first).run().status == .success)
            // The process died after the write, in the middle of journaling it.
            try Self.cutJournal(first.journalPath, after: .applyIntent, torn: 20)
            let journal = try state.journal(of: Self.runID)
            #expect(journal.last?.event == .applyIntent)

            let result = await Self.engine(provider, try state.openRun(Self.runID)).resume(journal: journal)

            #expect(result.status == .success)
            #expect(provider.writes == 1)
            let after = try state.journal(of: Self.runID)
            #expect(after.map(\.event).contains(.resumed))
            #expect(after.last?.event == .runFinished)
            #expect(after.last?.exitCode == 0)
        }
    }

    @Test("rollback from the journal on disk restores the backup and verifies it")
    func rollbackOnDisk() async throws {
        try await withTemporaryDirectory { folder in
            let state = StateDirectory(path: folder)
            let provider = DiskTestProvider(policy: Self.live, target: Self.target)
            #expect(await Self.engine(provider, try state.createRun(Self.runID)).run().status == .success)
            #expect(provider.policy != Self.live)

            let result = await Self.engine(provider, try state.openRun(Self.runID))
                .rollback(journal: try state.journal(of: Self.runID))

            #expect(result.status == .success)
            #expect(provider.policy == Self.live)
            #expect(try state.journal(of: Self.runID).map(\.event).suffix(4) == [
                .rollbackIntent, .rollbackApplied, .rollbackVerified, .runFinished,
            ])
        }
    }

    @Test("a backup edited on disk after the run is refused by rollback, and nothing is written")
    func rollbackRefusesAnEditedBackup() async throws {
        try await withTemporaryDirectory { folder in
            let state = StateDirectory(path: folder)
            let provider = DiskTestProvider(policy: Self.live, target: Self.target)
            let result = await Self.engine(provider, try state.createRun(Self.runID)).run()
            let backup = try #require(result.backup)
            try Data("{\"Version\": \"2012-10-17\", \"Statement\": []}".utf8).write(to: URL(fileURLWithPath: backup.path))

            let rollback = await Self.engine(provider, try state.openRun(Self.runID))
                .rollback(journal: try state.journal(of: Self.runID))

            #expect(rollback.status == .needsHuman)
            #expect(rollback.message.contains("changed since the run wrote it"))
            #expect(provider.writes == 1)
        }
    }
}
