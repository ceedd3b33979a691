import Foundation
import PolicyChange
import Testing

@testable import RunbookYAML

/// The node layer: marks, styles, aliases and limits, below the runbook schema.
@Suite struct YAMLParserTests {
    func parse(_ text: String, limits: RunbookLimits = .default) throws -> YAMLNode? {
        try YAMLParser(file: "t.yaml", limits: limits).parse(Data(text.utf8))
    }

    func mapping(_ node: YAMLNode?) -> [YAMLPair] {
        if case .mapping(let pairs)? = node?.content { return pairs }
        return []
    }

    @Test func marksAreOneBasedLineAndColumn() throws {
        let root = try parse("a: 1\nlist:\n  - x\n  - { k: v }\n")
        #expect(root?.mark == Mark(line: 1, column: 1))
        let pairs = mapping(root)
        #expect(pairs.map(\.keyText) == ["a", "list"])
        #expect(pairs[0].value.mark == Mark(line: 1, column: 4))
        guard case .sequence(let items) = pairs[1].value.content else {
            Issue.record("list is \(pairs[1].value.content)")
            return
        }
        #expect(items[0].mark == Mark(line: 3, column: 5))
        #expect(items[1].mark == Mark(line: 4, column: 5))
        #expect(mapping(items[1])[0].value.mark == Mark(line: 4, column: 10))
    }

    @Test func columnsCountCharactersNotBytes() throws {
        let pairs = mapping(try parse("é: ünïcode\nb: 2\n"))
        #expect(pairs[0].value.mark == Mark(line: 1, column: 4))
        #expect(pairs[0].value.scalarText == "ünïcode")
    }

    @Test func crlfLineEndingsAndABOM() throws {
        let pairs = mapping(try parse("\u{FEFF}a: 1\r\nb: 2\r\n"))
        #expect(pairs.map(\.keyText) == ["a", "b"])
        #expect(pairs[1].key.mark == Mark(line: 2, column: 1))
    }

    @Test func scalarStylesAndNull() throws {
        let pairs = mapping(
            try parse("p: plain\ns: 'single'\nd: \"double\"\nl: |\n  lit\nf: >\n  fold\nn: ~\ne:\nq: ''\nt: !!str null\n"))
        let styles = pairs.map { pair -> ScalarStyle? in
            if case .scalar(_, let style) = pair.value.content { return style }
            return nil
        }
        #expect(styles == [.plain, .singleQuoted, .doubleQuoted, .literal, .folded, .plain, .plain, .singleQuoted, .plain])
        #expect(pairs.map(\.value.isNull) == [false, false, false, false, false, true, true, false, false])
        #expect(pairs[8].value.tag == "tag:yaml.org,2002:str")
        #expect(pairs[3].value.scalarText == "lit\n")
    }

    @Test func aliasesShareTheAnchoredNodeAndCountItsSize() throws {
        let root = try parse("base: &b { x: 1, y: [2, 3] }\ncopy: *b\n")
        let pairs = mapping(root)
        // base: mapping + 2 keys + 2 values (x's scalar, y's sequence) + 2 items = 7 nodes.
        #expect(pairs[0].value.size == 7)
        #expect(pairs[1].value.size == 7)
        #expect(pairs[1].value.mark == pairs[0].value.mark)
        #expect(pairs[0].value.height == 2)
        #expect(root?.size == 1 + 1 + 7 + 1 + 7)
    }

    @Test func emptyStreamHasNoDocument() throws {
        #expect(try parse("") == nil)
        #expect(try parse("# only a comment\n") == nil)
        #expect(try parse("---\n...\n")?.isNull == true)
    }

    @Test func oneDocumentWithMarkersIsFine() throws {
        #expect(mapping(try parse("---\na: 1\n...\n")).count == 1)
    }

    @Test func duplicateKeysInFlowMappings() {
        #expect(
            throws: RunbookError(
                file: "t.yaml", location: SourceLocation(file: "t.yaml", line: 1, column: 12),
                message: "duplicate key 'a' (first defined at line 1, column 6)")
        ) {
            try parse("x: { a: 1, a: 2 }\n")
        }
    }

    @Test func quotedAndPlainKeysWithTheSameTextAreDuplicates() {
        let error = #expect(throws: RunbookError.self) { try parse("a: 1\n\"a\": 2\n") }
        #expect(error?.description == "t.yaml:2:1: duplicate key 'a' (first defined at line 1, column 1)")
    }

    @Test func complexKeysAreRejected() {
        let error = #expect(throws: RunbookError.self) { try parse("? [a, b]\n: c\n") }
        #expect(error?.description == "t.yaml:1:3: a mapping key must be a plain string, found a sequence")
    }

    @Test func depthLimitCountsAliasExpansion() {
        // Each level is 1 deep in the text, but *l2 carries two levels under a root at depth 1.
        let limits = RunbookLimits(depth: 3)
        #expect(throws: Never.self) { try parse("a: &l2 [[x]]\n", limits: limits) }
        let error = #expect(throws: RunbookError.self) { try parse("a: &l2 [[x]]\nb: [*l2]\n", limits: limits) }
        #expect(error?.description == "t.yaml:2:5: the document nests deeper than 3 levels")
    }

    @Test func billionLaughsGeneratedHereFailsOnTheCountNotTheMemory() {
        // 30 levels of 10 aliases each would be 10^30 nodes if expanded.
        var text = "l0: &l0 [lol]\n"
        for level in 1...30 {
            text += "l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let error = #expect(throws: RunbookError.self) { try parse(text) }
        #expect(error?.message == "aliases expand to more than 10000 nodes (a \"billion laughs\" document?)")
        #expect(error?.location?.line == 5)
    }

    @Test func yaml11DirectiveIsStillReadAsCoreSchemaText() throws {
        // Typing is the loader's, whatever the document claims.
        let pairs = mapping(try parse("%YAML 1.1\n---\ncountry: no\n"))
        #expect(pairs[0].value.scalarText == "no")
    }

    @Test func utf8Validation() {
        let cases: [([UInt8], Int?)] = [
            (Array("plain ascii".utf8), nil),
            (Array("é€😀".utf8), nil),
            ([0x61, 0xC0, 0xAF], 1),  // overlong '/'
            ([0xED, 0xA0, 0x80], 0),  // UTF-16 surrogate
            ([0xF4, 0x90, 0x80, 0x80], 0),  // above U+10FFFF
            ([0x61, 0x62, 0xE2, 0x82], 2),  // truncated
            ([0x80], 0),  // lone continuation byte
        ]
        for (bytes, expected) in cases {
            #expect(bytes.withUnsafeBytes { YAMLParser.firstInvalidUTF8($0) } == expected, "\(bytes)")
        }
    }

    @Test func utf16IsNamed() {
        let data = Data([0xFF, 0xFE, 0x61, 0x00])
        let utf16 = #expect(throws: RunbookError.self) { try YAMLParser(file: "t.yaml", limits: .default).parse(data) }
        #expect(utf16?.description == "t.yaml:1:1: the file is UTF-16, not UTF-8; save it as UTF-8")
    }
}
