import AWS
import Foundation
import PolicyChange
import Testing

@Suite struct ConfigurationResolutionTests {
    static let keyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    static let keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"

    func resolve(
        _ target: AWSTarget, _ variables: [String: String] = [:], config: String? = nil
    ) throws -> AWSResolvedConfiguration {
        let home = try TestHome()
        if let config { try home.config(text: config) }
        return try resolveConfiguration(target: target, environment: home.environment(variables))
    }

    func resolveError(
        _ target: AWSTarget, _ variables: [String: String] = [:], config: String? = nil
    ) throws -> ProviderError? {
        do {
            _ = try resolve(target, variables, config: config)
            Issue.record("expected an error")
            return nil
        } catch let error as ProviderError {
            return error
        }
    }

    // MARK: Region, rung by rung

    @Test func regionFromTheKeyARNBeatsEverything() throws {
        let resolved = try resolve(
            AWSTarget(key: Self.keyARN),
            ["AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"],
            config: "[default]\nregion = eu-west-3\n")
        #expect(resolved.region == "us-east-1")
        #expect(resolved.regionSource == "the key ARN")
    }

    @Test func regionFromTheRunbookWhenTheKeyIsNoARN() throws {
        let resolved = try resolve(
            AWSTarget(key: Self.keyID, region: "ap-south-1"),
            ["AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"],
            config: "[default]\nregion = eu-west-3\n")
        #expect(resolved.region == "ap-south-1")
        #expect(resolved.regionSource == "target.aws.region")
    }

    @Test func regionFromAWSRegionThenAWSDefaultRegionThenTheProfile() throws {
        let config = "[default]\nregion = eu-west-3\n[profile other]\nregion = sa-east-1\n"
        let target = AWSTarget(key: "alias/cluster-key")
        #expect(try resolve(target, ["AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-2"], config: config).region == "eu-west-1")
        #expect(try resolve(target, ["AWS_DEFAULT_REGION": "eu-west-2"], config: config).region == "eu-west-2")
        let fromProfile = try resolve(target, [:], config: config)
        #expect(fromProfile.region == "eu-west-3")
        #expect(fromProfile.regionSource.hasPrefix("profile 'default' ("))
        #expect(fromProfile.regionSource.hasSuffix("/.aws/config:2)"))
        #expect(try resolve(target, ["AWS_PROFILE": "other"], config: config).region == "sa-east-1")
        var explicit = target
        explicit.profile = "other"
        #expect(try resolve(explicit, ["AWS_PROFILE": "default"], config: config).region == "sa-east-1")
        // An empty variable counts as unset.
        #expect(try resolve(target, ["AWS_REGION": ""], config: config).region == "eu-west-3")
    }

