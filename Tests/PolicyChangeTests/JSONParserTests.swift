import Foundation
import PolicyChange
import Testing

/// The strict JSON reader: every rejection at the exact line:column, and
/// duplicate keys (which KMS and Foundation resolve differently) reported.
@Suite("JSON: strict parser and serializer")
struct JSONParserTests {
    struct Rejection: CustomTestStringConvertible, Sendable {
        var name: String
        /// The input, with 1️⃣ where the error must be reported.
        var marked: String
        var message: String
        var testDescription: String { name }
    }

    static let rejections: [Rejection] = [
        Rejection(name: "trailing comma in an object", marked: "{\"a\": 1,1️⃣}", message: "trailing comma before '}'"),
        Rejection(name: "trailing comma in an array", marked: "{\"a\": [1, 2,\n  1️⃣]\n}", message: "trailing comma before ']'"),
        Rejection(
            name: "trailing comma after the last statement",
            marked: "{\n  \"Statement\": [\n    {\"Sid\": \"A\"},\n  1️⃣]\n}", message: "trailing comma before ']'"),
        Rejection(name: "leading zero", marked: "{\"n\": 1️⃣012}", message: "leading zeros"),
        Rejection(name: "negative leading zero", marked: "[-1️⃣00]", message: "leading zeros"),
        Rejection(name: "bad escape", marked: "{\"a\": \"x\\1️⃣q\"}", message: "invalid escape '\\q'"),
        Rejection(name: "tab inside a string", marked: "{\"a\": \"x1️⃣\ty\"}", message: "control character 0x09"),
        Rejection(name: "NUL inside a string", marked: "[\"a1️⃣\u{0}\"]", message: "control character 0x00"),
        Rejection(name: "line break inside a string", marked: "{\n  \"a\": \"x1️⃣\ny\"\n}", message: "unterminated string"),
        Rejection(name: "missing comma between members", marked: "{\n  \"a\": 1\n  1️⃣\"b\": 2\n}", message: "expected ',' or '}'"),
        Rejection(name: "missing colon", marked: "{\"a\" 1️⃣1}", message: "expected ':'"),
        Rejection(name: "single quotes", marked: "{1️⃣'a': 1}", message: "double quotes"),
        Rejection(name: "comment", marked: "{\"a\": 1 1️⃣// no\n}", message: "expected ',' or '}'"),
        Rejection(name: "second value", marked: "{\"a\": 1} 1️⃣{\"b\": 2}", message: "after the end of the document"),
        Rejection(name: "bare word", marked: "{\"a\": 1️⃣tru}", message: "expected a value"),
        Rejection(name: "exponent without digits", marked: "[1e1️⃣]", message: "exponent"),
        Rejection(name: "fraction without digits", marked: "[1.1️⃣]", message: "after '.'"),
        Rejection(name: "bad hex in \\u", marked: "[\"\\u001️⃣g0\"]", message: "invalid hex digit"),
        Rejection(name: "lone surrogate", marked: "[\"\\uD8001️⃣\"]", message: "lone surrogate"),
        Rejection(name: "empty document", marked: "  1️⃣", message: "empty"),
        Rejection(name: "unclosed object", marked: "{\"a\": 1\n1️⃣", message: "missing '}'"),
        Rejection(name: "column counts characters, not bytes", marked: "{\"é\": \"ü\",1️⃣}", message: "trailing comma"),
    ]

    @Test("rejections are reported at their line:column", arguments: rejections)
    func rejection(_ case: Rejection) throws {
        let input = MarkedText(`case`.marked)
        do {
            _ = try JSONParser.parse(input.text)
            Issue.record("accepted \(`case`.name)")
        } catch {
            #expect(error.position == input["1️⃣"], "\(error)")
            #expect(error.message.contains(`case`.message), "\(error.message)")
            #expect(error.description.hasPrefix("\(input["1️⃣"].line):\(input["1️⃣"].column): "))
        }
    }

