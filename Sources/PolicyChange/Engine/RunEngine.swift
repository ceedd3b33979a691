import Foundation

/// Everything a run talks to, injected so tests can run the engine against
/// fakes and the CLI against real clouds.
public struct RunContext: Sendable {
    public var provider: any KeyPolicyProvider
    public var dialect: any PolicyDialect
    public var auditLog: (any AuditLogSource)?
    public var storage: any RunStorage
    public var clock: any RunClock
    public var approver: any Approver
    public var probes: any ExternalProbes
    public var observer: any RunObserver
    public var interruption: Interruption
    /// `validate: { access-analyzer: true }` asks it too.
    public var remoteValidator: (any RemotePolicyValidator)?

    public init(
        provider: any KeyPolicyProvider, dialect: any PolicyDialect, auditLog: (any AuditLogSource)?,
        storage: any RunStorage, clock: any RunClock, approver: any Approver, probes: any ExternalProbes,
        observer: any RunObserver, interruption: Interruption, remoteValidator: (any RemotePolicyValidator)? = nil
    ) {
        self.remoteValidator = remoteValidator
        self.provider = provider
        self.dialect = dialect
        self.auditLog = auditLog
        self.storage = storage
        self.clock = clock
        self.approver = approver
        self.probes = probes
        self.observer = observer
        self.interruption = interruption
    }
}

public struct RunSettings: Sendable {
    public var runID: String
    public var runbookSHA256: String
    public var ignoreWindow: Bool
    public var toolVersion: String
    /// Extra environment for `command` steps and checks (the run id, the key).
    public var commandEnvironment: [String: String]

    public init(
        runID: String, runbookSHA256: String, ignoreWindow: Bool = false, toolVersion: String,
        commandEnvironment: [String: String] = [:]
    ) {
        self.runID = runID
        self.runbookSHA256 = runbookSHA256
        self.ignoreWindow = ignoreWindow
        self.toolVersion = toolVersion
        self.commandEnvironment = commandEnvironment
    }
}

/// Ends the run with an exit status (stops, refusals, invalid input).
struct RunStop: Error {
    var status: ExitStatus
    var outcome: String
    var message: String
}

/// A step did not succeed; what happens next depends on its `on-failure`.
struct StepFailure: Error {
    var message: String
}

/// A step asks for the rollback path.
struct RollbackNeeded: Error {
    var reason: String
}

enum RaceOutcome<T: Sendable>: Sendable {
    case value(T)
    case timedOut
    case interrupted(String)
}

struct Interrupted: Error {
    var reason: String
}

/// The run's state machine (DESIGN.md §3, §6). It walks the runbook's steps,
/// journals each action before taking it, and enforces the safety invariants
/// whatever the runbook says: no apply without a durable backup from this
/// run, no apply after a failed validation, no apply over drift, and after
/// apply every failure or interruption leads to the rollback path.
public final class RunEngine: Sendable {
    let runbook: Runbook
    let context: RunContext
    let settings: RunSettings

    public init(runbook: Runbook, context: RunContext, settings: RunSettings) {
        self.runbook = runbook
        self.context = context
        self.settings = settings
    }

    var runID: String { settings.runID }
    var dialect: any PolicyDialect { context.dialect }
    var provider: any KeyPolicyProvider { context.provider }

    // MARK: Entry points

    /// A fresh run of the whole runbook.
    public func run() async -> RunResult {
        var state = RunState()
        do {
            try journal(.init(
                .runStarted, time: now,
                start: RunStart(
                    runID: runID, runbook: runbook.source ?? runbook.name, runbookSHA256: settings.runbookSHA256,
                    name: runbook.name, changeTicket: runbook.changeTicket, target: runbook.target, caller: nil,
                    toolVersion: settings.toolVersion)))
            try checkSupport()
            try await identify(&state)
        } catch {
            return finish(&state, error)
        }
        return await drive(&state, from: 0)
    }

