/// A parsed JSON value that keeps the distinction between booleans, numbers and strings, which
/// the lead and config validators need to report "a field of the wrong type".
public enum JSONValue: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        // Each failed attempt costs a thrown DecodingError, so the common kinds come first:
        // lead fields are mostly strings, and a whole lead is an object.
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else {
            self = .array(try container.decode([JSONValue].self))
        }
    }

    /// The JSON type name, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The value as routing rules compare it: strings as they are, numbers and booleans in their
    /// JSON spelling; nil for null, arrays and objects.
    public var scalarText: String? {
        switch self {
        case .string(let text):
            return text
        case .number(let value):
            // Whole numbers print without an exponent up to 2^63, so an account number such as
            // 1234567890123456 matches the route value "1234567890123456".
            if value == value.rounded(), abs(value) < 9.2e18 {
                return String(Int64(value))
            }
            return String(value)
        case .bool(let value):
            return value ? "true" : "false"
        case .null, .array, .object:
            return nil
        }
    }

    /// The findings of a scan of raw JSON bytes outside strings, before the bytes are parsed.
    struct Structure {
        /// Deepest nesting of objects and arrays; the scan stops once it passes the limit, so a
        /// hostile lead cannot exhaust the parser's stack.
        var deepest = 0
        /// A `,` right before `}` or `]`. JSON forbids it, but Foundation's parser (Swift 6.3 on
        /// Linux) accepts it, so leads are checked here.
        var trailingComma = false
    }

    /// Scans raw JSON bytes once for nesting depth (stopping past `depthLimit`) and trailing
    /// commas, skipping the contents of strings.
    static func structure(of bytes: [UInt8], depthLimit: Int) -> Structure {
        var result = Structure()
        var depth = 0
        var inString = false
        var escaped = false
        var previous: UInt8 = 0
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    previous = byte
                }
                continue
            }
            switch byte {
            case 0x20, 0x09, 0x0A, 0x0D:
                continue
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                result.deepest = max(result.deepest, depth)
                if result.deepest > depthLimit {
                    return result
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if previous == UInt8(ascii: ",") {
                    result.trailingComma = true
                }
            default:
                break
            }
            previous = byte
        }
        return result
    }
}
