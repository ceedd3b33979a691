/// Process exit codes (DESIGN.md §6). Scripts depend on these numbers.
public enum ExitStatus: Int32, Sendable, Codable, CaseIterable {
    /// Applied, verified, monitored (or: plan/validate clean).
    case success = 0
    /// Unexpected internal error.
    case internalError = 1
    /// Runbook or input invalid (nothing contacted).
    case invalidInput = 2
    /// Validation failed (nothing applied).
    case validationFailed = 3
    /// Stopped before apply: outside window, not approved, drift, lock held, cloud/auth error.
    case stoppedBeforeApply = 4
    /// Applied, a check failed, backup restored and verified.
    case rolledBack = 5
    /// Rollback failed or could not be verified, or a check failed after apply
    /// with rollback turned off: a human must act now.
    case needsHuman = 6
    /// Command-line usage error.
    case usage = 64

    public var meaning: String {
        switch self {
        case .success: "success: applied, verified, monitored (or: plan/validate clean)"
        case .internalError: "unexpected internal error"
        case .invalidInput: "runbook or input invalid (nothing contacted)"
        case .validationFailed: "validation failed (nothing applied)"
        case .stoppedBeforeApply: "stopped before apply: outside window, not approved, drift, lock held, cloud/auth error"
        case .rolledBack: "applied, a check failed, backup restored and verified"
        case .needsHuman: "rollback failed or could not be verified (or a check failed with rollback off): a human must act now"
        case .usage: "command-line usage error"
        }
    }
}
