import Foundation
import PolicyChange
import Testing

@testable import RunbookYAML

@Suite struct SpellingTests {
    @Test(arguments: [
        ("backpu", "backup"),  // swapped letters: one edit
        ("Backup", "backup"),  // case only
        ("valdiate", "validate"),
        ("monitr", "monitor"),
        ("aprove", "approve"),
    ])
    func suggestsStepNames(_ typed: String, _ expected: String) {
        #expect(Spelling.suggestion(for: typed, among: Step.keywords) == expected)
    }

    @Test func suggestsOnlyWhenClose() {
        #expect(Spelling.suggestion(for: "nmae", among: RunbookDecoder.rootKeys) == "name")
        #expect(Spelling.suggestion(for: "colour", among: RunbookDecoder.rootKeys) == nil)
        #expect(Spelling.suggestion(for: "foo", among: ["aws", "azure", "gcp"]) == nil)
        #expect(Spelling.suggestion(for: "", among: ["aws"]) == nil)
        #expect(Spelling.suggestion(for: "add-statement", among: ChangeOperation.keywords) == "add-statements")
        #expect(Spelling.suggestion(for: "get", among: RunbookDecoder.httpMethods) == "GET")
    }

    @Test func tiesGoToTheFirstCandidate() {
        #expect(Spelling.suggestion(for: "cat", among: ["bat", "cut"]) == "bat")
    }

    @Test func distance() {
        #expect(Spelling.distance("kitten", "sitting") == 3)
        #expect(Spelling.distance("ab", "ba") == 1)
        #expect(Spelling.distance("", "abc") == 3)
        #expect(Spelling.distance("ABC", "abc") == 0)
    }
}

@Suite struct VariableTests {
    let resolver = VariableResolver(
        variables: ["A": "from-set", "SECRET": "${B}", "EMPTY": ""], environment: ["A": "from-env", "B": "b"])

    @Test(arguments: [
        ("no variables", "no variables"),
        ("${A}", "from-set"),  // --set wins
        ("x-${B}-y", "x-b-y"),
        ("$${A}", "${A}"),  // escape
        ("a $$ b", "a $$ b"),
        ("cost: $5 and $HOME", "cost: $5 and $HOME"),  // a lone $ is text, for the shell
        ("${SECRET}", "${B}"),  // one pass: values are never expanded again
        ("trailing $", "trailing $"),
        ("${A}${B}", "from-setb"),
        ("${A:-30s}", "from-set"),  // a set variable wins over its default
        ("${UNSET:-30s}", "30s"),  // POSIX ${NAME:-default}
        ("${EMPTY:-1m}", "1m"),  // an empty value takes the default too
        ("${UNSET:-}", ""),
        ("${UNSET:-a:b-c}", "a:b-c"),  // the default is literal text
    ])
    func substitutes(_ text: String, _ expected: String) {
        #expect(resolver.substitute(text) == .success(expected))
    }

    @Test func failures() {
        #expect(resolver.substitute("${MISSING}") == .failure(.undefined("MISSING")))
        #expect(resolver.substitute("${1X}") == .failure(.invalidName("1X")))
        #expect(resolver.substitute("${}") == .failure(.invalidName("")))
        #expect(resolver.substitute("${A-B}") == .failure(.invalidName("A-B")))
        #expect(resolver.substitute("${A") == .failure(.unterminated))
        #expect(resolver.substitute("${1X:-d}") == .failure(.invalidName("1X")))
    }

