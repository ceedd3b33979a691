import Foundation

/// One line of a run's `journal.jsonl` (DESIGN.md §6). Append-only; each event
/// that announces an action is durable before the action is taken, so a run
/// killed at any instant can be resumed or rolled back from it.
public struct JournalEvent: Sendable, Equatable, Codable {
    public static let formatVersion = 1

    public enum Kind: String, Sendable, Codable {
        case runStarted = "run-started"
        case stepStarted = "step-started"
        case stepFinished = "step-finished"
        case stepFailed = "step-failed"
        case backupWritten = "backup-written"
        case proposalWritten = "proposal-written"
        case validated
        case approved
        case declined
        /// Written (and fsynced) before the write call: the policy may change from here on.
        case applyIntent = "apply-intent"
        case applied
        case noChanges = "no-changes"
        case check
        case monitorRound = "monitor-round"
        case interrupted
        case rollbackIntent = "rollback-intent"
        case rollbackApplied = "rollback-applied"
        case rollbackVerified = "rollback-verified"
        case rollbackFailed = "rollback-failed"
        case resumed
        case runFinished = "run-finished"
    }

    public var v: Int
    public var time: Date
    public var event: Kind
    public var step: Int?
    /// The step's or check's keyword.
    public var name: String?
    public var message: String?
    /// `passed` / `failed` / `inconclusive` for checks; the run's outcome for `run-finished`.
    public var outcome: String?
    public var file: StoredFile?
    public var verdict: Verdict?
    public var findings: [Finding]?
    public var exitCode: Int32?
    public var start: RunStart?

    public init(
        _ event: Kind, time: Date, step: Int? = nil, name: String? = nil, message: String? = nil,
        outcome: String? = nil, file: StoredFile? = nil, verdict: Verdict? = nil, findings: [Finding]? = nil,
        exitCode: Int32? = nil, start: RunStart? = nil
    ) {
        self.v = Self.formatVersion
        self.time = time
        self.event = event
        self.step = step
        self.name = name
        self.message = message
        self.outcome = outcome
        self.file = file
        self.verdict = verdict
        self.findings = findings
        self.exitCode = exitCode
        self.start = start
    }
}

/// What `run-started` records: enough to find the key and the runbook again.
/// Never a credential: only what the runbook itself says.
public struct RunStart: Sendable, Equatable, Codable {
    public var runID: String
    public var runbook: String
    public var runbookSHA256: String
    public var name: String
    public var changeTicket: String?
    public var target: Target
    public var caller: String?
    public var toolVersion: String

    public init(
        runID: String, runbook: String, runbookSHA256: String, name: String, changeTicket: String?,
        target: Target, caller: String?, toolVersion: String
    ) {
        self.runID = runID
        self.runbook = runbook
        self.runbookSHA256 = runbookSHA256
        self.name = name
        self.changeTicket = changeTicket
        self.target = target
        self.caller = caller
        self.toolVersion = toolVersion
    }
}

extension Target: Codable {
    private enum CodingKeys: String, CodingKey { case aws, azure, gcp }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let aws = try container.decodeIfPresent(AWSTarget.self, forKey: .aws) {
            self = .aws(aws)
        } else if let azure = try container.decodeIfPresent(AzureTarget.self, forKey: .azure) {
            self = .azure(azure)
        } else if let gcp = try container.decodeIfPresent(GCPTarget.self, forKey: .gcp) {
            self = .gcp(gcp)
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "no target"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .aws(let t): try container.encode(t, forKey: .aws)
        case .azure(let t): try container.encode(t, forKey: .azure)
        case .gcp(let t): try container.encode(t, forKey: .gcp)
        }
    }
}

/// JSON as the journal and reports write it: ISO 8601 times, sorted keys,
/// one line per value.
public enum JournalCoding {
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(timestamp(date))
        }
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = parseTimestamp(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad time \(text)"))
            }
            return date
        }
        return decoder
    }

    public static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    public static func parseTimestamp(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
    }
}

/// The outcome of one check evaluation.
public enum CheckOutcome: Sendable, Equatable {
    case passed(String?)
    case failed(String)
    /// The check could not get an answer (timeout, 5xx): not a failure by itself.
    case inconclusive(String)

    public var word: String {
        switch self {
        case .passed: "passed"
        case .failed: "failed"
        case .inconclusive: "inconclusive"
        }
    }

    public var detail: String? {
        switch self {
        case .passed(let s): s
        case .failed(let s), .inconclusive(let s): s
        }
    }
}

/// What a run would do, shown before approval and by `plan`.
public struct RunPlan: Sendable, Equatable, Codable {
    public var runbook: String
    public var changeTicket: String?
    public var cloud: Cloud
    public var key: String
    public var caller: String?
    /// The proposed policy equals the live one: the run would change nothing.
    public var noChanges: Bool
    public var changes: ChangeSummary
    public var findings: [Finding]
    public var verdict: Verdict
    /// One line per step, in order.
    public var steps: [String]
    public var window: MaintenanceWindow?
    public var proposedPolicy: String
    /// What each principal gains and loses, when the dialect evaluates access
    /// (AWS); nil otherwise, and absent from plans recorded before it existed.
    public var access: [PrincipalAccessChange]?

    public init(
        runbook: String, changeTicket: String?, cloud: Cloud, key: String, caller: String?, noChanges: Bool,
        changes: ChangeSummary, findings: [Finding], verdict: Verdict, steps: [String], window: MaintenanceWindow?,
        proposedPolicy: String, access: [PrincipalAccessChange]? = nil
    ) {
        self.runbook = runbook
        self.changeTicket = changeTicket
        self.cloud = cloud
        self.key = key
        self.caller = caller
        self.noChanges = noChanges
        self.changes = changes
        self.findings = findings
        self.verdict = verdict
        self.steps = steps
        self.window = window
        self.proposedPolicy = proposedPolicy
        self.access = access
    }
}
