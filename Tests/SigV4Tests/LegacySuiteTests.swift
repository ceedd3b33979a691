import Crypto
import Foundation
import HTTP
import SigV4
import Testing

/// One case in the legacy file format: a folder with `<stem>.req` and the expected
/// `.creq`, `.sts`, `.authz`, `.sreq`. Used by the original 2015 suite
/// (`aws-sig-v4-test-suite`, cases nested up to two folders deep) and by aws-c-auth's
/// additions (`aws-c-auth-legacy-additions`, where a folder name may differ from the
/// file stem: `get-header-value-multiline-space-joined/get-header-value-multiline.req`).
struct LegacySuiteCase: Sendable, CustomTestStringConvertible, Hashable {
    static let suites = ["aws-sig-v4-test-suite", "aws-c-auth-legacy-additions"]

    /// `<suite>/<folder path>`, e.g. `aws-sig-v4-test-suite/normalize-path/get-space`.
    var id: String
    var directory: URL
    var stem: String

    var testDescription: String { id }

    static func all() throws -> [LegacySuiteCase] {
        var cases: [LegacySuiteCase] = []
        for suite in suites {
            let root = try Fixtures.directory("sigv4/\(suite)")
            let found = try discover(in: root, relativePath: "", suite: suite)
            guard !found.isEmpty else { throw FixtureError("\(root.path) holds no .req cases") }
            cases += found
        }
        return cases.sorted { $0.id < $1.id }
    }

    private static func discover(in directory: URL, relativePath: String, suite: String) throws -> [LegacySuiteCase] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        let requests = names.filter { $0.hasSuffix(".req") }
        var cases: [LegacySuiteCase] = []
        if !requests.isEmpty {
            guard requests.count == 1 else {
                throw FixtureError("\(directory.path) holds \(requests.count) .req files; expected one case per folder")
            }
            cases.append(
                LegacySuiteCase(
                    id: "\(suite)/\(relativePath)",
                    directory: directory,
                    stem: String(requests[0].dropLast(".req".count))
                )
            )
        }
        for name in try Fixtures.subdirectories(of: directory) {
            cases += try discover(
                in: directory.appendingPathComponent(name),
                relativePath: relativePath.isEmpty ? name : "\(relativePath)/\(name)",
                suite: suite
            )
        }
        return cases
    }

    func file(_ fileExtension: String) -> URL { directory.appendingPathComponent("\(stem).\(fileExtension)") }
    func text(_ fileExtension: String) throws -> String { try Fixtures.text(file(fileExtension)) }
    func request() throws -> RawHTTPRequest { try RawHTTPRequest(contentsOf: file("req")) }

    /// The legacy format has no per-case parameters; the 2015 suite documented them on a
    /// web page and in `post-sts-token/readme.txt`. Its maintained successor,
    /// `aws-signing-test-suite-v4`, has a `context.json` for the same case name (same
    /// request, same credentials, and for `post-sts-header-*` the session token and
    /// whether it is signed); a case without a successor uses the suite-wide
    /// parameters, which are `get-vanilla`'s.
    func context() throws -> SigningContext {
        let successor = try Fixtures.directory(SigningSuiteCase.suitePath)
        var url = successor.appendingPathComponent(stem).appendingPathComponent("context.json")
        if !FileManager.default.fileExists(atPath: url.path) {
            url = successor.appendingPathComponent("get-vanilla/context.json")
        }
        return try SigningContext(contentsOf: url)
    }
}

/// A legacy case whose expected files cannot all hold.
struct KnownInconsistency: Sendable, CustomTestStringConvertible {
    enum Scope: Sendable {
        /// Nothing of the case is asserted.
        case wholeCase
        /// Only the `.sreq` is not asserted; `.creq`, `.sts` and `.authz` are.
        case signedRequestOnly
    }

    enum Evidence: Sendable {
        /// The case's own files disagree with each other (see `LegacySuiteTests.selfConsistencyProblems`).
        case filesDisagree
        /// Another case has a byte-identical `.req` and a different `.creq`.
        case contradicts(String)
    }

    var id: String
    var scope: Scope
    var evidence: Evidence
    var reason: String

    var testDescription: String { id }
}

@Suite("legacy SigV4 suites (aws-sig-v4-test-suite, aws-c-auth-legacy-additions)")
struct LegacySuiteTests {
    /// Every case not listed here must pass in full. The list is checked both ways: each
    /// entry must name an existing case (a renamed case cannot keep its exemption) and
    /// must still be inconsistent (a fixed fixture must come off the list).
    static let knownInconsistencies: [KnownInconsistency] = [
        KnownInconsistency(
            id: "aws-sig-v4-test-suite/get-header-value-multiline",
            scope: .wholeCase,
            evidence: .contradicts("aws-c-auth-legacy-additions/get-header-value-multiline-space-joined"),
            reason: "expects the obs-folded lines joined with commas (my-header1:value1,value2,value3); "
                + "AWS withdrew that: the newer suite's get-header-value-multiline and aws-c-auth's "
                + "get-header-value-multiline-space-joined, same request, expect one space (value1 value2 value3)"
        ),
        KnownInconsistency(
            id: "aws-sig-v4-test-suite/post-x-www-form-urlencoded",
            scope: .wholeCase,
            evidence: .filesDisagree,
            reason: "the .creq signs content-length but the .sts and .authz were computed without it "
                + "(SHA-256 of .creq is not the .sts digest; .authz says SignedHeaders=content-type;host;x-amz-date); "
                + "the newer suite's post-x-www-form-urlencoded, which passes, signs content-length"
        ),
        KnownInconsistency(
            id: "aws-sig-v4-test-suite/post-x-www-form-urlencoded-parameters",
            scope: .wholeCase,
            evidence: .filesDisagree,
            reason: "the .sts digest matches no canonical request of the .creq, and the .sreq's "
                + "SignedHeaders differ from the .authz's; the newer suite's case of that name passes"
        ),
        KnownInconsistency(
            id: "aws-c-auth-legacy-additions/get-vanilla-with-session-token",
            scope: .signedRequestOnly,
            evidence: .filesDisagree,
            reason: "the .sreq carries get-vanilla's signature (5fa00fa3…) instead of the .authz one; "
                + ".creq, .sts and .authz agree and are asserted"
        ),
    ]

