import Foundation
import RedisClient

/// A snapshot of a pool for `leadrouter status`: queue depths, live workers, managers and
/// speed-to-lead over recent assignments.
public struct PoolStatus: Sendable {
    public struct WorkerInfo: Sendable {
        public var id: String
        public var inFlight: Int
        /// Milliseconds until the heartbeat expires; negative when it already has.
        public var heartbeatTTL: Int
    }

    public var pool: String
    public var incoming = 0
    public var processing = 0
    public var waiting = 0
    public var manual = 0
    public var open = 0
    public var dead = 0
    public var workers: [WorkerInfo] = []
    public var managers: [ManagerInfo] = []
    /// Rating per manager id in the first weighted group the manager belongs to.
    public var ratings: [String: Double] = [:]
    /// Speed-to-lead in ms of the most recent assignments (up to `recentLimit`), sorted.
    public var recentSpeeds: [Int] = []
    /// Assignments in the last 60 seconds.
    public var assignedLastMinute = 0
    public var groups: [GroupSummary] = []

    public static let recentLimit = 10_000

    public func percentile(_ fraction: Double) -> Int? {
        guard !self.recentSpeeds.isEmpty else { return nil }
        let rank = Int((fraction * Double(self.recentSpeeds.count)).rounded(.up)) - 1
        return self.recentSpeeds[min(max(rank, 0), self.recentSpeeds.count - 1)]
    }

    /// Returns the same snapshot as one JSON object, for scripts (`status --json`).
    public func jsonObject() -> [String: Any] {
        let managers: [[String: Any]] = self.managers.map { manager in
            var object: [String: Any] = [
                "id": manager.id, "active": manager.active, "groups": manager.groups, "open": manager.open,
                "assigned_total": manager.assignedTotal, "assigned_today": manager.assignedToday,
                "claimed": manager.claimed, "metrics": manager.metrics,
            ]
            object["max_open"] = manager.maxOpen.map { $0 as Any } ?? NSNull()
            object["empty_fields"] = manager.emptyFields.map { $0 as Any } ?? NSNull()
            object["rating"] = self.ratings[manager.id].map { $0 as Any } ?? NSNull()
            return object
        }
        let workers: [[String: Any]] = self.workers.map {
            ["id": $0.id, "in_flight": $0.inFlight, "heartbeat_ttl_ms": $0.heartbeatTTL]
        }
        var speed: [String: Any] = ["count": self.recentSpeeds.count]
        speed["p50"] = self.percentile(0.5).map { $0 as Any } ?? NSNull()
        speed["p99"] = self.percentile(0.99).map { $0 as Any } ?? NSNull()
        speed["max"] = self.recentSpeeds.last.map { $0 as Any } ?? NSNull()
        return [
            "pool": self.pool, "incoming": self.incoming, "processing": self.processing, "waiting": self.waiting,
            "manual": self.manual, "open": self.open, "dead": self.dead, "workers": workers, "managers": managers,
            "speed_to_lead_ms": speed, "assigned_last_minute": self.assignedLastMinute,
            "groups": self.groups.map { group -> [String: Any] in
                [
                    "name": group.name, "method": group.method, "members": group.members,
                    "assigned_recently": group.assignedRecently,
                    "skipped": group.skipped.map { ["id": $0.id, "reason": $0.reason] },
                ]
            },
        ]
    }
}

extension PoolClient {
    /// Queue depths and workers only: the cheap part of `status`, for metrics scrapes.
    public func queueDepths() throws -> PoolStatus {
        var status = PoolStatus(pool: self.keys.pool)
        let replies = try self.connection.pipeline([
            ["LLEN", self.keys.incoming], ["ZCARD", self.keys.waiting], ["HKEYS", self.keys.workers],
            ["LLEN", self.keys.redelivered],
        ].map { $0.map { Array($0.utf8) } })
        status.incoming = Int(replies[0].integer ?? 0) + Int(replies[3].integer ?? 0)
        status.waiting = Int(replies[1].integer ?? 0)
        let workerIDs = (replies[2].elements ?? []).compactMap(\.text)
        if !workerIDs.isEmpty {
            let lengths = try self.connection.pipeline(workerIDs.map { ["LLEN", self.keys.processing($0)].map { Array($0.utf8) } })
            status.processing = lengths.reduce(0) { $0 + Int($1.integer ?? 0) }
        }
        return status
    }

