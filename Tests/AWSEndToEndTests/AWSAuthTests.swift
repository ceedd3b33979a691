import Foundation
import PolicyChange
import Testing

/// Credentials and permissions as moto enforces them (DESIGN.md §8, §9): a
/// wrong secret fails SigV4, a user denied kms:PutKeyPolicy is refused, no
/// credentials at all is a clear error. Each stops before apply (exit 4).
@Suite("AWS end to end: credentials and permissions")
struct AWSAuthTests {
    func world() async throws -> AWSWorld { try await AWSWorld.shared("auth") }

    @Test("A wrong secret access key: exit 4, the signature error shown, neither secret printed or stored")
    func wrongSecret() async throws {
        try await Scenario.with(try await world()) { s in
            let wrong = "wrong" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
            KnownSecrets.add(wrong)
            let result = try await s.run("quick.yaml", [:], [], environment: try s.environment(secret: wrong))
            try await s.expectUntouched(result, status: 4)
            #expect(result.output.contains("SignatureDoesNotMatch") || result.output.contains("InvalidSignatureException"), "\(result)")
            #expect(result.output.contains("secret access key"), "the message should point at the secret: \(result)")
            #expect(!result.output.contains("internal error"), "\(result)")
            s.expectNoBackup()
            s.expectSecretAbsent([wrong])
        }
    }

    /// moto evaluates the user's IAM policy on every KMS call (moto 5.2.1:
    /// the explicit Deny of kms:PutKeyPolicy is enforced, 403 AccessDenied in
    /// the query protocol's XML), so the refusal comes at the write itself.
    @Test("A user denied kms:PutKeyPolicy: exit 4, AccessDenied naming PutKeyPolicy, the policy untouched")
    func putKeyPolicyDenied() async throws {
        let world = try await AWSWorld.shared("deny-put", denyPut: true)
        try await Scenario.with(world) { s in
            let result = try await s.run("quick.yaml")
            #expect(result.exitedNormally && result.status == 4, "\(result)")
            #expect(try await s.livePolicy() == s.original, "the policy must be untouched")
            let line = try #require(
                result.lines.first { $0.contains("PutKeyPolicy") && $0.contains("denied") }, "no line names the denied PutKeyPolicy: \(result)")
            #expect(line.contains("kms:PutKeyPolicy") || line.contains("AccessDenied"), "\(line)")
            let (_, events) = try s.lastRun()
            try s.expectBackup(events)
            #expect(events.contains { $0.event == .stepFailed && $0.name == "apply" && $0.outcome == "not-applied" }, "\(events.map(\.event.rawValue))")
            #expect(!events.contains { $0.event == .applied })
        }
    }

    @Test("No credentials anywhere: exit 4 and one line naming every place looked in")
    func missingCredentials() async throws {
        try await Scenario.with(try await world()) { s in
            let result = try await s.run("quick.yaml", [:], [], environment: try s.environment(credentials: false))
            try await s.expectUntouched(result, status: 4)
            let line = try #require(result.lines.first { $0.contains("no AWS credentials") }, "\(result)")
            for place in ["AWS_ACCESS_KEY_ID", "\(s.home.path)/.aws/credentials", "\(s.home.path)/.aws/config"] {
                #expect(line.contains(place), "the error should name \(place): \(line)")
            }
            #expect(result.lines.filter { $0.contains("no AWS credentials") }.count == 1, "one line, not repeated: \(result)")
            #expect(!result.output.contains("internal error"), "\(result)")
            s.expectNoBackup()
        }
    }
}
