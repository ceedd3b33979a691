import Foundation

/// A member of a snapshot that the analysis reads but that has the wrong JSON
/// type, or a required one that is missing. The tolerant snapshot models
/// (`AzureVaultSnapshot`, `IAMPolicy`) read such a member as absent, so the
/// rules report it instead (`INVALID_POLICY_ELEMENT`).
public struct JSONShapeProblem: Sendable, Equatable {
    /// JSON path of the member, `properties.accessPolicies[2].objectId`.
    public var path: String
    /// JSON path of the value to locate the problem at: the member itself, or
    /// for a missing member the object that should hold it.
    public var anchor: String
    public var message: String

    /// The problem as a finding, located in `document` when the snapshot came from `file`.
    func finding(_ code: String, _ severity: Severity, document: JSONDocument?, file: String?, prefix: String = "") -> Finding {
        let position = file == nil ? nil : document?.locations[anchor]
        return Finding(
            code: code, severity: severity, message: prefix + message, path: path, line: position?.line, column: position?.column,
            file: position == nil ? nil : file)
    }
}

/// Collects `JSONShapeProblem`s while walking a document. Optional members may
/// be absent or null; required ones must be present with the right type.
struct JSONShapeChecker {
    private(set) var problems: [JSONShapeProblem] = []

    static func member(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    static func kind(_ value: JSONValue) -> String {
        switch value {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number: "a number"
        case .bool: "a boolean"
        case .null: "null"
        }
    }

    private mutating func check<T>(
        _ value: JSONValue?, at path: String, required: Bool, expected: String, _ extract: (JSONValue) -> T?
    ) -> T? {
        let name = path.isEmpty ? "the snapshot" : path
        guard let value else {
            if required {
                let parent = String(path[..<(path.lastIndex(of: ".") ?? path.startIndex)])
                problems.append(JSONShapeProblem(path: path, anchor: parent, message: "\(name) is missing; it must be \(expected)"))
            }
            return nil
        }
        if let result = extract(value) { return result }
        if value == .null, !required { return nil }
        problems.append(JSONShapeProblem(path: path, anchor: path, message: "\(name) must be \(expected), not \(Self.kind(value))"))
        return nil
    }

    @discardableResult
    mutating func object(_ value: JSONValue?, at path: String, required: Bool = false) -> [JSONMember]? {
        check(value, at: path, required: required, expected: "an object", \.objectValue)
    }

    @discardableResult
    mutating func array(_ value: JSONValue?, at path: String, required: Bool = false) -> [JSONValue]? {
        check(value, at: path, required: required, expected: "an array", \.arrayValue)
    }

    /// An array whose every element must be a string.
    mutating func strings(_ value: JSONValue?, at path: String, required: Bool = false) {
        for (i, item) in (array(value, at: path, required: required) ?? []).enumerated() {
            string(item, at: "\(path)[\(i)]", required: true)
        }
    }

    @discardableResult
    mutating func string(_ value: JSONValue?, at path: String, required: Bool = false) -> String? {
        check(value, at: path, required: required, expected: "a string", \.stringValue)
    }

    @discardableResult
    mutating func bool(_ value: JSONValue?, at path: String, required: Bool = false) -> Bool? {
        check(value, at: path, required: required, expected: "true or false") { if case .bool(let b) = $0 { b } else { nil } }
    }
}
