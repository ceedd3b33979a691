import HTTP
import Testing

@Suite("CloudText")
struct CloudTextTests {
    @Test("control characters become spaces: the message stays on one line and cannot drive the terminal")
    func controlCharacters() {
        #expect(CloudText.oneLine("denied\r\nby policy\u{1B}[2J\tnow", limit: 100) == "denied  by policy [2J now")
    }

    @Test("cut to the limit, counted in characters")
    func limit() {
        #expect(CloudText.oneLine("ééééé", limit: 3) == "ééé")
        #expect(CloudText.oneLine("short", limit: 400) == "short")
    }
}
