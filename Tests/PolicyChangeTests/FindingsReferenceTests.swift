import Foundation
import PolicyChange
import Testing

@Suite("docs/findings.md")
struct FindingsReferenceTests {
    @Test("docs/findings.md is what the rules would write (POLICY_CHANGE_UPDATE_DOCS=1 rewrites it)")
    func findingsReference() throws {
        let url = KMSActionCatalogueTests.packageRoot.appendingPathComponent("docs/findings.md")
        let expected = KeyPolicyRules.markdownReference()
        if ProcessInfo.processInfo.environment["POLICY_CHANGE_UPDATE_DOCS"] == "1" {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(expected.utf8).write(to: url)
        }
        let actual = try String(contentsOf: url, encoding: .utf8)
        #expect(actual == expected, "docs/findings.md is stale: run make docs")
        for rule in KeyPolicyRules.all { #expect(actual.contains("## \(rule.id)\n")) }
    }
}
