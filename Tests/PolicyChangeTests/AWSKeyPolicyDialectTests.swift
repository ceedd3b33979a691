import Foundation
import PolicyChange
import Testing

/// Editing AWS key policies the way the vendors' instructions ask (append
/// statements, add principals, never replace blindly) and the basic analysis.
@Suite("AWS key policy dialect")
struct AWSKeyPolicyDialectTests {
    let dialect = AWSKeyPolicyDialect()

    func propose(_ operations: [ChangeOperation], from policy: PolicySnapshot = Fixtures.defaultPolicy) throws -> PolicySnapshot {
        try dialect.proposedPolicy(from: policy, applying: operations)
    }

    func statements(_ snapshot: PolicySnapshot) throws -> [JSONValue] {
        try #require(JSONParser.parse(snapshot.document).root["Statement"]?.arrayValue)
    }

    func sids(_ snapshot: PolicySnapshot) throws -> [String?] {
        try statements(snapshot).map { $0["Sid"]?.stringValue }
    }

    // MARK: add-statements

    @Test("add-statements takes Confluent's statements in every form they arrive in", arguments: [
        "confluent-statements-array.json",  // a JSON array
        "confluent-snippet.txt",  // the console's snippet: {…},\n{…}
        "confluent-snippet-commas.txt",  // …with the separator comma before and after, as pasted
        "key-policy-with-confluent.json",  // a whole policy
    ])
    func addStatementsForms(_ fixture: String) throws {
        let proposed = try propose([.addStatements(Fixtures.file(fixture))])
        #expect(dialect.isEquivalent(proposed, Fixtures.withConfluent))
        #expect(try sids(proposed) == [
            "Enable IAM User Permissions",
            "Allow Confluent account(s) (152535741197) to use the key",
            "Allow Confluent account(s) (152535741197) to attach persistent resources",
        ])
    }

    @Test("add-statements takes one statement object")
    func addOneStatement() throws {
        let proposed = try propose([.addStatements(Fixtures.file("confluent-use-statement.json"))])
        #expect(try sids(proposed) == ["Enable IAM User Permissions", "Allow Confluent account(s) (152535741197) to use the key"])
    }

    @Test("the proposed policy keeps member order, statements first to last, and ends with a newline")
    func memberOrder() throws {
        let proposed = try propose([.addStatements(Fixtures.file("confluent-snippet.txt"))])
        let root = try JSONParser.parse(proposed.document).root
        #expect(root.objectValue?.map(\.key) == ["Version", "Id", "Statement"])
        for statement in try statements(proposed) {
            #expect(statement.objectValue?.map(\.key) == ["Sid", "Effect", "Principal", "Action", "Resource"])
        }
        let actions = try statements(proposed)[1]["Action"]?.arrayValue?.compactMap(\.stringValue)
        #expect(actions == ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"])
        // Byte for byte what a person would write: the fixture holds exactly that.
        #expect(proposed.text == Fixtures.text("key-policy-with-confluent.json"))
    }

    @Test("a Statement that is a single object becomes an array when statements are added")
    func singleStatementObject() throws {
        let policy = PolicySnapshot(text: """
            {"Version": "2012-10-17", "Statement": {"Sid": "Root", "Effect": "Allow", \
            "Principal": {"AWS": "111122223333"}, "Action": "kms:*", "Resource": "*"}}
            """)
        let proposed = try propose([.addStatements(Fixtures.file("confluent-snippet.txt"))], from: policy)
        #expect(try sids(proposed).count == 3)
    }

    @Test("a Sid that exists with different content is an error, not a silent replacement")
    func sidConflict() throws {
        let live = try propose([.addStatements(Fixtures.file("confluent-snippet.txt"))])
        #expect {
            try propose([.addStatements(Fixtures.file("confluent-sid-conflict.json"))], from: live)
        } throws: { error in
            let error = try #require(error as? PolicyEditError)
            return error.operation == "add-statements"
                && error.message.contains("Allow Confluent account(s) (152535741197) to use the key")
        }
    }

    @Test("a snippet that does not parse is reported at its line:column in the snippet file")
    func snippetSyntaxErrorLocation() throws {
        // The file starts with the separator comma on a line of its own; the missing
        // comma is after "Allow" on line 4, so the parser stops at line 5, column 3.
        #expect {
            try propose([.addStatements(Fixtures.file("snippet-missing-comma.txt"))])
        } throws: { error in
            let error = try #require(error as? PolicyEditError)
            return error.message.hasPrefix("snippet-missing-comma.txt:5:3: ")
        }
    }

    @Test("an empty snippet or one holding no statement object is an error")
    func emptySnippet() throws {
        for contents in ["", "  \n", "[]", "[1, 2]", "\"kms:Decrypt\""] {
            #expect(throws: PolicyEditError.self, "\(contents)") {
                try propose([.addStatements(AttachedFile(path: "/r/snippet.json", contents: Data(contents.utf8)))])
            }
        }
    }

    // MARK: add-principals

    @Test("add-principals turns a string Principal.AWS into an array and appends")
    func addPrincipalsToString() throws {
        let policy = Fixtures.snapshot("key-policy-with-app-role.json")
        let proposed = try propose(
            [.addPrincipals(sid: "Allow use of the key", principals: ["arn:aws:iam::444455556666:role/audit"])], from: policy)
        let statement = try statements(proposed)[1]
        #expect(statement["Principal"]?["AWS"] == .array([
            .string("arn:aws:iam::111122223333:role/app"), .string("arn:aws:iam::444455556666:role/audit"),
        ]))
        // Nothing else changed.
        #expect(try statements(proposed)[0] == statements(policy)[0])
        #expect(try statements(proposed)[2] == statements(policy)[2])
        #expect(statement["Action"] == (try statements(policy)[1]["Action"]))
    }

    @Test("add-principals of principals already there changes nothing, byte for byte")
    func addPrincipalsAlreadyThere() throws {
        let policy = Fixtures.snapshot("key-policy-with-app-role.json")
        let proposed = try propose(
            [.addPrincipals(sid: "Allow use of the key", principals: ["arn:aws:iam::111122223333:role/app"])], from: policy)
        #expect(proposed == policy)
    }

    @Test("add-principals names a principal once even when the runbook repeats it")
    func addPrincipalsRepeated() throws {
        let audit = "arn:aws:iam::444455556666:role/audit"
        let proposed = try propose(
            [.addPrincipals(sid: "Allow use of the key", principals: [audit, audit])],
            from: Fixtures.snapshot("key-policy-with-app-role.json"))
        let principals = try statements(proposed)[1]["Principal"]?["AWS"]?.arrayValue?.compactMap(\.stringValue)
        #expect(principals == ["arn:aws:iam::111122223333:role/app", audit])
    }

    @Test("add-principals to a Sid that is not there is an error naming the Sids that are")
    func addPrincipalsMissingSid() throws {
        #expect {
            try propose(
                [.addPrincipals(sid: "Allow use of the kye", principals: ["arn:aws:iam::444455556666:role/audit"])],
                from: Fixtures.snapshot("key-policy-with-app-role.json"))
        } throws: { error in
            let error = try #require(error as? PolicyEditError)
            return error.message.contains("\"Allow use of the kye\"") && error.message.contains("\"Allow use of the key\"")
        }
    }

    // MARK: remove-statements

    @Test("remove-statements removes by Sid")
    func removeStatements() throws {
        let proposed = try propose([.removeStatements(sids: ["LegacyAccess"])], from: Fixtures.snapshot("key-policy-with-app-role.json"))
        #expect(try sids(proposed) == ["Enable IAM User Permissions", "Allow use of the key"])
    }

    @Test("remove-statements of a Sid that is not there is a no-op, byte for byte")
    func removeMissingStatement() throws {
        let policy = Fixtures.snapshot("key-policy-with-app-role.json")
        let proposed = try propose([.removeStatements(sids: ["NoSuchStatement"])], from: policy)
        #expect(proposed == policy)
    }

    // MARK: Idempotence

    static let operationSets: [[ChangeOperation]] = [
        [.addStatements(Fixtures.file("confluent-snippet-commas.txt"))],
        [.addStatements(Fixtures.file("confluent-statements-array.json")),
         .addPrincipals(sid: "Allow use of the key", principals: ["arn:aws:iam::444455556666:role/audit"]),
         .removeStatements(sids: ["LegacyAccess"])],
        [.replacePolicy(Fixtures.file("default-key-policy.json")), .addStatements(Fixtures.file("confluent-snippet.txt"))],
        [.removeStatements(sids: ["LegacyAccess", "Enable IAM User Permissions"])],
    ]

    @Test("applying the operations to their own result changes nothing", arguments: 0..<operationSets.count)
    func idempotent(_ index: Int) throws {
        let operations = Self.operationSets[index]
        let once = try propose(operations, from: Fixtures.snapshot("key-policy-with-app-role.json"))
        let twice = try propose(operations, from: once)
        #expect(twice == once)
        #expect(dialect.isEquivalent(twice, once))
    }

    @Test("replace-policy takes the file as is; later edits start from it")
    func replacePolicy() throws {
        let file = Fixtures.file("key-policy-with-app-role.json")
        #expect(try propose([.replacePolicy(file)]).document == file.contents)
        let edited = try propose([.replacePolicy(file), .removeStatements(sids: ["LegacyAccess"])])
        #expect(try sids(edited) == ["Enable IAM User Permissions", "Allow use of the key"])
        // An edit before a replace is replaced.
        let replaced = try propose([.removeStatements(sids: ["Enable IAM User Permissions"]), .replacePolicy(file)])
        #expect(replaced.document == file.contents)
    }

    @Test("operations of other clouds are refused")
    func otherClouds() throws {
        #expect(throws: PolicyEditError.self) {
            try propose([.addMembers(role: "roles/cloudkms.viewer", members: ["user:a@example.com"])])
        }
    }

    @Test("editing a live policy that is not JSON is an error")
    func liveNotJSON() throws {
        #expect(throws: PolicyEditError.self) {
            try propose([.removeStatements(sids: ["A"])], from: PolicySnapshot(text: "{\"Statement\": [}"))
        }
    }

    // MARK: Equivalence and summary

    @Test("equivalence ignores formatting and member order")
    func equivalence() throws {
        let compact = PolicySnapshot(text: try JSONParser.parse(Fixtures.data("default-key-policy.json")).root.serialized(indent: 0))
        #expect(dialect.isEquivalent(compact, Fixtures.defaultPolicy))
        let reordered = PolicySnapshot(text: """
            {"Statement": [{"Resource": "*", "Action": "kms:*", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
              "Effect": "Allow", "Sid": "Enable IAM User Permissions"}], "Id": "key-default-1", "Version": "2012-10-17"}
            """)
        #expect(dialect.isEquivalent(reordered, Fixtures.defaultPolicy))
        #expect(!dialect.isEquivalent(Fixtures.withConfluent, Fixtures.defaultPolicy))
    }

    @Test("the change summary names modified statements and the principals they gain")
    func changeSummary() throws {
        let policy = Fixtures.snapshot("key-policy-with-app-role.json")
        let proposed = try propose(
            [.addPrincipals(sid: "Allow use of the key", principals: ["arn:aws:iam::444455556666:role/audit"]),
             .removeStatements(sids: ["LegacyAccess"])], from: policy)
        let summary = dialect.changeSummary(from: policy, to: proposed)
        #expect(summary.entries.map(\.kind) == [.removed, .modified])
        #expect(summary.entries[0].subject == "statement \"LegacyAccess\"")
        #expect(summary.entries[1].details == ["+ Principal: AWS arn:aws:iam::444455556666:role/audit"])
    }

    // MARK: Analysis

    func findings(_ proposed: PolicySnapshot, require: [Requirement] = [TestRunbooks.confluentRequirement], file: String? = nil)
        -> [Finding]
    {
        dialect.analyze(AnalysisRequest(proposed: proposed, requirements: require, proposedFile: file))
    }

    @Test("the Confluent preset is granted by Confluent's two statements")
    func requiredAccessGranted() throws {
        #expect(findings(Fixtures.withConfluent).isEmpty)
    }

    @Test("a required action that is missing is an error naming it")
    func requiredAccessMissing() throws {
        let found = findings(Fixtures.snapshot("key-policy-missing-revoke-grant.json"))
        #expect(found.map(\.code) == ["REQUIRED_PERMISSION_MISSING"])
        #expect(found.first?.severity == .error)
        #expect(found.first?.message.contains("kms:RevokeGrant") == true)
        #expect(findings(Fixtures.defaultPolicy).count == 8)
    }

    @Test("an action granted only under a Condition is REQUIRED_PERMISSION_CONDITIONAL; an explicit Deny takes it away")
    func requiredAccessConditionalAndDeny() throws {
        let requirement = Requirement(principal: "111122223333", actions: ["kms:Decrypt"])
        let conditional = PolicySnapshot(text: """
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
             "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]}
            """)
        #expect(findings(conditional, require: [requirement]).map(\.code) == ["REQUIRED_PERMISSION_CONDITIONAL"])
        let denied = PolicySnapshot(text: """
            {"Version": "2012-10-17", "Statement": [
             {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "kms:decrypt", "Resource": "*"},
             {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]}
            """)
        #expect(findings(denied, require: [requirement]).map(\.code) == ["REQUIRED_PERMISSION_MISSING"])
    }

    @Test("duplicate keys in the proposed policy are findings at their line:column in its file")
    func duplicateKeyFinding() throws {
        let input = MarkedText("""
            {
              "Version": "2012-10-17",
              "Statement": [{"Sid": "A", "Effect": "Allow", 1️⃣"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}]
            }
            """)
        let found = findings(PolicySnapshot(text: input.text), require: [], file: "/r/policies/new.json")
        #expect(found.map(\.code) == ["DUPLICATE_JSON_KEY"])
        #expect(found.first?.path == "Statement[0].Effect")
        #expect(found.first.map { JSONPosition(line: $0.line ?? 0, column: $0.column ?? 0) } == input["1️⃣"])
        #expect(found.first?.file == "/r/policies/new.json")
    }

    @Test("a syntax error is the only finding, located in the file")
    func syntaxErrorFinding() throws {
        let input = MarkedText("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Sid\": \"A\"},\n  1️⃣]\n}")
        let found = findings(PolicySnapshot(text: input.text), file: "/r/new.json")
        #expect(found.map(\.code) == ["JSON_SYNTAX_ERROR"])
        #expect(found.first?.line == input["1️⃣"].line)
        #expect(found.first?.column == input["1️⃣"].column)
    }

    @Test("a policy over 32 KiB is POLICY_SIZE_EXCEEDED; at 32 KiB it is not")
    func sizeLimit() throws {
        func policy(size: Int) -> PolicySnapshot {
            let head = #"{"Version": "2012-10-17", "Statement": [], "Id": ""#
            let tail = #""}"#
            return PolicySnapshot(text: head + String(repeating: "x", count: size - head.utf8.count - tail.utf8.count) + tail)
        }
        #expect(policy(size: 32_768).document.count == 32_768)
        #expect(findings(policy(size: 32_768), require: []).isEmpty)
        #expect(findings(policy(size: 32_769), require: []).map(\.code) == ["POLICY_SIZE_EXCEEDED"])
    }
}