    /// Continues a run from its journal and a fresh read of the live policy.
    public func resume(journal events: [JournalEvent]) async -> RunResult {
        var state: RunState
        do {
            state = try RunState(replaying: events, storage: context.storage)
        } catch {
            return RunResult(
                runID: runID, status: .needsHuman, outcome: "unreadable",
                message: "cannot read the run's files back: \(error)")
        }
        if let finished = state.finished {
            return RunResult(
                runID: runID, status: finished.status, outcome: finished.outcome,
                message: "the run already finished: \(finished.message)", findings: state.findings,
                backup: state.backupFile, steps: state.steps, caller: state.caller)
        }
        do {
            try journal(.init(.resumed, time: now, message: "resumed from the journal"))
            try checkSupport()
        } catch {
            return finish(&state, error)
        }
        if state.rollbackStarted {
            // Started means decided (by `automatic`, an interruption or an operator): finish it
            // whatever `rollback.automatic` says.
            return await rollback(&state, reason: "finishing a rollback that was interrupted", automatic: true)
        }
        if let reason = state.interruptedAfterApply {
            return await rollback(&state, reason: "interrupted (\(reason)) before the restart", automatic: true)
        }
        if let failure = state.failedAfterApply {
            // The run had already decided what this failure means (handle()):
            // a restart in between must not turn it into a success.
            let reason = "\(failure.name) failed before the restart: \(failure.message)"
            if runbook.steps.indices.contains(failure.step), runbook.steps[failure.step].options.onFailure == .abort {
                return finish(&state, RunStop(
                    status: .needsHuman, outcome: "left-applied",
                    message: "\(reason). The new policy was left in place (on-failure: abort); "
                        + "restore the backup with 'policy-change rollback \(runID)' if needed"))
            }
            return await rollback(&state, reason: reason)
        }
        if state.applyIntended {
            do {
                let live = try await provider.readPolicy()
                if let proposed = state.proposed, dialect.isEquivalent(live, proposed) {
                    if !state.applied {
                        state.applied = true
                        state.appliedAt = now
                        try journal(.init(.applied, time: now, message: "the proposed policy is live (confirmed after restart)"))
                    }
                    state.appliedSnapshot = live
                    // The crash came between the write and the apply step's
                    // step-finished: the step is done. Re-running it would
                    // compare the live (proposed) policy with the backup and
                    // stop with a false "drift, nothing was applied".
                    if let apply = runbook.steps.firstIndex(where: { $0.action == .apply }), !state.finishedSteps.contains(apply) {
                        let message = "applied (confirmed after restart)"
                        try journal(.init(.stepFinished, time: now, step: apply, name: "apply", message: message, outcome: "succeeded"))
                        state.finishedSteps.insert(apply)
                        state.steps.append(StepReport(index: apply, step: "apply", outcome: "succeeded", message: message))
                    }
                    notify(.info, "the proposed policy is live; continuing after apply")
                } else if let backup = state.backup, dialect.isEquivalent(live, backup) {
                    // The write never happened: apply again from the apply step.
                    state.applyIntended = false
                    state.applied = false
                    if let apply = runbook.steps.firstIndex(where: { $0.action == .apply }) {
                        state.finishedSteps = state.finishedSteps.filter { $0 < apply }
                    }
                    notify(.info, "the live policy still equals the backup; the change was not applied yet")
                } else if let backup = state.backup, let proposed = state.proposed,
                    dialect.isPartialWrite(live, from: backup, to: proposed)
                {
                    // A write of several calls (Azure deltas) was cut off part-way: neither
                    // finish it blindly nor leave it; restore the backup (the safe default).
                    return await rollback(&state, reason: "the write was cut off part-way before the restart", automatic: true)
                } else {
                    return finish(&state, RunStop(
                        status: .needsHuman, outcome: "conflict",
                        message: "the live policy is neither the backup nor the proposed policy: someone else changed it. "
                            + "Compare it with the backup \(state.backupFile?.path ?? "?") and restore with "
                            + "'policy-change restore RUNBOOK --from BACKUP' if that is right"))
                }
            } catch {
                return finish(&state, RunStop(
                    status: .needsHuman, outcome: "unknown",
                    message: "cannot read the live policy to resume: \(error). Try again, or 'policy-change rollback \(runID)'"))
            }
        }
        let next = (0..<runbook.steps.count).first { !state.finishedSteps.contains($0) } ?? runbook.steps.count
        return await drive(&state, from: next)
    }

    /// Restores the run's backup and verifies it (`policy-change rollback RUN`).
    public func rollback(journal events: [JournalEvent]) async -> RunResult {
        var state: RunState
        do {
            state = try RunState(replaying: events, storage: context.storage)
        } catch {
            return RunResult(
                runID: runID, status: .needsHuman, outcome: "unreadable",
                message: "cannot read the run's files back: \(error)")
        }
        guard state.backup != nil else {
            return RunResult(
                runID: runID, status: .stoppedBeforeApply, outcome: "no-backup",
                message: "run \(runID) wrote no backup, so it never applied anything; nothing to roll back")
        }
        // An operator asked for it: `rollback.automatic` does not apply here.
        var result = await rollback(&state, reason: "requested by the operator", automatic: true)
        if result.status == .rolledBack { result.status = .success }
        return result
    }

    // MARK: Driving the steps

