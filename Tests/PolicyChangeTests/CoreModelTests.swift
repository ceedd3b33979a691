import Foundation
import PolicyChange
import Testing

/// The small pieces other people's code and scripts depend on: exit codes,
/// durations as runbooks spell them, verdicts, windows, plans.
@Suite("Core: exit statuses, durations, verdicts, plans")
struct CoreModelTests {
    @Test("exit codes are the documented numbers (DESIGN.md §6)")
    func exitCodes() {
        let codes = Dictionary(uniqueKeysWithValues: ExitStatus.allCases.map { ($0, $0.rawValue) })
        #expect(codes == [
            .success: 0, .internalError: 1, .invalidInput: 2, .validationFailed: 3, .stoppedBeforeApply: 4,
            .rolledBack: 5, .needsHuman: 6, .usage: 64,
        ])
    }

    @Test("durations parse as runbooks spell them", arguments: [
        ("500ms", 500), ("30s", 30_000), ("1m", 60_000), ("2h", 7_200_000), ("1h30m", 5_400_000),
        ("1.5h", 5_400_000), ("1d", 86_400_000), ("1m30s500ms", 90_500), ("0s", 0),
    ] as [(String, Int64)])
    func parseDurations(_ text: String, _ milliseconds: Int64) {
        #expect(DurationText.parse(text)?.milliseconds == milliseconds)
    }

    @Test("durations that are not valid are refused", arguments: [
        "", "30", "m", "30x", "30m1h", "1m1m", "-1s", "1 h", "1h ", "400d", "1..5s", ".s",
    ])
    func refuseDurations(_ text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test("durations format in their shortest spelling and read back", arguments: [
        (Duration.seconds(30), "30s"), (.seconds(60), "1m"), (.seconds(5400), "1h30m"), (.milliseconds(200), "200ms"),
        (.zero, "0s"), (.milliseconds(90_061_001), "1d1h1m1s1ms"),
    ])
    func formatDurations(_ duration: Duration, _ text: String) {
        #expect(DurationText.format(duration) == text)
        #expect(DurationText.parse(text) == duration)
    }

    @Test("the verdict fails on errors and security warnings; with fail-on: warning, on warnings too")
    func verdicts() {
        func finding(_ severity: Severity) -> Finding { Finding(code: "X", severity: severity, message: "m") }
        #expect(Verdict(findings: []) == .pass)
        #expect(Verdict(findings: [finding(.suggestion), finding(.warning)]) == .pass)
        #expect(Verdict(findings: [finding(.securityWarning)]) == .fail)
        #expect(Verdict(findings: [finding(.error)]) == .fail)
        #expect(Verdict(findings: [finding(.warning)], failOn: .warning) == .fail)
        #expect(Verdict(findings: [finding(.suggestion)], failOn: .warning) == .pass)
        #expect(Severity.allCases.sorted() == [.suggestion, .warning, .securityWarning, .error])
    }

    @Test("a maintenance window includes its start and excludes its end")
    func window() {
        let window = TestRunbooks.window
        #expect(window.contains(window.start))
        #expect(window.contains(window.end.addingTimeInterval(-1)))
        #expect(!window.contains(window.end))
        #expect(!window.contains(window.start.addingTimeInterval(-1)))
    }

    @Test("a requirement's actions are its own plus its preset's, each once, in order")
    func effectiveActions() {
        let requirement = Requirement(principal: TestRunbooks.confluentRole, actions: ["kms:Decrypt", "kms:Sign"], preset: .confluent)
        #expect(requirement.effectiveActions(for: .aws) == [
            "kms:Decrypt", "kms:Sign", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
            "kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant",
        ])
    }

    @Test("a plan shows the change and the steps, never an http check's headers or query string")
    func plan() throws {
        let runbook = TestRunbooks.addConfluent(steps: TestRunbooks.steps(then: [
            TestRunbooks.monitor([.http(TestRunbooks.healthCheck)], rounds: 30),
        ]))
        let (plan, proposed) = try Planner.plan(
            runbook: runbook, current: Fixtures.defaultPolicy, caller: TestRunbooks.caller, dialect: AWSKeyPolicyDialect())
        #expect(!plan.noChanges)
        #expect(plan.verdict == .pass)
        #expect(plan.changeTicket == "CHG-1234")
        #expect(plan.proposedPolicy == proposed.text)
        #expect(plan.steps.last == "monitor for 30m every 1m: http GET https://api.confluent.cloud/cmk/v2/clusters/lkc-123 "
            + "expects 200 (roll back after 1 failed round)")
        let text = plan.steps.joined(separator: "\n")
        #expect(!text.contains("environment=") && !text.contains("Basic") && !text.contains("c2VjcmV0"))
    }

    @Test("an AWS plan carries what each principal gains and loses; the vendor's role gains its actions")
    func planAccess() throws {
        let runbook = TestRunbooks.addConfluent()
        let (plan, proposed) = try Planner.plan(
            runbook: runbook, current: Fixtures.defaultPolicy, caller: TestRunbooks.caller, dialect: AWSKeyPolicyDialect())
        let access = try #require(plan.access)
        #expect(access == AWSKeyPolicyDialect().accessChanges(
            from: Fixtures.defaultPolicy, to: proposed, keyIdentifier: runbook.target.keyIdentifier))
        let role = try #require(access.first { $0.principal == TestRunbooks.confluentRole })
        #expect(role.gained.contains("kms:Decrypt") && role.gained.contains("kms:CreateGrant"))
        #expect(role.lost.isEmpty)
        let (unchanged, _) = try Planner.plan(
            runbook: runbook, current: Fixtures.withConfluent, caller: nil, dialect: AWSKeyPolicyDialect())
        #expect(unchanged.access == [])
    }

    @Test("a plan of a runbook already applied says so")
    func planNoChanges() throws {
        let (plan, _) = try Planner.plan(
            runbook: TestRunbooks.addConfluent(), current: Fixtures.withConfluent, caller: nil, dialect: AWSKeyPolicyDialect())
        #expect(plan.noChanges)
        #expect(plan.changes.isEmpty)
    }
}
