import Foundation

extension KeyPolicyRules {
    /// `docs/findings.md`, written from the rules themselves; a test fails when
    /// the checked-in file differs (regenerate with `make docs`).
    public static func markdownReference() -> String {
        FindingsReference.markdown(
            title: "Findings reference (AWS key policies)",
            introduction: """
                Generated from `Sources/PolicyChange/AWS/Rules` by `make docs`; a test fails when this
                file and the code disagree. Each code's examples are also its tests. Severities follow
                IAM Access Analyzer's policy checks where it has the check. The verdict fails on any
                `error` or `security-warning` (DESIGN.md §5).
                """,
            rules: all)
    }
}
