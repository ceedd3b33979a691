import Foundation

/// Everything the engine has learned so far in a run. Rebuilt from the
/// journal on `resume` and `rollback`.
struct RunState: Sendable {
    var caller: String?
    /// The live policy when the run (or resume) read it.
    var live: PolicySnapshot?
    var backup: PolicySnapshot?
    var backupFile: StoredFile?
    var proposed: PolicySnapshot?
    var proposalFile: StoredFile?
    var findings: [Finding] = []
    /// Validation ran on the current proposal and found nothing that fails.
    var validationPassed = false
    var validationRan = false
    var approvedBy: String?
    /// An `apply-intent` was journaled: the live policy may have changed.
    var applyIntended = false
    var applied = false
    var appliedAt: Date?
    /// The live policy as read right after apply (what `policy-unchanged` compares with).
    var appliedSnapshot: PolicySnapshot?
    var finishedSteps: Set<Int> = []
    /// A step failed after apply (journaled `step-failed`, outcome `failed`)
    /// and the run had not finished: its `on-failure` decision still stands.
    var failedAfterApply: (step: Int, name: String, message: String)?
    /// A SIGINT/SIGTERM after apply was journaled (`interrupted`): the
    /// operator asked for the rollback path, a restart does not cancel that.
    var interruptedAfterApply: String?
    var rollbackStarted = false
    var rollbackVerified = false
    var finished: (status: ExitStatus, outcome: String, message: String)?
    var steps: [StepReport] = []

    /// The policy the change is computed from: the backup once there is one.
    var base: PolicySnapshot? { backup ?? live }
}

/// How one step went, for reports.
public struct StepReport: Sendable, Equatable, Codable {
    public var index: Int
    public var step: String
    /// `succeeded`, `failed`, `skipped`, `continued` (failed with on-failure: continue).
    public var outcome: String
    public var message: String?

    public init(index: Int, step: String, outcome: String, message: String? = nil) {
        self.index = index
        self.step = step
        self.outcome = outcome
        self.message = message
    }
}

/// How a run ended.
public struct RunResult: Sendable, Equatable, Codable {
    public var runID: String
    public var status: ExitStatus
    /// `succeeded`, `no-changes`, `validation-failed`, `stopped`, `rolled-back`,
    /// `rollback-failed`, `left-applied`, `invalid`.
    public var outcome: String
    public var message: String
    public var findings: [Finding]
    public var backup: StoredFile?
    public var steps: [StepReport]
    public var caller: String?

    public init(
        runID: String, status: ExitStatus, outcome: String, message: String, findings: [Finding] = [],
        backup: StoredFile? = nil, steps: [StepReport] = [], caller: String? = nil
    ) {
        self.runID = runID
        self.status = status
        self.outcome = outcome
        self.message = message
        self.findings = findings
        self.backup = backup
        self.steps = steps
        self.caller = caller
    }
}

extension RunState {
    /// Replays a journal into the state it describes.
    init(replaying events: [JournalEvent], storage: any RunStorage) throws {
        self.init()
        for event in events {
            switch event.event {
            case .runStarted: caller = event.start?.caller
            // `run` identifies the caller after run-started and journals it as this check.
            case .check where event.name == "caller" && event.outcome == "identified": caller = event.message
            case .stepFinished, .stepFailed:
                // A failed step is done only when the run went on past it
                // (on-failure: continue). Otherwise resume must not skip it:
                // after apply the failure leads to the rollback path, before
                // apply the step runs again.
                if let step = event.step {
                    if event.event == .stepFinished || event.outcome == "continued" {
                        finishedSteps.insert(step)
                    } else if applyIntended {
                        failedAfterApply = (step, event.name ?? "step", event.message ?? "failed")
                    }
                }
                if let step = event.step, let name = event.name {
                    steps.append(StepReport(index: step, step: name, outcome: event.outcome ?? "succeeded", message: event.message))
                }
            // Only the latest backup and proposal count, and a resumed run that proposed again
            // has rewritten `proposed.json`: read the files once the journal is replayed.
            case .backupWritten:
                if let file = event.file { backupFile = file }
            case .proposalWritten:
                if let file = event.file {
                    proposalFile = file
                    approvedBy = nil  // an approval is for the proposal before it
                }
            case .validated:
                validationRan = true
                validationPassed = event.verdict == .pass
                findings = event.findings ?? []
            case .approved: approvedBy = event.message
            case .applyIntent: applyIntended = true
            case .applied:
                applied = true
                appliedAt = event.time
            case .interrupted where applyIntended: interruptedAfterApply = event.message ?? "interrupted"
            case .rollbackIntent:
                rollbackStarted = true
                // A rollback announced after run-finished (`policy-change rollback RUN`) is still to do.
                finished = nil
            case .rollbackVerified: rollbackVerified = true
            case .runFinished:
                finished = (
                    ExitStatus(rawValue: event.exitCode ?? 1) ?? .internalError, event.outcome ?? "finished",
                    event.message ?? ""
                )
            default: break
            }
        }
        if let backupFile { backup = PolicySnapshot(document: try storage.read(backupFile)) }
        if let proposalFile { proposed = PolicySnapshot(document: try storage.read(proposalFile)) }
    }
}