    @Test func noRegionAnywhereSaysWhereItLooked() throws {
        let error = try #require(try resolveError(AWSTarget(key: Self.keyID)))
        #expect(error.code == .other)
        #expect(
            error.message
                == "no AWS region: the key '\(Self.keyID)' is not an ARN and none of target.aws.region, AWS_REGION, "
                + "AWS_DEFAULT_REGION or a region in profile 'default' sets one; add region: under target.aws or use "
                + "the key's ARN")
    }

    @Test func keyARNRegionContradictingTheRunbookIsAnError() throws {
        let error = try #require(try resolveError(AWSTarget(key: Self.keyARN, region: "eu-west-1")))
        #expect(error.message.contains("target.aws.region 'eu-west-1' contradicts the region 'us-east-1'"))
        // The same region twice is fine.
        #expect(try resolve(AWSTarget(key: Self.keyARN, region: "us-east-1")).region == "us-east-1")
    }

    @Test func malformedRegionsAndARNsAreRefused() throws {
        let bad = try #require(try resolveError(AWSTarget(key: Self.keyID), ["AWS_REGION": "us-east-1.evil.com/"]))
        #expect(bad.message.contains("invalid AWS region 'us-east-1.evil.com/' from AWS_REGION"))
        let notKMS = try #require(try resolveError(AWSTarget(key: "arn:aws:s3:::bucket")))
        #expect(notKMS.message.contains("is not a KMS key ARN"))
        #expect(try regionOfKeyARN("arn:aws-cn:kms:cn-north-1:111122223333:alias/a") == "cn-north-1")
        #expect(try regionOfKeyARN("alias/a") == nil)
    }

    // MARK: Endpoints, rung by rung

    static let everyRung = """
        [default]
        region = us-east-1
        services = svc
        endpoint_url = http://127.0.0.1:5005

        [services svc]
        kms =
          endpoint_url = http://127.0.0.1:5004
        """

    @Test func endpointPrecedenceEveryRung() throws {
        let runbook = AWSTarget(key: Self.keyARN, endpoints: ["kms": "http://127.0.0.1:5001"])
        let all = [
            "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:5002", "AWS_ENDPOINT_URL": "http://127.0.0.1:5003",
        ]
        func kms(_ target: AWSTarget, _ variables: [String: String], _ config: String?) throws -> (String, String) {
            let resolved = try resolve(target, variables, config: config)
            return (resolved.endpoint(.kms).absoluteString, resolved.endpointSources[.kms]!)
        }
        let plain = AWSTarget(key: Self.keyARN)

        #expect(try kms(runbook, all, Self.everyRung) == ("http://127.0.0.1:5001", "target.aws.endpoints.kms"))
        #expect(try kms(plain, all, Self.everyRung) == ("http://127.0.0.1:5002", "AWS_ENDPOINT_URL_KMS"))
        #expect(
            try kms(plain, ["AWS_ENDPOINT_URL": "http://127.0.0.1:5003"], Self.everyRung)
                == ("http://127.0.0.1:5003", "AWS_ENDPOINT_URL"))
        let (fromServices, servicesSource) = try kms(plain, [:], Self.everyRung)
        #expect(fromServices == "http://127.0.0.1:5004")
        #expect(servicesSource.hasPrefix("[services svc] kms in "))
        #expect(servicesSource.hasSuffix("/.aws/config:7"))
        let withoutServices = Self.everyRung.replacingOccurrences(of: "services = svc\n", with: "")
        let (fromProfile, profileSource) = try kms(plain, [:], withoutServices)
        #expect(fromProfile == "http://127.0.0.1:5005")
        #expect(profileSource.hasPrefix("profile 'default' endpoint_url ("))
        #expect(try kms(plain, [:], nil) == ("https://kms.us-east-1.amazonaws.com", "default"))

        // The services section only covers the services it lists; the others fall to the
        // profile's endpoint_url.
        let resolved = try resolve(plain, [:], config: Self.everyRung)
        #expect(resolved.endpoint(.cloudtrail).absoluteString == "http://127.0.0.1:5005")
    }

    @Test func ignoreConfiguredEndpointURLsKeepsOnlyTheRunbook() throws {
        let target = AWSTarget(key: Self.keyARN, endpoints: ["sts": "http://127.0.0.1:6000"])
        let variables = [
            "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:5002", "AWS_ENDPOINT_URL": "http://127.0.0.1:5003",
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "TRUE",
        ]
        var resolved = try resolve(target, variables, config: Self.everyRung)
        #expect(resolved.endpoint(.kms).absoluteString == "https://kms.us-east-1.amazonaws.com")
        #expect(resolved.endpoint(.sts).absoluteString == "http://127.0.0.1:6000")
        #expect(resolved.endpointSources[.sts] == "target.aws.endpoints.sts")

        // The profile's ignore_configured_endpoint_urls does the same.
        var inProfile = target
        inProfile.profile = "ignoring"
        let endpointsConfig = String(decoding: try CredentialFixtures.own("config.endpoints.ini"), as: UTF8.self)
        resolved = try resolve(inProfile, ["AWS_ENDPOINT_URL": "http://127.0.0.1:5003"], config: endpointsConfig)
        #expect(resolved.endpoint(.kms).absoluteString == "https://kms.us-east-1.amazonaws.com")
    }

    @Test func servicesSectionFromTheFixture() throws {
        let config = String(decoding: try CredentialFixtures.own("config.endpoints.ini"), as: UTF8.self)
        let resolved = try resolve(AWSTarget(key: "alias/k"), [:], config: config)
        #expect(resolved.region == "ap-southeast-2")
        #expect(resolved.endpoint(.kms).absoluteString == "http://127.0.0.1:4566")
        #expect(resolved.endpoint(.cloudtrail).absoluteString == "http://127.0.0.1:4567")
        #expect(resolved.endpoint(.sts).absoluteString == "http://127.0.0.1:4000")
        #expect(resolved.endpoint(.accessAnalyzer).absoluteString == "http://127.0.0.1:4000")

        let plain = try resolve(AWSTarget(key: "alias/k", profile: "plain"), [:], config: config)
        #expect(plain.region == "us-west-2")
        #expect(plain.endpoint(.kms).absoluteString == "https://proxy.example.com")
        #expect(plain.profile == "plain")
        #expect(plain.profileSelection == AWSProfileSelection(name: "plain", origin: .runbook))

        let dangling = try #require(
            try resolveError(AWSTarget(key: Self.keyARN, profile: "dangling"), [:], config: config))
        #expect(dangling.message.contains("names services 'nowhere'"))
        #expect(dangling.message.contains("has no [services nowhere] section"))
    }

    @Test func defaultEndpointsPerPartitionFIPSAndDualStack() throws {
        func endpoints(_ region: String, _ variables: [String: String] = [:], config: String? = nil) throws
            -> [String]
        {
            let resolved = try resolve(AWSTarget(key: "alias/k", region: region), variables, config: config)
            return AWSService.allCases.map { resolved.endpoint($0).absoluteString }
        }
        #expect(
            try endpoints("eu-central-1") == [
                "https://kms.eu-central-1.amazonaws.com", "https://sts.eu-central-1.amazonaws.com",
                "https://cloudtrail.eu-central-1.amazonaws.com", "https://access-analyzer.eu-central-1.amazonaws.com",
            ])
        #expect(
            try endpoints("cn-north-1") == [
                "https://kms.cn-north-1.amazonaws.com.cn", "https://sts.cn-north-1.amazonaws.com.cn",
                "https://cloudtrail.cn-north-1.amazonaws.com.cn", "https://access-analyzer.cn-north-1.amazonaws.com.cn",
            ])
        #expect(
            try endpoints("us-east-2", ["AWS_USE_FIPS_ENDPOINT": "true"]) == [
                "https://kms-fips.us-east-2.amazonaws.com", "https://sts-fips.us-east-2.amazonaws.com",
                "https://cloudtrail-fips.us-east-2.amazonaws.com", "https://access-analyzer-fips.us-east-2.amazonaws.com",
            ])
        // GovCloud: STS, Access Analyzer and (in these regions) CloudTrail are FIPS under their plain names.
        let config = String(decoding: try CredentialFixtures.own("config.endpoints.ini"), as: UTF8.self)
        let gov = try resolve(AWSTarget(key: "alias/k", profile: "fips"), [:], config: config)
        #expect(
            AWSService.allCases.map { gov.endpoint($0).absoluteString } == [
                "https://kms-fips.us-gov-west-1.amazonaws.com", "https://sts.us-gov-west-1.amazonaws.com",
                "https://cloudtrail.us-gov-west-1.amazonaws.com", "https://access-analyzer.us-gov-west-1.amazonaws.com",
            ])
        #expect(
            try endpoints("us-west-2", ["AWS_USE_DUALSTACK_ENDPOINT": "true"])
                == [
                    "https://kms.us-west-2.api.aws", "https://sts.us-west-2.api.aws",
                    "https://cloudtrail.us-west-2.api.aws", "https://access-analyzer.us-west-2.api.aws",
                ])
    }

    @Test func environmentVariablePerService() throws {
        let variables = [
            "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:1", "AWS_ENDPOINT_URL_STS": "http://127.0.0.1:2",
            "AWS_ENDPOINT_URL_CLOUDTRAIL": "http://127.0.0.1:3", "AWS_ENDPOINT_URL_ACCESSANALYZER": "http://127.0.0.1:4",
        ]
        let resolved = try resolve(AWSTarget(key: Self.keyARN), variables)
        #expect(
            AWSService.allCases.map { resolved.endpoint($0).absoluteString } == [
                "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3", "http://127.0.0.1:4",
            ])
        #expect(resolved.endpointSources[.accessAnalyzer] == "AWS_ENDPOINT_URL_ACCESSANALYZER")
    }

    @Test func badEndpointsNameTheirSource() throws {
        let unknown = try #require(
            try resolveError(AWSTarget(key: Self.keyARN, endpoints: ["kmss": "http://127.0.0.1:1"])))
        #expect(unknown.message.contains("unknown service 'kmss' in target.aws.endpoints (did you mean 'kms'?)"))
        let notURL = try #require(try resolveError(AWSTarget(key: Self.keyARN), ["AWS_ENDPOINT_URL_STS": "sts.local"]))
        #expect(notURL.message == "invalid endpoint URL 'sts.local' from AWS_ENDPOINT_URL_STS: expected https://host[:port][/path]")
        let password = try #require(
            try resolveError(AWSTarget(key: Self.keyARN), ["AWS_ENDPOINT_URL": "https://sre:hunter2@kms.internal"]))
        #expect(password.message.contains("invalid endpoint URL (not shown: it contains '@') from AWS_ENDPOINT_URL"))
        #expect(!password.message.contains("hunter2"))
        let ftp = try #require(
            try resolveError(AWSTarget(key: Self.keyARN, endpoints: ["kms": "ftp://127.0.0.1"])))
        #expect(ftp.message.contains("from target.aws.endpoints.kms"))
    }

    // MARK: Profiles

    @Test func profileSelectionOrder() throws {
        let config = "[default]\nregion = us-east-1\n[profile env]\nregion = us-east-2\n[profile book]\nregion = us-west-1\n"
        let fromEnvironment = try resolve(AWSTarget(key: "alias/k"), ["AWS_PROFILE": "env"], config: config)
        #expect(fromEnvironment.profileSelection == AWSProfileSelection(name: "env", origin: .environment(variable: "AWS_PROFILE")))
        #expect(fromEnvironment.profile == nil)
        let legacy = try resolve(AWSTarget(key: "alias/k"), ["AWS_DEFAULT_PROFILE": "env"], config: config)
        #expect(legacy.profileSelection.origin == .environment(variable: "AWS_DEFAULT_PROFILE"))
        let fromRunbook = try resolve(AWSTarget(key: "alias/k", profile: "book"), ["AWS_PROFILE": "env"], config: config)
        #expect(fromRunbook.profileSelection == AWSProfileSelection(name: "book", origin: .runbook))
        #expect(fromRunbook.region == "us-west-1")
        let implicit = try resolve(AWSTarget(key: "alias/k"), [:], config: config)
        #expect(implicit.profileSelection == AWSProfileSelection(name: "default", origin: .implicitDefault))
    }

    @Test func missingNamedProfileIsAnErrorWithASuggestion() throws {
        let config = "[profile prod-admin]\nregion = us-east-1\n"
        let error = try #require(
            try resolveError(AWSTarget(key: Self.keyARN, profile: "prod-admni"), [:], config: config))
        #expect(error.code == .credentials)
        #expect(error.message.hasPrefix("profile 'prod-admni' (from target.aws.profile) is not in "))
        #expect(error.message.hasSuffix("(did you mean 'prod-admin'?)"))
        let fromVariable = try #require(try resolveError(AWSTarget(key: Self.keyARN), ["AWS_PROFILE": "nope"]))
        #expect(fromVariable.message.hasPrefix("profile 'nope' (from AWS_PROFILE) is not in "))
    }

    @Test func malformedConfigFileStopsResolutionWithItsLocation() throws {
        let home = try TestHome()
        try home.config(text: "[default]\nregion us-east-1\n")
        var caught: ProviderError?
        do {
            _ = try resolveConfiguration(target: AWSTarget(key: Self.keyARN), environment: home.environment())
        } catch {
            caught = error
        }
        let error = try #require(caught)
        #expect(error.message == "\(home.configPath):2: expected 'name = value' or '[section]'")
    }

    @Test func configFileLocationsFromTheEnvironment() throws {
        let home = try TestHome()
        let custom = try home.file("custom-config", Data("[default]\nregion = ca-central-1\n".utf8))
        let environment = home.environment(["AWS_CONFIG_FILE": custom])
        #expect(environment.configFilePath == custom)
        #expect(try resolveConfiguration(target: AWSTarget(key: "alias/k"), environment: environment).region == "ca-central-1")
        let tilde = AWSEnvironment(environment: ["AWS_SHARED_CREDENTIALS_FILE": "~/x/creds"], homeDirectory: "/home/sre")
        #expect(tilde.credentialsFilePath == "/home/sre/x/creds")
        #expect(tilde.configFilePath == "/home/sre/.aws/config")
    }
}
