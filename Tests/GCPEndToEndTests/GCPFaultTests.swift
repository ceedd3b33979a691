import Foundation
import PolicyChange
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Concurrent changes, throttling, lost answers and bad credentials.
@Suite("GCP end to end: faults and credentials")
struct GCPFaultTests {
    @Test("Someone else's edit between backup and apply is drift: exit 4, no setIamPolicy, their change kept")
    func driftBeforeApply() async throws {
        try await GCPScenario.with { s in
            let result = try await s.run("drift.yaml")
            #expect(result.exitedNormally && result.status == 4, "\(result)")
            #expect(s.calls(":setIamPolicy").isEmpty)
            #expect(GCPScenario.bindingSet(try await s.livePolicy()).contains("roles/cloudkms.viewer||user:someone-else@example.com"))
        }
    }

    @Test("A write that races another writer gets 409 ABORTED: exit 4, the other change not overwritten")
    func abortedRace() async throws {
        try await GCPScenario.with { s in
            let theirs: [[String: Any]] = [
                ["role": "roles/cloudkms.admin", "members": ["group:kms-admins@example.com"]],
                ["role": "roles/cloudkms.viewer", "members": ["user:racer@example.com"]],
            ]
            try await s.control("faults", ["match": "setIamPolicy", "race": theirs, "count": 1])
            let result = try await s.run("quick.yaml", [:], ["--output", "json"])
            #expect(result.exitedNormally && result.status == 4, "\(result)")
            #expect(result.output.contains("CONCURRENT_MODIFICATION"), "\(result)")
            #expect(s.calls(":setIamPolicy").count == 1, "never a blind retry")
            let live = GCPScenario.bindingSet(try await s.livePolicy())
            #expect(live == ["roles/cloudkms.admin||group:kms-admins@example.com", "roles/cloudkms.viewer||user:racer@example.com"])
        }
    }

    @Test("429 with Retry-After and 503 are retried; a setIamPolicy whose answer was lost is confirmed by re-reading: exit 0")
    func throttling() async throws {
        try await GCPScenario.with { s in
            try await s.control("faults", ["match": ":getIamPolicy", "status": 429, "count": 2, "retry_after": 1])
            try await s.control("faults", ["match": "entries:list", "status": 503, "count": 1])
            try await s.control("faults", ["match": "/my-key", "method": "GET", "status": 503, "count": 1])
            try await s.control("faults", ["match": "setIamPolicy", "apply_first": true, "count": 1])
            // --verbose: the retry log joins the secret scan.
            let result = try await s.run("quick.yaml", [:], ["--verbose"])
            #expect(result.exitedNormally && result.status == 0, "\(result)")
            #expect(s.calls(":setIamPolicy").count == 2, "the lost answer's retry meets 409 and is resolved by a re-read")
            #expect(GCPScenario.bindingSet(try await s.livePolicy()).contains("roles/cloudkms.viewer||\(GCPScenario.group)"))
        }
    }

