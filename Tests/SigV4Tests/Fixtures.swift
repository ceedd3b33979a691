import Foundation
import SigV4

/// The shared fixtures live beside the repository, in `../shared/fixtures`, and are read
/// at run time: no vector is copied into a test. This file sits at
/// `<repo>/Tests/SigV4Tests/Fixtures.swift`, so the repository is three levels up.
enum Fixtures {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/SigV4Tests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // <repo>
        .appendingPathComponent("../shared/fixtures")
        .standardizedFileURL

    /// A fixture folder that must exist. A missing folder is an error, never a reason
    /// to skip: a test suite that silently runs zero vectors proves nothing.
    static func directory(_ relativePath: String) throws -> URL {
        let url = root.appendingPathComponent(relativePath)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw FixtureError(
                "fixture folder \(url.path) is missing. The SigV4 tests read AWS's signing test suites from "
                    + "`../shared/fixtures` beside the repository (located from \(#filePath)); "
                    + "check out the shared fixtures there."
            )
        }
        return url
    }

    static func data(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            throw FixtureError("cannot read fixture \(url.path): \(error)")
        }
    }

    static func text(_ url: URL) throws -> String {
        let data = try data(url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw FixtureError("fixture \(url.path) is not UTF-8")
        }
        return text
    }

    /// The names of the sub-folders of `directory`, sorted.
    static func subdirectories(of directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(
                atPath: directory.appendingPathComponent(name).path,
                isDirectory: &isDirectory
            ) && isDirectory.boolValue
        }.sorted()
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The signing parameters of one case of `aws-signing-test-suite-v4` (`context.json`).
struct SigningContext: Sendable {
    var credentials: AWSCredentials
    var region: String
    var service: String
    var date: Date
    var expirationInSeconds: Int
    var normalize: Bool
    var signBody: Bool
    var omitSessionToken: Bool

    /// Keys this harness understands. An unknown key fails the case instead of being
    /// ignored, since it could change what the expected files mean.
    static let knownKeys: Set<String> = [
        "credentials", "expiration_in_seconds", "normalize", "region", "service", "sign_body",
        "timestamp", "omit_session_token",
    ]
    static let knownCredentialKeys: Set<String> = ["access_key_id", "secret_access_key", "token"]

    init(contentsOf url: URL) throws {
        let object = try JSONSerialization.jsonObject(with: Fixtures.data(url))
        guard let json = object as? [String: Any] else { throw FixtureError("\(url.path): not a JSON object") }
        let unknown = Set(json.keys).subtracting(Self.knownKeys)
        guard unknown.isEmpty else {
            throw FixtureError("\(url.path): unknown keys \(unknown.sorted()); teach the harness what they mean")
        }
        guard let credentials = json["credentials"] as? [String: Any],
            let accessKeyID = credentials["access_key_id"] as? String,
            let secret = credentials["secret_access_key"] as? String,
            let region = json["region"] as? String,
            let service = json["service"] as? String,
            let timestamp = json["timestamp"] as? String
        else {
            throw FixtureError("\(url.path): missing credentials, region, service or timestamp")
        }
        let unknownCredentialKeys = Set(credentials.keys).subtracting(Self.knownCredentialKeys)
        guard unknownCredentialKeys.isEmpty else {
            throw FixtureError("\(url.path): unknown credential keys \(unknownCredentialKeys.sorted())")
        }
        self.credentials = AWSCredentials(
            accessKeyID: accessKeyID,
            secretAccessKey: secret,
            sessionToken: credentials["token"] as? String
        )
        self.region = region
        self.service = service
        do {
            self.date = try Date.ISO8601FormatStyle().parse(timestamp)
        } catch {
            throw FixtureError("\(url.path): timestamp \(timestamp) is not ISO 8601")
        }
        self.expirationInSeconds = json["expiration_in_seconds"] as? Int ?? 3600
        self.normalize = json["normalize"] as? Bool ?? true
        self.signBody = json["sign_body"] as? Bool ?? false
        self.omitSessionToken = json["omit_session_token"] as? Bool ?? false
    }

    var signer: SigV4Signer {
        SigV4Signer(
            credentials: credentials,
            region: region,
            service: service,
            options: .init(
                signsSessionToken: !omitSessionToken,
                addsContentSHA256Header: signBody,
                normalizesPath: normalize
            )
        )
    }
}
