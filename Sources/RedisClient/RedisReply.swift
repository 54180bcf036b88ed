/// A decoded RESP2 reply. Bulk strings stay bytes, because lead payloads are compared
/// byte for byte (`LREM`) and may not be valid UTF-8.
public enum RedisReply: Sendable, Equatable {
    case bulk([UInt8])
    case status(String)
    case integer(Int64)
    case null
    case array([RedisReply])
    case error(String)

    /// The reply as text: bulk strings decoded as UTF-8 (invalid bytes replaced), status and
    /// integer replies as written; nil for null, arrays and errors.
    public var text: String? {
        switch self {
        case .bulk(let bytes):
            return String(decoding: bytes, as: UTF8.self)
        case .status(let text):
            return text
        case .integer(let value):
            return String(value)
        case .null, .array, .error:
            return nil
        }
    }

    /// The reply as an integer: integer replies, and bulk strings holding a decimal number.
    public var integer: Int64? {
        switch self {
        case .integer(let value):
            return value
        case .bulk, .status:
            return self.text.flatMap { Int64($0) }
        case .null, .array, .error:
            return nil
        }
    }

    /// The reply as a number: integer replies and bulk strings holding a decimal number.
    public var double: Double? {
        switch self {
        case .integer(let value):
            return Double(value)
        case .bulk, .status:
            return self.text.flatMap { Double($0) }
        case .null, .array, .error:
            return nil
        }
    }

    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self {
            return bytes
        }
        return nil
    }

    public var elements: [RedisReply]? {
        if case .array(let elements) = self {
            return elements
        }
        return nil
    }

    public var isNull: Bool {
        self == .null
    }

    /// Pairs a flat `[field, value, field, value…]` reply (HGETALL, CONFIG GET) into a dictionary.
    public var fieldMap: [String: RedisReply] {
        guard let elements = self.elements else { return [:] }
        var map: [String: RedisReply] = [:]
        var index = 0
        while index + 1 < elements.count {
            if let key = elements[index].text {
                map[key] = elements[index + 1]
            }
            index += 2
        }
        return map
    }
}
