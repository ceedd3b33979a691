import Foundation
import PolicyChange

/// Cloud Logging `entries:list`: PERMISSION_DENIED audit entries for the key.
public struct CloudLoggingAuditLog: AuditLogSource {
    let logging: GoogleAPIClient
    let key: String
    public static let pageCap = 100

    public init(logging: GoogleAPIClient, key: String) {
        self.logging = logging
        self.key = key
    }

    var project: String { key.split(separator: "/").dropFirst().first.map { "projects/\($0)" } ?? "projects/-" }

    /// The key or its versions, status code 7, between the two times.
    public static func filter(key: String, since: Date, until: Date) -> String {
        let k = quote(key), versions = quote(key + "/cryptoKeyVersions/")
        return "protoPayload.serviceName=\"cloudkms.googleapis.com\" AND protoPayload.status.code=7 AND "
            + "(protoPayload.resourceName=\(k) OR protoPayload.resourceName:\(versions)) AND "
            + "timestamp>=\(quote(GoogleTime.format(since))) AND timestamp<=\(quote(GoogleTime.format(until)))"
    }

    /// A filter string literal: backslashes and quotes escaped.
    static func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    public func accessDeniedEvents(since: Date, until: Date, check: AuditLogCheck) async throws -> [AuditEvent] {
        var events: [AuditEvent] = []
        var pageToken: String?
        for _ in 0..<Self.pageCap {
            var members: [JSONMember] = [
                JSONMember("resourceNames", .array([.string(project)])),
                JSONMember("filter", .string(Self.filter(key: key, since: since, until: until))),
                JSONMember("orderBy", .string("timestamp asc")),
                JSONMember("pageSize", .number("1000")),
            ]
            if let pageToken { members.append(JSONMember("pageToken", .string(pageToken))) }
            let data = try await logging.post(
                "entries:list", body: Data(JSONValue.object(members).serialized().utf8), operation: "entries.list", idempotent: true)
            guard let root = try? JSONParser.parse(data).root, case .object = root else {
                throw ProviderError(.invalidResponse, "Cloud Logging entries.list: the answer is not a JSON object")
            }
            for entry in root["entries"]?.arrayValue ?? [] {
                let payload = entry["protoPayload"]
                events.append(AuditEvent(
                    time: entry["timestamp"]?.stringValue.flatMap(GoogleTime.parse) ?? since,
                    principal: payload?["authenticationInfo"]?["principalEmail"]?.stringValue,
                    action: payload?["methodName"]?.stringValue, errorCode: "PERMISSION_DENIED",
                    id: entry["insertId"]?.stringValue))
            }
            guard let next = root["nextPageToken"]?.stringValue, !next.isEmpty else { return events }
            pageToken = next
        }
        throw ProviderError(
            .unavailable, "Cloud Logging entries.list: more than \(Self.pageCap) pages for one check; narrow the window")
    }
}
