/// One problem the analysis found (DESIGN.md §5). Codes follow IAM Access
/// Analyzer's where one exists; the vocabulary is extended, never renamed.
public struct Finding: Sendable, Equatable, Codable {
    public var code: String
    public var severity: Severity
    public var message: String
    /// JSON path in the policy (`Statement[1].Action[2]`), when one applies.
    public var path: String?
    /// 1-based line and column in the file the policy came from, when known.
    public var line: Int?
    public var column: Int?
    /// The file the line and column refer to.
    public var file: String?
    /// Who found it: `policy-change` (local) or `access-analyzer`.
    public var source: String

    public init(
        code: String, severity: Severity, message: String, path: String? = nil,
        line: Int? = nil, column: Int? = nil, file: String? = nil, source: String = "policy-change"
    ) {
        self.code = code
        self.severity = severity
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.file = file
        self.source = source
    }
}

public enum Severity: String, Sendable, Equatable, Codable, CaseIterable, Comparable {
    case suggestion
    case warning
    case securityWarning = "security-warning"
    case error

    private var rank: Int {
        switch self {
        case .suggestion: 0
        case .warning: 1
        case .securityWarning: 2
        case .error: 3
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

public enum Verdict: String, Sendable, Equatable, Codable {
    case pass, fail

    /// Fails on any error or security warning; with `fail-on: warning`, on warnings too.
    public init(findings: [Finding], failOn: FailOn = .error) {
        let threshold: Severity = failOn == .warning ? .warning : .securityWarning
        self = findings.contains { $0.severity >= threshold } ? .fail : .pass
    }
}
