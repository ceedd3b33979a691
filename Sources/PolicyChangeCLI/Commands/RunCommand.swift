import ArgumentParser
import Foundation
import PolicyChange
import RunStore

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Carry out a runbook: backup, validate, approve, apply, verify, monitor; roll back on failure.",
        discussion: """
            Every action is journaled under the state directory before it is taken, so a run stopped at any \
            instant can be finished with 'resume RUN' or undone with 'rollback RUN'. Ctrl-C (SIGINT) or SIGTERM \
            after apply rolls the change back and exits 5.
            """)

    @OptionGroup var book: RunbookOptions
    @Flag(help: "Approve without asking (for automation).") var yes = false
    @Flag(name: .customLong("dry-run"), help: "Show the plan and stop; nothing is written (same as 'plan').") var dryRun = false
    @Flag(name: .customLong("ignore-window"), help: "Apply even outside the runbook's maintenance window.") var ignoreWindow = false
    @Option(help: "Result format: text for people, json for scripts.") var output: OutputFormat = .text
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await guarded(json: output == .json) {
            let context = CommandContext(options: global)
            let runbook = try context.loadRunbook(book)
            if dryRun {
                return try await PlanCommand.makePlan(runbook, context: context, current: nil, format: output == .json ? .json : .text, out: nil)
            }
            let launcher = RunLauncher(context: context, runbook: runbook, output: output)
            return try await launcher.start(assumeYes: yes, ignoreWindow: ignoreWindow)
        }
    }
}

/// Builds an engine for a runbook and runs, resumes or rolls back with it:
/// lock, signals, storage, rendering.
struct RunLauncher {
    let context: CommandContext
    let runbook: Runbook
    let output: OutputFormat

    func start(assumeYes: Bool, ignoreWindow: Bool) async throws -> ExitStatus {
        let state = context.stateDirectory(besideRunbook: runbook.source)
        let runID = RunID.make(name: runbook.name, at: Date())
        return try await withEngine(state: state, runID: runID, fresh: true, assumeYes: assumeYes, ignoreWindow: ignoreWindow) { engine in
            await engine.run()
        }
    }

    func withEngine(
        state: StateDirectory, runID: String, fresh: Bool, assumeYes: Bool, ignoreWindow: Bool,
        _ body: (RunEngine) async -> RunResult
    ) async throws -> ExitStatus {
        let connection = try context.connect(to: runbook.target)
        let lock: KeyLock
        do {
            lock = try state.lock(key: runbook.target.keyIdentifier, runID: runID)
        } catch {
            throw Failure(.stoppedBeforeApply, "\(error)")
        }
        defer { lock.release() }
        let storage: FileRunStorage
        do {
            storage = fresh ? try state.createRun(runID) : try state.openRun(runID)
        } catch {
            throw Failure(.internalError, "cannot create the run folder under \(state.path): \(error)")
        }
        let stderr = context.stderr
        let trap = SignalTrap(terminal: stderr)
        defer { trap.restore() }
        let folder = (runbook.source.map { ($0 as NSString).deletingLastPathComponent }) ?? FileManager.default.currentDirectoryPath
        let engine = RunEngine(
            runbook: runbook,
            context: RunContext(
                provider: connection.provider, dialect: connection.dialect, auditLog: connection.auditLog,
                storage: ProviderRegistry.storageDecorator(storage), clock: SystemRunClock(),
                approver: TerminalApprover(assumeYes: assumeYes, renderer: PlanRenderer(terminal: stderr), terminal: stderr),
                probes: LiveProbes(transport: try context.transport(), workingDirectory: folder, logPath: "\(storage.folder)/commands.log"),
                observer: TerminalObserver(terminal: stderr, steps: runbook.steps), interruption: trap.interruption,
                remoteValidator: connection.remoteValidator),
            settings: RunSettings(
                runID: runID, runbookSHA256: runbookDigest(), ignoreWindow: ignoreWindow,
                toolVersion: PolicyChangeCommand.version))
        if fresh { stderr.line(stderr.styled("Run \(runID)", .bold) + " — journal: \(storage.journalPath)") }
        let result = await body(engine)
        _ = try? storage.writeArtifact(named: "report.json", contents: Data(Envelope.encode(RunResultDocument(result)).utf8))
        render(result, storage: storage)
        return result.status
    }

    func runbookDigest() -> String {
        guard let source = runbook.source, let data = FileManager.default.contents(atPath: source) else { return "" }
        return DurableFile.sha256(data)
    }

    func render(_ result: RunResult, storage: FileRunStorage) {
        if output == .json {
            context.stdout.write(Envelope.encode(RunResultDocument(result)))
            return
        }
        let out = context.stdout
        let (mark, style): (String, Terminal.Style) =
            switch result.status {
            case .success: ("✓", .green)
            case .rolledBack, .validationFailed, .stoppedBeforeApply: ("!", .yellow)
            default: ("✗", .red)
            }
        out.line(out.styled("\(mark) \(result.outcome)", style) + ": \(result.message)")
        if let backup = result.backup { out.line("  backup:  \(backup.path) (sha256 \(backup.sha256))") }
        out.line("  run:     \(result.runID) (\(storage.folder))")
        out.line("  exit:    \(result.status.rawValue) — \(result.status.meaning)")
        switch result.status {
        case .needsHuman:
            out.line(out.styled("  A human must act now: see the message above; 'policy-change status \(result.runID)' shows the journal.", .red))
        case .stoppedBeforeApply where result.outcome == "cloud-error" || result.outcome == "internal-error":
            out.line("  The key's policy was not changed. 'policy-change resume \(result.runID)' continues once the cause is fixed.")
        default: break
        }
    }
}
