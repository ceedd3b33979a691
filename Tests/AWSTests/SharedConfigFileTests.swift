import AWS
import Foundation
import Testing

@Suite struct SharedConfigFileTests {
    @Test func parsesTheSharedConfigExample() throws {
        let text = try CredentialFixtures.sharedText("shared-config.example.ini")
        let file = try AWSSharedConfigFile.parse(text, path: "config", kind: .config)

        #expect(file.profileNames == ["default", "admin", "webid", "proc", "sso-dev", "local"])
        #expect(file.profileSection(named: "default")?["region"]?.value == "us-east-1")

        let admin = try #require(file.profileSection(named: "admin"))
        #expect(admin.header == "profile admin")
        #expect(admin["role_arn"]?.value == "arn:aws:iam::111122223333:role/KeyAdmin")
        // `source_profile = default          # OR: credential_source = …`: the comment goes.
        #expect(admin["source_profile"]?.value == "default")
        #expect(admin["source_profile"]?.line == 7)
        #expect(admin["duration_seconds"]?.value == "3600")
        #expect(file.profileSection(named: "proc")?["credential_process"]?.value == "/usr/local/bin/get-creds --json")

        // `[sso-session …]` and `[services …]` are not profiles.
        #expect(file.profileSection(named: "my-sso") == nil)
        #expect(file.sections.contains { $0.header == "sso-session my-sso" })

        let services = try #require(file.servicesSection(named: "local-endpoints"))
        #expect(services["kms"]?.value == "")
        #expect(services["kms"]?.subProperties == ["endpoint_url": "http://localhost:4566"])
        #expect(services["cloudtrail"]?.subProperties == ["endpoint_url": "http://localhost:4566"])
        #expect(file.profileSection(named: "local")?["services"]?.value == "local-endpoints")
    }

    @Test func parsesTheSharedCredentialsExample() throws {
        let text = try CredentialFixtures.sharedText("shared-credentials.example.ini")
        let file = try AWSSharedConfigFile.parse(text, path: "credentials", kind: .credentials)
        #expect(file.profileNames == ["default", "admin-static"])
        #expect(file.profileSection(named: "default")?["aws_access_key_id"]?.value == "AKIAIOSFODNN7EXAMPLE")
        let admin = try #require(file.profileSection(named: "admin-static"))
        #expect(admin["aws_session_token"]?.value.hasPrefix("IQoJb3JpZ2luX2") == true)
        #expect(admin["aws_access_key_id"]?.line == 7)
    }

    @Test func sectionNamesDifferBetweenTheTwoFiles() throws {
        let text = "[profile ci]\nregion = a\n[ci]\nregion = b\n[profile   \"spaced name\"]\nregion = c\n"
        let config = try AWSSharedConfigFile.parse(text, path: "c", kind: .config)
        #expect(config.profileSection(named: "ci")?["region"]?.value == "a")
        #expect(config.profileSection(named: "spaced name")?["region"]?.value == "c")
        let credentials = try AWSSharedConfigFile.parse(text, path: "k", kind: .credentials)
        #expect(credentials.profileSection(named: "ci")?["region"]?.value == "b")
        #expect(credentials.profileSection(named: "profile ci")?["region"]?.value == "a")

        // In the config file `[profile default]` is preferred to `[default]`.
        let both = try AWSSharedConfigFile.parse(
            "[default]\nregion = plain\n[profile default]\nregion = spelled\n", path: "c", kind: .config)
        #expect(both.profileSection(named: "default")?["region"]?.value == "spelled")
    }

    @Test func commentsCaseWhitespaceAndContinuations() throws {
        let text = """
            ; a comment
            # another
            [default]\r
            Region   =   us-east-1   \r
            output: json
            ca_bundle = /etc/a.pem
              /etc/b.pem
            note = a#b;c
            [services s]
            sts =
              ; comment inside
              endpoint_url = http://127.0.0.1:1
              Other = x
            """
        let file = try AWSSharedConfigFile.parse(text, path: "c", kind: .config)
        let section = try #require(file.profileSection(named: "default"))
        #expect(section["region"]?.value == "us-east-1")
        #expect(section["REGION"]?.value == "us-east-1")
        #expect(section["output"]?.value == "json")
        #expect(section["ca_bundle"]?.value == "/etc/a.pem\n/etc/b.pem")
        // A `#` or `;` that does not follow whitespace is part of the value.
        #expect(section["note"]?.value == "a#b;c")
        #expect(
            file.servicesSection(named: "s")?["sts"]?.subProperties == [
                "endpoint_url": "http://127.0.0.1:1", "Other": "x",
            ])
    }

    @Test(arguments: [
        ("unclosed-header.ini", 3, "section header is missing ']'"),
        ("outside-section.ini", 1, "setting outside a section"),
        ("no-equals.ini", 3, "expected 'name = value' or '[section]'"),
        ("duplicate-section.ini", 4, "section [default] appears twice (first at line 2)"),
        ("duplicate-key.ini", 4, "'region' is set twice in [default] (first at line 3)"),
        ("sub-property.ini", 4, "expected 'name = value' in the settings under 'kms'"),
        ("empty-header.ini", 3, "empty section name"),
    ])
    func malformedFilesAreLocated(file name: String, line: Int, reason: String) throws {
        let path = "/home/sre/.aws/" + name
        let text = try CredentialFixtures.ownText("malformed/" + name)
        do {
            _ = try AWSSharedConfigFile.parse(text, path: path, kind: .credentials)
            Issue.record("expected an error")
        } catch {
            #expect(error.line == line)
            #expect(error.description.hasPrefix("\(path):\(line): "))
            #expect(error.description.contains(reason), "\(error.description)")
            expectNoSecrets(error.description)
        }
    }

    /// A forgotten `=` must not turn into a setting named `role_arn arn` (the `:` of the
    /// ARN would otherwise be taken as the delimiter).
    @Test func settingNamesWithSpacesAreRefused() throws {
        do {
            _ = try AWSSharedConfigFile.parse(
                "[profile a]\nrole_arn arn:aws:iam::1:role/x\n", path: "config", kind: .config)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "config:2: expected 'name = value' or '[section]'")
        }
    }

    /// A malformed line of a credentials file is reported without its text: it may be
    /// the secret key with a typo.
    @Test func malformedSecretLineIsNotQuoted() throws {
        let text = try CredentialFixtures.ownText("malformed/no-equals.ini")
        do {
            _ = try AWSSharedConfigFile.parse(text, path: "credentials", kind: .credentials)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "credentials:3: expected 'name = value' or '[section]'")
            expectNoSecrets(error.description)
        }
    }
}
