import Foundation
import HTTP
import Logging
import PolicyChange

/// Everything a run needs from AWS for one key: the KMS provider, CloudTrail
/// as the audit log, Access Analyzer as the remote validator.
public struct AWSConnection: Sendable {
    public var provider: AWSKeyPolicyProvider
    public var auditLog: CloudTrailAuditLog
    public var validator: AccessAnalyzerClient
    public var configuration: AWSResolvedConfiguration

    /// Resolves region, endpoints and credentials as the AWS CLI does. Nothing
    /// is sent until the first call.
    public static func make(
        target: AWSTarget, environment: AWSEnvironment, transport: any HTTPTransport,
        metadataTransport: (any HTTPTransport)?, logger: Logger
    ) throws(ProviderError) -> AWSConnection {
        let configuration = try resolveConfiguration(target: target, environment: environment)
        let transport = RetryingTransport(wrapping: transport, policy: AWSRetry.policy, logger: logger)
        let credentials = defaultCredentialChain(
            profile: configuration.profile, environment: environment, transport: transport,
            metadataTransport: metadataTransport, region: configuration.region,
            stsEndpoint: configuration.endpoint(.sts), logger: logger)
        func client(_ service: AWSService, name: String, signingName: String) -> AWSServiceClient {
            AWSServiceClient(
                service: name, signingName: signingName, region: configuration.region,
                endpoint: configuration.endpoint(service), transport: transport, credentials: credentials)
        }
        let kms = KMSClient(client: client(.kms, name: "KMS", signingName: "kms"))
        let sts = STSClient(client: client(.sts, name: "STS", signingName: "sts"))
        let provider = AWSKeyPolicyProvider(target: target, region: configuration.region, kms: kms, sts: sts)
        return AWSConnection(
            provider: provider,
            auditLog: CloudTrailAuditLog(client: client(.cloudtrail, name: "CloudTrail", signingName: "cloudtrail"), keyARN: target.key),
            validator: AccessAnalyzerClient(client: client(.accessAnalyzer, name: "Access Analyzer", signingName: "access-analyzer")),
            configuration: configuration)
    }
}

/// AWS's retry rules over the transport's: throttling often arrives as HTTP
/// 400 with a code in the body (`ThrottlingException`), which is retried;
/// `LimitExceededException` is not (from PutKeyPolicy it means the policy is
/// too large). Two minutes overall, as botocore's standard mode allows.
public enum AWSRetry {
    public static var policy: RetryPolicy {
        RetryPolicy(classify: { response in
            guard !response.isSuccess else { return nil }
            let error = AWSErrorResponse(response)
            if error.code == "LimitExceededException" { return .doNotRetry }
            return error.isRetryable ? .retry : nil
        })
    }
}
