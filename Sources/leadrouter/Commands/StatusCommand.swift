import Foundation
import LeadRouting

enum StatusCommand {
    static func run(_ tail: [String], _ context: Context) throws {
        let arguments = try Arguments(tail, command: "status", options: ["--interval"], flags: ["--json", "--watch"])
        _ = try arguments.expect([], command: "status")
        let interval = try arguments.number("--interval", range: 0.2...3600) ?? 1
        let client = try context.connect()

        guard arguments.has("--watch") else {
            try self.printOnce(client, json: arguments.has("--json"))
            return
        }
        // A terminal gets a redrawn screen; a pipe or file gets one snapshot after another.
        let terminal = isatty(STDOUT_FILENO) == 1
        while true {
            if terminal {
                print("\u{1B}[H\u{1B}[2J", terminator: "")
            }
            if !arguments.has("--json") {
                let now = Date().formatted(Date.ISO8601FormatStyle())
                print("updated \(now), every \(interval) s; Ctrl-C to stop")
            }
            try self.printOnce(client, json: arguments.has("--json"))
            if !terminal {
                print("")
            }
            // fflush(NULL) flushes every stream, so a pipe receives each snapshot at once.
            fflush(nil)
            Thread.sleep(forTimeInterval: interval)
        }
    }

    private static func printOnce(_ client: PoolClient, json: Bool) throws {
        let status = try client.status()
        if json {
            let data = try JSONSerialization.data(withJSONObject: status.jsonObject(), options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(StatusView.render(status))
        }
    }
}

/// Text rendering of a pool snapshot.
enum StatusView {
    static func render(_ status: PoolStatus) -> String {
        var lines: [String] = []
        lines.append("pool \(status.pool)   incoming \(status.incoming)   in flight \(status.processing)   waiting \(status.waiting)   manual \(status.manual)   open \(status.open)   dead \(status.dead)")
        lines.append(self.workerLine(status))
        lines.append(self.speedLine(status))

        lines.append("")
        lines += self.groupLines(status)

        lines.append("")
        lines.append(self.managerTable(status, bars: true))
        return lines.joined(separator: "\n")
    }

    static func workerLine(_ status: PoolStatus) -> String {
        let live = status.workers.filter { $0.heartbeatTTL > 0 }
        var line = "workers: \(live.count) live"
        guard !status.workers.isEmpty else { return line }

        let details = status.workers.prefix(8).map { worker in
            let heartbeat = worker.heartbeatTTL > 0 ? String(format: "heartbeat expires in %.1fs", Double(worker.heartbeatTTL) / 1000) : "heartbeat expired"
            return "\(worker.id) (in flight \(worker.inFlight), \(heartbeat))"
        }
        line += ": " + details.joined(separator: ", ")
        if status.workers.count > 8 {
            line += ", …"
        }
        return line
    }

    static func speedLine(_ status: PoolStatus) -> String {
        guard let p50 = status.percentile(0.5), let p99 = status.percentile(0.99), let max = status.recentSpeeds.last else {
            return "speed-to-lead: no assignments yet"
        }
        return "speed-to-lead over the last \(status.recentSpeeds.count) assignments: p50 \(p50) ms, p99 \(p99) ms, max \(max) ms; \(status.assignedLastMinute) assigned in the last minute"
    }

    /// Lists each configured group with its settings and the managers it would skip now.
    static func groupLines(_ status: PoolStatus) -> [String] {
        var lines: [String] = []
        for group in status.groups {
            var settings = [group.method]
            if let cap = group.maxOpen { settings.append("max_open \(cap)") }
            if let gate = group.maxEmptyFields { settings.append("max_empty_fields \(gate)") }
            if let fallback = group.fallback { settings.append("fallback \(fallback)") }
            var line = "group \(group.name) (\(settings.joined(separator: ", "))): \(counted(group.members, "manager")), "
            line += "\(group.members - group.skipped.count) eligible now, \(counted(group.assignedRecently, "recent assignment"))"
            lines.append(line)
            if !group.skipped.isEmpty {
                let shown = group.skipped.prefix(6).map { "\($0.id) \($0.reason)" }.joined(separator: "; ")
                let more = group.skipped.count > 6 ? "; \(group.skipped.count - 6) more" : ""
                lines.append("    skipped now: \(shown)\(more)")
            }
        }
        return lines
    }

    static func managerTable(_ status: PoolStatus, bars: Bool) -> String {
        guard !status.managers.isEmpty else {
            return "no managers; add one with `leadrouter manager add ID --groups GROUP`"
        }
        let total = max(1, status.managers.reduce(0) { $0 + $1.assignedTotal })
        let topShare = Double(status.managers.map(\.assignedTotal).max() ?? 0) / Double(total)
        let idWidth = max(7, status.managers.map(\.id.count).max() ?? 7)
        let groupWidth = min(28, max(6, status.managers.map { $0.groups.joined(separator: ",").count }.max() ?? 6))

        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        func padLeft(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
        }

        var header = pad("manager", idWidth) + "  on   " + pad("groups", groupWidth) + "  " + padLeft("open/max", 9) + "  " + padLeft("empty", 5) + "  " + padLeft("rating", 6) + "  " + padLeft("today", 5) + "  " + padLeft("total", 6)
        if bars {
            header += "  share"
        }
        var lines = [header]
        for manager in status.managers {
            var groups = manager.groups.joined(separator: ",")
            if groups.count > groupWidth {
                groups = String(groups.prefix(groupWidth - 1)) + "…"
            }
            let cap = manager.maxOpen.map { "\(manager.open)/\($0)" } ?? "\(manager.open)/-"
            let empty = manager.emptyFields.map { String(format: "%.2f", $0) } ?? "-"
            let rating = status.ratings[manager.id].map { String(format: "%.2f", $0) } ?? "-"
            var line = pad(manager.id, idWidth) + "  " + (manager.active ? "on " : "off") + "  " + pad(groups, groupWidth) + "  "
            line += padLeft(cap, 9) + "  " + padLeft(empty, 5) + "  " + padLeft(rating, 6) + "  "
            line += padLeft(String(manager.assignedToday), 5) + "  " + padLeft(String(manager.assignedTotal), 6)
            if bars {
                let share = Double(manager.assignedTotal) / Double(total)
                let width = topShare > 0 ? Int((share / topShare * 20).rounded()) : 0
                line += "  " + String(repeating: "█", count: width) + String(repeating: "·", count: 20 - width) + String(format: " %5.1f%%", share * 100)
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }
}
