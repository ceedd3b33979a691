import ArgumentParser
import Foundation
import PolicyChange
import RunStore
import RunbookYAML

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "List runs, their state and what to do next; with a run id, its journal.")

    @Argument(help: "A run id: show that run's journal.") var run: String?
    @Option(help: "Result format.") var output: OutputFormat = .text
    @OptionGroup var global: GlobalOptions

    struct RunStatus: Encodable {
        let run: String
        let runbook: String
        let key: String
        let state: String
        let exitCode: Int32?
        let message: String?
        let next: String?
    }

    func run() async throws {
        try await guarded(json: output == .json) {
            let context = CommandContext(options: global)
            let state = context.stateDirectory(besideRunbook: nil)
            let ids = run.map { [$0] } ?? state.runIDs()
            var statuses: [RunStatus] = []
            for id in ids {
                let events: [JournalEvent]
                do {
                    events = try state.journal(of: id)
                } catch {
                    throw Failure(.invalidInput, "no run '\(id)' in \(state.path)")
                }
                statuses.append(Self.summarize(id, events))
                if run != nil, output == .text {
                    for event in events { context.stdout.line(Self.describe(event)) }
                    context.stdout.line("")
                }
            }
            if output == .json {
                struct Document: Encodable {
                    let schema = "policy-change/status@1"
                    let stateDirectory: String
                    let runs: [RunStatus]
                }
                context.stdout.write(Envelope.encode(Document(stateDirectory: state.path, runs: statuses)))
            } else if statuses.isEmpty {
                context.stdout.line("No runs in \(state.path).")
            } else {
                for s in statuses {
                    context.stdout.line("\(s.run)  \(s.state)" + (s.exitCode.map { " (exit \($0))" } ?? ""))
                    context.stdout.line("    key \(s.key)")
                    if let message = s.message { context.stdout.line("    \(message)") }
                    if let next = s.next { context.stdout.line("    next: \(next)") }
                }
            }
            return .success
        }
    }

    /// Where a run stands, from its journal alone.
    static func summarize(_ id: String, _ events: [JournalEvent]) -> RunStatus {
        let start = events.first { $0.event == .runStarted }?.start
        let kinds = Set(events.map(\.event))
        let finished = events.last { $0.event == .runFinished }
        let state: String
        var next: String? = nil
        if let finished {
            state = finished.outcome ?? "finished"
            if finished.exitCode == ExitStatus.needsHuman.rawValue { next = "a human must act: read the message; 'policy-change rollback \(id)' restores the backup" }
        } else if kinds.contains(.rollbackIntent) {
            state = "interrupted during rollback"
            next = "policy-change rollback \(id)"
        } else if kinds.contains(.applyIntent) {
            state = kinds.contains(.applied) ? "interrupted after apply" : "interrupted during apply"
            next = "policy-change resume \(id)   (or: policy-change rollback \(id))"
        } else {
            state = "interrupted before apply (the policy was not changed)"
            next = "policy-change resume \(id)"
        }
        return RunStatus(
            run: id, runbook: start?.runbook ?? "?", key: start?.target.keyIdentifier ?? "?", state: state,
            exitCode: finished?.exitCode, message: finished?.message, next: next)
    }

    static func describe(_ e: JournalEvent) -> String {
        var parts = [JournalCoding.timestamp(e.time), e.event.rawValue]
        if let step = e.step { parts.append("step \(step + 1)") }
        if let name = e.name { parts.append(name) }
        if let outcome = e.outcome { parts.append("[\(outcome)]") }
        if let file = e.file { parts.append(file.path) }
        if let message = e.message { parts.append("— \(message)") }
        return parts.joined(separator: " ")
    }
}

struct SchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema of the runbook format (v1), for editors and CI.")

    func run() async throws {
        Terminal.standardOutput.write(RunbookSchema.json)
    }
}

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a starter runbook (and the files it names) for a cloud.")

    @Option(help: "aws, azure or gcp.") var cloud: Cloud
    @Option(help: ArgumentHelp("Where to write the runbook.", valueName: "file")) var out: String = "runbook.yaml"
    @Flag(help: "Overwrite existing files.") var force = false

    func run() async throws {
        try await guarded {
            let runbookPath = out
            let folder = (runbookPath as NSString).deletingLastPathComponent
            let files = Scaffold.files(for: cloud)
            var written: [String] = []
            for (relative, contents) in [(runbookPath, files.runbook)] + files.extras.map({ (folder.isEmpty ? $0.0 : "\(folder)/\($0.0)", $0.1) }) {
                if FileManager.default.fileExists(atPath: relative), !force {
                    throw Failure(.invalidInput, "\(relative) exists; pass --force to overwrite it")
                }
                let parent = (relative as NSString).deletingLastPathComponent
                if !parent.isEmpty { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
                try Data(contents.utf8).write(to: URL(fileURLWithPath: relative))
                written.append(relative)
            }
            for path in written { Terminal.standardOutput.line("wrote \(path)") }
            Terminal.standardOutput.line("next: edit \(runbookPath), then 'policy-change plan \(runbookPath)'")
            return .success
        }
    }
}
