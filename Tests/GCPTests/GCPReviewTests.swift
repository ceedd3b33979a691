import Foundation
import HTTP
import PolicyChange
import Testing

@testable import GCP

@Suite("GCP review: cloud error text on one line")
struct GCPErrorTextReviewTests {
    @Test("control characters in an error message (CR, ESC, TAB) never reach the one-line message")
    func controlCharacters() {
        let body = Data(#"{"error":{"code":400,"status":"INVALID_ARGUMENT","message":"bad\r\nrequest\u001b[2K\rAll good\tdone"}}"#.utf8)
        let error = GoogleErrorResponse(HTTPResponse(status: 400, body: body)).providerError(service: "Cloud KMS", operation: "setIamPolicy")
        #expect(!error.message.unicodeScalars.contains { $0.properties.generalCategory == .control }, "\(error.message.debugDescription)")
        #expect(error.message.contains("bad") && error.message.contains("All good"))
    }
}

@Suite("GCP review: workload identity's subject-token URL")
struct GCPSubjectTokenReviewTests {
    struct Refusing: HTTPTransport {
        func send(_ request: HTTPRequest) async throws -> HTTPResponse {
            throw HTTPError.insecureURL.with(message: "refusing to send a request over plain http:// to \(request.url.absoluteString)")
        }
    }

    @Test("a transport error fetching the subject token is a one-line credentials error (it escaped as a raw HTTPError)")
    func transportError() async throws {
        let config = try JSONParser.parse(Data(#"""
            {"type":"external_account","audience":"//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q",
             "subject_token_type":"urn:ietf:params:oauth:token-type:jwt","token_url":"https://sts.googleapis.com/v1/token",
             "credential_source":{"url":"http://169.254.169.254/metadata/identity/oauth2/token?resource=x","headers":{"Metadata":"True"},
               "format":{"type":"json","subject_token_field_name":"access_token"}}}
            """#.utf8)).root
        let source = ExternalAccountTokenSource(
            configuration: try ExternalAccountConfiguration(config, source: "creds.json"), transport: Refusing(), label: "creds.json")
        do {
            _ = try await source.fetch()
            Issue.record("fetched a token through a refusing transport")
        } catch let error as ProviderError {
            #expect(error.code == .credentials, "\(error)")
            #expect(error.message.contains("creds.json") && !error.message.contains("\n"), "\(error.message)")
        } catch {
            Issue.record("not a ProviderError: \(type(of: error)) \(error)")
        }
    }
}
