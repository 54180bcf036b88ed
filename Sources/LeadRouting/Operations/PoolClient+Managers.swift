import Foundation
import RedisClient

/// A manager as `manager list` and `status` show it.
public struct ManagerInfo: Sendable, Equatable {
    public var id: String
    public var active: Bool
    public var groups: [String]
    public var open: Int
    public var maxOpen: Int?
    public var claimed: Int
    public var emptyFields: Double?
    public var metrics: [String: Double]
    public var assignedTotal: Int
    public var assignedToday: Int
    public var turn: Int
}

/// CRM data `manager set` writes; nil leaves a field as it is.
public struct ManagerUpdate: Sendable {
    public var openDeals: Int?
    public var emptyFields: Double?
    public var maxOpen: Int?
    public var metrics: [(name: String, value: Double)] = []

    public init() {}

    var isEmpty: Bool {
        self.openDeals == nil && self.emptyFields == nil && self.maxOpen == nil && self.metrics.isEmpty
    }
}

extension PoolClient {
    /// Adds a manager (on, with no open leads) or updates an existing one's groups and cap.
    /// Returns "added" or "updated".
    public func addManager(_ id: String, groups: [String], maxOpen: Int?) throws -> String {
        let groupList = groups.isEmpty ? [PoolConfig.defaultGroup] : groups
        let reply = try self.run(ManagerScripts.add, [id, groupList.joined(separator: ","), maxOpen.map(String.init) ?? ""])
        return reply.text ?? ""
    }

    public func removeManager(_ id: String) throws {
        guard try self.run(ManagerScripts.remove, [id]).integer == 1 else {
            throw PoolError("manager \(id) not found; list managers with `leadrouter manager list`")
        }
    }

    /// Switches a manager on or off; an off manager is skipped by every group at once.
    public func setManager(_ id: String, active: Bool) throws {
        guard try self.run(ManagerScripts.set, [id, "active", active ? "1" : "0"]).integer == 1 else {
            throw PoolError("manager \(id) not found; add it with `leadrouter manager add \(id)`")
        }
    }

    /// Writes CRM data: the open-deal count (absolute, replacing the count), the share of empty
    /// fields, the manager's own cap and metrics.
    public func updateManager(_ id: String, _ update: ManagerUpdate) throws {
        guard !update.isEmpty else {
            throw UsageError("nothing to set; give --open-deals, --empty-fields, --max-open or --metric NAME=VALUE")
        }
        var pairs: [String] = []
        if let value = update.openDeals { pairs += ["open", String(value)] }
        if let value = update.emptyFields { pairs += ["empty_fields", String(value)] }
        if let value = update.maxOpen { pairs += ["max_open", String(value)] }
        for metric in update.metrics {
            pairs += ["m:\(metric.name)", String(metric.value)]
        }
        guard try self.run(ManagerScripts.set, [id] + pairs).integer == 1 else {
            throw PoolError("manager \(id) not found; add it with `leadrouter manager add \(id)`")
        }
    }

    /// Every manager in turn order (join order), with counters and today's assignments.
    public func managers(today: String) throws -> [ManagerInfo] {
        let flat = try self.connection.command(["ZRANGE", self.keys.managers, "0", "-1", "WITHSCORES"]).elements ?? []
        var ids: [(String, Int)] = []
        var index = 0
        while index + 1 < flat.count {
            ids.append((flat[index].text ?? "", Int(flat[index + 1].integer ?? flat[index + 1].double.map { Int64($0) } ?? 0)))
            index += 2
        }
        guard !ids.isEmpty else { return [] }

        var commands = ids.map { [Array("HGETALL".utf8), Array(self.keys.manager($0.0).utf8)] }
        commands.append([Array("HGETALL".utf8), Array(self.keys.daily(today).utf8)])
        let replies = try self.connection.pipeline(commands)
        let daily = replies.last?.fieldMap ?? [:]

        return zip(ids, replies).map { entry, reply in
            let fields = reply.fieldMap
            var metrics: [String: Double] = [:]
            for (key, value) in fields where key.hasPrefix("m:") {
                metrics[String(key.dropFirst(2))] = value.double
            }
            return ManagerInfo(
                id: entry.0,
                active: fields["active"]?.text == "1",
                groups: (fields["groups"]?.text ?? "").split(separator: ",").map(String.init),
                open: Int(fields["open"]?.integer ?? 0),
                maxOpen: fields["max_open"]?.integer.map { Int($0) },
                claimed: Int(fields["claimed"]?.integer ?? 0),
                emptyFields: fields["empty_fields"]?.double,
                metrics: metrics,
                assignedTotal: Int(fields["assigned_total"]?.integer ?? 0),
                assignedToday: Int(daily[entry.0]?.integer ?? 0),
                turn: entry.1
            )
        }
    }
}
