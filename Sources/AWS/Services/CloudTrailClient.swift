import Foundation
import PolicyChange

/// CloudTrail LookupEvents (JSON 1.1): access-denied events on one key.
/// CloudTrail allows 2 requests per second per account and region, so pages
/// are fetched at most that fast.
public struct CloudTrailAuditLog: AuditLogSource {
    let client: AWSServiceClient
    let keyARN: String
    let sleep: @Sendable (Duration) async throws -> Void
    static let target = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101"
    static let minimumInterval = Duration.milliseconds(500)
    /// CloudTrail's errorCode values that mean "access denied".
    static let accessDeniedCodes: Set<String> = [
        "AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation", "UnauthorizedOperation",
    ]

    public init(
        client: AWSServiceClient, keyARN: String,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.client = client
        self.keyARN = keyARN
        self.sleep = sleep
    }

    struct Page: Decodable {
        struct Event: Decodable {
            var EventId: String?
            var EventName: String?
            var EventTime: Double?
            var Username: String?
            var Resources: [Resource]?
            var CloudTrailEvent: String?
        }
        struct Resource: Decodable {
            var ResourceType: String?
            var ResourceName: String?
        }
        var Events: [Event]?
        var NextToken: String?
    }

    public func accessDeniedEvents(since: Date, until: Date, check: AuditLogCheck) async throws -> [AuditEvent] {
        var events: [AuditEvent] = []
        var token: String?
        var first = true
        repeat {
            if !first { try await sleep(Self.minimumInterval) }
            first = false
            var input: [String: Any] = [
                "LookupAttributes": [["AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"]],
                "StartTime": floor(since.timeIntervalSince1970),
                "EndTime": ceil(until.timeIntervalSince1970),
                "MaxResults": 50,
            ]
            if let token { input["NextToken"] = token }
            let body = try JSONSerialization.data(withJSONObject: input, options: [.sortedKeys])
            let data = try await client.json11(target: Self.target, operation: "LookupEvents", body: body)
            let page: Page
            do {
                page = try JSONDecoder().decode(Page.self, from: data)
            } catch {
                throw ProviderError(.invalidResponse, "CloudTrail LookupEvents: unexpected answer: \(error)")
            }
            for event in page.Events ?? [] {
                if let denied = accessDenied(event) { events.append(denied) }
            }
            token = page.NextToken?.isEmpty == false ? page.NextToken : nil
        } while token != nil
        return events
    }

    /// The event when it is an access-denied on this key. CloudTrail cannot
    /// filter on errorCode, so each event's `CloudTrailEvent` JSON is read.
    func accessDenied(_ event: Page.Event) -> AuditEvent? {
        guard let text = event.CloudTrailEvent, let record = try? JSONParser.parse(text).root,
            let code = record["errorCode"]?.stringValue, Self.accessDeniedCodes.contains(code)
        else { return nil }
        let keyID = keyARN.split(separator: "/").last.map(String.init) ?? keyARN
        let resourceNames = (event.Resources ?? []).compactMap(\.ResourceName)
            + (record["resources"]?.arrayValue ?? []).compactMap { $0["ARN"]?.stringValue }
        let requestKey = record["requestParameters"]?["keyId"]?.stringValue
        let message = record["errorMessage"]?.stringValue ?? ""
        let aboutThisKey = resourceNames.contains(keyARN) || requestKey == keyARN || requestKey == keyID
            || message.contains(keyARN)
        guard aboutThisKey else { return nil }
        return AuditEvent(
            time: event.EventTime.map { Date(timeIntervalSince1970: $0) } ?? Date(),
            principal: record["userIdentity"]?["arn"]?.stringValue ?? event.Username,
            action: event.EventName.map { "kms:\($0)" }, errorCode: code, id: event.EventId)
    }
}
