import Foundation
import PolicyChange

/// Where AWS requests for one runbook target go: the region (also the SigV4 signing
/// region), one endpoint per service, and the profile credentials come from.
public struct AWSResolvedConfiguration: Sendable, Equatable {
    public var region: String
    /// Where `region` came from: `the key ARN`, `target.aws.region`, `AWS_REGION`,
    /// `AWS_DEFAULT_REGION`, or `profile 'NAME' (/root/.aws/config:3)`.
    public var regionSource: String
    public var endpoints: [AWSService: URL]
    /// Where each endpoint came from, for messages: `target.aws.endpoints.kms`,
    /// `AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL`, `[services local] in /root/.aws/config:31`,
    /// `profile 'local' endpoint_url (/root/.aws/config:12)`, or `default`.
    public var endpointSources: [AWSService: String]
    /// The runbook's `target.aws.profile`, to hand to `defaultCredentialChain(profile:…)`;
    /// nil when the runbook names none.
    public var profile: String?
    /// The profile the shared files are read for, and who chose it.
    public var profileSelection: AWSProfileSelection

    public init(
        region: String, regionSource: String, endpoints: [AWSService: URL], endpointSources: [AWSService: String],
        profile: String?, profileSelection: AWSProfileSelection
    ) {
        self.region = region
        self.regionSource = regionSource
        self.endpoints = endpoints
        self.endpointSources = endpointSources
        self.profile = profile
        self.profileSelection = profileSelection
    }

    /// The endpoint of `service`. Every service has one after resolution.
    public func endpoint(_ service: AWSService) -> URL {
        endpoints[service]!
    }
}

/// Resolves the region and the endpoints of an AWS target.
///
/// Region: the key ARN's (`arn:aws:kms:REGION:…`), else `target.region`, else
/// `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's `region`. A key ARN whose
/// region contradicts `target.region` is an error: one of the two is a mistake, and
/// guessing could change the policy of a different key.
///
/// Endpoint of each service: `target.endpoints[service]`, else
/// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`, else the profile's
/// `[services NAME]` section (`kms =` / `  endpoint_url = …`), else the profile's
/// `endpoint_url`, else `https://<prefix>.<region>.amazonaws.com` (`amazonaws.com.cn` in
/// `cn-` regions; `-fips` and the dual-stack domain when `AWS_USE_FIPS_ENDPOINT` /
/// `AWS_USE_DUALSTACK_ENDPOINT` or the profile's `use_fips_endpoint` /
/// `use_dualstack_endpoint` say `true`). `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` (or
/// the profile's `ignore_configured_endpoint_urls`) skips the environment and config
/// file overrides, never the runbook's. The order is botocore's
/// (`configprovider.py`, "Credentials / endpoints" in `../shared/fixtures/aws/README.md`).
public func resolveConfiguration(target: AWSTarget, environment: AWSEnvironment) throws(ProviderError)
    -> AWSResolvedConfiguration
{
    let shared = try AWSSharedConfiguration.load(from: environment)
    return try resolveConfiguration(target: target, environment: environment, shared: shared)
}

/// `resolveConfiguration(target:environment:)` with the shared files already loaded.
public func resolveConfiguration(
    target: AWSTarget, environment: AWSEnvironment, shared: AWSSharedConfiguration
) throws(ProviderError) -> AWSResolvedConfiguration {
    let selection = AWSProfileSelection.resolve(explicit: target.profile, environment: environment)
    let profile = shared.profile(named: selection.name)
    if selection.origin != .implicitDefault, profile == nil {
        throw ProviderError(
            .credentials,
            "profile '\(selection.name)' (from \(selection.originDescription)) is not in "
                + "\(shared.config.path) or \(shared.credentials.path)"
                + Spelling.didYouMeanClause(selection.name, among: shared.profileNames))
    }
    let region = try resolveRegion(target: target, environment: environment, profile: profile, selection: selection)

    var endpoints: [AWSService: URL] = [:]
    var sources: [AWSService: String] = [:]
    let resolver = EndpointResolver(
        target: target, environment: environment, shared: shared, profile: profile, region: region.name)
    for service in AWSService.allCases {
        let (url, source) = try resolver.endpoint(for: service)
        endpoints[service] = url
        sources[service] = source
    }
    try resolver.checkRunbookEndpointNames()

    return AWSResolvedConfiguration(
        region: region.name, regionSource: region.source, endpoints: endpoints, endpointSources: sources,
        profile: target.profile.flatMap { $0.isEmpty ? nil : $0 }, profileSelection: selection)
}

