import Foundation

/// A lead that passed validation: its id (nil when the producer gave none; the assignment script
/// then derives one from the raw bytes), when the person asked, and the fields routing may use.
public struct Lead: Sendable {
    public let id: String?
    /// `created_at` in epoch milliseconds, when the producer gave it.
    public let createdAtMillis: Int64?
    public let fields: [String: JSONValue]
}

/// The reason a raw lead was rejected, in words a person can act on.
public struct LeadRejection: Error, Sendable, Equatable {
    public let reason: String
    /// The lead's id, when one could be read, for the dead-letter entry.
    public let leadID: String?
}

/// Checks raw input from `lr:{P}:incoming` against the producer contract.
public struct LeadParser: Sendable {
    public static let defaultMaxBytes = 65_536
    static let maxDepth = 32
    /// `created_at` this far ahead of the worker's clock is taken for a producer bug (clock
    /// skew between hosts is seconds, not a day).
    static let maxFutureMillis: Int64 = 24 * 3600 * 1000
    /// 2000-01-01: anything earlier is a unit mistake (seconds given for milliseconds).
    static let minCreatedAtMillis: Int64 = 946_684_800_000

    public let maxBytes: Int
    /// Fields the pool's routes match on; their values must be scalars.
    public let routingFields: Set<String>

    public init(maxBytes: Int = LeadParser.defaultMaxBytes, routingFields: Set<String> = []) {
        self.maxBytes = maxBytes
        self.routingFields = routingFields
    }

    public func parse(_ raw: [UInt8], nowMillis: Int64) -> Result<Lead, LeadRejection> {
        guard raw.count <= self.maxBytes else {
            return .failure(LeadRejection(reason: "lead is too large: \(raw.count) bytes, the limit is \(self.maxBytes) (max_lead_bytes in the pool config); send only the fields routing and the CRM need", leadID: nil))
        }
        guard !raw.isEmpty else {
            return .failure(LeadRejection(reason: "lead is empty; push one JSON object per lead", leadID: nil))
        }
        guard String(validating: raw, as: UTF8.self) != nil else {
            return .failure(LeadRejection(reason: "lead is not valid UTF-8; encode the JSON as UTF-8", leadID: nil))
        }
        let structure = JSONValue.structure(of: raw, depthLimit: Self.maxDepth)
        guard structure.deepest <= Self.maxDepth else {
            return .failure(LeadRejection(reason: "lead JSON is nested deeper than \(Self.maxDepth) levels; flatten the payload", leadID: nil))
        }

        guard !structure.trailingComma else {
            return .failure(LeadRejection(reason: "lead is not valid JSON (a comma before } or ]); remove the trailing comma", leadID: nil))
        }

        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(raw))
        } catch {
            return .failure(LeadRejection(reason: "lead is not valid JSON (\(Self.describe(error))); push one JSON object per lead", leadID: nil))
        }
        guard case .object(let fields) = value else {
            return .failure(LeadRejection(reason: "lead is \(value.typeName), not a JSON object; wrap the fields in {…}", leadID: nil))
        }

        var id: String?
        if let idValue = fields["id"], idValue != .null {
            guard case .string(let text) = idValue else {
                return .failure(LeadRejection(reason: "field id is \(idValue.typeName); it must be a string of 1-128 printable ASCII characters without spaces", leadID: nil))
            }
            guard Identifiers.isValidID(text) else {
                return .failure(LeadRejection(reason: "field id \(Identifiers.quoted(text)) is invalid; use 1-128 printable ASCII characters without spaces", leadID: nil))
            }
            id = text
        }

        var createdAt: Int64?
        if let createdValue = fields["created_at"], createdValue != .null {
            switch Self.parseCreatedAt(createdValue, nowMillis: nowMillis) {
            case .success(let millis):
                createdAt = millis
            case .failure(let rejection):
                return .failure(LeadRejection(reason: rejection.reason, leadID: id))
            }
        }

        for name in self.routingFields.sorted() {
            guard let fieldValue = fields[name] else { continue }
            if fieldValue != .null, fieldValue.scalarText == nil {
                return .failure(LeadRejection(reason: "field \(name) is \(fieldValue.typeName); routing needs a string", leadID: id))
            }
        }

        return .success(Lead(id: id, createdAtMillis: createdAt, fields: fields))
    }

    static func parseCreatedAt(_ value: JSONValue, nowMillis: Int64) -> Result<Int64, LeadRejection> {
        let millis: Int64
        switch value {
        case .number(let number):
            guard number == number.rounded(), abs(number) < 1e15 else {
                return .failure(LeadRejection(reason: "field created_at \(number) is not whole epoch milliseconds; send an integer or an RFC 3339 timestamp", leadID: nil))
            }
            millis = Int64(number)
        case .string(let text):
            guard let date = Self.parseRFC3339(text) else {
                return .failure(LeadRejection(reason: "field created_at \(Identifiers.quoted(text)) is not an RFC 3339 timestamp such as 2026-12-04T10:15:00Z", leadID: nil))
            }
            millis = Int64((date.timeIntervalSince1970 * 1000).rounded())
        default:
            return .failure(LeadRejection(reason: "field created_at is \(value.typeName); send epoch milliseconds or an RFC 3339 timestamp", leadID: nil))
        }
        guard millis >= Self.minCreatedAtMillis else {
            return .failure(LeadRejection(reason: "field created_at \(millis) is before the year 2000; send epoch milliseconds, not seconds", leadID: nil))
        }
        guard millis <= nowMillis + Self.maxFutureMillis else {
            return .failure(LeadRejection(reason: "field created_at \(millis) is more than a day in the future; check the producer's clock", leadID: nil))
        }
        return .success(millis)
    }

    static func parseRFC3339(_ text: String) -> Date? {
        // Foundation rolls out-of-range fields over (25:00 becomes 01:00 the next day), so the
        // fields are checked first.
        guard Self.hasValidDateFields(text) else { return nil }
        if let date = try? Date.ISO8601FormatStyle().parse(text) {
            return date
        }
        return try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }

    /// Checks the `YYYY-MM-DDTHH:MM:SS` prefix: month 1-12, a day that exists in that month,
    /// hour 0-23, minute 0-59, second 0-60 (a leap second).
    static func hasValidDateFields(_ text: String) -> Bool {
        let digits = Array(text.utf8.prefix(19))
        guard digits.count == 19 else { return false }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in digits[range] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
            (1...12).contains(month), hour <= 23, minute <= 59, second <= 60
        else {
            return false
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return (1...monthDays[month - 1]).contains(day)
    }

    private static func describe(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError {
                return "\(underlying)".split(separator: "\n").first.map(String.init) ?? context.debugDescription
            }
            return context.debugDescription
        }
        return "\(error)".split(separator: "\n").first.map(String.init) ?? "parse error"
    }
}