    private func drive(_ state: inout RunState, from start: Int) async -> RunResult {
        for index in start..<runbook.steps.count where !state.finishedSteps.contains(index) {
            let step = runbook.steps[index]
            do {
                if let reason = context.interruption.reason { throw Interrupted(reason: reason) }
                try journal(.init(.stepStarted, time: now, step: index, name: step.keyword))
                notify(.stepStarted, step: index, "\(step.keyword)")
                let message = try await perform(step, at: index, &state)
                try journal(.init(.stepFinished, time: now, step: index, name: step.keyword, message: message, outcome: "succeeded"))
                state.finishedSteps.insert(index)
                state.steps.append(StepReport(index: index, step: step.keyword, outcome: "succeeded", message: message))
                notify(.stepFinished, step: index, message ?? "done")
                if step.action == .apply, !state.applied {
                    // Nothing to apply: the live policy already matches the runbook.
                    return finish(&state, RunStop(
                        status: .success, outcome: "no-changes",
                        message: "no changes: the live policy already matches the runbook"))
                }
            } catch let failure as StepFailure {
                do {
                    try handle(failure, of: step, at: index, &state)
                } catch let rollback as RollbackNeeded {
                    return await self.rollback(&state, reason: rollback.reason)
                } catch {
                    return finish(&state, error)
                }
            } catch let interrupted as Interrupted {
                if state.applyIntended {
                    try? journal(.init(.interrupted, time: now, step: index, message: interrupted.reason))
                    return await rollback(&state, reason: "interrupted (\(interrupted.reason))", automatic: true)
                }
                return finish(&state, RunStop(
                    status: .stoppedBeforeApply, outcome: "stopped",
                    message: "interrupted (\(interrupted.reason)) before apply; the key's policy was not changed"))
            } catch let rollback as RollbackNeeded {
                return await self.rollback(&state, reason: rollback.reason)
            } catch {
                if state.applyIntended, !(error is RunStop) {
                    return await rollback(&state, reason: "\(step.keyword) failed: \(error)")
                }
                return finish(&state, error)
            }
        }
        let message = state.applied
            ? "applied, verified and monitored"
            : "finished; nothing was applied"
        return finish(&state, RunStop(status: .success, outcome: "succeeded", message: message))
    }

    /// What `on-failure` (or its default) makes of a failed step.
    private func handle(_ failure: StepFailure, of step: Step, at index: Int, _ state: inout RunState) throws {
        let action = step.options.onFailure ?? (state.applyIntended ? .rollback : .abort)
        try journal(.init(
            .stepFailed, time: now, step: index, name: step.keyword, message: failure.message,
            outcome: action == .continue ? "continued" : "failed"))
        state.steps.append(StepReport(
            index: index, step: step.keyword, outcome: action == .continue ? "continued" : "failed", message: failure.message))
        switch action {
        case .continue:
            state.finishedSteps.insert(index)
            notify(.warning, step: index, "\(step.keyword) failed, continuing (on-failure: continue): \(failure.message)")
        case .rollback where state.applyIntended:
            throw RollbackNeeded(reason: "\(step.keyword) failed: \(failure.message)")
        case .abort where state.applyIntended:
            throw RunStop(
                status: .needsHuman, outcome: "left-applied",
                message: "\(step.keyword) failed: \(failure.message). The new policy was left in place (on-failure: abort); "
                    + "restore the backup with 'policy-change rollback \(runID)' if needed")
        case .rollback, .abort:
            if case .validate = step.action {
                throw RunStop(status: .validationFailed, outcome: "validation-failed", message: failure.message)
            }
            throw RunStop(
                status: .stoppedBeforeApply, outcome: "stopped",
                message: "\(step.keyword) failed: \(failure.message); nothing was applied")
        }
    }

    /// Runs one step with its retries and timeout; returns a one-line summary.
    private func perform(_ step: Step, at index: Int, _ state: inout RunState) async throws -> String? {
        switch step.action {
        case .backup(let options):
            return try await backup(options, &state)
        case .validate(let options):
            return try await validate(options, &state)
        case .approve:
            return try await approve(&state, timeout: step.options.timeout)
        case .apply:
            return try await apply(&state)
        default:
            break
        }
        let attempts = step.options.retries + 1
        var lastFailure = StepFailure(message: "did not run")
        for attempt in 1...attempts {
            do {
                let snapshot = state
                return try await race(timeout: step.options.timeout) {
                    try await self.performRetryable(step, at: index, snapshot)
                }
            } catch let failure as StepFailure {
                lastFailure = failure
                if attempt < attempts {
                    notify(.warning, step: index, "\(step.keyword) failed (attempt \(attempt) of \(attempts)): \(failure.message); retrying")
                }
            }
        }
        throw lastFailure
    }

    /// Steps that change nothing in the run's state and may simply be repeated.
    private func performRetryable(_ step: Step, at index: Int, _ state: RunState) async throws -> String? {
        switch step.action {
        case .wait(let duration):
            notify(.waiting, step: index, "waiting \(DurationText.format(duration))")
            try await context.clock.sleep(for: duration)
            return "waited \(DurationText.format(duration))"
        case .verify(let options):
            return try await verify(options, at: index, state)
        case .monitor(let options):
            return try await monitor(options, at: index, state)
        case .command(let command):
            let outcome = await context.probes.command(command, environment: commandEnvironment(state))
            switch outcome {
            case .exited(0, _): return "command succeeded"
            case .exited(let code, let output):
                throw StepFailure(message: "command exited with status \(code)" + Self.tail(output))
            case .timedOut: throw StepFailure(message: "command timed out")
            case .failedToStart(let why): throw StepFailure(message: "command could not start: \(why)")
            }
        case .backup, .validate, .approve, .apply:
            return nil
        }
    }

