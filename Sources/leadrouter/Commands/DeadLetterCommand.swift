import Foundation
import LeadRouting

/// `dlq list|retry|drop`: inspect and act on the dead-letter list.
enum DeadLetterCommand {
    static func run(_ tail: [String], _ context: Context) throws {
        guard let action = tail.first else {
            throw UsageError("missing dlq action: list, retry ID|--all or drop ID|--all")
        }
        let rest = Array(tail.dropFirst())
        switch action {
        case "list":
            let arguments = try Arguments(rest, command: "dlq list", options: ["--limit"], flags: ["--json"])
            _ = try arguments.expect([], command: "dlq list")
            let limit = try arguments.integer("--limit", range: 1...100_000) ?? 50
            let entries = try context.connect().deadLetters(limit: limit)
            if arguments.has("--json") {
                let objects: [[String: Any]] = entries.map {
                    ["id": $0.id, "reason": $0.reason, "lead_id": $0.leadID ?? NSNull(), "at": $0.atMillis, "bytes": $0.raw.count]
                }
                print(String(decoding: try JSONSerialization.data(withJSONObject: objects, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            guard !entries.isEmpty else {
                print("the dead-letter list of pool \(context.keys.pool) is empty")
                return
            }
            let idWidth = max(2, entries.map(\.id.count).max() ?? 2)
            let leadWidth = max(7, entries.map { ($0.leadID ?? "-").count }.max() ?? 7)
            func pad(_ text: String, _ width: Int) -> String {
                text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0)
            }
            print("\(pad("id", idWidth))  \(pad("time", 20))  \(pad("lead id", leadWidth))  \(pad("bytes", 8))  reason")
            for entry in entries {
                let when = Date(timeIntervalSince1970: Double(entry.atMillis) / 1000).formatted(Date.ISO8601FormatStyle())
                // The raw input may hold personal data, so only its size is shown.
                print("\(pad(entry.id, idWidth))  \(pad(when, 20))  \(pad(entry.leadID ?? "-", leadWidth))  \(pad(String(entry.raw.count), 8))  \(entry.reason)")
            }
        case "retry", "drop":
            let arguments = try Arguments(rest, command: "dlq \(action)", flags: ["--all"])
            let id: String?
            if arguments.has("--all") {
                _ = try arguments.expect([], command: "dlq \(action) --all")
                id = nil
            } else {
                id = try arguments.expect(["ID"], command: "dlq \(action)")[0]
                try Identifiers.validateLead(id!)
            }
            let client = try context.connect()
            if action == "retry" {
                let count = try client.retryDeadLetters(id: id)
                print("put \(counted(count, "dead-letter entry", plural: "dead-letter entries")) back on \(context.keys.incoming)")
            } else {
                let count = try client.dropDeadLetters(id: id)
                print("dropped \(counted(count, "dead-letter entry", plural: "dead-letter entries"))")
            }
        default:
            throw UsageError("unknown dlq action \(Identifiers.quoted(action)); use list, retry or drop")
        }
    }
}
