import Foundation
import PolicyChange
import RunStore
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One moto_server per suite, prepared by moto_setup.py, started by the
/// suite's first test and killed when the test process exits. Scenarios of
/// the suite share it: each creates a key of its own (the IAM user has kms:*),
/// so they cannot see each other's changes.
final class AWSWorld: Sendable {
    let name: String
    let folder: URL
    let moto: Moto

    var endpoint: String { moto.endpoint }
    var accessKeyID: String { moto.setup.access_key_id }
    var secretAccessKey: String { moto.setup.secret_access_key }
    /// `arn:aws:iam::123456789012:user/sre`
    var userARN: String { moto.setup.user_arn }

    private init(name: String, folder: URL, moto: Moto) {
        self.name = name
        self.folder = folder
        self.moto = moto
    }

    /// The suite's world; every test of the suite gets the same one.
    static func shared(_ name: String, denyPut: Bool = false) async throws -> AWSWorld {
        try await Registry.shared.world(name, denyPut: denyPut)
    }

    private actor Registry {
        static let shared = Registry()
        private var worlds: [String: Task<AWSWorld, any Error>] = [:]

        func world(_ name: String, denyPut: Bool) async throws -> AWSWorld {
            if let started = worlds[name] { return try await started.value }
            let task = Task { try await AWSWorld.start(name: name, denyPut: denyPut) }
            worlds[name] = task
            return try await task.value
        }
    }

    private static func start(name: String, denyPut: Bool) async throws -> AWSWorld {
        _ = try Toolchain.get()
        let folder = try TemporaryFolders.make("pc-aws-world-\(name)")
        let moto = try await Moto.start(in: folder, denyPut: denyPut)
        KnownSecrets.add(moto.setup.secret_access_key)
        return AWSWorld(name: name, folder: folder, moto: moto)
    }

    /// boto3's environment for kms_admin.py: the world's user, straight to moto.
    func adminEnvironment(_ extra: [String: String] = [:]) throws -> [String: String] {
        try toolEnvironment(["AWS_ACCESS_KEY_ID": accessKeyID, "AWS_SECRET_ACCESS_KEY": secretAccessKey].merging(extra) { $1 })
    }
}

/// Temporary folders removed when the test process exits (servers may still
/// be writing logs into them until then).
enum TemporaryFolders {
    private static let folders = Mutex([URL]())
    private static let registered: Void = {
        atexit {
            for folder in TemporaryFolders.folders.withLock({ $0 }) { try? FileManager.default.removeItem(at: folder) }
        }
    }()

    static func make(_ prefix: String) throws -> URL {
        _ = registered
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        folders.withLock { $0.append(folder) }
        return folder
    }
}

/// One test's world: a fresh KMS key in the suite's moto, its own CloudTrail /
/// Access Analyzer fake, optional fault proxies, and a temporary folder:
/// - `work/`: the runbooks (Fixtures/ and the repository's examples/)
/// - `state/`: the state directory (`--state-dir`)
/// - `home/`: HOME for the product: empty, so no ~/.aws of the developer leaks in
/// - `servers/`: the fakes' and proxies' files and logs
final class Scenario: RunFolders, @unchecked Sendable {
    let world: AWSWorld
    let root: URL
    let work: URL
    let state: URL
    let home: URL
    let servers: URL
    let keyARN: String
    /// The key's policy as GetKeyPolicy returned it before the test did anything.
    let original: Data
    let fakes: Fakes
    private let lock = NSLock()
    private var proxies: [FaultProxy] = []
    private let launches = ProductLaunches()
    /// Where the product sends KMS and STS calls: moto, or a proxy in front of it.
    private(set) var kmsEndpoint: String
    /// Where the product sends CloudTrail calls: the fake, or a proxy in front of it.
    private(set) var cloudTrailEndpoint: String

    /// Runs `body` with a new scenario, holding a slot; tears the scenario down
    /// (servers killed, folder removed) however `body` ends.
    static func with<T>(_ world: AWSWorld, keyPolicy: String = "policies/current-key-policy.json", _ body: (Scenario) async throws -> T)
        async throws -> T
    {
        try await Slots.with {
            let scenario = try await Scenario(world: world, keyPolicy: keyPolicy)
            do {
                let value = try await body(scenario)
                scenario.expectSecretAbsent()
                scenario.tearDown()
                return value
            } catch {
                scenario.tearDown()
                throw error
            }
        }
    }

    private init(world: AWSWorld, keyPolicy: String) async throws {
        self.world = world
        root = try TemporaryFolders.make("pc-aws-e2e")
        work = root.appendingPathComponent("work")
        state = root.appendingPathComponent("state")
        home = root.appendingPathComponent("home")
        servers = root.appendingPathComponent("servers")
        for folder in [state, home, servers] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        // The examples first (aws-update.yaml, policies/, snippets/), then the fixtures beside them.
        try FileManager.default.copyItem(at: Toolchain.repository.appendingPathComponent("examples"), to: work)
        try? FileManager.default.removeItem(at: work.appendingPathComponent("backups"))
        try Folders.merge(Bundle.module.url(forResource: "Fixtures", withExtension: nil)!, into: work)

        let created = try await runTool(
            [work.appendingPathComponent("tools/kms_admin.py").path, world.endpoint, "create-key", "--policy", keyPolicy],
            environment: try world.adminEnvironment(), in: work)
        guard created.exitedNormally, created.status == 0,
            let answer = (try? JSONSerialization.jsonObject(with: Data(created.stdout.utf8))) as? [String: String],
            let arn = answer["key_arn"], let policy = answer["policy"]
        else {
            throw ServerError("kms_admin.py create-key failed: \(created)")
        }
        keyARN = arn
        original = Data(policy.utf8)
        fakes = try await Fakes.start(in: servers, accessKeyID: world.accessKeyID, secretAccessKey: world.secretAccessKey)
        kmsEndpoint = world.endpoint
        cloudTrailEndpoint = fakes.endpoint
    }

