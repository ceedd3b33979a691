import Foundation

/// AWS KMS key policies: editing by statements and principals, and the
/// analysis of a proposed policy.
///
/// The analysis here is the foundation's: JSON well-formedness, duplicate keys,
/// size, and required access by exact action match. The full Access
/// Analyzer-style analysis (DESIGN.md §5) builds on the same entry points.
public struct AWSKeyPolicyDialect: PolicyDialect {
    public init() {}

    public var cloud: Cloud { .aws }

    /// KMS rejects key policies over 32 KiB.
    public static let maximumPolicySize = 32_768

    // MARK: Editing

    public func proposedPolicy(from current: PolicySnapshot, applying operations: [ChangeOperation]) throws(PolicyEditError)
        -> PolicySnapshot
    {
        var document = current.document
        var policy: JSONValue?  // parsed lazily; nil until an edit needs it
        var edited = false

        for operation in operations {
            switch operation {
            case .replacePolicy(let file):
                document = file.contents
                policy = nil
                edited = false
            case .addStatements(let file):
                var root = try Self.parsedOrParse(policy, document, for: operation)
                let additions = try Self.statementsFromSnippet(file)
                edited = try Self.addStatements(additions, to: &root) || edited
                policy = root
            case .addPrincipals(let sid, let principals):
                var root = try Self.parsedOrParse(policy, document, for: operation)
                edited = try Self.addPrincipals(principals, toStatement: sid, in: &root) || edited
                policy = root
            case .removeStatements(let sids):
                var root = try Self.parsedOrParse(policy, document, for: operation)
                edited = Self.removeStatements(sids, from: &root) || edited
                policy = root
            default:
                throw PolicyEditError(operation: operation.keyword, message: "is not an AWS key policy operation")
            }
        }
        if edited, let policy {
            document = Data((policy.serialized() + "\n").utf8)
        }
        return PolicySnapshot(document: document)
    }

    /// The policy parsed by an earlier operation, or `data` parsed now.
    /// (Not `??`: its autoclosure cannot carry a typed throw.)
    static func parsedOrParse(_ parsed: JSONValue?, _ data: Data, for operation: ChangeOperation) throws(PolicyEditError)
        -> JSONValue
    {
        if let parsed { return parsed }
        return try parsePolicy(data, for: operation)
    }

    static func parsePolicy(_ data: Data, for operation: ChangeOperation) throws(PolicyEditError) -> JSONValue {
        let root: JSONValue
        do {
            root = try JSONParser.parse(data).root
        } catch {
            throw PolicyEditError(operation: operation.keyword, message: "the policy it edits is not valid JSON (\(error))")
        }
        guard case .object = root else {
            throw PolicyEditError(operation: operation.keyword, message: "the policy it edits is not a JSON object")
        }
        return root
    }

    /// The statements of an `add-statements` file: a JSON array of statements,
    /// one statement object, a whole policy, or the console's comma-separated
    /// snippet exactly as pasted (`{…},\n{…}`, perhaps with a comma before or
    /// after, as Confluent's instructions show it).
    static func statementsFromSnippet(_ file: AttachedFile) throws(PolicyEditError) -> [JSONValue] {
        let name = (file.path as NSString).lastPathComponent
        var text = String(decoding: file.contents, as: UTF8.self)
        // Blank out (rather than remove) a separator comma before or after the
        // snippet, so that error positions are still the file's lines and columns.
        if let first = text.firstIndex(where: { !$0.isWhitespace }), text[first] == "," {
            text.replaceSubrange(first...first, with: " ")
        }
        if let last = text.lastIndex(where: { !$0.isWhitespace }), text[last] == "," {
            text.replaceSubrange(last...last, with: " ")
        }
        let isArray = text.first(where: { !$0.isWhitespace }) == "["
        let wrapped = isArray ? text : "[\n\(text)\n]"
        let value: JSONValue
        do {
            value = try JSONParser.parse(wrapped).root
        } catch {
            var position = error.position
            if !isArray { position.line -= 1 }  // undo the wrapping line
            throw PolicyEditError(
                operation: "add-statements",
                message: "\(name):\(position.line):\(position.column): \(error.message)")
        }
        var statements = value.arrayValue ?? []
        // A whole policy pasted instead of statements: take its statements.
        if statements.count == 1, case .object = statements[0], let inner = statements[0]["Statement"] {
            statements = inner.arrayValue ?? [inner]
        }
        for (i, statement) in statements.enumerated() {
            guard case .object = statement else {
                throw PolicyEditError(operation: "add-statements", message: "\(name): item \(i + 1) is not a statement object")
            }
        }
        guard !statements.isEmpty else {
            throw PolicyEditError(operation: "add-statements", message: "\(name) holds no statements")
        }
        return statements
    }

