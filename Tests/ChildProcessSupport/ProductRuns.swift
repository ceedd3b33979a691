import Foundation
import PolicyChange
import RunStore
import Testing

// What the AWS, Azure and GCP end-to-end targets share about running the real
// `policy-change` against their fakes: finding the binary, launching it and
// keeping its output, waiting for a fake's port file, the run folders of the
// state directory, and the secret scan. Each cloud's scenario keeps its own
// fake, environment and checks.

/// The built `policy-change`, next to the test runner. Never skipped.
public enum Product {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String
    }

    public static let binary: Result<URL, Missing> = {
        var folders: [URL] = []
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        folders.append(runner.deletingLastPathComponent())
        // macOS: …/debug/policy-changePackageTests.xctest/Contents/MacOS/policy-changePackageTests
        folders.append(
            runner.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent())
        folders.append(Bundle.main.bundleURL)
        for folder in folders {
            let url = folder.appendingPathComponent("policy-change")
            if FileManager.default.isExecutableFile(atPath: url.path) { return .success(url) }
        }
        return .failure(Missing(
            description: "cannot find the 'policy-change' binary next to the tests (looked in "
                + folders.map(\.path).joined(separator: ", ") + "); build it with 'swift build --build-tests' before 'swift test'"))
    }()
}

/// The product's runs in one scenario: the children still to kill at
/// teardown, and every finished run's output for the secret scan.
public final class ProductLaunches: @unchecked Sendable {
    private let lock = NSLock()
    private var children: [Child] = []
    private var finished: [(command: String, result: ChildResult)] = []

    public init() {}

    /// Starts `policy-change` in `directory` with exactly `environment`.
    public func start(_ arguments: [String], environment: [String: String], directory: URL) throws -> Child {
        let child = try Child(try Product.binary.get(), arguments, environment: environment, directory: directory)
        lock.withLock { children.append(child) }
        return child
    }

    /// Runs `policy-change` to its end (`bound` is the safety net of `Child.wait`); its output joins the secret scan.
    public func run(_ arguments: [String], environment: [String: String], directory: URL, bound: Duration) async throws -> ChildResult {
        let result = try await start(arguments, environment: environment, directory: directory).wait(bound: bound)
        record(arguments, result)
        return result
    }

    /// Keeps a finished run's output for the secret scan, named by its first two arguments.
    public func record(_ arguments: [String], _ result: ChildResult) {
        lock.withLock { finished.append((arguments.prefix(2).joined(separator: " "), result)) }
    }

    public var outputs: [(command: String, result: ChildResult)] { lock.withLock { finished } }

    /// SIGKILLs every child still running.
    public func terminateAll() {
        for child in lock.withLock({ children }) { child.terminate() }
    }
}

/// A scenario with a state directory (`--state-dir`): its run folders and journals.
public protocol RunFolders {
    var state: URL { get }
}

extension RunFolders {
    /// The run folders under `state/runs/`, oldest first.
    public func runIDs() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: state.appendingPathComponent("runs").path)) ?? [])
            .filter { !$0.hasPrefix(".") }.sorted()
    }

    public func journal(_ runID: String) throws -> [JournalEvent] {
        try Journal.read(path: state.appendingPathComponent("runs/\(runID)/journal.jsonl").path)
    }

    /// The newest run and its journal.
    public func lastRun(sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> (id: String, events: [JournalEvent]) {
        let id = try #require(runIDs().last, "no run folder under \(state.path)", sourceLocation: sourceLocation)
        return (id, try journal(id))
    }

    /// The run's backup as its backup-written event names it (DESIGN.md §4):
    /// mode 0600, the SHA-256 the journal gives, named `<cloud>-….json`.
    /// Returns the event's record and the file's bytes for the cloud's own
    /// check of what the backup holds.
    public func expectBackupFile(
        _ events: [JournalEvent], cloud: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws -> (written: StoredFile, data: Data) {
        let written = try #require(
            events.first { $0.event == .backupWritten }?.file, "no backup-written event", sourceLocation: sourceLocation)
        let data = try Data(contentsOf: URL(fileURLWithPath: written.path))
        #expect(Inspect.mode(of: written.path) == 0o600, "backup mode must be 0600", sourceLocation: sourceLocation)
        #expect(try Inspect.sha256(of: written.path) == written.sha256, "the journal's SHA-256 of the backup", sourceLocation: sourceLocation)
        let name = (written.path as NSString).lastPathComponent
        #expect(name.hasPrefix("\(cloud)-") && name.hasSuffix(".json"), "backup name \(name)", sourceLocation: sourceLocation)
        return (written, data)
    }

    /// Polls the newest run's journal until `predicate` holds, the child ends,
    /// or the safety bound passes. Returns whether the predicate held.
    public func waitForJournal(of child: Child, bound: Duration = .seconds(120), _ predicate: ([JournalEvent]) -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + bound
        while clock.now < deadline {
            if let id = runIDs().last, let events = try? journal(id), predicate(events) { return true }
            if !child.isRunning { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}

public enum Fake {
    /// The port a fake wrote to `file` once it listens; nil when `isRunning`
    /// says it ended first or `bound` passes. The bound is a safety net for a
    /// hung fake, never an assertion about speed: on a loaded 2-core machine
    /// a dozen Python fakes starting together take many seconds.
    public static func port(in file: URL, bound: Duration = .seconds(60), while isRunning: () -> Bool) async -> Int? {
        let clock = ContinuousClock()
        let deadline = clock.now + bound
        while clock.now < deadline {
            if let text = try? String(contentsOf: file, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return port
            }
            guard isRunning() else { return nil }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return nil
    }
}

public enum Secrets {
    /// None of `secrets` in the stdout or stderr of `outputs` nor in any file
    /// under `folders`. Failure messages name the place (`what` appears in …),
    /// never the text.
    public static func expectAbsent(
        _ secrets: [String], what: String = "a secret", outputs: [(command: String, result: ChildResult)], folders: [URL],
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        for (command, result) in outputs {
            for secret in secrets {
                #expect(!result.stdout.contains(secret), "\(what) appears in the stdout of 'policy-change \(command)'", sourceLocation: sourceLocation)
                #expect(!result.stderr.contains(secret), "\(what) appears in the stderr of 'policy-change \(command)'", sourceLocation: sourceLocation)
            }
        }
        for folder in folders {
            let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
            for file in files {
                guard let data = try? Data(contentsOf: file) else { continue }
                let text = String(decoding: data, as: UTF8.self)
                for secret in secrets {
                    #expect(!text.contains(secret), "\(what) appears in \(file.path)", sourceLocation: sourceLocation)
                }
            }
        }
    }
}

public enum Folders {
    /// Copies `source`'s tree into `target`, keeping the files `target` already has.
    public static func merge(_ source: URL, into target: URL) throws {
        for item in try FileManager.default.subpathsOfDirectory(atPath: source.path).sorted() {
            let from = source.appendingPathComponent(item), to = target.appendingPathComponent(item)
            var isFolder: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: from.path, isDirectory: &isFolder)
            if isFolder.boolValue {
                try FileManager.default.createDirectory(at: to, withIntermediateDirectories: true)
            } else if !FileManager.default.fileExists(atPath: to.path) {
                try FileManager.default.copyItem(at: from, to: to)
            }
        }
    }
}

extension Inspect {
    /// `result.outcome` of a `--output json` run-result document.
    public static func outcome(_ result: ChildResult) -> String? {
        (jsonObject(result.stdout)?["result"] as? [String: Any])?["outcome"] as? String
    }
}
