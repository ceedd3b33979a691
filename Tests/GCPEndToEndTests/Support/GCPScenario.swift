@_exported import ChildProcessSupport
import Foundation
import PolicyChange
import RunStore
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One test's world: its own GCP conformance fake (Fake/gcp_fake.py) holding
/// one crypto key, and a temporary folder:
/// - `work/`: the runbooks (the repository's examples/ and this target's Fixtures/)
/// - `state/`: the state directory (`--state-dir`)
/// - `home/`: HOME for the product: empty, so no gcloud ADC file of the developer leaks in
/// - `fake/`: the fake's port file and call log
final class GCPScenario: RunFolders, @unchecked Sendable {
    static let key = "projects/my-project/locations/us-east1/keyRings/my-ring/cryptoKeys/my-key"
    static let group = "group:cck-d45e6381@confluent.io"
    /// The example's timing, shortened: 1 s settle, 3 s of monitoring, a round a second, 2 s recovery.
    static let exampleTiming = ["SETTLE": "1s", "MONITOR": "3s", "INTERVAL": "1s", "RECOVERY": "2s"]

    let root: URL
    let work: URL
    let state: URL
    let home: URL
    let fakeFolder: URL
    let keyFile: URL
    let port: Int
    /// The policy as getIamPolicy returned it before the test did anything.
    let original: Data
    /// A line of the service-account key's PEM: must appear nowhere.
    let keyLine: String
    private let fake: Process
    private let launches = ProductLaunches()

    var fakeURL: String { "http://127.0.0.1:\(port)" }

    static let repository: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs `body` with a new scenario, holding a slot; tears it down however `body` ends.
    static func with<T>(policy: String = "policies/current.json", _ body: (GCPScenario) async throws -> T) async throws -> T {
        try await Slots.with {
            let scenario = try await GCPScenario(policy: policy)
            do {
                let value = try await body(scenario)
                scenario.expectSecretsAbsent()
                scenario.tearDown()
                return value
            } catch {
                scenario.tearDown()
                throw error
            }
        }
    }