    /// Appends statements not already present. A statement whose `Sid` exists
    /// with different content is an error: silently replacing it could drop access.
    static func addStatements(_ additions: [JSONValue], to root: inout JSONValue) throws(PolicyEditError) -> Bool {
        var statements = Self.statements(of: root)
        var changed = false
        for addition in additions {
            if statements.contains(where: { $0.isEquivalent(to: addition) }) { continue }
            if let sid = addition["Sid"]?.stringValue, let existing = statements.first(where: { $0["Sid"]?.stringValue == sid }) {
                _ = existing
                throw PolicyEditError(
                    operation: "add-statements",
                    message: "a statement with Sid \"\(sid)\" already exists with different content; "
                        + "remove it first (remove-statements) or use replace-policy")
            }
            statements.append(addition)
            changed = true
        }
        if changed { Self.setStatements(statements, in: &root) }
        return changed
    }

    static func addPrincipals(_ principals: [String], toStatement sid: String, in root: inout JSONValue) throws(PolicyEditError)
        -> Bool
    {
        var statements = Self.statements(of: root)
        guard let index = statements.firstIndex(where: { $0["Sid"]?.stringValue == sid }) else {
            let sids = statements.compactMap { $0["Sid"]?.stringValue }
            throw PolicyEditError(
                operation: "add-principals",
                message: "no statement with Sid \"\(sid)\"" + (sids.isEmpty ? "" : " (statements: \(sids.map { "\"\($0)\"" }.joined(separator: ", ")))"))
        }
        guard case .object(var members) = statements[index] else { return false }
        var principal = members.first(where: { $0.key == "Principal" })?.value ?? .object([])
        if case .string("*") = principal {
            return false  // already everyone
        }
        guard case .object(var principalMembers) = principal else {
            throw PolicyEditError(operation: "add-principals", message: "statement \"\(sid)\" has a Principal that is not an object")
        }
        let awsIndex = principalMembers.firstIndex { $0.key == "AWS" }
        var existing: [JSONValue] = []
        if let awsIndex {
            let value = principalMembers[awsIndex].value
            existing = value.arrayValue ?? [value]
        }
        // Each principal once, even when the runbook repeats one.
        var known = Set(existing.compactMap(\.stringValue))
        let added = principals.filter { known.insert($0).inserted }
        guard !added.isEmpty else { return false }
        let merged = JSONValue.array(existing + added.map(JSONValue.string))
        if let awsIndex {
            principalMembers[awsIndex].value = merged
        } else {
            principalMembers.append(JSONMember("AWS", merged))
        }
        principal = .object(principalMembers)
        if let i = members.firstIndex(where: { $0.key == "Principal" }) {
            members[i].value = principal
        } else {
            members.append(JSONMember("Principal", principal))
        }
        statements[index] = .object(members)
        Self.setStatements(statements, in: &root)
        return true
    }

    /// Removing a statement that is not there changes nothing (idempotence).
    static func removeStatements(_ sids: [String], from root: inout JSONValue) -> Bool {
        let statements = Self.statements(of: root)
        let remaining = statements.filter { statement in !sids.contains { statement["Sid"]?.stringValue == $0 } }
        guard remaining.count != statements.count else { return false }
        Self.setStatements(remaining, in: &root)
        return true
    }

    /// `Statement` may be one object or an array; edits always write an array.
    static func statements(of root: JSONValue) -> [JSONValue] {
        guard let statement = root["Statement"] else { return [] }
        return statement.arrayValue ?? [statement]
    }

    static func setStatements(_ statements: [JSONValue], in root: inout JSONValue) {
        guard case .object(var members) = root else { return }
        if let i = members.firstIndex(where: { $0.key == "Statement" }) {
            members[i].value = .array(statements)
        } else {
            members.append(JSONMember("Statement", .array(statements)))
        }
        root = .object(members)
    }

    // MARK: Comparing

    public func isEquivalent(_ a: PolicySnapshot, _ b: PolicySnapshot) -> Bool {
        if a.document == b.document { return true }
        guard let x = try? JSONParser.parse(a.document).root, let y = try? JSONParser.parse(b.document).root else {
            return false
        }
        return x.isEquivalent(to: y)
    }

    public func changeSummary(from current: PolicySnapshot, to proposed: PolicySnapshot) -> ChangeSummary {
        let old = (try? JSONParser.parse(current.document).root).map(Self.statements(of:)) ?? []
        let new = (try? JSONParser.parse(proposed.document).root).map(Self.statements(of:)) ?? []
        var entries: [ChangeSummary.Entry] = []
        func label(_ statement: JSONValue, _ index: Int) -> String {
            statement["Sid"]?.stringValue.map { "statement \"\($0)\"" } ?? "statement #\(index + 1) (no Sid)"
        }
        func describe(_ statement: JSONValue) -> [String] {
            var lines: [String] = []
            if let effect = statement["Effect"]?.stringValue { lines.append("Effect: \(effect)") }
            for key in ["Principal", "NotPrincipal", "Action", "NotAction", "Resource", "Condition"] {
                if let value = statement[key] {
                    lines.append("\(key): \(Self.compact(value))")
                }
            }
            return lines
        }
        let oldBySid = Dictionary(old.compactMap { s in s["Sid"]?.stringValue.map { ($0, s) } }, uniquingKeysWith: { a, _ in a })
        let newSids = Set(new.compactMap { $0["Sid"]?.stringValue })
        for (i, statement) in old.enumerated() {
            if let sid = statement["Sid"]?.stringValue, newSids.contains(sid) { continue }
            if new.contains(where: { $0.isEquivalent(to: statement) }) { continue }
            entries.append(.init(kind: .removed, subject: label(statement, i), details: describe(statement)))
        }
        for (i, statement) in new.enumerated() {
            if let sid = statement["Sid"]?.stringValue, let before = oldBySid[sid] {
                if !before.isEquivalent(to: statement) {
                    entries.append(.init(kind: .modified, subject: label(statement, i), details: Self.diffLines(before, statement)))
                }
                continue
            }
            if old.contains(where: { $0.isEquivalent(to: statement) }) { continue }
            entries.append(.init(kind: .added, subject: label(statement, i), details: describe(statement)))
        }
        if entries.isEmpty, !isEquivalent(current, proposed) {
            entries.append(.init(kind: .modified, subject: "policy document", details: ["top-level elements differ"]))
        }
        return ChangeSummary(entries: entries)
    }

    /// `+`/`-` lines for the values of each element that differ.
    static func diffLines(_ before: JSONValue, _ after: JSONValue) -> [String] {
        var lines: [String] = []
        for key in ["Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"] {
            let a = before[key], b = after[key]
            if a == nil && b == nil { continue }
            if let a, let b, a.isEquivalent(to: b) { continue }
            let oldItems = a.map(flatten) ?? []
            let newItems = b.map(flatten) ?? []
            for item in oldItems where !newItems.contains(item) { lines.append("- \(key): \(item)") }
            for item in newItems where !oldItems.contains(item) { lines.append("+ \(key): \(item)") }
        }
        return lines
    }

    /// Leaf values with their sub-keys (`AWS arn:…`), for readable diffs.
    static func flatten(_ value: JSONValue) -> [String] {
        switch value {
        case .array(let items): return items.flatMap(flatten)
        case .object(let members):
            return members.flatMap { member in flatten(member.value).map { "\(member.key) \($0)" } }
        default: return [compact(value)]
        }
    }

    static func compact(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): return s
        case .array(let items): return items.map(compact).joined(separator: ", ")
        case .object(let members): return members.map { "\($0.key)=\(compact($0.value))" }.joined(separator: "; ")
        case .number(let n): return n
        case .bool(let b): return String(b)
        case .null: return "null"
        }
    }

    // MARK: Analysis

    public func analyze(_ request: AnalysisRequest) -> [Finding] {
        let findings = AWSKeyPolicyAnalysis(request: request).findings()
        guard request.proposedFile == nil else { return findings }
        // line:column are places in a file (DESIGN §5). A proposal computed by
        // edits has no file a reader could open, so only its JSON path is kept.
        return findings.map { finding in
            guard finding.file == nil else { return finding }
            var located = finding
            located.line = nil
            located.column = nil
            return located
        }
    }
}
