import Foundation
import HTTP
import Logging
import PolicyChange
import SigV4

/// The credentials the AWS CLI would use, found in botocore's order and refreshed before
/// they expire (a `CachingCredentialProvider` around a `CredentialChain`):
///
/// 1. the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`);
/// 2. the profile (`ProfileCredentialSource`): assume role via `role_arn` +
///    `source_profile`/`credential_source`, web identity (`AWS_WEB_IDENTITY_TOKEN_FILE` or
///    the profile's `web_identity_token_file`), the credentials file, `credential_process`,
///    the config file;
/// 3. the container credentials endpoint (`AWS_CONTAINER_CREDENTIALS_*`);
/// 4. EC2 instance metadata (IMDSv2).
///
/// The profile is `profile` (the runbook's `target.aws.profile`), else `AWS_PROFILE`,
/// else `AWS_DEFAULT_PROFILE`, else `default`.
///
/// **A profile named by the runbook switches the environment off**, as `aws --profile`
/// does in botocore (`create_credential_resolver`: an explicitly provided profile removes
/// the `EnvProvider` and makes the web identity provider ignore its variables): the
/// runbook said which identity to use, and stray `AWS_ACCESS_KEY_ID`s in a CI job must not
/// override it. A profile chosen by `AWS_PROFILE` is not explicit in botocore's sense, so
/// there the environment's keys still come first — exporting all of
/// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`[/`AWS_SESSION_TOKEN`] wins over
/// `AWS_PROFILE`, the edge case botocore's comment describes.
///
/// - Parameters:
///   - transport: for STS (`AssumeRole`, `AssumeRoleWithWebIdentity`).
///   - metadataTransport: for the container endpoint and IMDS, which speak plain
///     `http://` on link-local addresses: a transport that allows exactly
///     `AWSMetadataService.plainHTTPHosts` besides loopback (see `AWSMetadataService`).
///     Nil uses `transport`, which is right only when that one already allows them (tests).
///   - region: the signing region for STS.
///   - stsEndpoint: `AWSResolvedConfiguration.endpoint(.sts)`.
///   - mfaCode: asked when an assumed role's profile has `mfa_serial`; without it such a
///     profile is an error that says how to get credentials instead.
public func defaultCredentialChain(
    profile: String?,
    environment: AWSEnvironment,
    transport: any HTTPTransport,
    metadataTransport: (any HTTPTransport)? = nil,
    region: String,
    stsEndpoint: URL,
    logger: Logger,
    clock: @escaping CredentialClock = { Date() },
    mfaCode: MFACodeProvider? = nil
) -> any AWSCredentialProvider {
    CachingCredentialProvider(
        wrapping: defaultCredentialSources(
            profile: profile, environment: environment, transport: transport, metadataTransport: metadataTransport,
            region: region, stsEndpoint: stsEndpoint, logger: logger, clock: clock, mfaCode: mfaCode),
        clock: clock,
        logger: logger)
}

/// The chain `defaultCredentialChain` caches, for callers that want to look without
/// caching or to know where the credentials came from (`lookup()`).
public func defaultCredentialSources(
    profile: String?,
    environment: AWSEnvironment,
    transport: any HTTPTransport,
    metadataTransport: (any HTTPTransport)? = nil,
    region: String,
    stsEndpoint: URL,
    logger: Logger,
    clock: @escaping CredentialClock = { Date() },
    mfaCode: MFACodeProvider? = nil,
    containerPolicy: MetadataServicePolicy = .container,
    instanceMetadataPolicy: MetadataServicePolicy = .instanceMetadata
) -> CredentialChain {
    let selection = AWSProfileSelection.resolve(explicit: profile, environment: environment)
    let metadata = metadataTransport ?? transport
    let environmentSource = EnvironmentCredentialSource(environment: environment, clock: clock)
    let container = ContainerCredentialSource(
        environment: environment, transport: metadata, policy: containerPolicy, logger: logger)
    let instance = InstanceMetadataCredentialSource(
        environment: environment, transport: metadata, policy: instanceMetadataPolicy, logger: logger)
    let profileSource = ProfileCredentialSource(
        selection: selection,
        environment: environment,
        sts: STSAccess(transport: transport, endpoint: stsEndpoint, region: region),
        // botocore's CanonicalNameCredentialSourcer over env, container and IMDS.
        namedSources: ["Environment": environmentSource, "EcsContainer": container, "Ec2InstanceMetadata": instance],
        clock: clock,
        mfaCode: mfaCode,
        logger: logger)

    let first: any AWSCredentialSource =
        selection.isExplicit
        ? SkippedCredentialSource(
            note: "the environment (not read: target.aws.profile '\(selection.name)' chooses the credentials)")
        : environmentSource
    return CredentialChain([first, profileSource, container, instance], logger: logger)
}
