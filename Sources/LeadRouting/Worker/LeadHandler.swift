import Foundation
import RedisClient

/// Validates and routes a batch of raw leads, then commits them in one assignment script call.
/// Invalid leads go to the dead-letter list, each with its reason, in their own atomic call.
struct LeadHandler {
    let worker: Worker
    let connection: RedisConnection
    /// The in-flight list of the thread that took the batch.
    let inFlightKey: String

    func handle(_ batch: [[UInt8]], takenAt: Int64) throws {
        let loaded = self.worker.configs.current
        let keys = self.worker.keys
        let nowMillis = Int64(Date().timeIntervalSince1970 * 1000)

        var leadArguments: [[UInt8]] = []
        var valid = 0
        for raw in batch {
            switch loaded.parser.parse(raw, nowMillis: nowMillis) {
            case .success(let lead):
                let decision = loaded.config.route(lead)
                leadArguments.append(Array((lead.id ?? "").utf8))
                leadArguments.append(raw)
                leadArguments.append(Array((lead.createdAtMillis.map { String($0) } ?? "").utf8))
                leadArguments.append(Array((takenAt > 0 ? String(takenAt) : "").utf8))
                leadArguments.append(Array(decision.explanation.utf8))
                leadArguments.append(Array(decision.group.utf8))
                valid += 1
            case .failure(let rejection):
                try self.deadLetter(raw, rejection, loaded: loaded)
            }
        }
        guard valid > 0 else { return }

        let header = [keys.prefix, "new", loaded.groupsJSON, String(loaded.config.eventsMaxLength), self.inFlightKey, String(valid)]
        let reply = try self.connection.evaluate(
            AssignScript.script,
            keys: [Array(keys.incoming.utf8)],
            arguments: header.map { Array($0.utf8) } + leadArguments
        )
        self.record(AssignOutcome.parse(reply))
    }

    private func record(_ outcomes: [AssignOutcome]) {
        var counts = WorkerCounts()
        for outcome in outcomes {
            switch outcome.result {
            case "assigned":
                counts.assigned += 1
                self.worker.metrics.recordAssigned(group: outcome.group, method: outcome.method, manager: outcome.target, speedMillis: outcome.speedMillis)
                self.worker.logger.debug("lead assigned", [
                    (Logger.Key.worker, self.worker.id), (Logger.Key.lead, outcome.leadID), (Logger.Key.manager, outcome.target),
                ])
            case "duplicate":
                counts.duplicates += 1
                self.worker.metrics.recordDuplicate()
                self.worker.logger.debug("lead id seen before; nothing changed", [(Logger.Key.worker, self.worker.id), (Logger.Key.lead, outcome.leadID)])
            case "stale":
                counts.stale += 1
                self.worker.logger.warning("lead was recovered by another worker while this one was stalled; its late commit was rejected", [
                    (Logger.Key.worker, self.worker.id), (Logger.Key.lead, outcome.leadID),
                ])
            default:
                counts.queued += 1
            }
        }
        self.worker.count { total in
            total.assigned += counts.assigned
            total.duplicates += counts.duplicates
            total.stale += counts.stale
            total.queued += counts.queued
        }
    }

    private func deadLetter(_ raw: [UInt8], _ rejection: LeadRejection, loaded: LoadedConfig) throws {
        let keys = self.worker.keys
        let entry = DeadLetterEntry(raw: raw, reason: rejection.reason, leadID: rejection.leadID, worker: self.worker.id)
        let moved = try self.connection.evaluate(
            QueueScripts.deadLetter,
            keys: [Array(keys.incoming.utf8)],
            arguments: [
                Array(keys.prefix.utf8), Array(self.inFlightKey.utf8), raw, entry.json(),
                Array((rejection.leadID ?? "").utf8), Array(rejection.reason.utf8), Array(String(loaded.config.eventsMaxLength).utf8),
            ]
        )
        guard moved.integer == 1 else { return }
        self.worker.count { $0.deadLettered += 1 }
        self.worker.metrics.recordDeadLetter(reason: rejection.reason)
        // The reason may quote the lead id but never the payload.
        self.worker.logger.warning("invalid lead moved to the dead-letter list", [
            (Logger.Key.worker, self.worker.id), (Logger.Key.lead, rejection.leadID ?? "-"), ("reason", rejection.reason),
        ])
    }
}

/// One lead's result from the assignment script.
struct AssignOutcome: Equatable {
    let leadID: String
    /// assigned, waiting, manual, open, duplicate or stale.
    let result: String
    /// The manager (assigned, duplicate) or group (waiting, manual, open).
    let target: String
    /// The group and method that decided; empty for duplicate and stale leads.
    let group: String
    let method: String
    let speedMillis: Int

    static func parse(_ reply: RedisReply) -> [AssignOutcome] {
        let items = (reply.elements ?? []).map { $0.text ?? "" }
        var outcomes: [AssignOutcome] = []
        var index = 0
        while index + 5 < items.count {
            outcomes.append(AssignOutcome(
                leadID: items[index], result: items[index + 1], target: items[index + 2],
                group: items[index + 3], method: items[index + 4], speedMillis: Int(items[index + 5]) ?? 0
            ))
            index += 6
        }
        return outcomes
    }
}

/// An entry of `lr:{P}:dead`: the raw input, why it was rejected, when and by which worker.
/// Raw input that is not UTF-8 is kept as base64 so the entry itself stays valid JSON.
public struct DeadLetterEntry: Sendable {
    public let id: String
    public let raw: [UInt8]
    public let reason: String
    public let leadID: String?
    public let worker: String
    public let atMillis: Int64

    public init(raw: [UInt8], reason: String, leadID: String?, worker: String) {
        self.id = "dl-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        self.raw = raw
        self.reason = reason
        self.leadID = leadID
        self.worker = worker
        self.atMillis = Int64(Date().timeIntervalSince1970 * 1000)
    }

    public func json() -> [UInt8] {
        var object: [String: Any] = [
            "id": self.id, "reason": self.reason, "worker": self.worker, "at": self.atMillis,
        ]
        if let leadID = self.leadID {
            object["lead_id"] = leadID
        }
        if let text = String(validating: self.raw, as: UTF8.self) {
            object["raw"] = text
        } else {
            object["raw_base64"] = Data(self.raw).base64EncodedString()
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Array(data)
    }
}
