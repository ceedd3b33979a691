import Foundation
import PolicyChange
import Testing

/// Checks several scenarios share (DESIGN.md §4, §6).
extension Scenario {
    /// The run's backup (DESIGN.md §4): GetKeyPolicy's answer byte for byte,
    /// mode 0600, named `aws-<key-short>-<UTC timestamp>.json`, its SHA-256
    /// and size in the journal. Returns the backup's path.
    @discardableResult
    func expectBackup(_ events: [JournalEvent], sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> String {
        let (written, data) = try expectBackupFile(events, cloud: "aws", sourceLocation: sourceLocation)
        #expect(data == original, "the backup must be the policy exactly as GetKeyPolicy returned it", sourceLocation: sourceLocation)
        #expect(written.bytes == data.count, sourceLocation: sourceLocation)
        return written.path
    }

    /// Exit 5 (DESIGN.md §6): applied, a check failed, the backup restored and
    /// verified. The live policy is the original byte for byte: the rollback
    /// puts the backup's text back as it is.
    func expectRolledBack(_ result: ChildResult, sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws {
        #expect(result.exitedNormally && result.status == 5, "\(result)", sourceLocation: sourceLocation)
        let live = try await livePolicy()
        #expect(live == original, "after the rollback the live policy must be the backup", sourceLocation: sourceLocation)
        let (_, events) = try lastRun()
        try expectBackup(events, sourceLocation: sourceLocation)
        let kinds = events.map(\.event)
        for kind in [JournalEvent.Kind.applied, .stepFailed, .rollbackIntent, .rollbackApplied, .rollbackVerified] {
            #expect(kinds.contains(kind), "the journal lacks \(kind.rawValue): \(kinds.map(\.rawValue))", sourceLocation: sourceLocation)
        }
        let last = events.last
        #expect(last?.event == .runFinished && last?.exitCode == 5, "last event: \(String(describing: last))", sourceLocation: sourceLocation)
    }

    /// Nothing was written: exit `status`, no apply-intent in the journal, the
    /// live policy is still `expected` byte for byte.
    func expectUntouched(
        _ result: ChildResult, status: Int32, expected: Data? = nil, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws {
        #expect(result.exitedNormally && result.status == status, "\(result)", sourceLocation: sourceLocation)
        #expect(try await livePolicy() == (expected ?? original), "the live policy must be untouched", sourceLocation: sourceLocation)
        if let id = runIDs().last {
            let events = try journal(id)
            #expect(!events.contains { $0.event == .applyIntent }, "nothing may be applied", sourceLocation: sourceLocation)
        }
    }
}

extension Scenario {
    /// A run stopped before its backup step: the journal has no backup-written
    /// and no backup file exists.
    func expectNoBackup(sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let events = runIDs().last.flatMap { try? journal($0) } ?? []
        #expect(!events.isEmpty, "the run should have a journal", sourceLocation: sourceLocation)
        #expect(!events.contains { $0.event == .backupWritten }, sourceLocation: sourceLocation)
        let backups = (try? FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("backups").path)) ?? []
        #expect(backups.isEmpty, "no backup file: \(backups)", sourceLocation: sourceLocation)
    }
}

extension ChildResult {
    /// The lines of stdout and stderr, for "one line says …" checks.
    var lines: [String] { output.split(separator: "\n").map(String.init) }
}