    @Test func messages() {
        #expect(
            VariableResolver.message(for: .undefined("CLUSTER"))
                == "undefined variable 'CLUSTER' (pass --set CLUSTER=…, set it in the environment, or give a default: ${CLUSTER:-…})")
        #expect(VariableResolver.message(for: .unterminated) == "unterminated '${' (close it with '}', or write $${ for a literal ${)")
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2026-11-28T02:00:00Z", 1_795_831_200.0),
        ("2026-11-28t02:00:00z", 1_795_831_200.0),
        ("2026-11-28 02:00:00Z", 1_795_831_200.0),
        ("2026-11-28T03:00:00+01:00", 1_795_831_200.0),
        ("2026-11-27T20:30:00-05:30", 1_795_831_200.0),
        ("2026-11-28T02:00:00.5Z", 1_795_831_200.5),
        ("2028-02-29T00:00:00Z", 1_835_395_200.0),  // leap day
        ("1970-01-01T00:00:00Z", 0.0),
    ])
    func parses(_ text: String, _ seconds: Double) throws {
        let date = try Timestamp.parse(text).get()
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.0001)
    }

    @Test(arguments: [
        ("2026-11-28T02:00:00", Timestamp.Failure.missingZone),
        ("2026-11-28", .missingZone),
        ("2026-11-28T02:00Z", .malformed),
        ("2026-11-28T02:00:00+0100", .malformed),
        ("2026-11-28T02:00:00.Z", .malformed),
        ("28/11/2026", .malformed),
        ("2026-11-28T02:00:00Z extra", .malformed),
        ("2027-02-29T00:00:00Z", .outOfRange),
        ("2026-13-01T00:00:00Z", .outOfRange),
        ("2026-11-28T24:00:00Z", .outOfRange),
        ("2026-11-28T02:00:60Z", .outOfRange),
    ])
    func rejects(_ text: String, _ failure: Timestamp.Failure) {
        #expect(Timestamp.parse(text) == .failure(failure))
    }
}

@Suite struct ScalarTypingTests {
    let decoder = RunbookDecoder(
        file: "t.yaml", folder: "/tmp", variables: VariableResolver(variables: [:], environment: [:]), limits: .default)

    func node(_ yaml: String) throws -> YAMLNode {
        let root = try YAMLParser(file: "t.yaml", limits: .default).parse(Data("v: \(yaml)\n".utf8))
        guard case .mapping(let pairs)? = root?.content else { throw RunbookError(file: "t.yaml", location: nil, message: "no mapping") }
        return pairs[0].value
    }

    @Test(arguments: [("true", true), ("True", true), ("TRUE", true), ("false", false), ("False", false), ("FALSE", false)])
    func booleansAreYAML12Core(_ text: String, _ value: Bool) throws {
        #expect(try decoder.bool(try node(text), for: "v") == value)
    }

    /// YAML 1.1's booleans (the "Norway problem") and quoted text are not booleans.
    @Test(arguments: ["yes", "no", "on", "off", "y", "n", "\"true\"", "'false'", "1", "!!str true"])
    func notBooleans(_ text: String) throws {
        let n = try node(text)
        #expect(throws: RunbookError.self) { try decoder.bool(n, for: "v") }
    }

    @Test(arguments: [("0", 0), ("3", 3), ("+3", 3), ("007", 7), ("-1", -1)])
    func integersAreDecimal(_ text: String, _ value: Int) throws {
        #expect(try decoder.int(try node(text), for: "v", atLeast: Int.min) == value)
    }

    @Test(arguments: ["0x10", "0o17", "1_000", "1e3", "1.0", "\"3\"", "three", "99999999999999999999"])
    func notIntegers(_ text: String) throws {
        let n = try node(text)
        #expect(throws: RunbookError.self) { try decoder.int(n, for: "v", atLeast: Int.min) }
    }

    @Test(arguments: ["on", "yes", "0755", "1e3", "true", "~x", "'quoted'", "2026-11-28T02:00:00Z"])
    func anyScalarIsTextWhereTextIsExpected(_ text: String) throws {
        let expected = text.hasPrefix("'") ? String(text.dropFirst().dropLast()) : text
        #expect(try decoder.string(try node(text), for: "v") == expected)
    }

    @Test func nullIsNotText() throws {
        let error = #expect(throws: RunbookError.self) { try decoder.string(try node("~"), for: "v") }
        #expect(error?.message == "expected a string for 'v', found nothing")
    }

    @Test(arguments: [
        "1", "-1", "+1", "1.5", ".5", "1.", "1e3", "1E-3", "-2.5e+10",
    ])
    func yamlNumbers(_ text: String) {
        #expect(RunbookDecoder.isYAMLNumber(text))
    }

    @Test(arguments: ["", ".", "e3", "1e", "0x10", ".inf", ".nan", "1_000", "1.2.3", "--1", "+"])
    func notYAMLNumbers(_ text: String) {
        #expect(!RunbookDecoder.isYAMLNumber(text))
    }
}
