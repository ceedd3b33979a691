import Foundation
import PolicyChange
import Testing

/// A rule's triggering examples produce its code and its non-triggering
/// examples do not (the SwiftLint way: the examples are the tests and the
/// docs); `analyze` runs one example through its cloud's dialect.
extension DocumentedRule {
    static func expectExamplesBehave(sourceLocation: Testing.SourceLocation = #_sourceLocation, analyze: (Example) -> [Finding]) {
        let id = Self.id
        #expect(!triggering.isEmpty, "\(id) has no triggering example", sourceLocation: sourceLocation)
        #expect(!nonTriggering.isEmpty, "\(id) has no non-triggering example", sourceLocation: sourceLocation)
        #expect(!description.isEmpty && !fix.isEmpty, sourceLocation: sourceLocation)
        for (i, example) in triggering.enumerated() {
            let codes = analyze(example).map(\.code)
            #expect(codes.contains(id), "triggering example \(i + 1) of \(id) gave \(codes)", sourceLocation: sourceLocation)
        }
        for (i, example) in nonTriggering.enumerated() {
            let findings = analyze(example).filter { $0.code == id }
            #expect(
                findings.isEmpty, "non-triggering example \(i + 1) of \(id) gave \(findings.map(\.message))", sourceLocation: sourceLocation
            )
        }
    }
}
