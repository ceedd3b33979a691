import Foundation

/// The AWS services policy-change calls.
public enum AWSService: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case kms
    case sts
    case cloudtrail
    case accessAnalyzer = "access-analyzer"

    /// The name the runbook's `target.aws.endpoints` uses: `kms`, `sts`, `cloudtrail`,
    /// `access-analyzer`.
    public var runbookName: String { rawValue }

    /// The first label of the service's host name (`kms.us-east-1.amazonaws.com`), from
    /// each service's `endpoint-rule-set-1.json` in `../shared/fixtures/aws/models`.
    public var endpointPrefix: String { rawValue }

    /// The SigV4 signing name (`kms`, `sts`, `cloudtrail`, `access-analyzer`).
    public var signingName: String { rawValue }

    /// The suffix of its `AWS_ENDPOINT_URL_<SERVICE>` variable: the service id
    /// (`KMS`, `STS`, `CloudTrail`, `AccessAnalyzer`) upper-cased with spaces turned to
    /// underscores.
    public var environmentSuffix: String {
        switch self {
        case .kms: "KMS"
        case .sts: "STS"
        case .cloudtrail: "CLOUDTRAIL"
        case .accessAnalyzer: "ACCESSANALYZER"
        }
    }

    /// Its key in a config file's `[services NAME]` section: the service id lower-cased
    /// with spaces turned to underscores.
    public var configKey: String {
        switch self {
        case .kms: "kms"
        case .sts: "sts"
        case .cloudtrail: "cloudtrail"
        case .accessAnalyzer: "accessanalyzer"
        }
    }

    public var description: String { rawValue }
}
