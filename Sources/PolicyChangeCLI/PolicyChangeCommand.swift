import ArgumentParser
import Foundation
import PolicyChange

/// `policy-change`: the root command. Each subcommand is one struct; the
/// shared context (state dir, transport, providers) is built once per
/// invocation by `CommandContext` so tests can run commands in-process.
public struct PolicyChangeCommand: AsyncParsableCommand {
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "policy-change",
        abstract: "Change a cloud KMS key's access policy safely: backup, validate, apply, verify, monitor, roll back.",
        discussion: """
            A runbook (YAML, schema v1) names the key, the change and the procedure. \
            'policy-change run RUNBOOK' carries it out; 'plan' shows what it would do without writing anything.

            EXIT CODES
            \(ExitStatus.allCases.map { "  \(String($0.rawValue).padding(toLength: 4, withPad: " ", startingAt: 0))\($0.meaning)" }.joined(separator: "\n"))
            """,
        version: version,
        subcommands: [
            RunCommand.self, PlanCommand.self, ValidateCommand.self, DiffCommand.self, BackupCommand.self,
            RollbackCommand.self, RestoreCommand.self, ResumeCommand.self, StatusCommand.self, InitCommand.self,
            SchemaCommand.self,
        ]
    )

    public init() {}
}

/// Flags every command that touches state or the network shares.
public struct GlobalOptions: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: ArgumentHelp(
        "Where runs keep their journals and backups (default: $POLICY_CHANGE_STATE_DIR, else .policy-change/ beside the runbook).",
        valueName: "dir"))
    public var stateDirectory: String?

    @Option(name: .customLong("ca-bundle"), help: ArgumentHelp(
        "CA certificates for HTTPS (default: $SSL_CERT_FILE, else the system's).", valueName: "file"))
    public var caBundle: String?

    @Flag(name: .shortAndLong, help: "Log each HTTP request (secrets redacted) to standard error.")
    public var verbose = false

    @Flag(name: .customLong("no-color"), help: "Never colour output (also: NO_COLOR set in the environment).")
    public var noColor = false

    public init() {}
}

/// The runbook a command works on and its `${NAME}` variables.
public struct RunbookOptions: ParsableArguments {
    @Argument(help: "The runbook (YAML, schema v1).") public var runbook: String
    @Option(name: .customLong("set"), help: ArgumentHelp(
        "Set a ${NAME} variable of the runbook (repeatable; never journaled).", valueName: "NAME=VALUE"))
    public var variables: [String] = []

    public init() {}
}

public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json
}

/// Exits with a DESIGN §6 status after printing a one-line message to standard error.
struct Failure: Error, CustomStringConvertible {
    var status: ExitStatus
    var message: String
    /// The message starts with `FILE:LINE:COL:` and is printed as is: editors
    /// and CI problem matchers only jump to a location that begins the line.
    var located = false
    var description: String { message }

    init(_ status: ExitStatus, _ message: String, located: Bool = false) {
        self.status = status
        self.message = message
        self.located = located
    }
}

extension AsyncParsableCommand {
    /// Runs a command body, turning `Failure` into its message and exit status.
    /// With `json`, a failure before any result also prints a
    /// `policy-change/error@1` document on standard output, so a script that
    /// asked for JSON always gets JSON.
    func guarded(json: Bool = false, _ body: () async throws -> ExitStatus) async throws {
        let status: ExitStatus
        do {
            status = try await body()
        } catch let failure as Failure {
            Terminal.standardError.line(failure.located ? failure.message : "policy-change: \(failure.message)")
            if json {
                Terminal.standardOutput.write(Envelope.encode(ErrorDocument(exitCode: failure.status.rawValue, message: failure.message)))
            }
            throw ExitCode(failure.status.rawValue)
        } catch let error as ExitCode {
            throw error
        } catch let error as ValidationError {
            throw error
        } catch {
            Terminal.standardError.line("policy-change: internal error: \(error)")
            throw ExitCode(ExitStatus.internalError.rawValue)
        }
        if status != .success { throw ExitCode(status.rawValue) }
    }
}

/// The executable's entry point. A harness may pass its own provider factory
/// (the crash tests use a file-backed key).
public enum PolicyChangeMain {
    public static func main(factory: (any ProviderFactory)? = nil) async {
        if let factory {
            await ProviderRegistry.$factory.withValue(factory) { await runRoot() }
        } else {
            await runRoot()
        }
    }

    private static func runRoot() async {
        await PolicyChangeCommand.main(nil)
    }
}

/// What `--output json` prints when a command fails before it has a result.
struct ErrorDocument: Encodable {
    let schema = "policy-change/error@1"
    let exitCode: Int32
    let message: String
}
