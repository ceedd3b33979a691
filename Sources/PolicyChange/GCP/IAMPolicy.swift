import Foundation

/// A Cloud IAM policy (google.iam.v1.Policy) as the analysis and the editor
/// see it: version, etag, bindings. Parsing is tolerant: shapes the API would
/// reject are kept as far as they go, and the rules report them.
public struct IAMPolicy: Sendable, Equatable {
    public var version: Int?
    /// The version member as written, when it is not a plain integer.
    public var versionText: String?
    public var etag: String?
    public var bindings: [IAMBinding]

    public init(version: Int? = nil, etag: String? = nil, bindings: [IAMBinding] = []) {
        self.version = version
        self.etag = etag
        self.bindings = bindings
    }

    /// Parses a policy document; nil when it is not a JSON object.
    public static func parse(_ data: Data) -> IAMPolicy? {
        guard let root = try? JSONParser.parse(data).root else { return nil }
        return IAMPolicy(json: root)
    }

    public init?(json root: JSONValue) {
        guard case .object = root else { return nil }
        switch root["version"] {
        case .number(let n)?:
            version = Int(n)
            versionText = version == nil ? n : nil
        case .string(let s)?: versionText = s
        case nil: break
        case let other?: versionText = "\(other)"
        }
        etag = root["etag"]?.stringValue
        bindings = (root["bindings"]?.arrayValue ?? []).enumerated().map { IAMBinding(json: $1, index: $0) }
    }

    /// Members the analysis reads that have the wrong type: `init` reads
    /// those as absent, `INVALID_POLICY_ELEMENT` reports them. `version`
    /// (`INVALID_POLICY_VERSION`), a binding's missing role and non-string
    /// members (`INVALID_MEMBER_FORMAT`) are reported elsewhere; members the
    /// analysis does not read (`auditConfigs`, …) are not checked.
    public static func shapeProblems(_ root: JSONValue) -> [JSONShapeProblem] {
        var c = JSONShapeChecker()
        guard c.object(root, at: "", required: true) != nil else { return c.problems }
        c.string(root["etag"], at: "etag")
        for (i, binding) in (c.array(root["bindings"], at: "bindings") ?? []).enumerated() {
            let path = "bindings[\(i)]"
            guard c.object(binding, at: path, required: true) != nil else { continue }
            c.string(binding["role"], at: "\(path).role")
            c.array(binding["members"], at: "\(path).members")
            guard let condition = c.object(binding["condition"], at: "\(path).condition").map(JSONValue.object) else { continue }
            for name in ["title", "description", "expression"] { c.string(condition[name], at: "\(path).condition.\(name)") }
        }
        return c.problems
    }

    public var hasConditions: Bool { bindings.contains { $0.condition != nil } }

    /// The policy as JSON, in the API's member order.
    public var json: JSONValue {
        var members: [JSONMember] = []
        if let version { members.append(JSONMember("version", .number(String(version)))) }
        if let etag { members.append(JSONMember("etag", .string(etag))) }
        if !bindings.isEmpty { members.append(JSONMember("bindings", .array(bindings.map(\.json)))) }
        return .object(members)
    }

    /// Bindings as the service stores them: no empty ones, members merged per
    /// (role, condition), so order and duplicates do not matter.
    public var normalizedBindings: [IAMBindingKey: Set<String>] {
        var result: [IAMBindingKey: Set<String>] = [:]
        for binding in bindings where !binding.members.isEmpty {
            result[IAMBindingKey(role: binding.role, condition: binding.condition), default: []].formUnion(binding.members)
        }
        return result
    }
}

public struct IAMBindingKey: Sendable, Hashable {
    public var role: String
    public var condition: IAMCondition?
}

public struct IAMCondition: Sendable, Hashable {
    public var title: String?
    public var description: String?
    public var expression: String?

    public init(title: String? = nil, description: String? = nil, expression: String? = nil) {
        self.title = title
        self.description = description
        self.expression = expression
    }

    var json: JSONValue {
        var members: [JSONMember] = []
        if let title { members.append(JSONMember("title", .string(title))) }
        if let description { members.append(JSONMember("description", .string(description))) }
        if let expression { members.append(JSONMember("expression", .string(expression))) }
        return .object(members)
    }
}

public struct IAMBinding: Sendable, Equatable {
    public var role: String
    public var members: [String]
    public var condition: IAMCondition?
    /// Index in the document's `bindings` array, for JSON paths.
    public var index: Int
    /// Members that are not strings, by index (reported as invalid).
    public var malformedMembers: [Int]

    public init(role: String, members: [String], condition: IAMCondition? = nil, index: Int = 0) {
        self.role = role
        self.members = members
        self.condition = condition
        self.index = index
        self.malformedMembers = []
    }

    init(json: JSONValue, index: Int) {
        self.index = index
        role = json["role"]?.stringValue ?? ""
        var members: [String] = []
        var malformed: [Int] = []
        for (i, member) in (json["members"]?.arrayValue ?? []).enumerated() {
            if let s = member.stringValue { members.append(s) } else { malformed.append(i) }
        }
        self.members = members
        malformedMembers = malformed
        if let c = json["condition"], case .object = c {
            condition = IAMCondition(
                title: c["title"]?.stringValue, description: c["description"]?.stringValue,
                expression: c["expression"]?.stringValue)
        }
    }

    var json: JSONValue {
        var out: [JSONMember] = [
            JSONMember("role", .string(role)), JSONMember("members", .array(members.map(JSONValue.string))),
        ]
        if let condition { out.append(JSONMember("condition", condition.json)) }
        return .object(out)
    }

    public var path: String { "bindings[\(index)]" }
}
