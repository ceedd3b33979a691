import Foundation
import PolicyChange
import Testing

@testable import RunbookYAML

/// The malformed-runbook set: one fixture per kind of mistake, each with the
/// exact one-line message and place the user sees.
@Suite struct InvalidRunbookTests {
    // MARK: Unknown names, with and without a suggestion

    @Test func unknownKeySuggestsTheClosestKey() {
        expectError("unknown-key.yaml:6:5: unknown key 'regoin' in 'aws' (did you mean 'region'?)")
    }

    @Test func unknownKeyWithNothingCloseListsTheValidKeys() {
        expectError(
            "unknown-key-listed.yaml:3:1: unknown key 'colour' (valid keys: version, name, description, change-ticket, target, change, require, window, steps, rollback)"
        )
    }

    @Test func unknownStep() {
        expectError("unknown-step.yaml:14:7: unknown step 'backpu' (did you mean 'backup'?)")
    }

    @Test func unknownCheck() {
        expectError("unknown-check.yaml:12:34: unknown check 'audit-logs' (did you mean 'audit-log'?)")
    }

    @Test func unknownChangeOperation() {
        expectError("unknown-operation.yaml:7:5: unknown change operation 'add-statement' (did you mean 'add-statements'?)")
    }

    @Test func unknownTarget() {
        expectError("unknown-target.yaml:4:3: unknown target 'awz' (did you mean 'aws'?)")
    }

    @Test func unknownPreset() {
        expectError("unknown-preset.yaml:10:13: unknown preset 'confluant' (did you mean 'confluent'?)")
    }

    @Test func unknownEnumValue() {
        expectError("unknown-enum-value.yaml:10:26: unknown value 'rolback' for 'on-failure' (did you mean 'rollback'?)")
    }

    // MARK: Types

    @Test(arguments: [
        "wrong-type-sequence.yaml:8:8: expected a sequence for 'steps', found 'backup'",
        "wrong-type-mapping.yaml:4:3: expected a mapping for 'target', found a sequence",
        "wrong-type-string.yaml:2:7: expected a string for 'name', found a mapping",
        "wrong-type-integer.yaml:9:24: expected an integer for 'retries', found 'many'",
        "wrong-type-quoted-integer.yaml:13:73: expected an integer for 'status', found the string '200'",
        "wrong-type-boolean.yaml:10:14: expected a boolean (true or false) for 'automatic', found 'yes' (yes/no/on/off are not booleans in a runbook)",
        "wrong-type-duration.yaml:9:24: expected a duration for 'timeout', found a mapping",
    ])
    func wrongType(_ expected: String) {
        expectError(expected)
    }

    // MARK: Required parts

    @Test func missingFieldIsReportedAtItsParent() {
        expectError("missing-field.yaml:5:5: missing required key 'key' in 'aws'")
    }

    @Test func missingName() {
        expectError("missing-name.yaml:1:1: missing required key 'name'")
    }

    @Test func applyNeedsAChange() {
        expectError("no-change.yaml:1:1: missing required key 'change' (the steps include apply)")
    }

    @Test func requireNeedsActionsOrPreset() {
        expectError("require-without-actions.yaml:9:5: a require entry needs 'actions' or 'preset' (or both)")
    }

    @Test func waitNeedsADuration() {
        expectError("wait-without-duration.yaml:11:5: step 'wait' needs a duration (e.g. '- wait: 30s')")
    }

    // MARK: Values

    @Test func badDuration() {
        expectError("bad-duration.yaml:11:11: invalid duration '30 seconds' (use forms like 30s, 5m, 1h30m)")
    }

    @Test func badTimestamp() {
        expectError(
            "bad-timestamp.yaml:9:10: invalid timestamp '28/11/2026 02:00' (use RFC 3339 with a time zone, e.g. 2026-11-28T02:00:00Z)")
    }

    @Test func timestampWithoutZone() {
        expectError(
            "timestamp-without-zone.yaml:9:10: timestamp '2026-11-28T02:00:00' has no time zone (add Z for UTC or an offset such as +01:00)"
        )
    }

    @Test func windowEndBeforeStart() {
        // 04:30+01:00 is 03:30Z, half an hour before the start.
        expectError(
            "window-end-before-start.yaml:10:10: the window's end (2026-11-28T04:30:00+01:00) is not after its start (2026-11-28T04:00:00Z)"
        )
    }

    @Test func windowTakesEndOrDurationNotBoth() {
        expectError("window-end-and-duration.yaml:11:3: 'window' takes 'end' or 'duration', not both")
    }

    @Test func monitorIntervalLongerThanDuration() {
        expectError("monitor-interval-too-long.yaml:11:40: the monitor interval (10m) is longer than its duration (5m)")
    }

    @Test func unsupportedVersion() {
        // Reported before the unknown key `hooks`, which is a consequence.
        expectError("version-2.yaml:1:10: unsupported runbook version 2 (this policy-change reads version 1)")
    }

