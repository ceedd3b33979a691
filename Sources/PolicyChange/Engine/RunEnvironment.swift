import Foundation
import Synchronization

/// Time as the engine sees it: real in production, virtual in tests so a
/// 30-minute monitor runs in no time.
public protocol RunClock: Sendable {
    func now() -> Date
    /// Throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration) async throws
}

public struct SystemRunClock: RunClock {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// Where a run keeps its journal, backups and artifacts. Implemented on the
/// file system by `RunStore`; every write is durable when the call returns.
public protocol RunStorage: Sendable {
    /// Appends one event to the journal and fsyncs it before returning: the
    /// engine announces an action this way before it takes it.
    func append(_ event: JournalEvent) throws
    /// Writes a backup atomically (temp, fsync, rename, fsync dir, mode 0600).
    func writeBackup(_ snapshot: PolicySnapshot, cloud: Cloud, key: String, directory: String?) throws -> StoredFile
    /// Writes a file of the run's own folder (`proposed.json`, `plan.json`, `report.json`).
    func writeArtifact(named name: String, contents: Data) throws -> StoredFile
    /// Reads a stored file back, refusing it if its SHA-256 no longer matches.
    func read(_ file: StoredFile) throws -> Data
}

/// A file the run wrote, as the journal records it.
public struct StoredFile: Sendable, Equatable, Codable {
    public var path: String
    public var sha256: String
    public var bytes: Int

    public init(path: String, sha256: String, bytes: Int) {
        self.path = path
        self.sha256 = sha256
        self.bytes = bytes
    }
}

/// Decides whether the change may go ahead (`approve` step).
public protocol Approver: Sendable {
    func approve(_ plan: RunPlan) async -> Approval
}

public enum Approval: Sendable, Equatable {
    case approved(by: String)
    case declined(reason: String)
}

/// Checks that reach outside the cloud: an HTTP endpoint, a shell command.
public protocol ExternalProbes: Sendable {
    func http(_ check: HTTPCheck) async -> CheckOutcome
    /// Runs a command to completion (or its timeout).
    func command(_ command: CommandSpec, environment: [String: String]) async -> CommandOutcome
}

public enum CommandOutcome: Sendable, Equatable {
    case exited(Int32, output: String)
    case timedOut
    case failedToStart(String)
}

/// Progress for a person watching the run; never drives the run.
public protocol RunObserver: Sendable {
    func progress(_ event: ProgressEvent)
}

public struct ProgressEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case stepStarted, stepFinished, info, success, warning, failure, waiting }
    public var kind: Kind
    public var step: Int?
    public var message: String
    public init(_ kind: Kind, step: Int? = nil, _ message: String) {
        self.kind = kind
        self.step = step
        self.message = message
    }
}

/// A SIGINT/SIGTERM (or any other reason to stop) raised from outside the
/// run. After apply the engine answers it with the rollback path.
public final class Interruption: Sendable {
    private struct State {
        var reason: String?
        var nextID = 0
        var waiters: [Int: CheckedContinuation<String?, Never>] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    public var reason: String? { state.withLock { $0.reason } }

    public func trigger(_ reason: String) {
        let waiters = state.withLock { state -> [CheckedContinuation<String?, Never>] in
            guard state.reason == nil else { return [] }
            state.reason = reason
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: reason) }
    }

    /// The reason once triggered, or nil if the waiting task is cancelled first.
    public func wait() async -> String? {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate = state.withLock { state -> String?? in
                    if let reason = state.reason { return .some(reason) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }
}
