import Foundation
import PolicyChange
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `POLICY_CHANGE_TESTBED_KILL_AFTER=<event kind>[#<n>]`: the process SIGKILLs
/// itself right after the n-th (default: first) journal event of that kind is
/// durably appended — the worst instant for a crash, since the event promises
/// an action that has not been taken yet.
struct KillPoint: Sendable, Equatable {
    var kind: JournalEvent.Kind
    var occurrence: Int

    /// nil for an empty value; a clear error for a misspelt one (a typo must
    /// not silently turn a crash test into a plain run).
    init?(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return nil }
        let parts = trimmed.split(separator: "#", maxSplits: 1).map(String.init)
        guard let kind = JournalEvent.Kind(rawValue: parts[0]) else {
            throw KillPointError(text: text)
        }
        self.kind = kind
        if parts.count == 2 {
            guard let n = Int(parts[1]), n >= 1 else { throw KillPointError(text: text) }
            occurrence = n
        } else {
            occurrence = 1
        }
    }
}

struct KillPointError: Error, CustomStringConvertible {
    var text: String
    var description: String {
        "policy-change-testbed: \(TestbedEnvironment.killAfter)='\(text)' is not '<journal event kind>[#<n>]' "
            + "(kinds: run-started, step-finished, backup-written, apply-intent, monitor-round, …)"
    }
}

/// Forwards to the run's real storage and dies at the kill point.
final class KillingStorage: RunStorage {
    private let base: any RunStorage
    private let point: KillPoint
    private let seen = Mutex(0)

    init(_ base: any RunStorage, killAfter point: KillPoint) {
        self.base = base
        self.point = point
    }

    /// Identity without a kill point.
    static func decorator(killAfter point: KillPoint?) -> @Sendable (any RunStorage) -> any RunStorage {
        guard let point else { return { $0 } }
        return { KillingStorage($0, killAfter: point) }
    }

    func append(_ event: JournalEvent) throws {
        try base.append(event)
        guard event.event == point.kind else { return }
        let count = seen.withLock { n -> Int in
            n += 1
            return n
        }
        if count == point.occurrence { kill(getpid(), SIGKILL) }
    }

    func writeBackup(_ snapshot: PolicySnapshot, cloud: Cloud, key: String, directory: String?) throws -> StoredFile {
        try base.writeBackup(snapshot, cloud: cloud, key: key, directory: directory)
    }

    func writeArtifact(named name: String, contents: Data) throws -> StoredFile {
        try base.writeArtifact(named: name, contents: contents)
    }

    func read(_ file: StoredFile) throws -> Data {
        try base.read(file)
    }
}