    @Test func badName() {
        expectError("bad-name.yaml:2:7: invalid name 'Add_Audit_Role' (use lowercase letters, digits and '-', e.g. add-audit-role)")
    }

    @Test func badKeyARN() {
        expectError(
            "bad-key-arn.yaml:5:10: 'arn:aws:kms:us-east-1:1111:key/1234' is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID)")
    }

    @Test func httpCheckNeedsAnHTTPURLAndQuotesItAsWritten() {
        // The URL is quoted before substitution: ${TOKEN} may be a secret.
        expectError(
            "bad-http-url.yaml:13:24: invalid URL 'ftp://status.example.com/${TOKEN}' (an http check needs an http:// or https:// URL)")
    }

    // MARK: Targets and clouds

    @Test func twoTargets() {
        expectError("two-targets.yaml:6:3: two targets, 'aws' and 'gcp' (a runbook changes one key: keep one)")
    }

    @Test func operationForAnotherCloud() {
        expectError("wrong-cloud.yaml:8:5: change operation 'add-members' does not apply to an aws target (it is for gcp)")
    }

    @Test func accessAnalyzerIsAWSOnly() {
        expectError(
            "access-analyzer-on-gcp.yaml:10:34: 'access-analyzer' is IAM Access Analyzer, for aws targets only (the target is gcp)")
    }

    // MARK: Variables and files

    @Test func undefinedVariable() {
        expectError(
            "undefined-variable.yaml:14:18: undefined variable 'CLUSTER_ID' (pass --set CLUSTER_ID=…, set it in the environment, or give a default: ${CLUSTER_ID:-…})")
    }

    @Test func invalidVariableName() {
        expectError(
            "invalid-variable-name.yaml:3:14: invalid variable name '${1DOLLAR}' (names are letters, digits and _, not starting with a digit; write $${ for a literal ${)"
        )
    }

    @Test func relativePathThatDoesNotExist() {
        expectError("missing-file.yaml:7:21: file 'policies/new.json' not found (looked in \(Fixtures.invalid))")
    }

    // MARK: Procedure safety

    @Test func applyWithoutBackup() {
        expectError(
            "apply-without-backup.yaml:11:5: apply needs a backup step before it (the engine never applies without a durable backup)")
    }

    @Test func moreThanOneApply() {
        expectError(
            "two-applies.yaml:12:5: more than one apply step (the first is at line 10, column 5); a runbook applies its change once")
    }

    @Test func stepOptionsBesideTheStep() {
        expectError(
            "step-options-outside.yaml:12:5: a step is a one-key mapping: put 'on-failure' inside 'command' (e.g. '- command: { on-failure: … }')"
        )
    }

    // MARK: YAML itself

    @Test func duplicateKeyNamesBothPlaces() {
        expectError("duplicate-key.yaml:8:1: duplicate key 'name' (first defined at line 2, column 1)")
    }

    @Test func syntaxErrorUsesLibYAMLsProblemAndMark() {
        expectError("syntax-error.yaml:3:15: YAML syntax error: mapping values are not allowed in this context")
    }

    @Test func syntaxErrorFromAnUnquotedVariableInFlowStyleGetsAHint() {
        expectError(
            "unquoted-variable-in-flow.yaml:9:29: YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping that started at line 9, column 13); quote values that contain ${…} inside { } or [ ]"
        )
    }

    @Test func nestingDeeperThan64Levels() {
        expectError("too-deep.yaml:3:77: the document nests deeper than 64 levels")
    }

    @Test func billionLaughsIsRejectedByCountingNotExpanding() {
        // lol9 would expand to 9^9 nodes; counting stops at lol5.
        expectError("billion-laughs.yaml:8:14: aliases expand to more than 10000 nodes (a \"billion laughs\" document?)")
    }

    @Test func tooManyAliases() {
        expectError("too-many-aliases.yaml:105:5: the document uses more than 100 aliases")
    }

    @Test func aliasToItselfIsUnknown() {
        expectError("unknown-alias.yaml:3:24: unknown alias '*loop' (an alias must come after its anchor's complete value)")
    }

    @Test func nonUTF8BytesAreLocated() {
        expectError("non-utf8.yaml:3:17: the file is not valid UTF-8 (byte 0xE9); save it as UTF-8")
    }

    @Test func controlCharacter() {
        expectError("control-character.yaml:3:20: YAML syntax error: control characters are not allowed (character U+0007)")
    }

    @Test func multipleDocuments() {
        expectError(
            "multiple-documents.yaml:8:1: the file holds more than one YAML document; a runbook is exactly one (remove the second '---')")
    }

    @Test func unsupportedTag() {
        expectError(
            "unsupported-tag.yaml:3:14: unsupported tag '!!binary' (a runbook uses plain YAML values; quote a value to make it a string)")
    }

    @Test func mergeKeys() {
        expectError("merge-key.yaml:7:5: merge keys ('<<') are not supported; write the keys out")
    }

