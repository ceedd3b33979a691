import Foundation
import HTTP
import Testing

@Suite("URL safety: https always, plain http only to loopback")
struct URLSafetyTests {
    @Test(arguments: [
        "https://kms.us-east-1.amazonaws.com/",
        "https://10.0.0.1/",
        "HTTPS://Example.com/path?x=1",
        "http://127.0.0.1:8080/x",
        "http://127.255.0.9/",
        "http://localhost:4566/",
        "http://LOCALHOST/",
        "http://[::1]:8443/",
        "http://[0:0:0:0:0:0:0:1]/",
        "HTTP://127.0.0.1/",
    ])
    func allowed(_ text: String) throws {
        let url = try #require(URL(string: text))
        #expect(URLSafety.isAllowed(url))
        #expect(throws: Never.self) { try URLSafety.check(url) }
    }

    @Test(arguments: [
        "http://example.com/",
        "http://10.0.0.1/",
        "http://128.0.0.1/",
        "http://0.0.0.0/",
        "http://127.1/",  // shorthand: resolver-dependent
        "http://0127.0.0.1/",  // leading zero: octal to some resolvers
        "http://localhost.example.com/",
        "http://127.0.0.1.nip.io/",
        "http://[::2]/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
    ])
    func plainHTTPToRemoteHostIsRefused(_ text: String) throws {
        let url = try #require(URL(string: text))
        let error = try #require(throws: HTTPError.self) { try URLSafety.check(url) }
        #expect(error == .insecureURL)
        #expect(error.description.contains("https://"), "the message says what to use instead")
    }

    @Test(arguments: ["ftp://example.com/file", "file:///etc/passwd", "gopher://127.0.0.1/"])
    func otherSchemesAreRefused(_ text: String) throws {
        let url = try #require(URL(string: text))
        #expect(!URLSafety.isAllowed(url))
    }

    @Test func urlWithoutHostIsInvalid() throws {
        let url = try #require(URL(string: "https:///path"))
        let error = try #require(throws: HTTPError.self) { try URLSafety.check(url) }
        #expect(error == .invalidURL)
    }

    @Test func metadataServicesOnlyWhenAskedFor() throws {
        let imds = try #require(URL(string: "http://169.254.169.254/latest/api/token"))
        let imdsV6 = try #require(URL(string: "http://[fd00:ec2::254]/latest/api/token"))
        #expect(!URLSafety.isAllowed(imds))
        #expect(URLSafety.isAllowed(imds, plainHTTPHosts: URLSafety.cloudMetadataHosts))
        #expect(URLSafety.isAllowed(imdsV6, plainHTTPHosts: URLSafety.cloudMetadataHosts))
        let elsewhere = try #require(URL(string: "http://169.254.169.253/"))
        #expect(!URLSafety.isAllowed(elsewhere, plainHTTPHosts: URLSafety.cloudMetadataHosts))
    }

    @Test func refusalMessageHidesSecretsInTheURL() throws {
        let url = try #require(URL(string: "http://example.com/?X-Amz-Signature=deadbeef&a=1"))
        let error = try #require(throws: HTTPError.self) { try URLSafety.check(url) }
        #expect(!error.description.contains("deadbeef"))
        #expect(error.url == "http://example.com/?X-Amz-Signature=<redacted>&a=1")
    }
}
