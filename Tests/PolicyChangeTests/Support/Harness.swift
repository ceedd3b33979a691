import Foundation
import PolicyChange
import Testing

/// Policy files under `Fixtures/`.
enum Fixtures {
    static func url(_ name: String) -> URL {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            fatalError("no fixture \(name)")
        }
        return url
    }

    static func data(_ name: String) -> Data {
        guard let data = try? Data(contentsOf: url(name)) else { fatalError("cannot read fixture \(name)") }
        return data
    }

    static func text(_ name: String) -> String { String(decoding: data(name), as: UTF8.self) }

    /// As the runbook loader hands a referenced file to the core.
    static func file(_ name: String) -> AttachedFile { AttachedFile(path: url(name).path, contents: data(name)) }

    static func snapshot(_ name: String) -> PolicySnapshot { PolicySnapshot(document: data(name)) }

    /// The AWS default key policy (only the account's `:root` statement).
    static var defaultPolicy: PolicySnapshot { snapshot("default-key-policy.json") }
    /// The default policy plus Confluent's two statements.
    static var withConfluent: PolicySnapshot { snapshot("key-policy-with-confluent.json") }
}

/// The runbooks the engine tests run: Confluent's documented change to an
/// AWS key (shared/seeds/000_6ca2e646aeec9a3f.txt).
enum TestRunbooks {
    static let keyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    static let target = Target.aws(AWSTarget(key: keyARN, region: "us-east-1"))
    static let caller = "arn:aws:iam::111122223333:role/admin"
    static let confluentRole = "arn:aws:iam::152535741197:role/cc-kafka-d45e6381-b878-11ed-bdff-028e28f108bd"
    /// 2026-11-28T02:30:00Z: inside `window`.
    static let start = Date(timeIntervalSince1970: 1_795_833_000)
    static let window = MaintenanceWindow(
        start: Date(timeIntervalSince1970: 1_795_831_200), end: Date(timeIntervalSince1970: 1_795_838_400))

    static let confluentRequirement = Requirement(principal: confluentRole, preset: .confluent)

    /// Adds Confluent's two statements, as pasted from the console, and requires them.
    static func addConfluent(
        steps: [Step] = Step.defaultProcedure, rollback: RollbackPolicy = RollbackPolicy(),
        window: MaintenanceWindow? = nil
    ) -> Runbook {
        Runbook(
            name: "add-confluent", changeTicket: "CHG-1234", target: target,
            change: [.addStatements(Fixtures.file("confluent-snippet-commas.txt"))],
            require: [confluentRequirement], window: window, steps: steps, rollback: rollback,
            source: "/runbooks/add-confluent.yaml")
    }

    /// backup, validate, approve, apply, then `after`.
    static func steps(then after: [Step]) -> [Step] {
        [Step(.backup(BackupStep())), Step(.validate(ValidateStep())), Step(.approve), Step(.apply)] + after
    }

    static func verify(_ checks: [Check], inconclusiveLimit: Int = 3) -> Step {
        Step(.verify(VerifyStep(checks: checks, inconclusiveLimit: inconclusiveLimit, interval: .seconds(10))))
    }

    static func monitor(
        _ checks: [Check], rounds: Int = 5, failures: Int = 1, inconclusive: Int = 3, options: StepOptions = StepOptions()
    ) -> Step {
        Step(
            .monitor(MonitorStep(
                duration: .seconds(60 * rounds), interval: .seconds(60), failures: failures, inconclusive: inconclusive,
                checks: checks)),
            options: options)
    }

    static let healthCheck = HTTPCheck(
        url: "https://api.confluent.cloud/cmk/v2/clusters/lkc-123?environment=env-1",
        headers: ["Authorization": "Basic c2VjcmV0LWFwaS1rZXk6c2VjcmV0LXZhbHVl"],
        expectJSON: ["status.phase": .string("PROVISIONED")])
}

/// One run's world: the key, the storage, the clock and the people.
struct Harness {
    var runbook: Runbook
    let provider: FakeKeyPolicyProvider
    let storage: MemoryRunStorage
    let clock: VirtualClock
    var approver: ScriptedApprover
    var probes: ScriptedProbes
    var auditLog: FakeAuditLog?
    let observer = RecordingObserver()
    let interruption = Interruption()
    var ignoreWindow = false

    static let runID = "20261128T023000Z-add-confluent-0a1b"

    init(
        runbook: Runbook = TestRunbooks.addConfluent(), policy: PolicySnapshot = Fixtures.defaultPolicy,
        approver: ScriptedApprover = ScriptedApprover(), probes: ScriptedProbes = ScriptedProbes(),
        auditLog: FakeAuditLog? = FakeAuditLog(), storage: MemoryRunStorage = MemoryRunStorage(),
        clock: VirtualClock = VirtualClock()
    ) {
        self.runbook = runbook
        self.provider = FakeKeyPolicyProvider(policy: policy)
        self.storage = storage
        self.clock = clock
        self.approver = approver
        self.probes = probes
        self.auditLog = auditLog
    }

    var context: RunContext {
        RunContext(
            provider: provider, dialect: AWSKeyPolicyDialect(), auditLog: auditLog, storage: storage, clock: clock,
            approver: approver, probes: probes, observer: observer, interruption: interruption)
    }

    /// A new engine over the same key and storage (a new process after a restart).
    func engine(runbook: Runbook? = nil) -> RunEngine {
        RunEngine(
            runbook: runbook ?? self.runbook, context: context,
            settings: RunSettings(
                runID: Self.runID, runbookSHA256: String(repeating: "ab", count: 32), ignoreWindow: ignoreWindow,
                toolVersion: "0.0.0-test", commandEnvironment: ["POLICY_CHANGE_STATE_DIR": "/state"]))
    }

    func run() async -> RunResult { await engine().run() }

    /// The proposed policy this runbook makes of `policy`.
    func proposed(from policy: PolicySnapshot = Fixtures.defaultPolicy) throws -> PolicySnapshot {
        try AWSKeyPolicyDialect().proposedPolicy(from: policy, applying: runbook.change)
    }

    func isLive(_ snapshot: PolicySnapshot) -> Bool {
        AWSKeyPolicyDialect().isEquivalent(provider.policy, snapshot)
    }

    var kinds: [JournalEvent.Kind] { storage.kinds }

    /// The journal without step boundaries and check results: the actions.
    var actions: [JournalEvent.Kind] {
        storage.kinds.filter { ![.stepStarted, .stepFinished, .check].contains($0) }
    }

    func count(_ kind: JournalEvent.Kind) -> Int { storage.kinds.filter { $0 == kind }.count }

    var finished: JournalEvent? { storage.events.last { $0.event == .runFinished } }
}

extension Array where Element == JournalEvent.Kind {
    /// Whether `kinds` appear in this order (other events may come between).
    func containsInOrder(_ kinds: [JournalEvent.Kind]) -> Bool {
        var rest = kinds[...]
        for kind in self where kind == rest.first {
            rest = rest.dropFirst()
            if rest.isEmpty { return true }
        }
        return rest.isEmpty
    }
}