    // MARK: Steps

    private func backup(_ options: BackupStep, _ state: inout RunState) async throws -> String {
        let live = try await cloud("read the key's policy") { try await self.provider.readPolicy() }
        let file = try context.storage.writeBackup(
            live, cloud: runbook.target.cloud, key: runbook.target.keyIdentifier, directory: options.directory)
        try journal(.init(.backupWritten, time: now, message: "sha256 \(file.sha256)", file: file))
        state.live = live
        state.backup = live
        state.backupFile = file
        try await propose(&state)
        return "backup \(file.path) (sha256 \(file.sha256.prefix(12))…)"
    }

    /// Computes the proposed policy from the base and records it.
    private func propose(_ state: inout RunState) async throws {
        guard let base = state.base else { return }
        let operations = runbook.change
        try await cloud("look up the roles the change and the policy name") {
            try await self.dialect.prepare(for: [base], operations: operations)
        }
        let proposed: PolicySnapshot
        do {
            proposed = try dialect.proposedPolicy(from: base, applying: runbook.change)
        } catch {
            throw RunStop(status: .invalidInput, outcome: "invalid", message: "cannot apply the change: \(error)")
        }
        if state.proposed != proposed || state.proposalFile == nil {
            let file = try context.storage.writeArtifact(named: "proposed.json", contents: proposed.document)
            try journal(.init(.proposalWritten, time: now, file: file))
            state.proposalFile = file
            // A new proposal has not been validated or approved yet.
            state.validationRan = false
            state.validationPassed = false
            state.approvedBy = nil
        }
        state.proposed = proposed
    }

    private func validate(_ options: ValidateStep, _ state: inout RunState) async throws -> String {
        if state.proposed == nil { try await propose(&state) }
        guard let proposed = state.proposed else {
            throw StepFailure(message: "there is no proposed policy to validate (no backup or live read yet)")
        }
        var findings = analyze(proposed, against: state.base, caller: state.caller)
        if options.accessAnalyzer {
            guard let validator = context.remoteValidator else {
                throw StepFailure(message: "access-analyzer: this target has no remote policy validator (AWS only)")
            }
            do {
                findings += try await validator.validate(proposed, file: Planner.proposedFile(of: runbook))
            } catch {
                throw StepFailure(message: "access-analyzer: \(error)")
            }
        }
        let verdict = Verdict(findings: findings, failOn: options.failOn)
        try journal(.init(.validated, time: now, verdict: verdict, findings: findings))
        state.findings = findings
        state.validationRan = true
        state.validationPassed = verdict == .pass
        for finding in findings {
            notify(finding.severity >= .securityWarning ? .failure : .warning, "\(finding.severity.rawValue) \(finding.code): \(finding.message)")
        }
        if verdict == .fail {
            let blocking = findings.filter { $0.severity >= (options.failOn == .warning ? .warning : .securityWarning) }
            throw StepFailure(message: "validation failed: \(blocking.count) finding(s) block the change (first: \(blocking[0].code): \(blocking[0].message))")
        }
        return findings.isEmpty ? "no findings" : "\(findings.count) finding(s), none blocking"
    }

    func analyze(_ proposed: PolicySnapshot, against current: PolicySnapshot?, caller: String?) -> [Finding] {
        dialect.analyze(AnalysisRequest(
            current: current, proposed: proposed, requirements: runbook.require, caller: caller,
            keyIdentifier: runbook.target.keyIdentifier, proposedFile: Planner.proposedFile(of: runbook),
            bypassLockoutSafetyCheck: runbook.requestsLockoutBypass))
    }

    /// `timeout`: how long to wait for an answer (nobody at the terminal); then the run stops before apply.
    private func approve(_ state: inout RunState, timeout: Duration?) async throws -> String {
        if state.proposed == nil { try await propose(&state) }
        let plan = makePlan(state)
        if plan.noChanges { return "no changes to approve" }
        // Approved before a crash (the journal says so, for this proposal):
        // resume does not ask again.
        if let by = state.approvedBy { return "approved before the restart (\(by))" }
        let approver = context.approver
        // Interruptible: Ctrl-C at the prompt stops the run before apply.
        switch try await race(timeout: timeout, { await approver.approve(plan) }) {
        case .approved(let by):
            try journal(.init(.approved, time: now, message: by))
            state.approvedBy = by
            return "approved (\(by))"
        case .declined(let reason):
            try journal(.init(.declined, time: now, message: reason))
            throw RunStop(status: .stoppedBeforeApply, outcome: "not-approved", message: "not approved: \(reason)")
        }
    }

