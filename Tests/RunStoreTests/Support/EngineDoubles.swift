import Foundation
import PolicyChange
import Synchronization

// Small doubles for running the engine against the real file storage. (The
// full set, with hooks, lives in PolicyChangeTests/Support; test targets
// cannot share code without a target of their own.)

final class DiskTestProvider: KeyPolicyProvider {
    private let state: Mutex<(policy: PolicySnapshot, writes: Int)>
    let target: Target

    init(policy: PolicySnapshot, target: Target) {
        state = Mutex((policy, 0))
        self.target = target
    }

    var policy: PolicySnapshot { state.withLock { $0.policy } }
    var writes: Int { state.withLock { $0.writes } }
    func set(_ policy: PolicySnapshot) { state.withLock { $0.policy = policy } }

    func describeKey() async throws -> KeyDescription {
        KeyDescription(identifier: target.keyIdentifier, enabled: true, state: "Enabled")
    }

    func readPolicy() async throws -> PolicySnapshot { policy }

    func writePolicy(_ proposed: PolicySnapshot, replacing expectedCurrent: PolicySnapshot) async throws {
        try state.withLock { state in
            guard state.policy.document == expectedCurrent.document else {
                throw ProviderError.concurrentModification("the key policy changed since it was read")
            }
            state.policy = proposed
            state.writes += 1
        }
    }

    func callerIdentity() async throws -> String? { "arn:aws:iam::111122223333:role/admin" }
}

final class DiskTestClock: RunClock {
    private let current = Mutex(Date(timeIntervalSince1970: 1_795_833_000))
    func now() -> Date { current.withLock { $0 } }
    func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        current.withLock { $0 = $0.addingTimeInterval(duration.seconds) }
        await Task.yield()
    }
}

struct AlwaysApprove: Approver {
    func approve(_ plan: RunPlan) async -> Approval { .approved(by: "tester (--yes)") }
}

struct PassingProbes: ExternalProbes {
    func http(_ check: HTTPCheck) async -> CheckOutcome { .passed("HTTP 200") }
    func command(_ command: CommandSpec, environment: [String: String]) async -> CommandOutcome { .exited(0, output: "") }
}

struct SilentObserver: RunObserver {
    func progress(_ event: ProgressEvent) {}
}
