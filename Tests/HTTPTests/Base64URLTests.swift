import Foundation
import HTTP
import Testing

@Suite("base64url")
struct Base64URLTests {
    @Test("RFC 4648 §10 vectors without padding, and back")
    func vectors() throws {
        for (text, encoded) in [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE"), ("foobar", "Zm9vYmFy")] {
            #expect(Base64URL.encode(Data(text.utf8)) == encoded)
            #expect(Base64URL.decode(encoded) == Data(text.utf8))
        }
    }

    @Test("the URL-safe alphabet both ways; padded input decodes; other text does not")
    func alphabet() {
        let bytes = Data([0xfb, 0xff, 0xbf])
        #expect(Base64URL.encode(bytes) == "-_-_")
        #expect(Base64URL.decode("-_-_") == bytes)
        #expect(Base64URL.decode("Zg==") == Data("f".utf8))
        #expect(Base64URL.decode("not base64!") == nil)
    }
}
