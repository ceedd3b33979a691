import Foundation
import PolicyChange
import Testing

@testable import RunbookYAML

/// The JSON Schema and the loader agree: valid fixtures pass both, and the
/// malformed runbooks a schema can describe fail both. The schema side runs
/// through python3 (PyYAML + jsonschema, see Fixtures/tools/check-schema.py),
/// reading YAML the way the loader does.
@Suite struct RunbookSchemaTests {
    static let installHint =
        "the schema tests need python3 with the PyYAML and jsonschema modules; `make test` installs them"

    /// Thrown (a failure, never a skip) when the schema cannot be checked.
    struct SchemaCheckUnavailable: Error, CustomStringConvertible {
        var description: String
    }

    struct SchemaVerdict: Decodable {
        var file: String
        var valid: Bool
        var error: String?
    }

    /// Validates `files` against `RunbookSchema.json`; fails the test (never
    /// skips) when python3 or its modules are missing.
    func schemaVerdicts(_ files: [String]) throws -> [String: SchemaVerdict] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let schemaPath = folder.appendingPathComponent("runbook-v1.schema.json").path
        try RunbookSchema.json.write(toFile: schemaPath, atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Fixtures.root + "/tools/check-schema.py", schemaPath] + files
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw SchemaCheckUnavailable(description: "cannot start python3 (\(error)): \(Self.installHint)")
        }
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        switch process.terminationStatus {
        case 0: break
        case 3, 127:
            throw SchemaCheckUnavailable(
                description: "\(stderr.trimmingCharacters(in: .whitespacesAndNewlines)): \(Self.installHint)")
        default:
            throw SchemaCheckUnavailable(description: "check-schema.py failed (status \(process.terminationStatus)): \(stderr)")
        }
        var verdicts: [String: SchemaVerdict] = [:]
        for line in String(decoding: stdout, as: UTF8.self).split(separator: "\n") {
            let verdict = try JSONDecoder().decode(SchemaVerdict.self, from: Data(line.utf8))
            verdicts[verdict.file] = verdict
        }
        #expect(verdicts.count == files.count, "check-schema.py answered for \(verdicts.count) of \(files.count) files")
        return verdicts
    }

    @Test func schemaIsJSONWithTheDraftAndID() throws {
        let object = try JSONSerialization.jsonObject(with: Data(RunbookSchema.json.utf8)) as? [String: Any]
        #expect(object?["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        #expect(object?["$id"] as? String == RunbookSchema.id)
    }

    /// The keys, steps, checks and operations the schema names are the ones
    /// the loader accepts.
    @Test func schemaNamesWhatTheLoaderAccepts() throws {
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(RunbookSchema.json.utf8)) as? [String: Any])
        let properties = try #require(schema["properties"] as? [String: Any])
        #expect(Set(properties.keys) == Set(RunbookDecoder.rootKeys))
        let defs = try #require(schema["$defs"] as? [String: Any])

        func branchKeys(_ name: String) throws -> Set<String> {
            let def = try #require(defs[name] as? [String: Any])
            var keys = Set<String>()
            for branch in try #require(def["oneOf"] as? [[String: Any]]) {
                if let ref = branch["$ref"] as? String {
                    let target = try #require(defs[String(ref.dropFirst("#/$defs/".count))] as? [String: Any])
                    keys.formUnion(target["required"] as? [String] ?? [])
                } else {
                    keys.formUnion(branch["required"] as? [String] ?? [])
                }
            }
            return keys
        }
        #expect(try branchKeys("step") == Set(Step.keywords))
        #expect(try branchKeys("check") == Set(Check.keywords))
        #expect(try branchKeys("change-operation") == Set(ChangeOperation.keywords))
    }

    @Test func validFixturesPassTheLoaderAndTheSchema() throws {
        let files = Fixtures.files(in: Fixtures.valid).map { Fixtures.valid + "/" + $0 }
        #expect(files.count >= 6)
        let verdicts = try schemaVerdicts(files)
        for file in files {
            #expect(throws: Never.self) { try Fixtures.loader.load(path: file) }
            #expect(verdicts[file]?.valid == true, "schema rejects \(file): \(verdicts[file]?.error ?? "no answer")")
        }
    }

    /// The runbooks the project ships (`examples/`, `runbooks/`) pass both too,
    /// with a plausible value for each variable that has no default.
    @Test func shippedRunbooksPassTheLoaderAndTheSchema() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        var files: [String] = []
        for folder in ["examples", "runbooks"] {
            let path = "\(repository)/\(folder)"
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            files += names.filter { $0.hasSuffix(".yaml") }.sorted().map { "\(path)/\($0)" }
        }
        #expect(files.contains { $0.hasSuffix("examples/aws-update.yaml") }, "no shipped runbooks found under \(repository)")
        let verdicts = try schemaVerdicts(files)
        let samples = [
            "KEY_ARN": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "SERVICE_ROLE_ARN": "arn:aws:iam::152535741197:role/cc-kafka-d45e6381-b878-11ed-bdff-028e28f108bd",
            "STATEMENTS_FILE": "\(repository)/examples/snippets/confluent-statements.json",
            "GCP_KEY": "projects/my-project/locations/us-east1/keyRings/my-ring/cryptoKeys/my-key",
            "MEMBER": "group:cck-d45e6381@confluent.io",
            "VAULT_ID": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv",
            "SERVICE_OID": "ce2ce14e-85d7-4629-bdbc-454d0519d987",
        ]
        for file in files {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            var variables: [String: String] = [:]
            // Every ${NAME} without a default gets a sample value (or a harmless word).
            for match in text.matches(of: /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/) {
                variables[String(match.1)] = samples[String(match.1)] ?? "sample"
            }
            #expect(throws: Never.self, "\(file)") { try RunbookLoader(variables: variables).load(path: file) }
            #expect(verdicts[file]?.valid == true, "schema rejects \(file): \(verdicts[file]?.error ?? "no answer")")
        }
    }

    /// Malformed runbooks the schema can describe, each with where the
    /// schema's best error must point (a JSON path; "" is the top).
    static let rejectedByBoth: [(file: String, schemaPath: String)] = [
        ("unknown-key.yaml", "target/aws"),
        ("unknown-key-listed.yaml", ""),
        ("unknown-step.yaml", "steps/1"),
        ("unknown-check.yaml", "steps/2/verify/checks/1"),
        ("unknown-operation.yaml", "change/0"),
        ("unknown-target.yaml", "target"),
        ("unknown-preset.yaml", "require/0/preset"),
        ("unknown-enum-value.yaml", "steps/1/apply/on-failure"),
        ("wrong-type-sequence.yaml", "steps"),
        ("wrong-type-mapping.yaml", "target"),
        ("wrong-type-string.yaml", "name"),
        ("wrong-type-integer.yaml", "steps/0/verify/retries"),
        ("wrong-type-quoted-integer.yaml", "steps/2/verify/checks/0/http/expect/status"),
        ("wrong-type-boolean.yaml", "rollback/automatic"),
        ("wrong-type-duration.yaml", "steps/0/verify/timeout"),
        ("missing-field.yaml", "target/aws"),
        ("missing-name.yaml", ""),
        ("require-without-actions.yaml", "require/0"),
        ("wait-without-duration.yaml", "steps/2"),
        ("bad-duration.yaml", "steps/2/wait"),
        ("bad-timestamp.yaml", "window/start"),
        ("timestamp-without-zone.yaml", "window/start"),
        ("window-end-and-duration.yaml", "window"),
        ("bad-name.yaml", "name"),
        ("bad-key-arn.yaml", "target/aws/key"),
        ("bad-http-url.yaml", "steps/2/verify/checks/0/http/url"),
        ("two-targets.yaml", "target"),
        ("wrong-cloud.yaml", "change/1"),
        ("step-options-outside.yaml", "steps/2"),
        ("bad-vault.yaml", "target/azure/vault"),
        ("bad-gcp-key.yaml", "target/gcp/key"),
        ("bad-endpoint-url.yaml", "target/aws/endpoints/kms"),
        ("access-policy-without-permissions.yaml", "change/0/add-access-policy"),
        ("operation-without-value.yaml", "change/0/replace-policy"),
        ("empty-steps.yaml", "steps"),
        ("retries-negative.yaml", "steps/2/verify/retries"),
        ("http-check-without-settings.yaml", "steps/2/verify/checks/1"),
        ("expect-json-not-scalar.yaml", "steps/2/verify/checks/0/http/expect/json/status"),
        ("not-a-mapping.yaml", ""),
        ("empty.yaml", ""),
    ]

    @Test func malformedRunbooksFailTheLoaderAndTheSchema() throws {
        let files = Self.rejectedByBoth.map { Fixtures.invalid + "/" + $0.file }
        let verdicts = try schemaVerdicts(files)
        for (name, schemaPath) in Self.rejectedByBoth {
            let file = Fixtures.invalid + "/" + name
            #expect(throws: RunbookError.self, "the loader accepts \(name)") { try Fixtures.loader.load(path: file) }
            let verdict = verdicts[file]
            #expect(verdict?.valid == false, "the schema accepts \(name)")
            #expect(
                verdict?.error?.hasPrefix(schemaPath + ": ") == true,
                "\(name): the schema's error is \(verdict?.error ?? "none"), expected it at '\(schemaPath)'")
        }
    }
}
