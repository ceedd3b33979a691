import Foundation
import PolicyChange
import Testing

@testable import RunbookYAML

/// Where the fixture files are: copied into the test bundle by SwiftPM
/// (`resources: [.copy("Fixtures")]`).
enum Fixtures {
    static let root: String = {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("the Fixtures folder is missing from the test bundle")
        }
        return url.standardizedFileURL.path
    }()

    static let valid = root + "/valid"
    static let invalid = root + "/invalid"

    static func files(in folder: String, withExtension ext: String = "yaml") -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasSuffix("." + ext) }.sorted()
    }

    /// What `--set` and the environment provide to every fixture.
    static let loader = RunbookLoader(
        variables: [
            "CLUSTER": "lkc-abc123", "STAGE": "prod", "SID_PREFIX": "Legacy", "TOKEN": "s3cr3t",
            // --set wins over the environment.
            "ENV": "env-from-set",
        ],
        environment: [
            "ENV": "env-from-environment", "CONFLUENT_AUTH": "dXNlcjpwYXNz", "REGION": "eu-west-1",
            "HOME": "/home/should-not-be-used",
        ])
}

/// Loads `invalid/NAME` and checks the one-line message. `expected` starts
/// with the file name (`unknown-step.yaml:14:7: …`); the folder is added here.
func expectError(
    _ expected: String, loader: RunbookLoader = Fixtures.loader, sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    let name = String(expected.prefix { $0 != ":" })
    let path = Fixtures.invalid + "/" + name
    do {
        let runbook = try loader.load(path: path)
        Issue.record("\(name) loaded without error: \(runbook.name)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.description == Fixtures.invalid + "/" + expected, sourceLocation: sourceLocation)
        #expect(!error.description.contains("\n"), sourceLocation: sourceLocation)
    }
}
