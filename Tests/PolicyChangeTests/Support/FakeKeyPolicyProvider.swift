import Foundation
import PolicyChange
import Synchronization

/// An in-memory key: one policy document, counters of reads and writes, and
/// hooks that let a test make "someone else" edit the policy, or make the
/// cloud fail, at a chosen moment.
final class FakeKeyPolicyProvider: KeyPolicyProvider {
    /// Where a read or a write stands in the run, for hooks deciding when to act.
    struct Moment: Sendable {
        /// 1-based number of this read (or write attempt) since the provider was made.
        var number: Int
        /// Successful writes so far (before this call).
        var writes: Int
        /// Reads since the last successful write, this one included.
        var readsSinceWrite: Int
    }

    typealias ReadHook = @Sendable (Moment, FakeKeyPolicyProvider) async throws -> Void
    typealias WriteHook = @Sendable (Moment, PolicySnapshot, FakeKeyPolicyProvider) async throws -> Void
    typealias DescribeHook = @Sendable () async throws -> Void

    private struct State {
        var policy: PolicySnapshot
        var enabled = true
        var reads = 0
        var readsSinceWrite = 0
        var writeAttempts = 0
        var written: [PolicySnapshot] = []
        var describes = 0
        var beforeRead: ReadHook?
        var beforeWrite: WriteHook?
        var afterWrite: WriteHook?
        var onDescribe: DescribeHook?
    }

    private let state: Mutex<State>
    let target: Target
    let caller: String?

    init(policy: PolicySnapshot, target: Target = TestRunbooks.target, caller: String? = TestRunbooks.caller) {
        state = Mutex(State(policy: policy))
        self.target = target
        self.caller = caller
    }

    // MARK: What happened

    var policy: PolicySnapshot { state.withLock { $0.policy } }
    var reads: Int { state.withLock { $0.reads } }
    /// Successful writes.
    var writes: Int { state.withLock { $0.written.count } }
    var written: [PolicySnapshot] { state.withLock { $0.written } }
    var describes: Int { state.withLock { $0.describes } }

    // MARK: Steering

    /// Someone else (the console, another tool) sets the policy.
    func setPolicyBySomeoneElse(_ policy: PolicySnapshot) { state.withLock { $0.policy = policy } }
    func setEnabled(_ enabled: Bool) { state.withLock { $0.enabled = enabled } }
    func beforeRead(_ hook: ReadHook?) { state.withLock { $0.beforeRead = hook } }
    func beforeWrite(_ hook: WriteHook?) { state.withLock { $0.beforeWrite = hook } }
    func afterWrite(_ hook: WriteHook?) { state.withLock { $0.afterWrite = hook } }
    func onDescribe(_ hook: DescribeHook?) { state.withLock { $0.onDescribe = hook } }

    // MARK: KeyPolicyProvider

    func describeKey() async throws -> KeyDescription {
        let (hook, enabled) = state.withLock { state in
            state.describes += 1
            return (state.onDescribe, state.enabled)
        }
        try await hook?()
        return KeyDescription(
            identifier: target.keyIdentifier, enabled: enabled, state: enabled ? "Enabled" : "Disabled",
            region: "us-east-1", owner: "111122223333")
    }

    func readPolicy() async throws -> PolicySnapshot {
        let (moment, hook) = state.withLock { state in
            state.reads += 1
            state.readsSinceWrite += 1
            return (Moment(number: state.reads, writes: state.written.count, readsSinceWrite: state.readsSinceWrite), state.beforeRead)
        }
        try await hook?(moment, self)
        return state.withLock { $0.policy }
    }

    func writePolicy(_ proposed: PolicySnapshot, replacing expectedCurrent: PolicySnapshot) async throws {
        let (moment, before) = state.withLock { state in
            state.writeAttempts += 1
            return (Moment(number: state.writeAttempts, writes: state.written.count, readsSinceWrite: state.readsSinceWrite), state.beforeWrite)
        }
        try await before?(moment, proposed, self)
        // The contract: write only while the live policy is still what the caller read.
        let after = try state.withLock { state -> WriteHook? in
            guard state.policy.document == expectedCurrent.document else {
                throw ProviderError.concurrentModification("the key policy changed since it was read")
            }
            state.policy = proposed
            state.written.append(proposed)
            state.readsSinceWrite = 0
            return state.afterWrite
        }
        try await after?(moment, proposed, self)
    }

    func callerIdentity() async throws -> String? { caller }
}

/// Waits until the task is cancelled (a probe or approver that hangs but, as
/// every well-behaved async function, gives up when cancelled).
func hangUntilCancelled() async {
    try? await Task.sleep(for: .seconds(3600))
}