    func makePlan(_ state: RunState) -> RunPlan {
        let base = state.base ?? PolicySnapshot(document: Data())
        let proposed = state.proposed ?? base
        return Planner.plan(
            runbook: runbook, current: base, proposed: proposed, findings: state.findings, caller: state.caller,
            dialect: dialect)
    }

    private func apply(_ state: inout RunState) async throws -> String {
        // Invariant: a durable backup from this run.
        guard let backup = state.backup, state.backupFile != nil else {
            throw RunStop(
                status: .stoppedBeforeApply, outcome: "stopped",
                message: "refusing to apply: this run wrote no backup (add a backup step before apply)")
        }
        if state.proposed == nil { try await propose(&state) }
        guard let proposed = state.proposed else { throw StepFailure(message: "no proposed policy") }
        // Invariant: validation passed. Without a validate step, validate now.
        if !state.validationRan {
            do {
                _ = try await validate(ValidateStep(), &state)
            } catch let failure as StepFailure {
                throw RunStop(status: .validationFailed, outcome: "validation-failed", message: failure.message)
            }
        }
        guard state.validationPassed else {
            throw RunStop(
                status: .validationFailed, outcome: "validation-failed",
                message: "refusing to apply: validation found blocking problems")
        }
        if let window = runbook.window, !settings.ignoreWindow, !window.contains(now) {
            throw RunStop(
                status: .stoppedBeforeApply, outcome: "outside-window",
                message: "outside the maintenance window \(JournalCoding.timestamp(window.start)) – "
                    + "\(JournalCoding.timestamp(window.end)); nothing was applied (use --ignore-window to override)")
        }
        if dialect.isEquivalent(backup, proposed) {
            try journal(.init(.noChanges, time: now, message: "the live policy already matches the runbook"))
            return "no changes"
        }
        // Invariant: no drift since the backup.
        let live = try await cloud("re-read the key's policy before apply") { try await self.provider.readPolicy() }
        guard dialect.isEquivalent(live, backup) else {
            throw RunStop(
                status: .stoppedBeforeApply, outcome: "drift",
                message: "CONCURRENT_MODIFICATION: the key's policy changed since the backup was taken; nothing was "
                    + "applied. Run again to back up and plan against the new policy")
        }
        try journal(.init(.applyIntent, time: now, file: state.proposalFile))
        state.applyIntended = true
        notify(.info, "writing the proposed policy")
        do {
            try await provider.writePolicy(proposed, replacing: backup)
        } catch let error as ProviderError where error.code == .concurrentModification {
            state.applyIntended = false
            try journal(.init(.stepFailed, time: now, name: "apply", message: error.message, outcome: "not-applied"))
            throw RunStop(
                status: .stoppedBeforeApply, outcome: "drift",
                message: "CONCURRENT_MODIFICATION: \(error.message); nothing was applied")
        } catch {
            // The write may or may not have reached the cloud: look before deciding.
            let after = try? await provider.readPolicy()
            if let after, dialect.isEquivalent(after, backup) {
                state.applyIntended = false
                try journal(.init(.stepFailed, time: now, name: "apply", message: "\(error)", outcome: "not-applied"))
                throw RunStop(
                    status: .stoppedBeforeApply, outcome: "stopped",
                    message: "the write was refused: \(error); the key's policy was not changed")
            }
            if let after, dialect.isEquivalent(after, proposed) {
                notify(.warning, "the write reported an error but the proposed policy is live: \(error)")
            } else {
                throw RollbackNeeded(reason: "the write failed part-way: \(error)")
            }
        }
        let appliedAt = now
        let readBack = try? await provider.readPolicy()
        state.applied = true
        state.appliedAt = appliedAt
        state.appliedSnapshot = readBack ?? proposed
        try journal(.init(.applied, time: appliedAt))
        return "applied"
    }

    // MARK: Verify and monitor

    private func verify(_ options: VerifyStep, at index: Int, _ state: RunState) async throws -> String {
        let limit = max(1, options.inconclusiveLimit)
        for round in 1...limit {
            let outcomes = await evaluate(options.checks, at: index, state)
            if let failed = outcomes.first(where: { if case .failed = $0.1 { true } else { false } }) {
                throw StepFailure(message: "\(failed.0.keyword): \(failed.1.detail ?? "failed")")
            }
            let inconclusive = outcomes.filter { if case .inconclusive = $0.1 { true } else { false } }
            if inconclusive.isEmpty { return "\(outcomes.count) check(s) passed" }
            if round < limit {
                notify(.warning, step: index, "\(inconclusive.count) check(s) inconclusive; checking again in \(DurationText.format(options.interval))")
                try await context.clock.sleep(for: options.interval)
            } else {
                let first = inconclusive[0]
                throw StepFailure(message: "\(first.0.keyword) stayed inconclusive \(limit) times: \(first.1.detail ?? "")")
            }
        }
        return "checks passed"
    }