    func tearDown() {
        let proxies = lock.withLock { self.proxies }
        launches.terminateAll()
        for proxy in proxies { proxy.server.stop() }
        fakes.server.stop()
        try? FileManager.default.removeItem(at: root)
    }

    // MARK: Servers

    /// Puts a fault proxy in front of moto (KMS and STS calls) for every later run.
    @discardableResult
    func proxyKMS(faults: [String] = []) async throws -> FaultProxy {
        let proxy = try await FaultProxy.start(in: servers, name: "kms-proxy", upstream: world.endpoint, faults: faults)
        lock.withLock {
            proxies.append(proxy)
            kmsEndpoint = proxy.endpoint
        }
        return proxy
    }

    /// Puts a fault proxy in front of the CloudTrail fake.
    @discardableResult
    func proxyCloudTrail(faults: [String] = []) async throws -> FaultProxy {
        let proxy = try await FaultProxy.start(in: servers, name: "cloudtrail-proxy", upstream: fakes.endpoint, faults: faults)
        lock.withLock {
            proxies.append(proxy)
            cloudTrailEndpoint = proxy.endpoint
        }
        return proxy
    }

    func setFindings(_ fixture: String) throws {
        try Data(contentsOf: work.appendingPathComponent(fixture)).write(to: fakes.findings, options: .atomic)
    }

    // MARK: The product

    /// Exactly what the product gets: PATH, an empty HOME, the AWS variables.
    func environment(secret: String? = nil, credentials: Bool = true) throws -> [String: String] {
        var environment = [
            "PATH": try Toolchain.get().path,
            "HOME": home.path,
            "AWS_ENDPOINT_URL": kmsEndpoint,
            "AWS_ENDPOINT_URL_CLOUDTRAIL": cloudTrailEndpoint,
            "AWS_ENDPOINT_URL_ACCESSANALYZER": fakes.endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
        ]
        if credentials {
            environment["AWS_ACCESS_KEY_ID"] = world.accessKeyID
            environment["AWS_SECRET_ACCESS_KEY"] = secret ?? world.secretAccessKey
        }
        return environment
    }

    /// Starts `policy-change` in `work/`; torn down with the scenario.
    func start(_ arguments: [String], environment: [String: String]? = nil) throws -> Child {
        try launches.start(arguments, environment: try environment ?? self.environment(), directory: work)
    }

    /// Runs `policy-change` to its end; its output joins the secret scan.
    func product(_ arguments: [String], environment: [String: String]? = nil) async throws -> ChildResult {
        try await launches.run(arguments, environment: try environment ?? self.environment(), directory: work, bound: .seconds(240))
    }

    func record(_ arguments: [String], _ result: ChildResult) { launches.record(arguments, result) }

    /// `run RUNBOOK --yes --state-dir … --set KEY_ARN=…` plus `variables` and `extra`.
    func runArguments(_ runbook: String, _ variables: [String: String] = [:], _ extra: [String] = []) -> [String] {
        var arguments = ["run", runbook, "--yes", "--state-dir", state.path, "--set", "KEY_ARN=\(keyARN)"]
        for (name, value) in variables.sorted(by: { $0.key < $1.key }) { arguments += ["--set", "\(name)=\(value)"] }
        return arguments + extra
    }

    func run(_ runbook: String, _ variables: [String: String] = [:], _ extra: [String] = [], environment: [String: String]? = nil)
        async throws -> ChildResult
    {
        try await product(runArguments(runbook, variables, extra), environment: environment)
    }

    /// The example's timing, shortened: 1 s settle, 3 s of monitoring, a round a second.
    static let exampleTiming = ["SETTLE": "1s", "MONITOR": "3s", "INTERVAL": "1s"]

    // MARK: The key, independently of the product

    /// The live policy, byte for byte as GetKeyPolicy returns it (boto3, straight to moto).
    func livePolicy() async throws -> Data {
        let result = try await runTool(
            [work.appendingPathComponent("tools/kms_admin.py").path, world.endpoint, "get-policy", keyARN],
            environment: try world.adminEnvironment(), in: work)
        guard result.exitedNormally, result.status == 0 else { throw ServerError("kms_admin.py get-policy failed: \(result)") }
        return Data(result.stdout.utf8)
    }

    /// The policy a successful run of the example must leave: the original
    /// with the two Confluent statements appended, worked out here
    /// independently of the product's editing code.
    func proposedPolicy() throws -> Data {
        var policy = try JSONSerialization.jsonObject(with: original) as! [String: Any]
        let snippet = try String(contentsOf: work.appendingPathComponent("snippets/confluent-statements.json"), encoding: .utf8)
        let added = try JSONSerialization.jsonObject(with: Data("[\(snippet)]".utf8)) as! [Any]
        policy["Statement"] = (policy["Statement"] as! [Any]) + added
        return try JSONSerialization.data(withJSONObject: policy, options: [.sortedKeys])
    }

    func file(_ name: String) throws -> Data { try Data(contentsOf: work.appendingPathComponent(name)) }

    // MARK: Secrets

    /// The secret access key appears in no output of the product and in no
    /// file the runs left (journals, plans, reports, backups, command logs).
    /// Failure messages name the place, never the text.
    func expectSecretAbsent(_ secrets: [String] = []) {
        Secrets.expectAbsent([world.secretAccessKey] + secrets, what: "a secret access key", outputs: launches.outputs, folders: [state, work, home])
    }
}
