import Foundation

/// What a run would do, computed without writing anything. `plan`, `run
/// --dry-run` and the approve step all show this.
public enum Planner {
    /// Proposes, analyses and describes the change against `current`.
    public static func plan(
        runbook: Runbook, current: PolicySnapshot, caller: String?, dialect: any PolicyDialect
    ) throws(PolicyEditError) -> (plan: RunPlan, proposed: PolicySnapshot) {
        let proposed = try dialect.proposedPolicy(from: current, applying: runbook.change)
        let findings = dialect.analyze(AnalysisRequest(
            current: current, proposed: proposed, requirements: runbook.require, caller: caller,
            keyIdentifier: runbook.target.keyIdentifier, proposedFile: proposedFile(of: runbook),
            bypassLockoutSafetyCheck: runbook.requestsLockoutBypass))
        return (plan(runbook: runbook, current: current, proposed: proposed, findings: findings, caller: caller, dialect: dialect), proposed)
    }

    static func plan(
        runbook: Runbook, current: PolicySnapshot, proposed: PolicySnapshot, findings: [Finding], caller: String?,
        dialect: any PolicyDialect
    ) -> RunPlan {
        let failOn = runbook.steps.lazy.compactMap { step -> FailOn? in
            if case .validate(let v) = step.action { return v.failOn }
            return nil
        }.first ?? .error
        let noChanges = dialect.isEquivalent(current, proposed)
        return RunPlan(
            runbook: runbook.name, changeTicket: runbook.changeTicket, cloud: runbook.target.cloud,
            key: runbook.target.keyIdentifier, caller: caller, noChanges: noChanges,
            changes: noChanges ? ChangeSummary() : dialect.changeSummary(from: current, to: proposed),
            findings: findings, verdict: Verdict(findings: findings, failOn: failOn),
            steps: runbook.steps.map(describe), window: runbook.window, proposedPolicy: proposed.text,
            access: dialect.principalAccessChanges(from: current, to: proposed, keyIdentifier: runbook.target.keyIdentifier))
    }

    /// When the proposal is exactly one file (a lone `replace-policy`),
    /// findings can point at lines in it.
    public static func proposedFile(of runbook: Runbook) -> String? {
        guard runbook.change.count == 1, case .replacePolicy(let file) = runbook.change[0] else { return nil }
        return file.path
    }

    /// One line per step for plans: what it does, never a secret (http check
    /// headers and query strings are left out).
    public static func describe(_ step: Step) -> String {
        var text: String
        switch step.action {
        case .backup(let b): text = "backup the live policy" + (b.directory.map { " to \($0)" } ?? "")
        case .validate(let v):
            text = "validate the proposed policy (fail on \(v.failOn.rawValue)"
                + (v.accessAnalyzer ? ", with IAM Access Analyzer)" : ")")
        case .approve: text = "ask for approval"
        case .apply: text = "apply the proposed policy (after a drift check)"
        case .wait(let d): text = "wait \(DurationText.format(d))"
        case .verify(let v): text = "verify: " + v.checks.map(describe).joined(separator: ", ")
        case .monitor(let m):
            text = "monitor for \(DurationText.format(m.duration)) every \(DurationText.format(m.interval)): "
                + m.checks.map(describe).joined(separator: ", ")
                + " (roll back after \(m.failures) failed round\(m.failures == 1 ? "" : "s"))"
        case .command(let c): text = "run \(c.run)"
        }
        var extras: [String] = []
        if let timeout = step.options.timeout { extras.append("timeout \(DurationText.format(timeout))") }
        if step.options.retries > 0 { extras.append("\(step.options.retries) retries") }
        if let onFailure = step.options.onFailure { extras.append("on failure: \(onFailure.rawValue)") }
        return extras.isEmpty ? text : "\(text) [\(extras.joined(separator: ", "))]"
    }

    static func describe(_ check: Check) -> String {
        switch check {
        case .http(let h):
            if let url = URL(string: h.url), let host = url.host {
                return "http \(h.method) \(url.scheme ?? "https")://\(host)\(url.path) expects \(h.expectStatus)"
            }
            return "http"
        case .command(let c): return "command \(c.run)"
        default: return check.keyword
        }
    }
}
