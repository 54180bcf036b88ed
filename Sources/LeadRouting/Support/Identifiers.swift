/// Rules for the names that end up inside Redis key names or records: pool names, lead ids,
/// manager ids and group names.
public enum Identifiers {
    /// Pool names: 1-64 characters of `A-Z a-z 0-9 _ . -`, so a pool's hash tag `{P}` is safe.
    public static func validatePool(_ name: String) throws(UsageError) {
        guard !name.isEmpty, name.utf8.count <= 64,
            name.utf8.allSatisfy({ Self.isPoolByte($0) })
        else {
            throw UsageError("invalid pool name \(Self.quoted(name)): use 1-64 characters of A-Z a-z 0-9 _ . -")
        }
    }

    /// Lead and manager ids: 1-128 printable ASCII characters, no spaces.
    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }

    public static func validateManager(_ id: String) throws(UsageError) {
        guard Self.isValidID(id) else {
            throw UsageError("invalid manager id \(Self.quoted(id)): use 1-128 printable ASCII characters without spaces")
        }
    }

    public static func validateLead(_ id: String) throws(UsageError) {
        guard Self.isValidID(id) else {
            throw UsageError("invalid lead id \(Self.quoted(id)): use 1-128 printable ASCII characters without spaces")
        }
    }

    /// Group names follow the pool-name rule (they become part of key names) and may not contain
    /// the "," that separates a manager's groups.
    public static func isValidGroup(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && name.utf8.allSatisfy { Self.isPoolByte($0) }
    }

    static func isPoolByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }

    /// Quotes a value for an error message with control characters escaped and long values cut,
    /// so the message stays on one line.
    public static func quoted(_ value: String, limit: Int = 40) -> String {
        var text = ""
        for scalar in value.unicodeScalars {
            if text.count >= limit {
                text += "…"
                break
            }
            switch scalar {
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\"": text += "\\\""
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    text += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        return "\"\(text)\""
    }
}

/// "1 lead", "2 leads": a count with its noun in the right number.
public func counted(_ count: Int, _ noun: String, plural: String? = nil) -> String {
    count == 1 ? "1 \(noun)" : "\(count) \(plural ?? noun + "s")"
}

/// A mistake in what the user typed or supplied: printed as one line, exit code 2.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