    @Test func emptyFile() {
        expectError("empty.yaml:1:1: the runbook is empty")
    }

    @Test func topLevelNotAMapping() {
        expectError("not-a-mapping.yaml:1:1: expected a mapping at the top of the runbook, found a sequence")
    }

    // MARK: Files the loader reads

    @Test func fileLargerThan1MiBIsRefusedBeforeParsing() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("runbook-yaml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("huge.yaml").path
        // Valid YAML (one long comment), so only the size can be the problem.
        var data = Data("# ".utf8)
        data.append(Data(repeating: UInt8(ascii: "x"), count: (1 << 20) - 1))
        try data.write(to: URL(fileURLWithPath: path))

        let message = "the file is larger than 1 MiB, the limit for a runbook"
        #expect(throws: RunbookError(file: path, location: nil, message: message)) {
            try Fixtures.loader.load(path: path)
        }
        #expect(throws: RunbookError(file: "huge.yaml", location: nil, message: message)) {
            try Fixtures.loader.load(contents: data, path: "huge.yaml")
        }
        #expect(RunbookError(file: path, location: nil, message: message).description == "\(path): \(message)")
    }

    @Test func runbookThatDoesNotExist() {
        let path = Fixtures.invalid + "/no-such-runbook.yaml"
        #expect(throws: RunbookError(file: path, location: nil, message: "file not found")) {
            try Fixtures.loader.load(path: path)
        }
    }

    @Test func limitsAreConfigurable() {
        let strict = RunbookLoader(limits: RunbookLimits(depth: 3))
        let deep = Data("version: 1\ndescription: [[[x]]]\n".utf8)
        let error = #expect(throws: RunbookError.self) { try strict.load(contents: deep, path: "deep.yaml") }
        #expect(error?.description == "deep.yaml:2:16: the document nests deeper than 3 levels")
    }
}

extension InvalidRunbookTests {
    @Test func requirementsFileHoldsOnlyRequire() {
        let path = Fixtures.root + "/requirements/with-runbook-keys.yaml"
        let error = #expect(throws: RunbookError.self) { try Fixtures.loader.loadRequirements(path: path) }
        #expect(error?.description == "\(path):2:1: unknown key 'version' (valid keys: require)")
    }

    @Test func requirementsFileEntryNeedsAPrincipal() {
        let path = Fixtures.root + "/requirements/missing-principal.yaml"
        let error = #expect(throws: RunbookError.self) { try Fixtures.loader.loadRequirements(path: path) }
        #expect(error?.description == "\(path):2:5: missing required key 'principal' in 'require'")
    }
}

extension InvalidRunbookTests {
    /// Further mistakes an SRE makes, each with its message.
    @Test(arguments: [
        "region-mismatch.yaml:6:13: region 'eu-west-1' does not match the key ARN's region 'us-east-1'",
        "bad-vault.yaml:5:12: 'vault' must be the vault's resource id (/subscriptions/SUB/resourceGroups/GROUP/providers/Microsoft.KeyVault/vaults/NAME)",
        "bad-gcp-key.yaml:5:10: 'key' must be the crypto key's resource name (projects/P/locations/L/keyRings/R/cryptoKeys/K)",
        "bad-endpoint-url.yaml:7:12: invalid endpoint URL for 'kms' (use http://HOST[:PORT] or https://HOST[:PORT])",
        "access-policy-without-permissions.yaml:8:24: add-access-policy needs at least one of 'keys', 'secrets', 'certificates'",
        "operation-without-value.yaml:7:5: change operation 'replace-policy' needs a value (e.g. '- replace-policy: …')",
        "empty-steps.yaml:8:8: 'steps' is empty; list at least one item",
        "retries-negative.yaml:11:24: 'retries' must be from 0 to 100, found -1",
        "option-not-for-step.yaml:10:23: 'timeout' does not apply to step 'apply': a write in flight is never cut short (the HTTP transport has its own timeouts)",
        "http-check-without-settings.yaml:11:42: check 'http' needs settings (e.g. '- http: { url: https://…, expect: { status: 200 } }')",
        "expect-json-not-scalar.yaml:17:25: expected a JSON scalar (string, number, true, false or null) for 'status', found a mapping",
        "workspace-on-aws.yaml:13:35: 'workspace' names an Azure Log Analytics workspace, for azure targets only (the target is aws)",
        "azure-audit-log-without-workspace.yaml:12:42: the Azure audit-log check queries Log Analytics and needs its workspace: '- audit-log: { workspace: <workspace id> }'",
        "azure-unknown-endpoint.yaml:7:18: unknown Azure endpoint 'managment' (did you mean 'management'?); known: management, vault, loganalytics, login",
        "unterminated-variable.yaml:3:14: unterminated '${' (close it with '}', or write $${ for a literal ${)",
    ])
    func moreMistakes(_ expected: String) {
        expectError(expected)
    }
}
