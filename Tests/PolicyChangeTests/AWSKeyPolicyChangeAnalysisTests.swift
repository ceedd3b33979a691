import Foundation
import PolicyChange
import Testing

/// The semantic change analysis on Confluent-style changes (the issue's
/// "done when" list), with findings located at line:column via markers.
@Suite("AWS key policy: semantic change analysis")
struct AWSKeyPolicyChangeAnalysisTests {
    let dialect = AWSKeyPolicyDialect()
    static let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    static let role = "arn:aws:iam::152535741197:role/cc-kafka-d45e6381-b878-11ed-bdff-028e28f108bd"
    let confluent = [Requirement(principal: Self.role, preset: .confluent)]

    func analyze(_ proposed: String, current: PolicySnapshot? = Fixtures.defaultPolicy, require: [Requirement]? = nil,
                 caller: String? = nil, file: String? = nil) -> [Finding] {
        dialect.analyze(AnalysisRequest(
            current: current, proposed: PolicySnapshot(text: proposed), requirements: require ?? confluent, caller: caller,
            keyIdentifier: Self.key, proposedFile: file))
    }

    var withConfluent: String { Fixtures.text("key-policy-with-confluent.json") }

    func blocking(_ findings: [Finding]) -> [String] { findings.filter { $0.severity >= .securityWarning }.map(\.code) }

    @Test("adding Confluent's two statements passes, with the new account and access as warnings")
    func addConfluent() {
        let found = analyze(withConfluent, caller: "arn:aws:sts::111122223333:assumed-role/Admin/alice")
        #expect(blocking(found).isEmpty)
        #expect(found.map(\.code) == ["NEW_ACCESS", "NEW_EXTERNAL_ACCOUNT"])
        #expect(found[0].message.contains("kms:ReEncryptFrom") && found[0].message.contains("kms:RevokeGrant"))
    }

    @Test("dropping the grant statement fails: CreateGrant, ListGrants and RevokeGrant are missing")
    func dropGrantStatement() throws {
        var root = try JSONParser.parse(withConfluent).root
        AWSKeyPolicyDialectTestsSupport.removeStatement(at: 2, from: &root)
        let found = analyze(root.serialized(), current: PolicySnapshot(text: withConfluent))
        #expect(blocking(found) == Array(repeating: "REQUIRED_PERMISSION_MISSING", count: 3))
        #expect(found.contains { $0.code == "PERMISSION_REMOVED" && $0.message.contains("kms:CreateGrant") })
    }

    @Test("narrowing kms:GenerateDataKey* to kms:GenerateDataKey fails, naming the actions lost")
    func narrowGenerateDataKey() {
        let proposed = withConfluent.replacingOccurrences(of: "\"kms:GenerateDataKey*\"", with: "\"kms:GenerateDataKey\"")
        let found = analyze(proposed, current: PolicySnapshot(text: withConfluent))
        #expect(blocking(found) == ["REQUIRED_PERMISSION_MISSING"])
        let missing = found.first { $0.code == "REQUIRED_PERMISSION_MISSING" }
        #expect(missing?.message.contains("kms:GenerateDataKey* (kms:GenerateDataKeyPair, kms:GenerateDataKeyPairWithoutPlaintext, kms:GenerateDataKeyWithoutPlaintext)") == true)
    }

    @Test("expanding kms:ReEncrypt* into its two actions passes with no finding at all")
    func expandReEncrypt() {
        let proposed = withConfluent.replacingOccurrences(of: "\"kms:ReEncrypt*\"", with: "\"kms:ReEncryptFrom\", \"kms:ReEncryptTo\"")
        #expect(analyze(proposed, current: PolicySnapshot(text: withConfluent)).isEmpty)
    }