    static func inconsistency(of testCase: LegacySuiteCase) -> KnownInconsistency? {
        knownInconsistencies.first { $0.id == testCase.id }
    }

    static func runnableCases() throws -> [LegacySuiteCase] {
        try LegacySuiteCase.all().filter {
            if case .wholeCase = inconsistency(of: $0)?.scope { return false }
            return true
        }
    }

    @Test("header signing", arguments: try runnableCases())
    func headerSigning(_ testCase: LegacySuiteCase) throws {
        let context = try testCase.context()
        // The legacy format predates `sign_body`: none of its requests carries
        // X-Amz-Content-Sha256.
        try #require(
            !context.signBody,
            "\(testCase.id) maps to a context with sign_body; the legacy format cannot express it"
        )
        let raw = try testCase.request()
        let result = context.signer.signatureForFixture(raw, date: context.date)

        #expect(result.canonicalRequest == (try testCase.text("creq")))
        #expect(result.stringToSign == (try testCase.text("sts")))
        let authorization = try testCase.text("authz").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(result.authorization == authorization)

        if case .signedRequestOnly = Self.inconsistency(of: testCase)?.scope {
            return
        }
        let expected = try RawHTTPRequest(contentsOf: testCase.file("sreq"))
        #expect(expected.headers["Authorization"] == [result.authorization])
        #expect(result.headers.groupedByName == expected.headers.groupedByName)
        #expect(expected.method == raw.method)
        #expect(expected.target == raw.target)
        #expect(expected.body == raw.body)
    }

    @Test func everyExemptionNamesAnExistingCase() throws {
        let ids = Set(try LegacySuiteCase.all().map(\.id))
        let listed = Self.knownInconsistencies.map(\.id)
        #expect(Set(listed).subtracting(ids).isEmpty, "exempted cases that do not exist (renamed?)")
        #expect(Set(listed).count == listed.count, "a case is listed twice")

        let runnable = Set(try Self.runnableCases().map(\.id))
        let skipped = ids.sorted().filter { !runnable.contains($0) }
        #expect(
            skipped
                == Self.knownInconsistencies.filter {
                    if case .wholeCase = $0.scope { return true }
                    return false
                }.map(\.id).sorted()
        )
    }

    @Test("exempted case is still inconsistent", arguments: knownInconsistencies)
    func exemptionIsStillNeeded(_ inconsistency: KnownInconsistency) throws {
        let cases = try LegacySuiteCase.all()
        let testCase = try #require(cases.first { $0.id == inconsistency.id })
        switch inconsistency.evidence {
        case .filesDisagree:
            let problems = try Self.selfConsistencyProblems(testCase)
            #expect(!problems.isEmpty, "\(testCase.id) is now self-consistent: remove its exemption")
        case .contradicts(let otherID):
            let other = try #require(cases.first { $0.id == otherID })
            #expect(try Fixtures.data(testCase.file("req")) == Fixtures.data(other.file("req")))
            #expect(try testCase.text("creq") != other.text("creq"))
        }
    }

    /// How the expected files of a legacy case disagree with each other, computed from
    /// the files alone with the signing key of the case's parameters.
    static func selfConsistencyProblems(_ testCase: LegacySuiteCase) throws -> [String] {
        let context = try testCase.context()
        let creq = try testCase.text("creq")
        let sts = try testCase.text("sts")
        let authz = try testCase.text("authz").trimmingCharacters(in: .whitespacesAndNewlines)
        let sreq = try RawHTTPRequest(contentsOf: testCase.file("sreq"))
        var problems: [String] = []

        let digest = SigV4Signer.payloadHash(Data(creq.utf8))
        if sts.split(separator: "\n").last.map(String.init) != digest {
            problems.append(".sts digest is not SHA-256 of .creq")
        }
        let signature = context.signer.signature(stringToSign: sts, date: context.date)
        if !authz.hasSuffix("Signature=\(signature)") {
            problems.append(".authz signature is not the HMAC of .sts")
        }
        let creqSignedHeaders = creq.split(separator: "\n", omittingEmptySubsequences: false).dropLast().last ?? ""
        if !authz.contains("SignedHeaders=\(creqSignedHeaders),") {
            problems.append(".authz SignedHeaders differ from .creq")
        }
        if sreq.headers["Authorization"] != [authz] {
            problems.append(".sreq Authorization differs from .authz")
        }
        return problems
    }

    /// The 2015 suite's `post-sts-token/readme.txt` gives the session token in prose;
    /// the successor contexts the harness uses must carry the same one.
    @Test func sessionTokenOfReadmeMatchesSuccessorContext() throws {
        let readme = try Fixtures.text(
            Fixtures.directory("sigv4/aws-sig-v4-test-suite/post-sts-token").appendingPathComponent("readme.txt")
        )
        let token = try #require(
            readme.split(whereSeparator: \.isNewline).last.map { $0.trimmingCharacters(in: .whitespaces) }
        )
        for name in ["post-sts-header-before", "post-sts-header-after"] {
            let testCase = try #require(try LegacySuiteCase.all().first { $0.stem == name })
            #expect(try testCase.context().credentials.sessionToken == token)
        }
    }
}
