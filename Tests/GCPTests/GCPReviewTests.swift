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
