import ArgumentParser
import Foundation
import PolicyChange

enum PlanFormat: String, ExpressibleByArgument, CaseIterable {
    case text, markdown, json
}

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what a run would change and what the analysis finds. Read-only: no write call is made.",
        discussion: """
            Reads the live policy (or --current FILE, offline), applies the runbook's change to it, analyses the \
            result and prints the change, the findings and the steps. Markdown is for pull requests. \
            Exit 0 when the plan is clean, 3 when validation would fail.
            """)

    @OptionGroup var book: RunbookOptions
    @Option(help: "text, markdown (for a pull request) or json.") var format: PlanFormat = .text
    @Option(help: ArgumentHelp("Write the plan to a file instead of standard output.", valueName: "file")) var out: String?
    @Option(help: ArgumentHelp("Plan against this snapshot (a backup file) instead of the live policy: no cloud is contacted.", valueName: "file"))
    var current: String?
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        try await guarded(json: format == .json) {
            let context = CommandContext(options: global)
            let runbook = try context.loadRunbook(book)
            return try await Self.makePlan(runbook, context: context, current: current, format: format, out: out)
        }
    }

    static func makePlan(_ runbook: Runbook, context: CommandContext, current: String?, format: PlanFormat, out: String?) async throws
        -> ExitStatus
    {
        let snapshot: PolicySnapshot
        let caller: String?
        let dialect: any PolicyDialect
        if let current {
            snapshot = PolicySnapshot(document: try context.readFile(current, what: "the current policy"))
            caller = nil
            dialect = PolicyDialects.dialect(for: runbook.target)
        } else {
            let connection = try context.connect(to: runbook.target)
            dialect = connection.dialect
            do {
                snapshot = try await connection.provider.readPolicy()
                caller = try? await connection.provider.callerIdentity()
                try await dialect.prepare(for: [snapshot], operations: runbook.change)
            } catch {
                throw Failure(.stoppedBeforeApply, "cannot read the key's policy: \(error)")
            }
        }
        let plan: RunPlan
        do {
            plan = try Planner.plan(runbook: runbook, current: snapshot, caller: caller, dialect: dialect).plan
        } catch {
            throw Failure(.invalidInput, "cannot apply the change: \(error)")
        }
        let renderer = PlanRenderer(terminal: out == nil ? context.stdout : Terminal(fd: -1, forceNoColor: true))
        let text: String =
            switch format {
            case .text: renderer.text(plan)
            case .markdown: renderer.markdown(plan)
            case .json: renderer.json(plan)
            }
        if let out {
            do {
                try Data(text.utf8).write(to: URL(fileURLWithPath: context.absolute(out)), options: .atomic)
            } catch {
                throw Failure(.internalError, "cannot write \(out): \(error.localizedDescription)")
            }
        } else {
            context.stdout.write(text)
        }
        return plan.verdict == .pass ? .success : .validationFailed
    }
}
