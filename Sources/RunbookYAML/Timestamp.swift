import Foundation

/// RFC 3339 timestamps for `window.start` / `window.end`.
///
/// A maintenance window is an agreement between people in different time
/// zones, so the zone is required (`Z` or `+01:00`): a zone-less time would
/// silently mean whatever zone the CI runner happens to use. Parsed by hand
/// (not `ISO8601DateFormatter`) to be strict about the shape, accept
/// fractional seconds and offsets in one pass, and stay fast.
enum Timestamp {
    enum Failure: Error, Equatable {
        case malformed
        case missingZone
        /// Right shape, impossible value (month 13, February 30, hour 24).
        case outOfRange
    }

    static func parse(_ text: String) -> Result<Date, Failure> {
        let b = Array(text.utf8)
        var i = 0
        func digits(_ count: Int) -> Int? {
            guard i + count <= b.count else { return nil }
            var value = 0
            for k in i..<(i + count) {
                guard (0x30...0x39).contains(b[k]) else { return nil }
                value = value * 10 + Int(b[k] - 0x30)
            }
            i += count
            return value
        }
        func expect(_ c: Character) -> Bool {
            guard i < b.count, b[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }

        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2) else {
            return .failure(.malformed)
        }
        guard i < b.count, b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") || b[i] == UInt8(ascii: " ") else {
            return .failure(i == b.count ? .missingZone : .malformed)
        }
        i += 1
        guard let hour = digits(2), expect(":"), let minute = digits(2), expect(":"), let second = digits(2) else {
            return .failure(.malformed)
        }
        var fraction = 0.0
        if expect(".") {
            let start = i
            var scale = 0.1
            while i < b.count, (0x30...0x39).contains(b[i]) {
                fraction += Double(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return .failure(.malformed) }
        }
        var offsetSeconds = 0
        if i == b.count { return .failure(.missingZone) }
        if expect("Z") || expect("z") {
            // UTC
        } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = digits(2), expect(":"), let om = digits(2) else { return .failure(.malformed) }
            guard oh < 24, om < 60 else { return .failure(.outOfRange) }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        } else {
            return .failure(.malformed)
        }
        guard i == b.count else { return .failure(.malformed) }

        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
            hour < 24, minute < 60, second < 60
        else { return .failure(.outOfRange) }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return .success(Date(timeIntervalSince1970: Double(seconds) + fraction))
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard
    /// Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}
