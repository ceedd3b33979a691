import ArgumentParser
import Foundation
import PolicyChange
import RunStore

extension Cloud: ExpressibleByArgument {}

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what changes between two policy snapshots, statement by statement.")

    @Argument(help: "The old snapshot (a backup file).") var old: String
    @Argument(help: "The new snapshot.") var new: String
    @Option(help: "aws, azure or gcp.") var cloud: Cloud
    @Option(help: "Result format.") var output: OutputFormat = .text
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await guarded(json: output == .json) {
            let context = CommandContext(options: global)
            let dialect = PolicyDialects.dialect(for: cloud)
            let a = PolicySnapshot(document: try context.readFile(old, what: "the old snapshot"))
            let b = PolicySnapshot(document: try context.readFile(new, what: "the new snapshot"))
            let summary = dialect.changeSummary(from: a, to: b)
            // The semantic diff: what each principal gains and loses.
            let access = (dialect as? AWSKeyPolicyDialect)?.accessChanges(from: a, to: b)
                ?? dialect.principalAccessChanges(from: a, to: b, keyIdentifier: nil) ?? []
            if output == .json {
                struct Document: Encodable {
                    let schema = "policy-change/diff@1"
                    let changes: ChangeSummary
                    let access: [PrincipalAccessChange]
                }
                context.stdout.write(Envelope.encode(Document(changes: summary, access: access)))
            } else if summary.isEmpty && access.isEmpty {
                context.stdout.line("No differences: the two snapshots grant the same.")
            } else {
                for entry in summary.entries {
                    context.stdout.line("\(entry.kind.rawValue) \(entry.subject)")
                    for detail in entry.details { context.stdout.line("    \(detail)") }
                }
                if !access.isEmpty {
                    context.stdout.line("")
                    context.stdout.line("Access by principal:")
                    for change in access {
                        context.stdout.line("  \(change.principal)")
                        for action in change.gained { context.stdout.line("    + \(action)") }
                        for action in change.lost { context.stdout.line("    - \(action)") }
                    }
                }
            }
            return .success
        }
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Save the key's live policy, in the format the cloud's own CLI restores from.")

    @OptionGroup var book: RunbookOptions
    @Option(help: ArgumentHelp("Folder for the backup (default: the runbook's backup step folder, else <state-dir>/backups).", valueName: "dir"))
    var dir: String?
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await guarded {
            let context = CommandContext(options: global)
            let runbook = try context.loadRunbook(book)
            let connection = try context.connect(to: runbook.target)
            let snapshot: PolicySnapshot
            do {
                snapshot = try await connection.provider.readPolicy()
            } catch {
                throw Failure(.stoppedBeforeApply, "cannot read the key's policy: \(error)")
            }
            let stepFolder = runbook.steps.lazy.compactMap { step -> String? in
                if case .backup(let b) = step.action { return b.directory }
                return nil
            }.first
            let state = context.stateDirectory(besideRunbook: runbook.source)
            let folder = dir.map(context.absolute) ?? stepFolder ?? "\(state.path)/backups"
            do {
                try DurableFile.makeDirectory(folder)
                let storage = try FileRunStorage(folder: folder)
                let file = try storage.writeBackup(
                    snapshot, cloud: runbook.target.cloud, key: runbook.target.keyIdentifier, directory: folder)
                try? FileManager.default.removeItem(atPath: storage.journalPath)
                context.stdout.line(file.path)
                context.stderr.line("sha256 \(file.sha256), \(file.bytes) bytes")
            } catch {
                throw Failure(.internalError, "cannot write the backup: \(error)")
            }
            return .success
        }
    }
}

/// Shared by `resume` and `rollback`: the run's journal and its runbook.
struct RecordedRun {
    let runID: String
    let state: StateDirectory
    let events: [JournalEvent]
    let start: RunStart

    init(_ runID: String, context: CommandContext) throws {
        // Without --state-dir, look beside the current folder's runbooks.
        state = context.stateDirectory(besideRunbook: nil)
        self.runID = runID
        do {
            events = try state.journal(of: runID)
        } catch {
            throw Failure(.invalidInput, "no run '\(runID)' in \(state.path) (see 'policy-change status'; use --state-dir to look elsewhere)")
        }
        guard let start = events.first(where: { $0.event == .runStarted })?.start else {
            throw Failure(.invalidInput, "run \(runID) has no run-started event in its journal")
        }
        self.start = start
    }

