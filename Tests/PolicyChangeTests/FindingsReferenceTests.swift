import Foundation
import PolicyChange
import Testing

/// `make docs` (`--filter FindingsReferenceTests`) rewrites the three references.
@Suite("docs/findings*.md")
struct FindingsReferenceTests {
    struct Reference: Sendable, CustomTestStringConvertible {
        var file: String
        var markdown: String
        var ids: [String]
        var testDescription: String { file }
    }

    static let references = [
        Reference(file: "docs/findings.md", markdown: KeyPolicyRules.markdownReference(), ids: KeyPolicyRules.all.map { $0.id }),
        Reference(file: "docs/findings-azure.md", markdown: AzureVaultRules.markdownReference(), ids: AzureVaultRules.all.map { $0.id }),
        Reference(file: "docs/findings-gcp.md", markdown: GCPPolicyRules.markdownReference(), ids: GCPPolicyRules.all.map { $0.id }),
    ]

    @Test("the reference is what the rules would write (POLICY_CHANGE_UPDATE_DOCS=1 rewrites it)", arguments: references)
    func findingsReference(_ reference: Reference) throws {
        let url = KMSActionCatalogueTests.packageRoot.appendingPathComponent(reference.file)
        if ProcessInfo.processInfo.environment["POLICY_CHANGE_UPDATE_DOCS"] == "1" {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(reference.markdown.utf8).write(to: url)
        }
        let actual = try String(contentsOf: url, encoding: .utf8)
        #expect(actual == reference.markdown, "\(reference.file) is stale: run make docs")
        for id in reference.ids { #expect(actual.contains("## \(id)\n"), "\(reference.file) has no section \(id)") }
    }
}