    /// Reads everything `status` shows. Several round trips, none of them on the lead path.
    public func status() throws -> PoolStatus {
        var status = PoolStatus(pool: self.keys.pool)
        let counts = try self.connection.pipeline([
            ["LLEN", self.keys.incoming], ["ZCARD", self.keys.waiting], ["ZCARD", self.keys.manual],
            ["ZCARD", self.keys.open], ["LLEN", self.keys.dead], ["HKEYS", self.keys.workers], ["TIME"],
            ["LLEN", self.keys.redelivered],
        ].map { $0.map { Array($0.utf8) } })
        // Leads recovered from dead workers wait in `redelivered`; to ops they are incoming too.
        status.incoming = Int(counts[0].integer ?? 0) + Int(counts[7].integer ?? 0)
        status.waiting = Int(counts[1].integer ?? 0)
        status.manual = Int(counts[2].integer ?? 0)
        status.open = Int(counts[3].integer ?? 0)
        status.dead = Int(counts[4].integer ?? 0)
        let workerIDs = (counts[5].elements ?? []).compactMap(\.text).sorted()
        let time = (counts[6].elements ?? []).compactMap(\.integer)
        let nowMillis = time.count == 2 ? time[0] * 1000 + time[1] / 1000 : Int64(Date().timeIntervalSince1970 * 1000)

        if !workerIDs.isEmpty {
            let replies = try self.connection.pipeline(workerIDs.flatMap { id in
                [["LLEN", self.keys.processing(id)], ["PTTL", self.keys.heartbeat(id)]].map { $0.map { Array($0.utf8) } }
            })
            for (index, id) in workerIDs.enumerated() {
                let inFlight = Int(replies[2 * index].integer ?? 0)
                status.processing += inFlight
                status.workers.append(.init(id: id, inFlight: inFlight, heartbeatTTL: Int(replies[2 * index + 1].integer ?? -2)))
            }
        }

        status.managers = try self.managers(today: Self.utcDate(millis: nowMillis))
        let config = try LoadedConfig.load(from: self.connection, keys: self.keys).config
        status.ratings = self.ratings(status.managers, config: config)
        var assignedByGroup: [String: Int] = [:]

        let events = try self.connection.command(["XREVRANGE", self.keys.events, "+", "-", "COUNT", String(PoolStatus.recentLimit)])
        var speeds: [Int] = []
        for entry in events.elements ?? [] {
            guard let parts = entry.elements, parts.count == 2 else { continue }
            let fields = parts[1].fieldMap
            guard let type = fields["type"]?.text, type == "assigned" || type == "claimed" else { continue }
            if let speed = fields["speed_ms"]?.integer {
                speeds.append(Int(speed))
            }
            if let group = fields["group"]?.text {
                assignedByGroup[group, default: 0] += 1
            }
            let entryMillis = Int64(parts[0].text?.split(separator: "-").first ?? "") ?? 0
            if nowMillis - entryMillis <= 60_000 {
                status.assignedLastMinute += 1
            }
        }
        status.recentSpeeds = speeds.sorted()
        status.groups = GroupSummary.summaries(config: config, managers: status.managers, assignedByGroup: assignedByGroup)
        return status
    }

    /// Ratings as the weighted selector computes them: each metric scaled by the group's
    /// maximum, weighted by the group's `rating` weights. Shown per manager for its first
    /// weighted group.
    func ratings(_ managers: [ManagerInfo], config: PoolConfig) -> [String: Double] {
        var ratings: [String: Double] = [:]
        for name in config.groups.keys.sorted() {
            guard let group = config.groups[name], group.method == .weighted || group.then == .weighted else { continue }
            let members = managers.filter { $0.groups.contains(name) }
            var maxima: [String: Double] = [:]
            for member in members {
                for (metric, _) in group.rating {
                    maxima[metric] = max(maxima[metric] ?? 0, member.metrics[metric] ?? 0)
                }
            }
            for member in members where ratings[member.id] == nil {
                var rating = 0.0
                for (metric, weight) in group.rating {
                    if let value = member.metrics[metric], let top = maxima[metric], top > 0 {
                        rating += weight * value / top
                    }
                }
                ratings[member.id] = rating
            }
        }
        return ratings
    }

    static func utcDate(millis: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(millis) / 1000)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}
