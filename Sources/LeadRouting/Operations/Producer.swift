import Foundation
import RedisClient

/// `leadrouter push`: turns files into raw leads and LPUSHes them onto `lr:{P}:incoming`.
///
/// Leads are pushed as the producer wrote them, even invalid ones, so that every lead goes through
/// the one validation path in the worker and an invalid one lands in the dead-letter list with its
/// reason. The only change is `created_at`: a valid object with an `id` and without `created_at`
/// gets the push time, so speed-to-lead counts the time the lead waits in the queue. Leads
/// without an id are left byte for byte as given, because the worker derives their id from the
/// bytes and a retried push must map to the same id.
public enum Producer {
    public struct Input {
        public var raw: [UInt8]
        /// The origin in the input ("line 12", "row 40"), for warnings.
        public var origin: String
        /// The reason the worker will dead-letter it, when that is already clear here.
        public var problem: String?
    }

    /// Splits a JSON document into leads: an array of objects, one object, or JSON lines.
    public static func jsonInputs(_ input: Data) -> [Input] {
        let data = Self.withoutByteOrderMark(input)
        let trimmed = Self.trimmed(data)
        if trimmed.first == UInt8(ascii: "[") {
            if let array = try? JSONSerialization.jsonObject(with: Data(trimmed)) as? [Any] {
                return array.enumerated().map { index, element in
                    let bytes = (try? JSONSerialization.data(withJSONObject: element, options: [.fragmentsAllowed, .sortedKeys])) ?? Data()
                    return Input(raw: Array(bytes), origin: "element \(index + 1)", problem: element is [String: Any] ? nil : "not a JSON object")
                }
            }
        }
        if trimmed.first == UInt8(ascii: "{"), (try? JSONSerialization.jsonObject(with: Data(trimmed))) is [String: Any] {
            return [Input(raw: trimmed, origin: "document", problem: nil)]
        }

        var inputs: [Input] = []
        var lineNumber = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var bytes = Array(line)
            if bytes.last == UInt8(ascii: "\r") {
                bytes.removeLast()
            }
            guard !Self.trimmed(Data(bytes)).isEmpty else { continue }
            let parsed = try? JSONSerialization.jsonObject(with: Data(bytes))
            inputs.append(Input(raw: bytes, origin: "line \(lineNumber)", problem: parsed is [String: Any] ? nil : "not a JSON object"))
        }
        return inputs
    }

    /// Reads a CSV file with a header row; each row becomes a JSON object keyed by the header
    /// (a column named in `renames` gets the new field name), with the `idColumn` value as `id`.
    public static func csvInputs(_ input: Data, idColumn: String, renames: [String: String] = [:]) throws -> [Input] {
        let data = Self.withoutByteOrderMark(input)
        guard let text = String(data: data, encoding: .utf8) else {
            throw PoolError("the CSV file is not valid UTF-8; export it as UTF-8")
        }
        var rows = CSVReader.rows(text)
        guard !rows.isEmpty else {
            throw PoolError("the CSV file is empty; it needs a header row and one row per lead")
        }
        let columns = rows.removeFirst()
        if let missing = renames.keys.sorted().first(where: { !columns.contains($0) }) {
            throw PoolError("column \(Identifiers.quoted(missing)) of --rename not found in the CSV header; columns are \(columns.prefix(12).joined(separator: ", "))")
        }
        guard let idIndex = columns.firstIndex(of: idColumn) else {
            throw PoolError("column \(Identifiers.quoted(idColumn)) not found in the CSV header; columns are \(columns.prefix(12).joined(separator: ", "))")
        }
        let header = columns.map { renames[$0] ?? $0 }

        var inputs: [Input] = []
        for (index, row) in rows.enumerated() where !(row.count == 1 && row[0].isEmpty) {
            // An empty id cell leaves the lead without an id, so the worker generates one.
            let id = idIndex < row.count ? row[idIndex] : ""
            var pairs: [String] = id.isEmpty ? [] : ["\"id\":\(JSONText.quote(id))"]
            for (column, name) in header.enumerated() where column != idIndex && name != "id" {
                pairs.append("\(JSONText.quote(name)):\(JSONText.quote(column < row.count ? row[column] : ""))")
            }
            inputs.append(Input(raw: Array("{\(pairs.joined(separator: ","))}".utf8), origin: "row \(index + 2)", problem: nil))
        }
        return inputs
    }

    /// Adds `"created_at": nowMillis` to a valid object that has an `id` but no `created_at`.
    public static func stamped(_ input: Input, nowMillis: Int64) -> [UInt8] {
        guard input.problem == nil,
            let object = try? JSONSerialization.jsonObject(with: Data(input.raw)) as? [String: Any],
            object["created_at"] == nil,
            object["id"] is String,
            let brace = input.raw.firstIndex(of: UInt8(ascii: "{"))
        else {
            return input.raw
        }
        // The object has an id, so a comma always follows the inserted field.
        let insert = Array("\"created_at\":\(nowMillis),".utf8)
        var raw = input.raw
        raw.insert(contentsOf: insert, at: brace + 1)
        return raw
    }

    /// LPUSHes the leads in pipelined chunks; calls `progress` after each chunk.
    public static func push(
        _ inputs: [Input], client: PoolClient, stamp: Bool = true, progress: (Int, Int) -> Void = { _, _ in }
    ) throws {
        let chunkSize = 500
        var sent = 0
        while sent < inputs.count {
            let chunk = inputs[sent..<min(sent + chunkSize, inputs.count)]
            let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
            let commands = chunk.map { input in
                [Array("LPUSH".utf8), Array(client.keys.incoming.utf8), stamp ? Self.stamped(input, nowMillis: nowMillis) : input.raw]
            }
            let replies = try client.connection.pipeline(commands)
            if let failure = replies.first(where: { if case .error = $0 { return true } else { return false } }),
                case .error(let message) = failure
            {
                throw RedisError(.server, message, command: "LPUSH")
            }
            sent += chunk.count
            progress(sent, inputs.count)
        }
    }

    /// Drops a UTF-8 byte order mark, which some Windows editors write at the start of a file.
    private static func withoutByteOrderMark(_ data: Data) -> Data {
        let mark: [UInt8] = [0xEF, 0xBB, 0xBF]
        if data.starts(with: mark) {
            return data.dropFirst(mark.count)
        }
        return data
    }

    private static func trimmed(_ data: Data) -> [UInt8] {
        let bytes = Array(data)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return []
        }
        return Array(bytes[first...last])
    }
}

/// JSON string quoting for text built by hand.
enum JSONText {
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// RFC 4180 CSV: quoted fields may hold commas, quotes (doubled) and line breaks.
enum CSVReader {
    static func rows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil

        while let scalar = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if scalar == "\"" {
                    let next = iterator.next()
                    if next == "\"" {
                        field.unicodeScalars.append("\"")
                    } else {
                        quoted = false
                        pending = next
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"":
                quoted = true
            case ",":
                row.append(field)
                field = ""
            case "\r":
                continue
            case "\n":
                row.append(field)
                rows.append(row)
                row = []
                field = ""
            default:
                field.unicodeScalars.append(scalar)
            }
        }
        if !field.isEmpty || !row.isEmpty {
            row.append(field)
            rows.append(row)
        }
        return rows
    }
}
