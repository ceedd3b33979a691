import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a child process ended, with everything it printed.
public struct ChildResult: Sendable, CustomStringConvertible {
    public var status: Int32
    public var reason: Process.TerminationReason
    public var stdout: String
    public var stderr: String
    /// The test's safety bound ran out and the child was SIGKILLed by the test.
    public var exceededBound: Bool

    public var exitedNormally: Bool { reason == .exit && !exceededBound }
    public var diedOfSIGKILL: Bool { reason == .uncaughtSignal && status == SIGKILL && !exceededBound }
    public var output: String { stdout + stderr }

    /// What a failed expectation shows: never a known secret, even if the
    /// product printed one (that is its own failed expectation).
    public var description: String {
        let how = reason == .exit ? "exit \(status)" : "signal \(status)"
        return KnownSecrets.redact(
            "\(how)\(exceededBound ? " (killed by the test: bound exceeded)" : "")\n--- stdout\n\(stdout)--- stderr\n\(stderr)")
    }
}

/// A child process whose output goes to files (no pipe can fill up and stall
/// it) and whose end is awaited without blocking a cooperative thread.
public final class Child: @unchecked Sendable {
    public let process: Process
    private let stdoutPath: String
    private let stderrPath: String
    private let ended: AsyncStream<Void>
    private let exceeded = Mutex(false)

    /// Starts `executable` with exactly `environment`.
    public init(
        _ executable: URL, _ arguments: [String], environment: [String: String], directory: URL,
        stdin: FileHandle? = FileHandle.nullDevice, stdout: FileHandle? = nil
    ) throws {
        let id = UUID().uuidString
        let logs = FileManager.default.temporaryDirectory.appendingPathComponent("pc-e2e-child-\(id)")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        stdoutPath = logs.appendingPathComponent("stdout").path
        stderrPath = logs.appendingPathComponent("stderr").path
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = directory
        process.standardOutput = stdout ?? FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = stdin
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        ended = stream
        process.terminationHandler = { _ in continuation.finish() }
        try process.run()
        ChildRegistry.shared.add(process.processIdentifier)
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    public func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// SIGKILL if still running (teardown; harmless when it has ended).
    public func terminate() {
        signal(SIGKILL)
    }

    /// Waits for the child to end. `bound` keeps a hung child from hanging the
    /// suite; it is a safety net, never an assertion about speed.
    public func wait(bound: Duration = .seconds(300)) async -> ChildResult {
        let pid = process.processIdentifier
        let watchdog = Task {
            try await Task.sleep(for: bound)
            self.exceeded.withLock { $0 = true }
            kill(pid, SIGKILL)
        }
        for await _ in ended {}
        watchdog.cancel()
        ChildRegistry.shared.remove(pid)
        let result = ChildResult(
            status: process.terminationStatus, reason: process.terminationReason,
            stdout: (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "",
            exceededBound: exceeded.withLock { $0 })
        try? FileManager.default.removeItem(atPath: (stdoutPath as NSString).deletingLastPathComponent)
        return result
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Every child still running, so none outlives the test process.
public final class ChildRegistry: Sendable {
    public static let shared = ChildRegistry()
    private let pids = Mutex(Set<Int32>())

    private init() {
        atexit {
            for pid in ChildRegistry.shared.pids.withLock({ $0 }) { kill(pid, SIGKILL) }
        }
    }

    public func add(_ pid: Int32) { _ = pids.withLock { $0.insert(pid) } }
    public func remove(_ pid: Int32) { _ = pids.withLock { $0.remove(pid) } }
}

/// Bounds how many scenarios drive children at once: a 2-core machine copes
/// badly with dozens of runs (and Python interpreters) started together.
public actor Slots {
    public static let shared = Slots(limit: max(3, ProcessInfo.processInfo.activeProcessorCount * 2))

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init(limit: Int) { free = limit }

    public func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    public func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }

    /// Runs `body` holding a slot.
    public static func with<T>(_ body: () async throws -> T) async rethrows -> T {
        await shared.acquire()
        do {
            let value = try await body()
            await shared.release()
            return value
        } catch {
            await shared.release()
            throw error
        }
    }
}

/// Secret access keys the tests handed out, so no failure message prints one.
public enum KnownSecrets {
    private static let secrets = Mutex(Set<String>())

    public static func add(_ secret: String) { _ = secrets.withLock { $0.insert(secret) } }

    public static func redact(_ text: String) -> String {
        secrets.withLock { $0 }.reduce(text) { $0.replacingOccurrences(of: $1, with: "<secret access key>") }
    }
}