    @Test("duplicate keys are reported at the second key, at any depth, with their path")
    func duplicateKeys() throws {
        let input = MarkedText("""
            {
              "Version": "2012-10-17",
              "Statement": [
                {"Sid": "A", "Effect": "Allow"},
                {
                  "Sid": "B",
                  "Effect": "Allow",
                  "Condition": {"StringEquals": {"kms:ViaService": "s3", 2️⃣"kms:ViaService": "ec2"}},
                  1️⃣"Effect": "Deny"
                }
              ],
              3️⃣"Version": "2008-10-17"
            }
            """)
        let document = try JSONParser.parse(input.text)
        #expect(document.duplicateKeys.map(\.path) == [
            "Statement[1].Condition.StringEquals.kms:ViaService", "Statement[1].Effect", "Version",
        ])
        #expect(document.duplicateKeys.map(\.position) == [input["2️⃣"], input["1️⃣"], input["3️⃣"]])
        // Lookups see the value KMS would keep (the last).
        #expect(document.root["Version"] == .string("2008-10-17"))
    }

    @Test("the same key in sibling objects is not a duplicate")
    func siblingsAreNotDuplicates() throws {
        let document = try JSONParser.parse(Fixtures.data("key-policy-with-confluent.json"))
        #expect(document.duplicateKeys.isEmpty)
    }

    @Test("locations give each value's line:column by JSON path")
    func locations() throws {
        let input = MarkedText("""
            {
              "Statement": [
                1️⃣{"Sid": "A", "Action": [2️⃣"kms:Encrypt", 3️⃣"kms:Decrypt"]}
              ]
            }
            """)
        let document = try JSONParser.parse(input.text)
        #expect(document.locations["Statement[0]"] == input["1️⃣"])
        #expect(document.locations["Statement[0].Action[0]"] == input["2️⃣"])
        #expect(document.locations["Statement[0].Action[1]"] == input["3️⃣"])
        #expect(document.locations[""] == JSONPosition(line: 1, column: 1))
    }

    @Test("nesting is limited to JSONParser.maximumDepth levels, and deeper input fails without a crash")
    func depthLimit() throws {
        let depth = JSONParser.maximumDepth
        let atLimit = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(throws: Never.self) { try JSONParser.parse(atLimit) }

        let over = String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1)
        do {
            _ = try JSONParser.parse(over)
            Issue.record("accepted \(depth + 1) levels")
        } catch {
            #expect(error.message.contains("nesting deeper than \(depth)"))
            #expect(error.position == JSONPosition(line: 1, column: depth + 1))
        }

        let bomb = String(repeating: "{\"a\":", count: 200_000)
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(bomb) }
    }

    @Test("a UTF-8 byte order mark is tolerated, as KMS tolerates it")
    func byteOrderMark() throws {
        let data = Data([0xEF, 0xBB, 0xBF]) + Data(#"{"a": 1}"#.utf8)
        #expect(try JSONParser.parse(data).root == .object([JSONMember("a", .number("1"))]))
    }

    @Test("strings decode every escape, surrogate pairs included")
    func escapes() throws {
        let document = try JSONParser.parse(#"["\"\\\/\b\f\n\r\t\u00e9\uD83D\uDD11"]"#)
        #expect(document.root == .array([.string("\"\\/\u{08}\u{0C}\n\r\té🔑")]))
    }

    @Test("serialized JSON reads back as the same value, members in order, numbers as written",
          arguments: ["default-key-policy.json", "key-policy-with-confluent.json", "key-policy-with-app-role.json"])
    func roundTripFixtures(_ name: String) throws {
        let value = try JSONParser.parse(Fixtures.data(name)).root
        let text = value.serialized()
        #expect(try JSONParser.parse(text).root == value)
        // The fixtures are written the way the serializer writes (2-space indent).
        #expect(text + "\n" == Fixtures.text(name))
    }

    @Test("serializing escapes what JSON requires and nothing more")
    func roundTripStrings() throws {
        let value = JSONValue.object([
            JSONMember("quote\"back\\slash", .string("line\nbreak\ttab\u{01}\u{1F}\u{7F} é 🔑 / </script>")),
            JSONMember("n", .array([.number("2.50"), .number("-0"), .number("1E+3"), .bool(false), .null])),
            JSONMember("empty", .object([])),
            JSONMember("none", .array([])),
        ])
        let text = value.serialized()
        #expect(try JSONParser.parse(text).root == value)
        #expect(text.contains(#""2.50""#) == false)
        #expect(text.contains("2.50"))
        #expect(text.contains(#"\u0001"#))
        #expect(text.contains("é 🔑 / </script>"))
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
    }

    @Test("equivalence ignores member order and number spelling, not array order")
    func equivalence() throws {
        let a = try JSONParser.parse(#"{"a": 1, "b": [1, 2]}"#).root
        let b = try JSONParser.parse(#"{"b": [1.0, 2], "a": 1e0}"#).root
        let c = try JSONParser.parse(#"{"b": [2, 1], "a": 1}"#).root
        let d = try JSONParser.parse(#"{"a": 1, "b": [1, 2], "c": null}"#).root
        #expect(a.isEquivalent(to: b))
        #expect(!a.isEquivalent(to: c))
        #expect(!a.isEquivalent(to: d))
        #expect(!d.isEquivalent(to: a))
    }
}
