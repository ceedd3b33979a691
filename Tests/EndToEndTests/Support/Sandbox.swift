import Foundation
import PolicyChange
import RunStore
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The built binaries, found next to the test bundle. Never skipped: a
/// missing binary is a failed test with a message saying how to build it.
enum Binaries {
    static let testbed = locate("policy-change-testbed")
    static let product = locate("policy-change")

    /// The build-products folder: where the test runner lives
    /// (`CommandLine.arguments[0]`), or above this target's resource bundle.
    static let candidates: [URL] = {
        var folders: [URL] = []
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        folders.append(runner.deletingLastPathComponent())
        // macOS: …/debug/policy-changePackageTests.xctest/Contents/MacOS/policy-changePackageTests
        folders.append(runner.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent())
        folders.append(Bundle.module.bundleURL.deletingLastPathComponent())
        folders.append(Bundle.main.bundleURL)
        folders.append(Bundle.main.bundleURL.deletingLastPathComponent())
        return folders
    }()

    static func locate(_ name: String) -> Result<URL, LocateError> {
        for folder in candidates {
            let url = folder.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: url.path) { return .success(url) }
        }
        return .failure(LocateError(
            message: "cannot find the '\(name)' binary next to the tests (looked in \(candidates.map(\.path).joined(separator: ", "))); "
                + "build it with 'swift build --build-tests' before 'swift test'"))
    }

    struct LocateError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

/// The files the tests start from (`Tests/EndToEndTests/Fixtures`).
enum Fixtures {
    static let folder: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: folder.appendingPathComponent(name))
    }

    static let confluentRole = "arn:aws:iam::152535741197:role/cc-kafka-d45e6381-b878-11ed-bdff-028e28f108bd"
    static let keyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    /// The policy a successful run must leave: the default policy with the
    /// two Confluent statements appended, worked out here independently of
    /// the product's editing code.
    static func proposedPolicy() throws -> Data {
        var policy = try JSONSerialization.jsonObject(with: data("default-policy.json")) as! [String: Any]
        let snippet = String(decoding: try data("confluent-statements.json"), as: UTF8.self)
        let added = try JSONSerialization.jsonObject(with: Data("[\(snippet)]".utf8)) as! [Any]
        policy["Statement"] = (policy["Statement"] as! [Any]) + added
        return try JSONSerialization.data(withJSONObject: policy, options: [.sortedKeys])
    }
}

/// One test's world in a fresh temporary folder:
/// - `key/`: the testbed's key (`policy.json`, `audit.jsonl`, `write-calls`)
/// - `work/`: the runbooks and the files they name (a copy of the fixtures)
/// - `state/`: the state directory (`--state-dir`)
final class Sandbox: @unchecked Sendable {
    let root: URL
    let key: URL
    let work: URL
    let state: URL
    private var children: [Child] = []
    private let lock = NSLock()

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("pc-e2e-\(UUID().uuidString.prefix(8))")
        key = root.appendingPathComponent("key")
        work = root.appendingPathComponent("work")
        state = root.appendingPathComponent("state")
        for folder in [key, state] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(at: Fixtures.folder, to: work)
        try Fixtures.data("default-policy.json").write(to: policyURL)
    }

    deinit {
        for child in children { child.terminate() }
        try? FileManager.default.removeItem(at: root)
    }

    var policyURL: URL { key.appendingPathComponent("policy.json") }
    var statePath: String { state.path }

    func runbook(_ name: String) -> String { work.appendingPathComponent(name).path }

    func livePolicy() throws -> Data { try Data(contentsOf: policyURL) }

    func writeCalls() -> Int {
        guard let text = try? String(contentsOf: key.appendingPathComponent("write-calls"), encoding: .utf8) else { return 0 }
        return text.split(separator: "\n").count
    }

    /// An access-denied event on the key, stamped far in the future so it
    /// counts as "since apply" whenever the run applies.
    func injectAccessDenied() throws {
        let line = #"{"time": "2099-01-01T00:00:00Z", "errorCode": "AccessDenied", "principal": "\#(Fixtures.confluentRole)", "action": "kms:Decrypt"}"#
        try Data((line + "\n").utf8).write(to: key.appendingPathComponent("audit.jsonl"))
    }

    /// The environment of every child: this process's, minus anything that
    /// could steer the tool elsewhere, plus the testbed's key folder.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { name, _ in
            !name.hasPrefix("POLICY_CHANGE_") && !name.hasPrefix("AWS_") && name != "NO_COLOR"
        }
        environment["POLICY_CHANGE_TESTBED_DIR"] = key.path
        environment["TERM"] = "dumb"
        for (name, value) in extra { environment[name] = value }
        return environment
    }

    /// Starts a binary in `work/`; the sandbox kills it at teardown if the
    /// test has not waited for it.
    func start(_ binary: Result<URL, Binaries.LocateError>, _ arguments: [String], environment extra: [String: String] = [:])
        throws -> Child
    {
        let child = try Child(try binary.get(), arguments, environment: environment(extra), directory: work)
        lock.withLock { children.append(child) }
        return child
    }

    /// Runs a binary to its end.
    func run(_ binary: Result<URL, Binaries.LocateError>, _ arguments: [String], environment extra: [String: String] = [:])
        async throws -> ChildResult
    {
        let child = try start(binary, arguments, environment: extra)
        return await child.wait()
    }

    func testbed(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> ChildResult {
        try await run(Binaries.testbed, arguments, environment: extra)
    }

    func product(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> ChildResult {
        try await run(Binaries.product, arguments, environment: extra)
    }

    // MARK: Runs

    /// The run folders under `state/runs/`.
    func runIDs() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: state.appendingPathComponent("runs").path)) ?? [])
            .filter { !$0.hasPrefix(".") }.sorted()
    }

    func journal(_ runID: String) throws -> [JournalEvent] {
        try Journal.read(path: state.appendingPathComponent("runs/\(runID)/journal.jsonl").path)
    }

    /// Polls the only run's journal until `predicate` holds, the child ends,
    /// or the safety bound passes. Returns whether the predicate held.
    func waitForJournal(of child: Child, bound: Duration = .seconds(120), _ predicate: ([JournalEvent]) -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + bound
        while clock.now < deadline {
            if let id = runIDs().first, let events = try? journal(id), predicate(events) { return true }
            if !child.isRunning { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}