    /// The runbook as the run loaded it; refused if it changed since.
    func runbook(context: CommandContext, variables: [String], strict: Bool) throws -> Runbook {
        let path = start.runbook
        if let data = FileManager.default.contents(atPath: path) {
            let digest = DurableFile.sha256(data)
            if digest == start.runbookSHA256 {
                if strict { return try context.loadRunbook(path, variables: variables) }
                // Rollback takes no --set: a runbook whose ${VARIABLES} are not in the
                // environment still rolls back, and always the key the journal recorded.
                if var book = try? context.loadRunbook(path, variables: variables) {
                    book.target = start.target
                    return book
                }
            }
            if strict {
                throw Failure(.invalidInput, "the runbook \(path) changed since run \(runID) started; resume needs the same runbook (or use 'rollback \(runID)')")
            }
        } else if strict {
            throw Failure(.invalidInput, "the runbook \(path) of run \(runID) is gone; resume needs it (or use 'rollback \(runID)')")
        }
        // Rollback needs only the target: the backup and proposal come from the run's folder.
        return Runbook(name: start.name, changeTicket: start.changeTicket, target: start.target, steps: [], source: path)
    }

    /// Runs an engine on this run's own folder (lock, signals, rendering as `run` does).
    func reopen(
        with runbook: Runbook, context: CommandContext, output: OutputFormat, assumeYes: Bool, ignoreWindow: Bool,
        _ body: (RunEngine) async -> RunResult
    ) async throws -> ExitStatus {
        try await RunLauncher(context: context, runbook: runbook, output: output).withEngine(
            state: state, runID: runID, fresh: false, assumeYes: assumeYes, ignoreWindow: ignoreWindow, body)
    }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Finish a run that was stopped (crash, kill, lost connection) from its journal and the live policy.")

    @Argument(help: "The run id (see 'policy-change status').") var run: String
    @Flag(help: "Approve without asking, if the run had not been approved yet.") var yes = false
    @Option(name: .customLong("set"), help: ArgumentHelp("Variables again (they are never journaled).", valueName: "NAME=VALUE"))
    var variables: [String] = []
    @Flag(name: .customLong("ignore-window"), help: "Apply even outside the maintenance window.") var ignoreWindow = false
    @Option(help: "Result format.") var output: OutputFormat = .text
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await guarded(json: output == .json) {
            let context = CommandContext(options: global)
            let recorded = try RecordedRun(run, context: context)
            let book = try recorded.runbook(context: context, variables: variables, strict: true)
            return try await recorded.reopen(with: book, context: context, output: output, assumeYes: yes, ignoreWindow: ignoreWindow) {
                await $0.resume(journal: recorded.events)
            }
        }
    }
}

struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Restore a run's backup and verify it. Exit 0 when the live policy equals the backup, 6 when it cannot be made to.")

    @Argument(help: "The run id (see 'policy-change status').") var run: String
    @Option(help: "Result format.") var output: OutputFormat = .text
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await guarded(json: output == .json) {
            let context = CommandContext(options: global)
            let recorded = try RecordedRun(run, context: context)
            let book = try recorded.runbook(context: context, variables: [], strict: false)
            return try await recorded.reopen(with: book, context: context, output: output, assumeYes: true, ignoreWindow: true) {
                await $0.rollback(journal: recorded.events)
            }
        }
    }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Put a backup file back as the key's policy (a new run: backs up the live policy first, then verifies).")

    @OptionGroup var book: RunbookOptions
    @Option(help: ArgumentHelp("The backup to restore.", valueName: "file")) var from: String
    @Flag(help: "Approve without asking.") var yes = false
    @Option(help: "Result format.") var output: OutputFormat = .text
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await guarded(json: output == .json) {
            let context = CommandContext(options: global)
            var restore = try context.loadRunbook(book)
            let path = context.absolute(from)
            let contents = try context.readFile(from, what: "the backup")
            // The restore is the operator's explicit intent: required access is
            // not enforced (the backup may predate it), but the document is checked.
            restore.change = [.replacePolicy(AttachedFile(path: path, contents: contents))]
            restore.require = []
            restore.steps = [
                Step(.backup(BackupStep())), Step(.validate(ValidateStep())), Step(.approve), Step(.apply),
                Step(.verify(VerifyStep(checks: [.policyUnchanged]))),
            ]
            restore.rollback = RollbackPolicy(automatic: true, verify: true)
            restore.name = "restore-" + restore.name
            return try await RunLauncher(context: context, runbook: restore, output: output)
                .start(assumeYes: yes, ignoreWindow: true)
        }
    }
}
