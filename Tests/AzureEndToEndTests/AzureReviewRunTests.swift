import Foundation
import PolicyChange
import Testing

/// Review findings, end to end against the Azure conformance fake.
@Suite("Azure end to end: review")
struct AzureReviewRunTests {
    typealias S = AzureScenario

    @Test("The 2nd of 2 deltas fails (403): the engine rolls back the 1st by inverse deltas from the live vault, exit 5")
    func writeFailsPartWay() async throws {
        let scenario = S.accessPolicyScenario()
        try await S.with(scenario) { s in
            let before = S.entries(try await s.liveVault())
            // accessPolicies/add (the service) lands; accessPolicies/remove (OTHER) is refused once.
            try await s.control("inject", ["match": "/accessPolicies/remove", "method": "PUT", "status": 403, "count": 1])
            let result = try await s.run("verify-fails.yaml")
            #expect(result.exitedNormally && result.status == 5, "\(result)")
            #expect(S.entries(try await s.liveVault()) == before)
            let ops = s.writes().map { $0["operation"] as? String ?? "" }
            #expect(ops == ["accessPolicies/add", "injected", "accessPolicies/remove"], "apply part-way, then the inverse of what landed: \(ops)")
            s.expectNoWholeWrites()
            let (_, events) = try s.lastRun()
            for kind in [JournalEvent.Kind.rollbackIntent, .rollbackApplied, .rollbackVerified] {
                #expect(events.contains { $0.event == kind }, "\(events.map(\.event.rawValue))")
            }
        }
    }
}