    @Test("An invalid key file stops before apply: exit 4, one line, no key material")
    func invalidKeyFile() async throws {
        try await GCPScenario.with { s in
            var key = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: s.keyFile)) as? [String: Any])
            let pem = key["private_key"] as? String ?? ""
            key["private_key"] = String(pem.prefix(pem.count / 2)) + "\n-----END PRIVATE KEY-----\n"
            let broken = s.root.appendingPathComponent("broken.json")
            try JSONSerialization.data(withJSONObject: key).write(to: broken)
            var environment = s.environment()
            environment["GOOGLE_APPLICATION_CREDENTIALS"] = broken.path
            let result = try await s.run("quick.yaml", environment: environment)
            #expect(result.exitedNormally && result.status == 4, "\(result)")
            let errorLines = result.lines.filter { $0.contains("private_key") || $0.contains("broken.json") }
            #expect(errorLines.count == 1, "\(result)")
            #expect(s.calls(":setIamPolicy").isEmpty)
        }
    }

    @Test("A key the token endpoint refuses (invalid_grant): exit 4, named, no assertion printed")
    func refusedGrant() async throws {
        try await GCPScenario.with { s in
            var key = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: s.keyFile)) as? [String: Any])
            key["client_email"] = "someone-else@example.com"
            let other = s.root.appendingPathComponent("other.json")
            try JSONSerialization.data(withJSONObject: key).write(to: other)
            var environment = s.environment()
            environment["GOOGLE_APPLICATION_CREDENTIALS"] = other.path
            let result = try await s.run("quick.yaml", environment: environment)
            #expect(result.exitedNormally && result.status == 4, "\(result)")
            #expect(result.output.contains("invalid_grant"), "\(result)")
            #expect(result.lines.filter { $0.contains("invalid_grant") }.count == 1, "\(result)")
        }
    }

    @Test("Metadata-server credentials (GCE_METADATA_HOST): the run completes as the VM's service account")
    func metadataServer() async throws {
        try await GCPScenario.with { s in
            var environment = s.environment(credentials: false)
            environment["GCE_METADATA_HOST"] = "127.0.0.1:\(s.port)"
            let result = try await s.run("quick.yaml", environment: environment)
            #expect(result.exitedNormally && result.status == 0, "\(result)")
            let events = try s.lastRun().events
            #expect(events.contains { $0.event == .check && $0.name == "caller" && $0.message == "serviceAccount:vm-default@my-project.iam.gserviceaccount.com" })
        }
    }

    @Test("No credentials anywhere: exit 4 with one error naming every place looked")
    func noCredentials() async throws {
        try await GCPScenario.with { s in
            var environment = s.environment(credentials: false)
            environment["GCE_METADATA_HOST"] = "127.0.0.1:1"
            let result = try await s.run("quick.yaml", environment: environment)
            #expect(result.exitedNormally && result.status == 4, "\(result)")
            let line = result.lines.first { $0.contains("GOOGLE_APPLICATION_CREDENTIALS is not set") }
            #expect(line?.contains("application_default_credentials.json") == true, "\(result)")
            #expect(line?.contains("127.0.0.1:1") == true, "\(result)")
        }
    }

    @Test("A policy read at version 1 (…_withcond_… roles, as the fake serves it) fails validation with HIDDEN_CONDITIONAL_BINDING")
    func hiddenConditionalBinding() async throws {
        try await GCPScenario.with(policy: "policies/conditional.json") { s in
            // A token from the fake's metadata server, then the read gcloud does without --policy-version 3... as v1.
            var tokenRequest = URLRequest(url: URL(string: "\(s.fakeURL)/computeMetadata/v1/instance/service-accounts/default/token")!)
            tokenRequest.setValue("Google", forHTTPHeaderField: "Metadata-Flavor")
            let (tokenData, _) = try await URLSession.shared.data(for: tokenRequest)
            let token = try #require(Inspect.jsonObject(String(decoding: tokenData, as: UTF8.self))?["access_token"] as? String)
            var read = URLRequest(url: URL(string: "\(s.fakeURL)/v1/\(GCPScenario.key):getIamPolicy?options.requestedPolicyVersion=1")!)
            read.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            let (v1, _) = try await URLSession.shared.data(for: read)
            #expect(String(decoding: v1, as: UTF8.self).contains("_withcond_"))
            let file = s.root.appendingPathComponent("v1.json")
            try v1.write(to: file)
            let result = try await s.product(["validate", "--cloud", "gcp", "--proposed", file.path, "--format", "json"])
            #expect(result.status == 3, "\(result)")
            #expect(result.stdout.contains("HIDDEN_CONDITIONAL_BINDING"), "\(result.stdout)")
        }
    }

    @Test("validate --cloud gcp: members that are not an array fail with INVALID_POLICY_ELEMENT at their path and line")
    func wrongType() async throws {
        try await GCPScenario.with { s in
            let file = s.root.appendingPathComponent("bad.json")
            try Data("{\n  \"version\": 1,\n  \"etag\": \"BwE=\",\n  \"bindings\": [\n    {\"role\": \"roles/cloudkms.admin\", \"members\": \"group:kms-admins@example.com\"}\n  ]\n}\n".utf8).write(to: file)
            let result = try await s.product(["validate", "--cloud", "gcp", "--proposed", file.path, "--format", "json"])
            #expect(result.status == 3, "\(result)")
            let findings = (Inspect.jsonObject(result.stdout)?["findings"] as? [[String: Any]]) ?? []
            let invalid = findings.first { $0["code"] as? String == "INVALID_POLICY_ELEMENT" }
            #expect(invalid?["path"] as? String == "bindings[0].members", "\(findings)")
            #expect(invalid?["line"] as? Int == 5, "\(findings)")
            let text = try await s.product(["validate", "--cloud", "gcp", "--proposed", file.path])
            #expect(text.status == 3 && text.output.contains("bindings[0].members"), "\(text)")
        }
    }

    @Test("validate --cloud gcp works offline with --roles and --inherited-admin")
    func offlineValidate() async throws {
        try await GCPScenario.with { s in
            let require = s.root.appendingPathComponent("require.yaml")
            try Data("require:\n  - preset: confluent\n    principal: \(GCPScenario.group)\n".utf8).write(to: require)
            let pass = try await s.product([
                "validate", "--cloud", "gcp", "--current", "policies/current.json", "--proposed", "policies/with-confluent.json",
                "--require", require.path, "--caller", "serviceAccount:service-account@example.com", "--format", "json",
            ], environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"])
            #expect(pass.status == 0, "\(pass)")
            let fail = try await s.product([
                "validate", "--cloud", "gcp", "--current", "policies/with-confluent.json", "--proposed", "policies/without-confluent.json",
                "--require", require.path, "--format", "json",
            ], environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"])
            #expect(fail.status == 3, "\(fail)")
            #expect(fail.stdout.contains("REQUIRED_PERMISSION_MISSING"))
            // Only the custom role: unknown offline without --roles, known with it.
            let custom = s.root.appendingPathComponent("custom.json")
            try Data(#"{"version":1,"etag":"BwE=","bindings":[{"role":"projects/my-project/roles/confluentKeyUser","members":["\#(GCPScenario.group)"]}]}"#.utf8).write(to: custom)
            let unknown = try await s.product(["validate", "--cloud", "gcp", "--proposed", custom.path, "--require", require.path,
                                               "--inherited-admin", "group:org@example.com", "--format", "json"])
            #expect(unknown.status == 3 && unknown.stdout.contains("UNKNOWN_ROLE"), "\(unknown)")
            let known = try await s.product(["validate", "--cloud", "gcp", "--proposed", custom.path, "--require", require.path,
                                             "--roles", "roles.json", "--inherited-admin", "group:org@example.com", "--format", "json"])
            #expect(known.status == 0, "\(known)")
            #expect(s.calls().filter { !$0.path.hasPrefix("/control/") }.isEmpty, "validate contacts nothing")
        }
    }
}

extension ChildResult {
    var lines: [String] { output.split(separator: "\n").map(String.init) }
}
