import Foundation

extension GCPPolicyRules {
    /// `docs/findings-gcp.md`, written from the rules; a test fails when the
    /// checked-in file differs (regenerate with `make docs`).
    public static func markdownReference() -> String {
        FindingsReference.markdown(
            title: "Findings reference (GCP Cloud KMS IAM policies)",
            introduction: """
                Generated from `Sources/PolicyChange/GCP/Rules` by `make docs`; a test fails when this file
                and the code disagree. Each code's examples are also its tests. The verdict fails on any `error` or
                `security-warning` (DESIGN.md §5). Examples use the pinned predefined-role catalogue
                (`Sources/PolicyChange/GCP/PredefinedKMSRoles.swift`) and the clock 2026-01-01T00:00:00Z.
                """,
            rules: all)
    }
}