    private func monitor(_ options: MonitorStep, at index: Int, _ state: RunState) async throws -> String {
        let intervalMS = max(1, options.interval.milliseconds)
        // Rounded up: monitoring lasts at least `duration` (the vendors ask for "at least 30 minutes").
        let rounds = max(1, Int((options.duration.milliseconds + intervalMS - 1) / intervalMS))
        var failedInARow = 0
        var inconclusiveInARow = 0
        notify(.waiting, step: index, "monitoring for \(DurationText.format(options.duration)), a round every \(DurationText.format(options.interval))")
        for round in 1...rounds {
            try await context.clock.sleep(for: options.interval)
            let outcomes = await evaluate(options.checks, at: index, state)
            let failed = outcomes.first { if case .failed = $0.1 { true } else { false } }
            let inconclusive = outcomes.first { if case .inconclusive = $0.1 { true } else { false } }
            var roundOutcome: String
            if let failed {
                failedInARow += 1
                inconclusiveInARow = 0
                roundOutcome = "failed: \(failed.0.keyword): \(failed.1.detail ?? "")"
            } else if let inconclusive {
                inconclusiveInARow += 1
                roundOutcome = "inconclusive: \(inconclusive.0.keyword): \(inconclusive.1.detail ?? "")"
                if inconclusiveInARow >= options.inconclusive {
                    failedInARow += 1
                    inconclusiveInARow = 0
                    roundOutcome += " (\(options.inconclusive) inconclusive rounds in a row count as a failure)"
                }
            } else {
                failedInARow = 0
                inconclusiveInARow = 0
                roundOutcome = "passed"
            }
            try journal(.init(.monitorRound, time: now, step: index, name: "round \(round)/\(rounds)", message: roundOutcome,
                              outcome: failed != nil ? "failed" : inconclusive != nil ? "inconclusive" : "passed"))
            notify(failed == nil && inconclusive == nil ? .info : .warning, step: index, "round \(round)/\(rounds): \(roundOutcome)")
            if failedInARow >= max(1, options.failures) {
                throw StepFailure(message: "monitor round \(round)/\(rounds) \(roundOutcome)")
            }
        }
        return "\(rounds) round(s) over \(DurationText.format(options.duration)), no failure"
    }

    /// Runs checks one after another (each may read the cloud; sequential keeps
    /// the request rate low) and journals each result.
    private func evaluate(_ checks: [Check], at index: Int, _ state: RunState) async -> [(Check, CheckOutcome)] {
        var results: [(Check, CheckOutcome)] = []
        for check in checks {
            let outcome = await evaluate(check, state)
            try? journal(.init(.check, time: now, step: index, name: check.keyword, message: outcome.detail, outcome: outcome.word))
            results.append((check, outcome))
        }
        return results
    }

    func evaluate(_ check: Check, _ state: RunState) async -> CheckOutcome {
        do {
            switch check {
            case .policyUnchanged:
                guard let expected = state.appliedSnapshot ?? state.proposed else { return .inconclusive("nothing was applied yet") }
                let live = try await provider.readPolicy()
                return dialect.isEquivalent(live, expected)
                    ? .passed("the live policy is the applied one")
                    : .failed("the live policy changed since apply")
            case .requiredAccess:
                let live = try await provider.readPolicy()
                try await dialect.prepare(for: [live], operations: [])
                let missing = dialect.analyze(AnalysisRequest(
                    proposed: live, requirements: runbook.require, keyIdentifier: runbook.target.keyIdentifier))
                    .filter { $0.code.hasPrefix("REQUIRED_PERMISSION") }
                return missing.isEmpty
                    ? .passed("every required permission is granted")
                    : .failed(missing[0].message + (missing.count > 1 ? " (and \(missing.count - 1) more)" : ""))
            case .auditLog(let options):
                guard let source = context.auditLog else { return .failed("no audit log source for this target") }
                let since = state.appliedAt ?? now
                let events = try await source.accessDeniedEvents(since: since, until: now, check: options)
                guard let first = events.first else { return .passed("no access denied since apply") }
                return .failed(
                    "\(events.count) access-denied event(s) on the key since apply; first: \(first.errorCode)"
                        + (first.action.map { " on \($0)" } ?? "") + (first.principal.map { " by \($0)" } ?? "")
                        + " at \(JournalCoding.timestamp(first.time))")
            case .keyEnabled:
                let key = try await provider.describeKey()
                return key.enabled ? .passed("the key is enabled") : .failed("the key is \(key.state)")
            case .http(let probe):
                return await context.probes.http(probe)
            case .command(let command):
                switch await context.probes.command(command, environment: commandEnvironment(state)) {
                case .exited(0, _): return .passed("command succeeded")
                case .exited(let code, let output): return .failed("command exited with status \(code)" + Self.tail(output))
                case .timedOut: return .inconclusive("command timed out")
                case .failedToStart(let why): return .failed("command could not start: \(why)")
                }
            }
        } catch let error as ProviderError {
            return error.isTransient ? .inconclusive(error.message) : .failed(error.message)
        } catch {
            return .inconclusive("\(error)")
        }
    }

