import Foundation
import RedisClient
import Synchronization

/// Counters of one worker process in Prometheus text format. Label values are pool, group,
/// method and manager names, which the validators restrict to safe characters; payload fields
/// never become labels.
public final class WorkerMetrics: Sendable {
    struct AssignedKey: Hashable {
        let group: String
        let method: String
        let manager: String
    }

    struct State {
        var assigned: [AssignedKey: Int] = [:]
        var deadLettered: [String: Int] = [:]
        var duplicates = 0
        var redisErrors = 0
        var reconnects = 0
        /// Counts per upper bound of `speedBuckets`, plus the total and sum for the histogram.
        var speedCounts: [Int]
        var speedTotal = 0
        var speedSumMillis = 0
    }

    /// Speed-to-lead histogram bounds in milliseconds.
    static let speedBuckets = [1, 2, 5, 10, 25, 50, 100, 250, 1_000, 5_000, 30_000]
    private let state = Mutex(State(speedCounts: Array(repeating: 0, count: WorkerMetrics.speedBuckets.count)))

    func recordAssigned(group: String, method: String, manager: String, speedMillis: Int) {
        self.state.withLock { state in
            state.assigned[AssignedKey(group: group, method: method, manager: manager), default: 0] += 1
            for (index, bound) in Self.speedBuckets.enumerated() where speedMillis <= bound {
                state.speedCounts[index] += 1
            }
            state.speedTotal += 1
            state.speedSumMillis += speedMillis
        }
    }

    func recordDeadLetter(reason: String) {
        let label = Self.reasonLabel(reason)
        self.state.withLock { $0.deadLettered[label, default: 0] += 1 }
    }

    func recordDuplicate() {
        self.state.withLock { $0.duplicates += 1 }
    }

    func recordRedisError(reconnect: Bool) {
        self.state.withLock { state in
            state.redisErrors += 1
            if reconnect {
                state.reconnects += 1
            }
        }
    }

    /// A short label for a rejection reason, so the metric has a bounded set of values.
    static func reasonLabel(_ reason: String) -> String {
        let table: [(String, String)] = [
            ("too large", "too_large"), ("is empty", "empty"), ("UTF-8", "invalid_utf8"), ("nested deeper", "too_deep"),
            ("not valid JSON", "invalid_json"), ("not a JSON object", "not_an_object"), ("field id", "invalid_id"),
            ("created_at", "invalid_created_at"), ("routing needs", "invalid_field"), ("poison", "poison"),
        ]
        return table.first { reason.contains($0.0) }?.1 ?? "other"
    }

    /// Renders the counters, plus the pool's waiting and in-flight gauges read from Redis now.
    public func render(pool: String, waiting: Int?, inFlight: Int?) -> String {
        let state = self.state.withLock { $0 }
        var lines: [String] = []
        let poolLabel = "pool=\"\(pool)\""

        lines.append("# HELP leadrouter_leads_assigned_total Leads this worker assigned.")
        lines.append("# TYPE leadrouter_leads_assigned_total counter")
        for (key, count) in state.assigned.sorted(by: { ($0.key.group, $0.key.manager) < ($1.key.group, $1.key.manager) }) {
            lines.append("leadrouter_leads_assigned_total{\(poolLabel),group=\"\(key.group)\",method=\"\(key.method)\",manager=\"\(key.manager)\"} \(count)")
        }
        lines.append("# HELP leadrouter_leads_dead_lettered_total Invalid leads this worker moved to the dead-letter list.")
        lines.append("# TYPE leadrouter_leads_dead_lettered_total counter")
        for (reason, count) in state.deadLettered.sorted(by: { $0.key < $1.key }) {
            lines.append("leadrouter_leads_dead_lettered_total{\(poolLabel),reason=\"\(reason)\"} \(count)")
        }
        lines.append("# HELP leadrouter_leads_duplicate_total Leads whose id was already assigned; nothing changed.")
        lines.append("# TYPE leadrouter_leads_duplicate_total counter")
        lines.append("leadrouter_leads_duplicate_total{\(poolLabel)} \(state.duplicates)")
        if let waiting {
            lines.append("# HELP leadrouter_leads_waiting Leads of the pool waiting for capacity.")
            lines.append("# TYPE leadrouter_leads_waiting gauge")
            lines.append("leadrouter_leads_waiting{\(poolLabel)} \(waiting)")
        }
        if let inFlight {
            lines.append("# HELP leadrouter_leads_in_flight Leads of the pool taken by a worker and not yet committed.")
            lines.append("# TYPE leadrouter_leads_in_flight gauge")
            lines.append("leadrouter_leads_in_flight{\(poolLabel)} \(inFlight)")
        }
        lines.append("# HELP leadrouter_speed_to_lead_seconds Time from created_at (or receipt) to assignment.")
        lines.append("# TYPE leadrouter_speed_to_lead_seconds histogram")
        for (index, bound) in Self.speedBuckets.enumerated() {
            lines.append("leadrouter_speed_to_lead_seconds_bucket{\(poolLabel),le=\"\(Double(bound) / 1000)\"} \(state.speedCounts[index])")
        }
        lines.append("leadrouter_speed_to_lead_seconds_bucket{\(poolLabel),le=\"+Inf\"} \(state.speedTotal)")
        lines.append("leadrouter_speed_to_lead_seconds_sum{\(poolLabel)} \(Double(state.speedSumMillis) / 1000)")
        lines.append("leadrouter_speed_to_lead_seconds_count{\(poolLabel)} \(state.speedTotal)")
        lines.append("# HELP leadrouter_redis_errors_total Failed Redis calls (connection losses and error replies).")
        lines.append("# TYPE leadrouter_redis_errors_total counter")
        lines.append("leadrouter_redis_errors_total{\(poolLabel)} \(state.redisErrors)")
        lines.append("# HELP leadrouter_redis_reconnects_total Times this worker lost its Redis connection and had to reopen it.")
        lines.append("# TYPE leadrouter_redis_reconnects_total counter")
        lines.append("leadrouter_redis_reconnects_total{\(poolLabel)} \(state.reconnects)")
        return lines.joined(separator: "\n") + "\n"
    }
}
