import Foundation
import PolicyChange
import Testing

/// scripts/aws/fault_proxy.py between the product and moto / the CloudTrail
/// fake (DESIGN.md §9 "Faults"), and `plan`'s promise of no write call.
@Suite("AWS end to end: faults and plan")
struct AWSFaultTests {
    func world() async throws -> AWSWorld { try await AWSWorld.shared("faults") }

    /// Faults for the proxy in front of moto and for the one in front of the
    /// CloudTrail fake. Counts stay under the retry policy's 5 attempts.
    struct Faults: Sendable, CustomTestStringConvertible {
        var kms: [String]
        var cloudTrail: [String]
        var testDescription: String { (kms + cloudTrail).joined(separator: ", ") }
    }

    static let faults: [Faults] = [
        // Throttling as KMS sends it (HTTP 400 ThrottlingException), 429, and 503 before moto sees the call.
        Faults(
            kms: ["DescribeKey=503:2", "GetKeyPolicy=throttle:2", "GetCallerIdentity=throttle:1", "PutKeyPolicy=429:1"],
            cloudTrail: ["LookupEvents=503:1"]),
        // 500s, and a PutKeyPolicy that takes effect but is answered 503.
        Faults(
            kms: ["DescribeKey=429:2", "GetKeyPolicy=500:1", "PutKeyPolicy=applied-503:1", "GetCallerIdentity=503:1"],
            cloudTrail: ["LookupEvents=throttle:2"]),
        // Connections reset before an answer (RST, no HTTP response at all).
        Faults(
            kms: ["DescribeKey=reset:1", "GetKeyPolicy=reset:1", "PutKeyPolicy=reset:1"],
            cloudTrail: ["LookupEvents=reset:1"]),
    ]

    @Test("Throttling, 5xx and resets are retried: the run completes with exit 0", arguments: faults)
    func retriesThroughFaults(_ faults: Faults) async throws {
        try await Scenario.with(try await world()) { s in
            let kms = try await s.proxyKMS(faults: faults.kms)
            let cloudTrail = try await s.proxyCloudTrail(faults: faults.cloudTrail)
            let result = try await s.run("aws-update.yaml", Scenario.exampleTiming)
            #expect(result.exitedNormally && result.status == 0, "\(result)")
            #expect(Inspect.sameJSON(try await s.livePolicy(), try s.proposedPolicy()))
            let (_, events) = try s.lastRun()
            try s.expectBackup(events)
            #expect(events.contains { $0.event == .check && $0.name == "caller" && $0.message == s.world.userARN },
                    "GetCallerIdentity must succeed after its fault")
            #expect(!events.contains { $0.event == .rollbackIntent })

            // Every fault was served, and each operation then got through.
            for (proxy, specs) in [(kms, faults.kms), (cloudTrail, faults.cloudTrail)] {
                let requests = proxy.requests()
                for spec in specs {
                    let operation = String(spec.prefix { $0 != "=" })
                    let count = Int(spec.split(separator: ":").last!)!
                    let seen = requests.filter { $0.operation == operation }
                    #expect(seen.filter { $0.injected != nil }.count == count, "\(operation): \(seen.map { $0.injected ?? "-" })")
                    #expect(seen.contains { $0.injected == nil && $0.status == 200 }, "\(operation) never got through: \(seen)")
                }
            }
        }
    }

    @Test("plan reads the live policy and makes no write call, in text, markdown and json")
    func planMakesNoWrite() async throws {
        try await Scenario.with(try await world()) { s in
            let proxy = try await s.proxyKMS()
            let sids = [
                "Allow Confluent account(s) (152535741197) to use the key",
                "Allow Confluent account(s) (152535741197) to attach persistent resources",
            ]
            let base = ["plan", "aws-update.yaml", "--set", "KEY_ARN=\(s.keyARN)"]
                + Scenario.exampleTiming.sorted { $0.key < $1.key }.flatMap { ["--set", "\($0.key)=\($0.value)"] }

            let text = try await s.product(base)
            #expect(text.exitedNormally && text.status == 0, "\(text)")
            for sid in sids { #expect(text.stdout.contains(sid), "\(text.stdout)") }
            #expect(text.stdout.contains("added"))
            #expect(text.stdout.contains("caller: \(s.world.userARN)"), "\(text.stdout)")

            let markdown = try await s.product(base + ["--format", "markdown"])
            #expect(markdown.exitedNormally && markdown.status == 0, "\(markdown)")
            #expect(markdown.stdout.hasPrefix("## "), "\(markdown.stdout)")
            #expect(markdown.stdout.contains("```diff"))
            #expect(markdown.stdout.contains("| Verdict | **pass** |"))
            for sid in sids { #expect(markdown.stdout.contains(sid)) }

            let json = try await s.product(base + ["--format", "json"])
            #expect(json.exitedNormally && json.status == 0, "\(json)")
            let document = try #require(Inspect.jsonObject(json.stdout), "\(json.stdout)")
            #expect(document["schema"] as? String == "policy-change/plan@1")
            let plan = try #require(document["plan"] as? [String: Any])
            #expect(plan["noChanges"] as? Bool == false)
            #expect(plan["verdict"] as? String == "pass")
            #expect(plan["key"] as? String == s.keyARN)
            let entries = (plan["changes"] as? [String: Any])?["entries"] as? [[String: Any]] ?? []
            let added = entries.filter { $0["kind"] as? String == "added" }.compactMap { $0["subject"] as? String }
            for sid in sids {
                #expect(added.contains { $0.contains(sid) }, "statements added must be listed: \(entries)")
            }

            let operations = proxy.requests().map(\.operation)
            #expect(operations.filter { $0 == "GetKeyPolicy" }.count == 3, "each plan reads the live policy: \(operations)")
            #expect(!operations.contains("PutKeyPolicy"), "plan must make no write call: \(operations)")
            #expect(try await s.livePolicy() == s.original)
            #expect(s.runIDs().isEmpty, "plan starts no run")
        }
    }
}
