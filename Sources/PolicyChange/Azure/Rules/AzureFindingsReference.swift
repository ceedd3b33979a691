import Foundation

extension AzureVaultRules {
    /// `docs/findings-azure.md`, written from the rules; a test fails when the
    /// checked-in file differs (regenerate with `make docs`).
    public static func markdownReference() -> String {
        FindingsReference.markdown(
            title: "Findings reference (Azure Key Vault)",
            introduction: """
                Generated from `Sources/PolicyChange/Azure/Rules`; a test fails when this file and the
                code disagree. Each code's examples are also its tests. The verdict fails on any `error`
                or `security-warning` (DESIGN.md §5). Snapshots are the vault as ARM returns it, plus
                `roleAssignments` in RBAC mode (DESIGN.md §4).
                """,
            rules: all)
    }
}
