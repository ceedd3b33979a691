import Foundation

/// One step of a runbook's procedure.
public struct Step: Sendable, Equatable {
    public var action: StepAction
    public var options: StepOptions
    public var location: SourceLocation?

    public init(_ action: StepAction, options: StepOptions = StepOptions(), location: SourceLocation? = nil) {
        self.action = action
        self.options = options
        self.location = location
    }

    public var keyword: String { action.keyword }

    /// What an omitted `steps:` means: the vendor procedure
    /// (shared/seeds/002_19d6eb5f4dfef79d.txt): backup, validate, approve,
    /// apply, verify, monitor 30 minutes.
    public static let defaultProcedure: [Step] = [
        Step(.backup(BackupStep())),
        Step(.validate(ValidateStep())),
        Step(.approve),
        Step(.apply),
        Step(.verify(VerifyStep())),
        Step(.monitor(MonitorStep())),
    ]

    public static let keywords = ["backup", "validate", "approve", "apply", "wait", "verify", "monitor", "command"]
}

public enum StepAction: Sendable, Equatable {
    case backup(BackupStep)
    case validate(ValidateStep)
    case approve
    case apply
    case wait(Duration)
    case verify(VerifyStep)
    case monitor(MonitorStep)
    case command(CommandSpec)

    public var keyword: String {
        switch self {
        case .backup: "backup"
        case .validate: "validate"
        case .approve: "approve"
        case .apply: "apply"
        case .wait: "wait"
        case .verify: "verify"
        case .monitor: "monitor"
        case .command: "command"
        }
    }
}

/// `timeout`, `retries`, `on-failure`: every step takes them.
public struct StepOptions: Sendable, Equatable {
    public var timeout: Duration?
    /// Extra attempts after a failed one.
    public var retries: Int
    /// nil = the default: `abort` before apply, `rollback` after.
    public var onFailure: FailureAction?

    public init(timeout: Duration? = nil, retries: Int = 0, onFailure: FailureAction? = nil) {
        self.timeout = timeout
        self.retries = retries
        self.onFailure = onFailure
    }
}

public enum FailureAction: String, Sendable, Equatable, Codable, CaseIterable {
    case rollback, abort, `continue`
}

public struct BackupStep: Sendable, Equatable {
    /// Absolute folder for backups; nil = the run's folder.
    public var directory: String?
    public init(directory: String? = nil) { self.directory = directory }
}

public struct ValidateStep: Sendable, Equatable {
    public var failOn: FailOn
    /// Also ask IAM Access Analyzer's ValidatePolicy (AWS only).
    public var accessAnalyzer: Bool

    public init(failOn: FailOn = .error, accessAnalyzer: Bool = false) {
        self.failOn = failOn
        self.accessAnalyzer = accessAnalyzer
    }
}

/// `fail-on: error` fails on errors and security warnings; `warning` on warnings too.
public enum FailOn: String, Sendable, Equatable, Codable, CaseIterable {
    case error, warning
}

public struct VerifyStep: Sendable, Equatable {
    public var checks: [Check]
    /// Rounds a check may stay inconclusive before it counts as failed.
    public var inconclusiveLimit: Int
    /// Pause between inconclusive rounds.
    public var interval: Duration

    public init(
        checks: [Check] = [.policyUnchanged, .requiredAccess, .auditLog(AuditLogCheck())],
        inconclusiveLimit: Int = 3,
        interval: Duration = .seconds(10)
    ) {
        self.checks = checks
        self.inconclusiveLimit = inconclusiveLimit
        self.interval = interval
    }
}

public struct MonitorStep: Sendable, Equatable {
    public var duration: Duration
    public var interval: Duration
    /// Consecutive failed rounds that trigger rollback.
    public var failures: Int
    /// Consecutive inconclusive rounds that count as one failed round.
    public var inconclusive: Int
    public var checks: [Check]

    public init(
        duration: Duration = .seconds(30 * 60),
        interval: Duration = .seconds(60),
        failures: Int = 1,
        inconclusive: Int = 3,
        checks: [Check] = [.policyUnchanged, .requiredAccess, .auditLog(AuditLogCheck())]
    ) {
        self.duration = duration
        self.interval = interval
        self.failures = failures
        self.inconclusive = inconclusive
        self.checks = checks
    }
}

/// A shell command run with `/bin/sh -c` in the runbook's folder.
public struct CommandSpec: Sendable, Equatable {
    public var run: String
    public var timeout: Duration?
    /// Extra environment for the command (values may carry secrets: never journaled).
    public var environment: [String: String]

    public init(run: String, timeout: Duration? = nil, environment: [String: String] = [:]) {
        self.run = run
        self.timeout = timeout
        self.environment = environment
    }
}

// MARK: - Checks

public enum Check: Sendable, Equatable {
    /// The live policy still equals what was applied.
    case policyUnchanged
    /// The live policy still grants every `require` entry.
    case requiredAccess
    /// No access-denied on this key since apply, from the cloud's audit log.
    case auditLog(AuditLogCheck)
    /// The key exists and is enabled.
    case keyEnabled
    case http(HTTPCheck)
    case command(CommandSpec)

    public var keyword: String {
        switch self {
        case .policyUnchanged: "policy-unchanged"
        case .requiredAccess: "required-access"
        case .auditLog: "audit-log"
        case .keyEnabled: "key-enabled"
        case .http: "http"
        case .command: "command"
        }
    }

    public static let keywords = ["policy-unchanged", "required-access", "audit-log", "key-enabled", "http", "command"]
}

public struct AuditLogCheck: Sendable, Equatable {
    /// Azure Log Analytics workspace id.
    public var workspace: String?
    public init(workspace: String? = nil) { self.workspace = workspace }
}

public struct HTTPCheck: Sendable, Equatable {
    public var url: String
    public var method: String
    /// Header values may carry secrets: never journaled or printed.
    public var headers: [String: String]
    public var expectStatus: Int
    /// Dotted JSON paths (`status.phase`) and the scalar each must equal.
    public var expectJSON: [String: JSONScalar]
    public var timeout: Duration?

    public init(
        url: String, method: String = "GET", headers: [String: String] = [:], expectStatus: Int = 200,
        expectJSON: [String: JSONScalar] = [:], timeout: Duration? = nil
    ) {
        self.url = url
        self.method = method
        self.headers = headers
        self.expectStatus = expectStatus
        self.expectJSON = expectJSON
        self.timeout = timeout
    }
}

/// A JSON scalar a check compares with (`expect.json` values).
public enum JSONScalar: Sendable, Equatable, Codable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    public var description: String {
        switch self {
        case .string(let s): "\"\(s)\""
        case .number(let n): n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        case .bool(let b): String(b)
        case .null: "null"
        }
    }
}
