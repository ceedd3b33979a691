import CurlTransport
import Foundation
import HTTP
import Testing

@Suite("HTTPError and configuration")
struct HTTPErrorTests {
    @Test func equalityLooksAtTheKindOnly() {
        let a = HTTPError.timedOut.with(message: "no response from https://a/ within 1 s", url: "https://a/")
        let b = HTTPError.timedOut.with(message: "something else")
        #expect(a == b)
        #expect(a == .timedOut)
        #expect(a != .connectFailed)
        #expect(a.kind == "timedOut")
        switch a {
        case .timedOut: break
        default: Issue.record("pattern matching on the static values works")
        }
    }

    @Test func descriptionIsOneLineWithTheHint() {
        let error = HTTPError.connectFailed.with(
            message: "cannot connect to https://kms.us-east-1.amazonaws.com/: Connection refused",
            url: "https://kms.us-east-1.amazonaws.com/", hint: "check the endpoint, proxy settings and network")
        #expect(
            error.description
                == "cannot connect to https://kms.us-east-1.amazonaws.com/: Connection refused (check the endpoint, proxy settings and network)"
        )
        #expect(!error.description.contains("\n"))
        let multiline = HTTPError.other.with(message: "the server said:\nline two\r\nline three")
        #expect(multiline.description == "the server said: line two line three")
    }

    @Test func staticValuesDescribeThemselves() {
        #expect(HTTPError.deadlineExceeded.description == "deadline exceeded")
        #expect(HTTPError.connectionDropped.isConnectionError)
        #expect(!HTTPError.tlsFailed.isConnectionError)
    }

    @Test func lastErrorIsKept() {
        var error = HTTPError.deadlineExceeded.with(message: "gave up")
        error.lastError = HTTPError.connectFailed.with(message: "refused")
        #expect(error.lastError == .connectFailed)
        #expect(error.lastError?.message == "refused")
    }

    @Test func caBundleComesFromTheOptionThenTheEnvironment() {
        let environment = ["SSL_CERT_FILE": "/env/ssl.pem", "CURL_CA_BUNDLE": "/env/curl.pem"]
        typealias Configuration = CurlTransport.Configuration
        #expect(Configuration.caBundlePath(explicit: "/opt/ca.pem", environment: environment) == "/opt/ca.pem")
        #expect(Configuration.caBundlePath(explicit: nil, environment: environment) == "/env/ssl.pem")
        #expect(
            Configuration.caBundlePath(explicit: "", environment: ["CURL_CA_BUNDLE": "/env/curl.pem"])
                == "/env/curl.pem")
        #expect(Configuration.caBundlePath(explicit: nil, environment: [:]) == nil)
        let defaults = Configuration(userAgent: "policy-change/1.0", environment: [:])
        #expect(defaults.connectTimeout == .seconds(10))
        #expect(defaults.timeout == .seconds(60))
        #expect(defaults.caBundlePath == nil)
    }
}