    // MARK: Rollback

    /// Restores the backup and verifies it. Not interruptible: once started it
    /// finishes (a second signal does not stop it).
    private func rollback(_ state: inout RunState, reason: String, automatic: Bool? = nil) async -> RunResult {
        guard automatic ?? runbook.rollback.automatic else {
            return finish(&state, RunStop(
                status: .needsHuman, outcome: "left-applied",
                message: "\(reason). Automatic rollback is off: restore the backup with 'policy-change rollback \(runID)'"))
        }
        guard let backup = state.backup else {
            return finish(&state, RunStop(status: .needsHuman, outcome: "rollback-failed", message: "\(reason); and there is no backup to restore"))
        }
        notify(.failure, "rolling back: \(reason)")
        do {
            try journal(.init(.rollbackIntent, time: now, message: reason, file: state.backupFile))
            state.rollbackStarted = true
            let live = try await persistently("read the key's policy") { try await self.provider.readPolicy() }
            if dialect.isEquivalent(live, backup) {
                notify(.info, "the live policy already equals the backup")
            } else {
                let ours = [state.proposed, state.appliedSnapshot].compactMap { $0 }
                // A write of several calls (Azure deltas) that stopped part-way leaves a state of its own.
                let partial = state.proposed.map { dialect.isPartialWrite(live, from: backup, to: $0) } ?? false
                guard partial || ours.contains(where: { dialect.isEquivalent(live, $0) }) else {
                    try journal(.init(.rollbackFailed, time: now, message: "conflict: the live policy is neither ours nor the backup"))
                    return finish(&state, RunStop(
                        status: .needsHuman, outcome: "rollback-failed",
                        message: "\(reason); rollback stopped: someone else changed the policy after apply, and overwriting "
                            + "their change blindly could do more harm. Compare the live policy with the backup "
                            + "\(state.backupFile?.path ?? "") and restore with 'policy-change restore RUNBOOK --from BACKUP'"))
                }
                try await persistently("restore the backup") { try await self.provider.writePolicy(backup, replacing: live) }
            }
            try journal(.init(.rollbackApplied, time: now, file: state.backupFile))
            if runbook.rollback.verify || automatic == true {
                let after = try await persistently("re-read the key's policy") { try await self.provider.readPolicy() }
                guard dialect.isEquivalent(after, backup) else {
                    try journal(.init(.rollbackFailed, time: now, message: "the live policy does not equal the backup after restoring it"))
                    return finish(&state, RunStop(
                        status: .needsHuman, outcome: "rollback-failed",
                        message: "\(reason); the backup was written but the live policy does not equal it. Restore "
                            + "\(state.backupFile?.path ?? "the backup") by hand now"))
                }
                try journal(.init(.rollbackVerified, time: now, message: "the live policy equals the backup"))
                state.rollbackVerified = true
                notify(.success, "backup restored and verified")
            } else {
                // rollback.verify: false. Say so; never journal a verification that did not happen.
                notify(.warning, "backup restored, not verified (rollback.verify is off)")
            }
            if let watch = runbook.rollback.monitor {
                try await watchRecovery(for: watch, backup: backup)
            }
        } catch let stop as RunStop {
            return finish(&state, stop)
        } catch {
            try? journal(.init(.rollbackFailed, time: now, message: "\(error)"))
            return finish(&state, RunStop(
                status: .needsHuman, outcome: "rollback-failed",
                message: "\(reason); rollback failed: \(error). Restore \(state.backupFile?.path ?? "the backup") now "
                    + "(policy-change rollback \(runID) retries)"))
        }
        return finish(&state, RunStop(
            status: .rolledBack, outcome: "rolled-back",
            message: "\(reason); the backup was restored"
                + (state.rollbackVerified ? " and verified" : " (not verified: rollback.verify is off)")))
    }

    /// After a rollback: the restored policy must stay restored and the key enabled.
    private func watchRecovery(for duration: Duration, backup: PolicySnapshot) async throws {
        let interval = min(duration, .seconds(60))
        let intervalMS = max(1, interval.milliseconds)
        let rounds = max(1, Int((duration.milliseconds + intervalMS - 1) / intervalMS))
        notify(.waiting, "watching recovery for \(DurationText.format(duration))")
        for round in 1...rounds {
            try await context.clock.sleep(for: interval)
            let live = try await persistently("read the key's policy") { try await self.provider.readPolicy() }
            guard dialect.isEquivalent(live, backup) else {
                throw RunStop(
                    status: .needsHuman, outcome: "rollback-failed",
                    message: "the restored policy changed again during the recovery watch (round \(round))")
            }
            try journal(.init(.monitorRound, time: now, name: "recovery \(round)/\(rounds)", outcome: "passed"))
        }
    }

    // MARK: Helpers

    var now: Date { context.clock.now() }