extension AWSProfileSelection {
    var originDescription: String {
        switch origin {
        case .runbook: "target.aws.profile"
        case .environment(let variable): variable
        case .implicitDefault: "the default"
        }
    }
}

extension AWSSharedConfiguration {
    var profileNames: [String] {
        var names: [String] = []
        for name in (config.parsed?.profileNames ?? []) + (credentials.parsed?.profileNames ?? [])
        where !names.contains(name) {
            names.append(name)
        }
        return names
    }
}

extension Spelling {
    /// ` (did you mean 'kms'?)`, or nothing.
    static func didYouMeanClause(_ word: String, among candidates: [String]) -> String {
        suggestion(for: word, among: candidates).map { " (did you mean '\($0)'?)" } ?? ""
    }
}

// MARK: Region

/// The region of a KMS key ARN (`arn:aws:kms:us-east-1:111122223333:key/…` or an alias
/// ARN); nil for key ids and alias names. Throws for an ARN that is not a KMS ARN.
public func regionOfKeyARN(_ key: String) throws(ProviderError) -> String? {
    guard key.hasPrefix("arn:") else { return nil }
    let parts = key.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
    guard parts.count == 6, !parts[1].isEmpty, parts[2] == "kms", !parts[3].isEmpty, !parts[5].isEmpty else {
        throw ProviderError(
            .other,
            "target.aws.key '\(key)' is not a KMS key ARN (expected arn:aws:kms:REGION:ACCOUNT:key/KEY-ID)")
    }
    return String(parts[3])
}

private func resolveRegion(
    target: AWSTarget, environment: AWSEnvironment, profile: AWSProfile?, selection: AWSProfileSelection
) throws(ProviderError) -> (name: String, source: String) {
    let explicit = target.region.flatMap { $0.isEmpty ? nil : $0 }
    if let fromARN = try regionOfKeyARN(target.key) {
        if let explicit, explicit != fromARN {
            throw ProviderError(
                .other,
                "target.aws.region '\(explicit)' contradicts the region '\(fromARN)' of the key ARN "
                    + "\(target.key); remove target.aws.region or correct the key")
        }
        return (try validRegion(fromARN, source: "the key ARN"), "the key ARN")
    }
    if let explicit { return (try validRegion(explicit, source: "target.aws.region"), "target.aws.region") }
    for variable in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let value = environment[variable] { return (try validRegion(value, source: variable), variable) }
    }
    if let setting = profile?["region"], !setting.value.isEmpty {
        let source = "profile '\(selection.name)' (\(setting.location))"
        return (try validRegion(setting.value, source: source), source)
    }
    throw ProviderError(
        .other,
        "no AWS region: the key '\(target.key)' is not an ARN and none of target.aws.region, AWS_REGION, "
            + "AWS_DEFAULT_REGION or a region in profile '\(selection.name)' sets one; "
            + "add region: under target.aws or use the key's ARN")
}

/// A region goes into host names and the credential scope, so only the characters real
/// region names use are accepted (`us-east-1`, `cn-north-1`, `us-gov-west-1`).
private func validRegion(_ region: String, source: String) throws(ProviderError) -> String {
    let allowed = region.unicodeScalars.allSatisfy {
        ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-"
    }
    guard allowed, !region.hasPrefix("-"), !region.hasSuffix("-"), region.count <= 64 else {
        throw ProviderError(
            .other,
            "invalid AWS region '\(region)' from \(source): expected lower-case letters, digits and '-' (us-east-1)")
    }
    return region
}

// MARK: Endpoints

private struct EndpointResolver {
    let target: AWSTarget
    let environment: AWSEnvironment
    let shared: AWSSharedConfiguration
    let profile: AWSProfile?
    let region: String

    var ignoresConfiguredEndpoints: Bool {
        if environment.isTrue("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") { return true }
        return profile?.value("ignore_configured_endpoint_urls")?.lowercased() == "true"
    }

