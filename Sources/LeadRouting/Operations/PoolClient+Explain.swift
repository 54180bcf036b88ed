import Foundation

extension PoolClient {
    /// Renders the lead's record and trace as text for a person: where it is, who got it and why the
    /// other candidates were skipped.
    public func explain(_ id: String) throws -> String {
        guard let record = try self.leadRecord(id) else {
            // An invalid lead has no record, but its dead-letter entry may name it.
            if let entry = try self.deadLetters(limit: 10_000).first(where: { $0.leadID == id }) {
                throw PoolError("lead \(id) was rejected and is in the dead-letter list as \(entry.id): \(entry.reason)")
            }
            throw PoolError("lead \(id) not found in pool \(self.keys.pool); check the id and --pool")
        }
        let status = record["status"] ?? "unknown"
        var lines: [String] = []
        switch status {
        case "assigned":
            lines.append("lead \(id): assigned to \(record["manager"] ?? "?") (group \(record["group"] ?? "?"), \(record["method"] ?? "?"))")
        case "waiting":
            lines.append("lead \(id): waiting - no manager of group \(record["group"] ?? "?") or its fallbacks can take it yet")
        case "manual":
            lines.append("lead \(id): waiting for a supervisor in group \(record["group"] ?? "?") (leadrouter assign \(id) MANAGER)")
        case "open":
            lines.append("lead \(id): open to claim in group \(record["group"] ?? "?") (leadrouter claim MANAGER \(id))")
        case "closed":
            lines.append("lead \(id): closed; was assigned to \(record["manager"].flatMap { $0.isEmpty ? nil : $0 } ?? "nobody")")
        default:
            lines.append("lead \(id): \(status)")
        }

        if let received = record["received_at"].flatMap(Int64.init) {
            var line = "  received \(Self.timestamp(received))"
            if let created = record["created_at"].flatMap(Int64.init) {
                line += " (created \(Self.timestamp(created)))"
            }
            if let assigned = record["assigned_at"].flatMap(Int64.init) {
                line += ", assigned \(Self.timestamp(assigned))"
            }
            if let speed = record["speed_ms"] {
                line += ", speed-to-lead \(speed) ms"
            }
            lines.append(line)
        }
        if let previous = record["previous_manager"], !previous.isEmpty {
            lines.append("  reassigned by hand from \(previous)")
        }

        guard let traceText = record["trace"], let data = traceText.data(using: .utf8),
            let trace = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else {
            lines.append("  (no routing trace recorded)")
            return lines.joined(separator: "\n")
        }
        if let route = trace["route"] as? String, !route.isEmpty {
            lines.append("  route: \(route)")
        }
        for key in ["timeout", "retry"] {
            if let note = trace[key] as? String {
                lines.append("  \(note)")
            }
        }
        for step in trace["steps"] as? [[String: Any]] ?? [] {
            let group = step["group"] as? String ?? "?"
            let method = step["method"] as? String ?? "?"
            let outcome = step["outcome"] as? String ?? ""
            lines.append("  group \(group) (\(method)): \(outcome)")
            for candidate in step["candidates"] as? [[Any]] ?? [] {
                guard candidate.count == 2, let who = candidate[0] as? String, let why = candidate[1] as? String else { continue }
                let padded = who.padding(toLength: max(who.count, 12), withPad: " ", startingAt: 0)
                let verb = why.hasPrefix("chosen") || why.hasPrefix("not their") || why.hasPrefix("more") || why.hasPrefix("lower") ? "" : "skipped: "
                lines.append("    \(padded) \(verb)\(why)")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func timestamp(_ millis: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(millis) / 1000)
        return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
