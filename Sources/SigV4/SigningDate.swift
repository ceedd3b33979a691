import Foundation

/// The two renderings of the signing instant SigV4 needs, in UTC: the `X-Amz-Date`
/// timestamp (`20150830T123600Z`, ISO 8601 basic format) and the credential-scope date
/// (`20150830`).
///
/// Computed arithmetically rather than with a `DateFormatter`: no locale, calendar or
/// time-zone setting of the machine can change a signature, and nothing here is shared
/// mutable state. Fractions of a second are dropped (truncated towards the past), as
/// every SDK does.
public struct SigningDate: Sendable, Hashable {
    /// `yyyyMMdd'T'HHmmss'Z'`, the value of `X-Amz-Date`.
    public let timestamp: String
    /// `yyyyMMdd`, the first element of the credential scope.
    public let dateStamp: String

    public init(_ date: Date) {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let (days, secondOfDay) = Self.floorDivide(seconds, 86_400)
        let (year, month, day) = Self.civilDate(daysSince1970: days)
        let hour = secondOfDay / 3600
        let minute = secondOfDay % 3600 / 60
        let second = secondOfDay % 60
        dateStamp = Self.pad(year, 4) + Self.pad(month, 2) + Self.pad(day, 2)
        timestamp = dateStamp + "T" + Self.pad(hour, 2) + Self.pad(minute, 2) + Self.pad(second, 2) + "Z"
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let remainder = ((value % divisor) + divisor) % divisor
        return ((value - remainder) / divisor, remainder)
    }

    /// Proleptic Gregorian calendar date of a day count since 1970-01-01 (Howard
    /// Hinnant's `civil_from_days`, valid for any day count a `Date` can hold).
    private static func civilDate(daysSince1970 days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