    @Test("a Deny that blocks the service principal fails, and points at nothing it granted")
    func denyBlocksService() {
        let input = """
            {"Version": "2012-10-17", "Statement": [
              \(RuleExample.rootStatement),
              {"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*",
               "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}},
              {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
               "Condition": {"StringEquals": {"kms:CallerAccount": "444455556666"}}},
              {"Effect": "Deny", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:*", "Resource": "*"}
            ]}
            """
        let found = analyze(input, require: [Requirement(principal: "logs.amazonaws.com", actions: ["kms:Decrypt"])])
        #expect(blocking(found) == ["REQUIRED_PERMISSION_MISSING"])
    }

    @Test("a kms:ViaService condition added to the service's statement is conditional, which fails")
    func viaServiceConditional() throws {
        var root = try JSONParser.parse(withConfluent).root
        guard case .object(var members) = root, let i = members.firstIndex(where: { $0.key == "Statement" }),
            var statements = members[i].value.arrayValue, case .object(var use) = statements[1]
        else { Issue.record("fixture shape"); return }
        use.append(JSONMember("Condition", try JSONParser.parse(#"{"StringEquals": {"kms:ViaService": "kafka.us-east-1.amazonaws.com"}}"#).root))
        statements[1] = .object(use)
        members[i].value = .array(statements)
        root = .object(members)
        let proposed = root.serialized()
        #expect(proposed != withConfluent)
        let found = analyze(proposed, current: PolicySnapshot(text: withConfluent))
        #expect(blocking(found) == Array(repeating: "REQUIRED_PERMISSION_CONDITIONAL", count: 5))
        #expect(found.contains { $0.code == "PERMISSION_REMOVED" && $0.message.contains("still granted under conditions") })
    }

    @Test("a * principal scoped by kms:CallerAccount to Confluent's account passes, and is not public")
    func callerAccountScoped() {
        let input = MarkedText("""
            {"Version": "2012-10-17", "Statement": [
              \(RuleExample.rootStatement),
              1️⃣{"Sid": "Confluent", "Effect": "Allow", "Principal": {"AWS": "*"},
               "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey",
                          "kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
               "Resource": "*", "Condition": {"StringEquals": {"kms:CallerAccount": "152535741197"}}}
            ]}
            """)
        let found = analyze(input.text, file: "/r/new.json")
        #expect(blocking(found).isEmpty)
        #expect(!found.contains { $0.code == "NEW_PUBLIC_ACCESS" || $0.code == "PUBLIC_PRINCIPAL" })
        let access = found.first { $0.code == "NEW_ACCESS" && $0.message.hasPrefix(Self.role) }
        #expect(access?.path == "Statement[1]")
        #expect(access.map { JSONPosition(line: $0.line ?? 0, column: $0.column ?? 0) } == input["1️⃣"])
        #expect(access?.file == "/r/new.json")
        #expect(found.contains { $0.code == "NEW_EXTERNAL_ACCOUNT" && $0.message.contains("152535741197") })
    }

    @Test("the same * principal without the condition is new public access, located at the principal")
    func publicAccess() {
        let input = MarkedText("""
            {"Version": "2012-10-17", "Statement": [
              \(RuleExample.rootStatement),
              {"Effect": "Allow", "Principal": 1️⃣"*", "Action": "kms:Decrypt", "Resource": "*"}
            ]}
            """)
        let found = analyze(input.text, require: [], file: "/r/new.json")
        #expect(blocking(found) == ["PUBLIC_PRINCIPAL", "NEW_PUBLIC_ACCESS"])
        let principal = found.first { $0.code == "PUBLIC_PRINCIPAL" }
        #expect(principal.map { JSONPosition(line: $0.line ?? 0, column: $0.column ?? 0) } == input["1️⃣"])
    }

    static let admin = #"{"Sid": "Key administrators", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyAdmin"}, "Action": "kms:*", "Resource": "*"}"#
    static let session = "arn:aws:sts::111122223333:assumed-role/KeyAdmin/alice"

    @Test("removing :root without another key administrator locks the caller out")
    func removeRootAlone() throws {
        var root = try JSONParser.parse(withConfluent).root
        AWSKeyPolicyDialectTestsSupport.removeStatement(at: 0, from: &root)
        let found = analyze(root.serialized(), current: PolicySnapshot(text: withConfluent), caller: Self.session)
        #expect(blocking(found) == ["KEY_POLICY_LOCKOUT"])
        #expect(found.contains { $0.code == "ACCOUNT_DELEGATION_REMOVED" })
        // Without a caller: nobody could call PutKeyPolicy.
        let anonymous = analyze(root.serialized(), current: PolicySnapshot(text: withConfluent))
        #expect(blocking(anonymous) == ["KEY_POLICY_LOCKOUT"])
    }

    @Test("removing :root with the caller named as key administrator passes, warning that IAM delegation is gone")
    func removeRootWithAdmin() throws {
        var root = try JSONParser.parse(withConfluent).root
        AWSKeyPolicyDialectTestsSupport.removeStatement(at: 0, from: &root)
        var statements = root["Statement"]?.arrayValue ?? []
        statements.insert(try JSONParser.parse(Self.admin).root, at: 0)
        let proposed = JSONValue.object([JSONMember("Version", .string("2012-10-17")), JSONMember("Statement", .array(statements))])
        let found = analyze(proposed.serialized(), current: PolicySnapshot(text: withConfluent), caller: Self.session)
        #expect(blocking(found).isEmpty)
        #expect(found.contains { $0.code == "ACCOUNT_DELEGATION_REMOVED" })
        // A caller who is not the administrator is locked out.
        let other = analyze(proposed.serialized(), current: PolicySnapshot(text: withConfluent), caller: "arn:aws:iam::111122223333:user/bob")
        #expect(blocking(other) == ["KEY_POLICY_LOCKOUT"])
    }

    @Test("NotAction, NotPrincipal and explicit Deny follow IAM's rules")
    func iamRules() {
        let policy = ParsedKeyPolicy(Data("""
            {"Version": "2012-10-17", "Statement": [
              {"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "NotAction": "kms:ScheduleKeyDeletion", "Resource": "*"},
              {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/KeyAdmin"}, "Action": "kms:PutKeyPolicy", "Resource": "*"}
            ]}
            """.utf8))
        let evaluator = KeyPolicyEvaluator(policy)
        let admin = Subject.parse("arn:aws:sts::111122223333:assumed-role/KeyAdmin/s")!
        let user = Subject.parse("arn:aws:iam::111122223333:user/bob")!
        let stranger = Subject.parse("arn:aws:iam::444455556666:root")!
        #expect(evaluator.access(admin, "kms:PutKeyPolicy") == .allow)
        #expect(evaluator.access(user, "kms:PutKeyPolicy") == .deny)
        #expect(evaluator.access(user, "kms:decrypt") == .allow)
        #expect(evaluator.access(user, "kms:ScheduleKeyDeletion") == .deny)
        #expect(evaluator.access(stranger, "kms:Decrypt") == .deny)
        #expect(evaluator.access(.anonymous, "kms:Decrypt") == .deny)
    }

    @Test("diff lists, per principal, the actions gained and lost")
    func accessChanges() {
        let changes = dialect.accessChanges(from: Fixtures.defaultPolicy, to: Fixtures.withConfluent, keyIdentifier: Self.key)
        #expect(changes.map(\.principal) == [Self.role])
        #expect(changes.first?.gained.contains("kms:ReEncryptTo") == true)
        #expect(changes.first?.lost == [])
    }
}

enum AWSKeyPolicyDialectTestsSupport {
    static func removeStatement(at index: Int, from root: inout JSONValue) {
        guard case .object(var members) = root, let i = members.firstIndex(where: { $0.key == "Statement" }),
            var statements = members[i].value.arrayValue
        else { return }
        statements.remove(at: index)
        members[i].value = .array(statements)
        root = .object(members)
    }
}
