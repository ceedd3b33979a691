import Foundation
import PolicyChange

/// IAM Access Analyzer ValidatePolicy (REST-JSON, `POST /policy/validation`),
/// its findings in this tool's shape, marked `source: access-analyzer`.
public struct AccessAnalyzerClient: RemotePolicyValidator {
    let client: AWSServiceClient
    public init(client: AWSServiceClient) { self.client = client }

    struct Page: Decodable {
        struct Finding: Decodable {
            var findingDetails: String?
            var findingType: String?
            var issueCode: String?
            var learnMoreLink: String?
            var locations: [Location]?
        }
        struct Location: Decodable {
            var path: [PathElement]?
            var span: Span?
        }
        struct PathElement: Decodable {
            var index: Int?
            var key: String?
            var value: String?
        }
        struct Span: Decodable {
            struct Position: Decodable {
                var line: Int
                var column: Int
                var offset: Int?
            }
            var start: Position
            var end: Position?
        }
        var findings: [Finding]?
        var nextToken: String?
    }

    public func validate(_ policy: PolicySnapshot, file: String?) async throws -> [Finding] {
        var findings: [Finding] = []
        var token: String?
        repeat {
            // For a KMS key policy, validatePolicyResourceType must be left out
            // (botocore model: it lists no KMS type).
            let body = try JSONSerialization.data(
                withJSONObject: ["policyDocument": policy.text, "policyType": "RESOURCE_POLICY"], options: [.sortedKeys])
            let query = token.map { [URLQueryItem(name: "nextToken", value: $0)] } ?? []
            let data = try await client.restJSON(path: "/policy/validation", query: query, operation: "ValidatePolicy", body: body)
            let page: Page
            do {
                page = try JSONDecoder().decode(Page.self, from: data)
            } catch {
                throw ProviderError(.invalidResponse, "Access Analyzer ValidatePolicy: unexpected answer: \(error)")
            }
            findings += (page.findings ?? []).map { Self.finding($0, file: file) }
            token = page.nextToken?.isEmpty == false ? page.nextToken : nil
        } while token != nil
        return findings
    }

    static func finding(_ f: Page.Finding, file: String?) -> Finding {
        let severity: Severity =
            switch f.findingType {
            case "ERROR": .error
            case "SECURITY_WARNING": .securityWarning
            case "WARNING": .warning
            default: .suggestion
            }
        let location = f.locations?.first
        let path = location?.path.map { elements in
            elements.reduce(into: "") { path, element in
                if let index = element.index {
                    path += "[\(index)]"
                } else if let key = element.key ?? element.value {
                    // Access Analyzer names members with `value` as often as `key`
                    // (shared/fixtures/aws/accessanalyzer/ValidatePolicy.awscli-example.response.json).
                    path += path.isEmpty ? key : ".\(key)"
                }
            }
        }
        // Access Analyzer's spans: line 1-based, column 0-based (fixture README).
        return Finding(
            code: f.issueCode ?? "ACCESS_ANALYZER_FINDING", severity: severity,
            message: (f.findingDetails ?? "") + (f.learnMoreLink.map { " (\($0))" } ?? ""),
            path: path, line: location?.span?.start.line, column: location?.span.map { $0.start.column + 1 },
            file: location?.span == nil ? nil : file, source: "access-analyzer")
    }
}