    func journal(_ event: JournalEvent) throws {
        do {
            try context.storage.append(event)
        } catch {
            throw RunStop(status: .internalError, outcome: "journal-failed", message: "cannot write the journal: \(error)")
        }
    }

    func notify(_ kind: ProgressEvent.Kind, step: Int? = nil, _ message: String) {
        context.observer.progress(ProgressEvent(kind, step: step, message))
    }

    private func finish(_ state: inout RunState, _ error: any Error) -> RunResult {
        let stop: RunStop
        switch error {
        case let s as RunStop: stop = s
        case let e as ProviderError:
            stop = RunStop(status: .stoppedBeforeApply, outcome: "cloud-error", message: e.message)
        case let i as Interrupted:
            // Only reaches here before apply (drive() rolls back an interruption after apply-intent).
            stop = RunStop(
                status: .stoppedBeforeApply, outcome: "stopped",
                message: "interrupted (\(i.reason)) before apply; the key's policy was not changed")
        default:
            stop = RunStop(status: .internalError, outcome: "internal-error", message: "\(error)")
        }
        try? journal(.init(.runFinished, time: now, message: stop.message, outcome: stop.outcome, exitCode: stop.status.rawValue))
        state.finished = (stop.status, stop.outcome, stop.message)
        return RunResult(
            runID: runID, status: stop.status, outcome: stop.outcome, message: stop.message, findings: state.findings,
            backup: state.backupFile, steps: state.steps, caller: state.caller)
    }

    /// Checks the runbook asks for that this target cannot answer stop the run
    /// before anything is read or written.
    private func checkSupport() throws {
        let checks = runbook.steps.flatMap { step -> [Check] in
            switch step.action {
            case .verify(let v): v.checks
            case .monitor(let m): m.checks
            default: []
            }
        }
        if context.auditLog == nil, let check = checks.first(where: { $0.keyword == "audit-log" }) {
            throw RunStop(
                status: .invalidInput, outcome: "invalid",
                message: "the \(check.keyword) check has no audit log source for this \(runbook.target.cloud) target")
        }
    }

    private func identify(_ state: inout RunState) async throws {
        let key = try await cloud("describe the key") { try await self.provider.describeKey() }
        guard key.enabled else {
            throw RunStop(status: .stoppedBeforeApply, outcome: "key-not-enabled", message: "the key \(key.identifier) is \(key.state), not enabled")
        }
        state.caller = try? await provider.callerIdentity()
        if let caller = state.caller {
            try journal(.init(.check, time: now, name: "caller", message: caller, outcome: "identified"))
        }
        state.live = try await cloud("read the key's policy") { try await self.provider.readPolicy() }
    }

    /// A cloud call before apply: its errors stop the run (exit 4).
    private func cloud<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await race(timeout: nil, body)
        } catch let error as ProviderError {
            throw RunStop(status: .stoppedBeforeApply, outcome: "cloud-error", message: "cannot \(what): \(error.message)")
        }
    }

    /// Rollback's cloud calls: transient errors are retried a few times.
    private func persistently<T: Sendable>(_ what: String, _ body: @Sendable () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as ProviderError where error.isTransient && attempt < 4 {
                attempt += 1
                notify(.warning, "cannot \(what) yet (\(error.message)); retrying")
                try? await context.clock.sleep(for: .seconds(Double(attempt * attempt)))
            }
        }
    }

    /// Runs `body` until it finishes, the timeout passes (wall-clock time) or
    /// the run is interrupted, whichever comes first.
    private func race<T: Sendable>(timeout: Duration?, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let interruption = context.interruption
        return try await withThrowingTaskGroup(of: RaceOutcome<T>.self) { group in
            group.addTask { .value(try await body()) }
            if let timeout {
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return .timedOut
                }
            }
            group.addTask {
                if let reason = await interruption.wait() { return .interrupted(reason) }
                throw CancellationError()
            }
            defer { group.cancelAll() }
            while let outcome = try await group.next() {
                switch outcome {
                case .value(let value): return value
                case .timedOut: throw StepFailure(message: "timed out after \(DurationText.format(timeout ?? .zero))")
                case .interrupted(let reason): throw Interrupted(reason: reason)
                }
            }
            throw CancellationError()
        }
    }

    private func commandEnvironment(_ state: RunState) -> [String: String] {
        var environment = settings.commandEnvironment
        environment["POLICY_CHANGE_RUN_ID"] = runID
        environment["POLICY_CHANGE_KEY"] = runbook.target.keyIdentifier
        environment["POLICY_CHANGE_CLOUD"] = runbook.target.cloud.rawValue
        environment["POLICY_CHANGE_APPLIED"] = state.applied ? "true" : "false"
        if let backup = state.backupFile { environment["POLICY_CHANGE_BACKUP"] = backup.path }
        return environment
    }

    static func tail(_ output: String) -> String {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: true)
        guard let last = lines.last else { return "" }
        return ": \(last.prefix(200))"
    }
}
