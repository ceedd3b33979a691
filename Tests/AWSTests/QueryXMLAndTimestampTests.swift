import Foundation
import Testing

@testable import AWS

@Suite struct QueryXMLTests {
    @Test func readsTheSTSFixtures() throws {
        let root = try QueryXML.parse(try CredentialFixtures.shared("AssumeRoleWithWebIdentity.response.xml"))
        #expect(root.name == "AssumeRoleWithWebIdentityResponse")
        let credentials = try #require(root.descendant(["AssumeRoleWithWebIdentityResult", "Credentials"]))
        #expect(credentials.childText("AccessKeyId") == "AKIAIOSFODNN7EXAMPLE")
        #expect(credentials.childText("Expiration") == "2014-10-24T23:00:23Z")

        let error = try QueryXML.parse(try CredentialFixtures.shared("ErrorResponse.example.xml"))
        #expect(error.descendant(["Error", "Code"])?.text == "InvalidIdentityToken")
    }

    @Test func entitiesCDATACommentsAndPrefixes() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- leading comment -->
            <a:Root xmlns:a="urn:x" attr='has > inside'>
              <Text>x &lt;&amp;&gt; &quot;&apos; &#65;&#x42;</Text>
              <Data><![CDATA[<not an element> & raw]]></Data>
              <Empty/>
              <!-- <Fake>1</Fake> -->
            </a:Root>
            """
        let root = try QueryXML.parse(Data(xml.utf8))
        #expect(root.name == "Root")
        #expect(root.childText("Text") == "x <&> \"' AB")
        #expect(root.childText("Data") == "<not an element> & raw")
        #expect(root.child("Empty") != nil)
        #expect(root.child("Fake") == nil)
    }

    @Test(arguments: [
        "<a><b></a></b>",
        "<a>",
        "<a></a><b></b>",
        "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
        "<a>&bogus;</a>",
        "",
        "text",
    ])
    func refusesMalformedDocuments(xml: String) {
        #expect(throws: QueryXMLError.self) { try QueryXML.parse(Data(xml.utf8)) }
    }

    @Test func refusesDeepNesting() {
        let xml = String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100)
        #expect(throws: QueryXMLError.self) { try QueryXML.parse(Data(xml.utf8)) }
    }
}

@Suite struct CredentialTimestampTests {
    @Test(arguments: [
        ("2014-10-24T23:00:23Z", 1_414_191_623.0),
        ("2011-07-15T23:28:33.359Z", 1_310_772_513.359),
        ("2017-05-17T15:09:54+00:00", 1_495_033_794.0),
        ("2017-05-17T17:09:54+02:00", 1_495_033_794.0),
        ("2017-05-17T10:09:54-05:00", 1_495_033_794.0),
        ("1969-12-31T23:59:59Z", -1.0),
        ("2024-02-29T00:00:00Z", 1_709_164_800.0),
    ])
    func parses(text: String, seconds: Double) throws {
        let parsed = try #require(CredentialTimestamp.parse(text))
        #expect(abs(parsed.timeIntervalSince1970 - seconds) < 0.0005)
    }

    @Test(arguments: [
        "ISO8601 timestamp when the credentials expire", "2014-10-24", "2014-10-24T23:00:23", "2014-13-01T00:00:00Z",
        "2014-10-24T23:00:23.Z", "2014-10-24T23:00:23Zjunk", "1414191623",
    ])
    func refuses(text: String) {
        #expect(CredentialTimestamp.parse(text) == nil)
    }

    @Test func formEncodingMatchesTheFixture() throws {
        #expect(
            STSCredentialExchange.formEncode("arn:aws:iam::123456789012:role/FederatedWebIdentityRole")
                == "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2FFederatedWebIdentityRole")
        #expect(STSCredentialExchange.formEncode("a b+c=d&é~._-") == "a%20b%2Bc%3Dd%26%C3%A9~._-")
    }
}