    private init(policy: String) async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("pc-gcp-e2e-\(UUID().uuidString.prefix(8))")
        work = root.appendingPathComponent("work")
        state = root.appendingPathComponent("state")
        home = root.appendingPathComponent("home")
        fakeFolder = root.appendingPathComponent("fake")
        for folder in [state, home, fakeFolder] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(at: Self.repository.appendingPathComponent("examples"), to: work)
        try Folders.merge(Bundle.module.url(forResource: "Fixtures", withExtension: nil)!, into: work)
        let fakeScripts = Bundle.module.url(forResource: "Fake", withExtension: nil)!
        let python = try Self.python()
        fake = Process()
        fake.executableURL = URL(fileURLWithPath: python)
        fake.arguments = [
            fakeScripts.appendingPathComponent("gcp_fake.py").path, "--folder", fakeFolder.path, "--key", Self.key,
            "--policy", work.appendingPathComponent(policy).path,
            "--public-cert", fakeScripts.appendingPathComponent("public_cert.pem").path,
            "--roles", work.appendingPathComponent("roles.json").path,
        ]
        let log = fakeFolder.appendingPathComponent("fake.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        fake.standardOutput = handle
        fake.standardError = handle
        fake.standardInput = FileHandle.nullDevice
        try fake.run()
        let fake = self.fake
        guard let found = await Fake.port(in: fakeFolder.appendingPathComponent("port"), while: { fake.isRunning }) else {
            fake.terminate()
            throw ScenarioError("the GCP fake did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        }
        port = found
        // The fixture's key file with token_uri pointing at the fake (a temp copy).
        let keyJSON = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: work.appendingPathComponent("service_account.json"))) as? [String: Any])
        var rewritten = keyJSON
        rewritten["token_uri"] = "http://127.0.0.1:\(found)/token"
        keyFile = root.appendingPathComponent("service-account.json")
        try JSONSerialization.data(withJSONObject: rewritten).write(to: keyFile)
        let pem = keyJSON["private_key"] as? String ?? ""
        keyLine = pem.split(separator: "\n").dropFirst(2).first.map(String.init) ?? "unreachable-secret"
        KnownSecrets.add(keyLine)
        try? FileManager.default.removeItem(at: work.appendingPathComponent("service_account.json"))
        original = try await Self.request(URL(string: "http://127.0.0.1:\(found)/control/policy")!, method: "GET")
    }

    func tearDown() {
        launches.terminateAll()
        if fake.isRunning {
            kill(fake.processIdentifier, SIGKILL)
            fake.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: root)
    }

    static func python() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(folder)/python3") {
            return "\(folder)/python3"
        }
        throw ScenarioError("python3 is not on PATH (\(path)); the GCP fake needs python3 with 'cryptography'")
    }

    // MARK: The fake's control API

    static func request(_ url: URL, method: String, body: Data? = nil) async throws -> Data {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body
        let (data, response) = try await URLSession.shared.data(for: request)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else {
            throw ScenarioError("control \(method) \(url.path) failed: \(String(decoding: data, as: UTF8.self))")
        }
        return data
    }

    @discardableResult
    func control(_ path: String, _ body: [String: Any]? = nil) async throws -> Data {
        try await Self.request(
            URL(string: "\(fakeURL)/control/\(path)")!, method: body == nil ? "GET" : "POST",
            body: try body.map { try JSONSerialization.data(withJSONObject: $0) })
    }

    func livePolicy() async throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: try await control("policy")) as? [String: Any] ?? [:]
    }

    /// Bindings as a comparable set of "role|condition-title|member" strings.
    static func bindingSet(_ policy: [String: Any]) -> Set<String> {
        var out = Set<String>()
        for binding in policy["bindings"] as? [[String: Any]] ?? [] {
            let role = binding["role"] as? String ?? ""
            let title = (binding["condition"] as? [String: Any])?["title"] as? String ?? ""
            for member in binding["members"] as? [String] ?? [] { out.insert("\(role)|\(title)|\(member)") }
        }
        return out
    }

    var originalPolicy: [String: Any] { (try? JSONSerialization.jsonObject(with: original)) as? [String: Any] ?? [:] }

    struct Call: Decodable {
        var method: String
        var path: String
        var query: String
        var auth: String
        var body: String
    }

    /// Every request the fake saw, in order.
    func calls() -> [Call] {
        let text = (try? String(contentsOf: fakeFolder.appendingPathComponent("calls.jsonl"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Call.self, from: Data($0.utf8)) }
    }

    func calls(_ suffix: String) -> [Call] { calls().filter { $0.path.hasSuffix(suffix) } }

    // MARK: The product

    /// Exactly what the product gets: PATH, an empty HOME, the key file, the fake as every API.
    func environment(credentials: Bool = true) -> [String: String] {
        var environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": home.path,
            "CLOUDSDK_CONFIG": home.appendingPathComponent("gcloud").path,
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS": "\(fakeURL)/",
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_IAM": "\(fakeURL)/",
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING": "\(fakeURL)/",
            "FAKE_URL": fakeURL,
        ]
        if credentials { environment["GOOGLE_APPLICATION_CREDENTIALS"] = keyFile.path }
        return environment
    }

    func start(_ arguments: [String], environment: [String: String]? = nil) throws -> Child {
        try launches.start(arguments, environment: environment ?? self.environment(), directory: work)
    }

    func product(_ arguments: [String], environment: [String: String]? = nil) async throws -> ChildResult {
        try await launches.run(arguments, environment: environment ?? self.environment(), directory: work, bound: .seconds(240))
    }

    func record(_ arguments: [String], _ result: ChildResult) { launches.record(arguments, result) }

    func runArguments(_ runbook: String, _ variables: [String: String] = [:], _ extra: [String] = []) -> [String] {
        var arguments = ["run", runbook, "--yes", "--state-dir", state.path, "--set", "GCP_KEY=\(Self.key)"]
        for (name, value) in variables.sorted(by: { $0.key < $1.key }) { arguments += ["--set", "\(name)=\(value)"] }
        return arguments + extra
    }

    func run(_ runbook: String, _ variables: [String: String] = [:], _ extra: [String] = [], environment: [String: String]? = nil)
        async throws -> ChildResult
    {
        try await product(runArguments(runbook, variables, extra), environment: environment)
    }

    // MARK: Checks

    /// The backup (DESIGN §4): getIamPolicy's answer byte for byte (etag
    /// included), mode 0600, its SHA-256 in the journal.
    @discardableResult
    func expectBackup(_ events: [JournalEvent], sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> String {
        let (written, data) = try expectBackupFile(events, cloud: "gcp", sourceLocation: sourceLocation)
        #expect(data == original, "the backup must be getIamPolicy's answer as returned", sourceLocation: sourceLocation)
        return written.path
    }

    /// Exit 5: applied, a check failed, the backup's bindings restored and verified.
    func expectRolledBack(_ result: ChildResult, sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws {
        #expect(result.exitedNormally && result.status == 5, "\(result)", sourceLocation: sourceLocation)
        #expect(Self.bindingSet(try await livePolicy()) == Self.bindingSet(originalPolicy), "restored", sourceLocation: sourceLocation)
        let (_, events) = try lastRun()
        try expectBackup(events, sourceLocation: sourceLocation)
        let kinds = events.map(\.event)
        for kind in [JournalEvent.Kind.applied, .stepFailed, .rollbackIntent, .rollbackApplied, .rollbackVerified] {
            #expect(kinds.contains(kind), "the journal lacks \(kind.rawValue)", sourceLocation: sourceLocation)
        }
        #expect(events.last?.event == .runFinished && events.last?.exitCode == 5, sourceLocation: sourceLocation)
        #expect(calls(":setIamPolicy").count == 2, "apply and restore", sourceLocation: sourceLocation)
    }

    /// No secret (key material, access token, assertion) in any output or file the runs left.
    func expectSecretsAbsent() {
        let secrets = [keyLine, "ya29.fake-", "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjEifQ", "PRIVATE KEY"]
        Secrets.expectAbsent(secrets, outputs: launches.outputs, folders: [state, work, home])
    }
}

struct ScenarioError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