    func endpoint(for service: AWSService) throws(ProviderError) -> (URL, String) {
        if let text = target.endpoints[service.runbookName] {
            let source = "target.aws.endpoints.\(service.runbookName)"
            return (try endpointURL(text, source: source), source)
        }
        if !ignoresConfiguredEndpoints {
            for variable in ["AWS_ENDPOINT_URL_\(service.environmentSuffix)", "AWS_ENDPOINT_URL"] {
                if let text = environment[variable] { return (try endpointURL(text, source: variable), variable) }
            }
            if let (text, source) = try configuredEndpoint(for: service) {
                return (try endpointURL(text, source: source), source)
            }
        }
        return (try defaultEndpoint(for: service), "default")
    }

    /// The config file's `[services NAME]` entry for the service, else the profile's
    /// `endpoint_url`.
    private func configuredEndpoint(for service: AWSService) throws(ProviderError) -> (String, String)? {
        guard let profile else { return nil }
        if let reference = profile["services"], !reference.value.isEmpty {
            guard let file = shared.config.parsed, let section = file.servicesSection(named: reference.value) else {
                throw ProviderError(
                    .other,
                    "profile '\(profile.name)' (\(reference.location)) names services '\(reference.value)', "
                        + "but \(shared.config.path) has no [services \(reference.value)] section")
            }
            if let entry = section[service.configKey], let url = entry.subProperties["endpoint_url"], !url.isEmpty {
                return (url, "[services \(reference.value)] \(service.configKey) in \(file.path):\(entry.line)")
            }
        }
        if let setting = profile["endpoint_url"], !setting.value.isEmpty {
            return (setting.value, "profile '\(profile.name)' endpoint_url (\(setting.location))")
        }
        return nil
    }

    private func flag(_ variable: String, _ key: String) -> Bool {
        if let value = environment[variable] { return value.lowercased() == "true" }
        return profile?.value(key)?.lowercased() == "true"
    }

    /// `https://<prefix>[-fips].<region>.<domain>` as the services' endpoint rule sets
    /// build it. In AWS GovCloud, STS and Access Analyzer (all regions) and CloudTrail
    /// (us-gov-east-1, us-gov-west-1) are FIPS endpoints under their plain names, so the
    /// rule sets use those.
    private func defaultEndpoint(for service: AWSService) throws(ProviderError) -> URL {
        let fips = flag("AWS_USE_FIPS_ENDPOINT", "use_fips_endpoint")
        let dualStack = flag("AWS_USE_DUALSTACK_ENDPOINT", "use_dualstack_endpoint")
        let china = region.hasPrefix("cn-")
        let domain: String
        switch (china, dualStack) {
        case (false, false): domain = "amazonaws.com"
        case (false, true): domain = "api.aws"
        case (true, false): domain = "amazonaws.com.cn"
        case (true, true): domain = "api.amazonwebservices.com.cn"
        }
        var prefix = service.endpointPrefix
        if fips {
            let govFIPSByDefault =
                region.hasPrefix("us-gov-") && !dualStack
                && (service == .sts || service == .accessAnalyzer
                    || (service == .cloudtrail && ["us-gov-east-1", "us-gov-west-1"].contains(region)))
            if !govFIPSByDefault { prefix += "-fips" }
        }
        return try endpointURL("https://\(prefix).\(region).\(domain)", source: "the default endpoint")
    }

    /// Runbook endpoint keys must name a service policy-change calls.
    func checkRunbookEndpointNames() throws(ProviderError) {
        let known = AWSService.allCases.map(\.runbookName)
        for name in target.endpoints.keys.sorted() where !known.contains(name) {
            throw ProviderError(
                .other,
                "unknown service '\(name)' in target.aws.endpoints" + Spelling.didYouMeanClause(name, among: known)
                    + "; the services are \(known.joined(separator: ", "))")
        }
    }
}

/// An endpoint override must be an absolute http(s) URL with a host. Whether plain
/// `http://` may be used is the transport's decision (loopback only, DESIGN §2).
private func endpointURL(_ text: String, source: String) throws(ProviderError) -> URL {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
        let host = url.host, !host.isEmpty, url.query == nil, url.fragment == nil, url.user == nil,
        url.password == nil
    else {
        // A URL with user information may carry a password: it is not repeated.
        let shown = trimmed.contains("@") ? "(not shown: it contains '@')" : "'\(trimmed)'"
        throw ProviderError(
            .other, "invalid endpoint URL \(shown) from \(source): expected https://host[:port][/path]")
    }
    return url
}
