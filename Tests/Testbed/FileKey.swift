import Foundation
import PolicyChange
import PolicyChangeCLI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The testbed's "cloud": one AWS KMS key kept in files under
/// `$POLICY_CHANGE_TESTBED_DIR`, so the end-to-end and crash tests can look at
/// (and tamper with) the live policy between and during runs.
///
/// - `policy.json`: the live key policy, as GetKeyPolicy would return it.
/// - `key-state`: optional; the key's state word (`Enabled` when absent).
/// - `audit.jsonl`: access-denied events the tests inject, one JSON object per
///   line: `{"time": ISO8601, "errorCode": "AccessDenied", "principal": "…", "action": "kms:Decrypt"}`.
/// - `write-calls`: one line appended per `writePolicy` call, so a test can
///   prove that `plan` makes no write call at all.
enum TestbedEnvironment {
    static let directory = "POLICY_CHANGE_TESTBED_DIR"
    static let killAfter = "POLICY_CHANGE_TESTBED_KILL_AFTER"
    static let killInWrite = "POLICY_CHANGE_TESTBED_KILL_IN_WRITE"
}

struct FileKeyFactory: ProviderFactory {
    func connect(to target: Target, context: AdapterContext) throws -> CloudConnection {
        guard case .aws = target else {
            throw ProviderError(.unsupported, "the testbed only fakes AWS keys; this runbook targets \(target.cloud)")
        }
        guard let folder = context.environment[TestbedEnvironment.directory], !folder.isEmpty else {
            throw ProviderError(
                .credentials,
                "the testbed keeps its key in files: set \(TestbedEnvironment.directory) to a folder holding policy.json")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ProviderError(.credentials, "\(TestbedEnvironment.directory)=\(folder) is not a folder")
        }
        let killInWrite = context.environment[TestbedEnvironment.killInWrite].flatMap(FileKeyProvider.KillPoint.init(rawValue:))
        let provider = FileKeyProvider(target: target, folder: folder, killInWrite: killInWrite)
        return CloudConnection(provider: provider, auditLog: FileAuditLog(folder: folder), dialect: AWSKeyPolicyDialect())
    }
}

struct FileKeyProvider: KeyPolicyProvider {
    enum KillPoint: String {
        /// SIGKILL inside `writePolicy`, after the concurrency check, before the file changes.
        case before
        /// SIGKILL inside `writePolicy`, right after the new policy is renamed into place.
        case after
    }

    let target: Target
    let folder: String
    let killInWrite: KillPoint?

    static let caller = "arn:aws:iam::111122223333:user/testbed"

    var policyPath: String { "\(folder)/policy.json" }

    func describeKey() async throws -> KeyDescription {
        let stateWord = (try? String(contentsOfFile: "\(folder)/key-state", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let state = stateWord.flatMap { $0.isEmpty ? nil : $0 } ?? "Enabled"
        return KeyDescription(
            identifier: target.keyIdentifier, enabled: state == "Enabled", state: state, region: "us-east-1",
            owner: "111122223333")
    }

    func readPolicy() async throws -> PolicySnapshot {
        guard let data = FileManager.default.contents(atPath: policyPath) else {
            throw ProviderError(.notFound, "the testbed key has no policy: \(policyPath) is missing", serviceCode: "NotFoundException")
        }
        return PolicySnapshot(document: data)
    }

    func writePolicy(_ proposed: PolicySnapshot, replacing expectedCurrent: PolicySnapshot) async throws {
        appendLine("\(Date()) writePolicy", to: "\(folder)/write-calls")
        // Like the AWS adapter: re-read just before the write and refuse if
        // someone else changed the policy meanwhile.
        let live = try await readPolicy()
        guard AWSKeyPolicyDialect().isEquivalent(live, expectedCurrent) else {
            throw ProviderError.concurrentModification(
                "the testbed key's policy changed since it was read (\(policyPath) differs from what the run expected)")
        }
        if killInWrite == .before { kill(getpid(), SIGKILL) }
        try Self.writeAtomically(proposed.document, to: policyPath)
        if killInWrite == .after { kill(getpid(), SIGKILL) }
    }

    func callerIdentity() async throws -> String? { Self.caller }

    /// Temporary file in the same folder, fsync, rename over the target, fsync
    /// the folder: a reader (or a crash) sees the old policy or the new one.
    static func writeAtomically(_ data: Data, to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temporary = "\(folder)/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("create \(temporary)") }
        var ok = data.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            let error = failure("write \(path)")
            unlink(temporary)
            throw error
        }
        let directory = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    static func failure(_ what: String) -> ProviderError {
        ProviderError(.other, "testbed: cannot \(what): \(String(cString: strerror(errno)))")
    }

    func appendLine(_ line: String, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
    }
}

/// `audit.jsonl` as the key's audit log. Tests inject events before the run
/// starts, stamped in the future, so they count as "since apply" whenever
/// apply happens: only `since` filters, `until` is ignored on purpose.
struct FileAuditLog: AuditLogSource {
    let folder: String

    func accessDeniedEvents(since: Date, until: Date, check: AuditLogCheck) async throws -> [AuditEvent] {
        let path = "\(folder)/audit.jsonl"
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var events: [AuditEvent] = []
        for (number, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                let timeText = object["time"] as? String,
                let time = JournalCoding.parseTimestamp(timeText)
            else {
                throw ProviderError(.invalidResponse, "testbed: \(path):\(number + 1) is not an audit event")
            }
            guard time >= since else { continue }
            events.append(AuditEvent(
                time: time, principal: object["principal"] as? String, action: object["action"] as? String,
                errorCode: object["errorCode"] as? String ?? "AccessDenied", id: "testbed-\(number + 1)"))
        }
        return events
    }
}
