import Foundation
import RedisClient

/// The worker's housekeeping thread: heartbeat, config reload, recovery of dead workers' leads,
/// manual and claim timeouts, and routing waiting leads again. Every worker runs it; the scripts
/// it calls are atomic, so many workers doing the same pass at once handle each lead once.
final class Maintenance: @unchecked Sendable {
    // @unchecked: the connection and the timestamps below are used only by the maintenance
    // thread once `run()` starts (`beat()` is called before that, on the starting thread).
    let worker: Worker
    private var connection: RedisConnection?
    private var lastBeat = Date.distantPast
    private var lastRecovery = Date.distantPast
    private var lastWaitingPass = Date.distantPast
    private var lastWake: Int64 = -1

    static let tick = 0.1
    static let recoveryInterval = 2.0
    /// A waiting pass runs when `lr:{P}:wake` changes, and at least this often as a safety net.
    static let waitingInterval = 5.0
    static let waitingBatch = 200
    /// Waiting leads looked at per pass at most; a larger backlog continues in the next pass.
    static let waitingPassLimit = 10_000
    static let timerBatch = 200

    init(worker: Worker, connection: RedisConnection) {
        self.worker = worker
        self.connection = connection
    }

    func run() {
        var backoff = Backoff()
        var outage = false
        var repeatedErrors = 0
        while !self.worker.isStopping {
            do {
                if self.connection == nil {
                    self.connection = try RedisConnection(url: self.worker.url)
                }
                if outage {
                    self.worker.logger.info("maintenance reconnected to Redis", [(Logger.Key.worker, self.worker.id)])
                    outage = false
                }
                try self.step()
                backoff.reset()
                repeatedErrors = 0
                self.worker.pause(Self.tick)
            } catch let error as RedisError {
                if error.needsReconnect {
                    self.connection = nil
                    if !outage {
                        self.worker.logger.warning("maintenance lost Redis connection; retrying with backoff", [
                            (Logger.Key.worker, self.worker.id), (Logger.Key.error, error.description),
                        ])
                        outage = true
                    }
                } else {
                    // Server errors (OOM, a busy script) repeat until the cause goes away: log the
                    // first of a burst, then one line per 100.
                    if repeatedErrors % 100 == 0 {
                        self.worker.logger.error("maintenance step failed", [
                            (Logger.Key.worker, self.worker.id), (Logger.Key.error, error.description), ("repeats", String(repeatedErrors)),
                        ])
                    }
                    repeatedErrors += 1
                }
                self.worker.pause(backoff.nextDelay())
            } catch {
                if repeatedErrors % 100 == 0 {
                    self.worker.logger.error("maintenance step failed", [(Logger.Key.worker, self.worker.id), (Logger.Key.error, "\(error)")])
                }
                repeatedErrors += 1
                self.worker.pause(backoff.nextDelay())
            }
        }
    }

    private func step() throws {
        let now = Date()
        if now.timeIntervalSince(self.lastBeat) >= 1.0 {
            try self.beat()
        }
        // Every tick, before the waiting pass: a config change bumps `wake` too, and the pass
        // it triggers must route by the new config.
        try self.reloadConfigIfChanged()
        if now.timeIntervalSince(self.lastRecovery) >= Self.recoveryInterval {
            try self.recover(releasing: "")
            self.lastRecovery = now
        }
        try self.fireTimers()
        try self.routeWaitingIfWoken(now: now)
    }

    /// Registers each lead thread of the worker and refreshes its heartbeat key.
    func beat() throws {
        let connection = try self.open()
        let keys = self.worker.keys
        for thread in self.worker.threadIDs {
            try connection.evaluate(
                QueueScripts.heartbeat,
                keys: [keys.workers, keys.heartbeat(thread)],
                arguments: [thread, self.worker.descriptionJSON, String(self.worker.options.heartbeatMillis)]
            )
        }
        self.lastBeat = Date()
    }

    private func reloadConfigIfChanged() throws {
        let connection = try self.open()
        let current = self.worker.configs.current
        let version = try LoadedConfig.version(from: connection, keys: self.worker.keys)
        guard version != current.version else { return }
        do {
            let loaded = try LoadedConfig.load(from: connection, keys: self.worker.keys)
            self.worker.configs.replace(loaded)
            self.lastWake = -1
            self.worker.logger.info("config applied", [(Logger.Key.worker, self.worker.id), ("version", String(loaded.version))])
        } catch let error as ConfigError {
            // Only a document written around `config set` can fail here; keep the last good one.
            self.worker.configs.replace(LoadedConfig(version: version, config: current.config == .implicit ? nil : current.config))
            self.worker.logger.error("stored config is invalid; keeping the previous one", [(Logger.Key.worker, self.worker.id), (Logger.Key.error, error.description)])
        }
    }

    /// Gives dead workers' in-flight leads back to the incoming list; with `releasing` set to
    /// this worker's id, also its own (on a clean stop).
    private func recover(releasing: String) throws {
        let connection = try self.open()
        let keys = self.worker.keys
        let reply = try connection.evaluate(
            QueueScripts.recover,
            keys: [keys.incoming],
            arguments: [keys.prefix, String(self.worker.options.maxDeliveries), String(self.worker.configs.current.config.eventsMaxLength), releasing]
        )
        let counts = (reply.elements ?? []).map { $0.integer ?? 0 }
        if counts.count == 2, counts[0] + counts[1] > 0, releasing.isEmpty {
            self.worker.logger.info("recovered in-flight leads of stopped workers", [
                (Logger.Key.worker, self.worker.id), ("requeued", String(counts[0])), ("dead_lettered", String(counts[1])),
            ])
        }
    }

    /// Routes manual and claim leads whose timeout has passed by their group's `then` method.
    private func fireTimers() throws {
        let connection = try self.open()
        let loaded = self.worker.configs.current
        let keys = self.worker.keys
        try connection.evaluate(
            AssignScript.script,
            keys: [keys.incoming],
            arguments: [keys.prefix, "timeouts", loaded.groupsJSON, String(loaded.config.eventsMaxLength), "", String(Self.timerBatch)]
        )
    }

    /// Routes waiting leads again, oldest first, when something may have freed capacity.
    private func routeWaitingIfWoken(now: Date) throws {
        let connection = try self.open()
        let keys = self.worker.keys
        let wake = try connection.command(["GET", keys.wake]).integer ?? 0
        guard wake != self.lastWake || now.timeIntervalSince(self.lastWaitingPass) >= Self.waitingInterval else { return }

        self.lastWake = wake
        self.lastWaitingPass = now

        // Page through the waiting set oldest first. Leads that stay waiting keep their place, so
        // the next page starts after them; assigned ones have left the set.
        var offset = 0
        while offset < Self.waitingPassLimit, !self.worker.isStopping {
            let ids = (try connection.command(["ZRANGE", keys.waiting, String(offset), String(offset + Self.waitingBatch - 1)]).elements ?? []).compactMap(\.text)
            guard !ids.isEmpty else { return }
            let stillWaiting = try self.routeWaiting(ids, connection: connection, now: now)
            offset += stillWaiting
            if ids.count < Self.waitingBatch {
                return
            }
        }
    }

    /// Routes one page of waiting leads; returns how many of them are still waiting.
    private func routeWaiting(_ ids: [String], connection: RedisConnection, now: Date) throws -> Int {
        let keys = self.worker.keys
        let loaded = self.worker.configs.current
        let payloads = try connection.pipeline(ids.map { [Array("HGET".utf8), Array(keys.lead($0).utf8), Array("payload".utf8)] })
        var arguments: [[UInt8]] = []
        let nowMillis = Int64(now.timeIntervalSince1970 * 1000)
        for (id, payload) in zip(ids, payloads) {
            // A stored payload passed validation once; if a later config rejects it, route it
            // with no fields, which takes the default route.
            let lead: Lead
            switch loaded.parser.parse(payload.bytes ?? [], nowMillis: nowMillis) {
            case .success(let parsed):
                lead = parsed
            case .failure:
                lead = Lead(id: id, createdAtMillis: nil, fields: [:])
            }
            let decision = loaded.config.route(lead)
            arguments += [id, decision.explanation, decision.group].map { Array($0.utf8) }
        }
        let header = [keys.prefix, "waiting", loaded.groupsJSON, String(loaded.config.eventsMaxLength), "", String(ids.count)]
        let reply = try connection.evaluate(AssignScript.script, keys: [Array(keys.incoming.utf8)], arguments: header.map { Array($0.utf8) } + arguments)
        let outcomes = AssignOutcome.parse(reply)
        let assigned = outcomes.filter { $0.result == "assigned" }
        for outcome in assigned {
            self.worker.metrics.recordAssigned(group: outcome.group, method: outcome.method, manager: outcome.target, speedMillis: outcome.speedMillis)
        }
        if !assigned.isEmpty {
            self.worker.count { $0.assigned += assigned.count }
        }
        // Leads skipped because their group was full return no outcome and are still waiting;
        // leads that went to manual or open have left the set.
        let left = outcomes.filter { $0.result != "waiting" }.count
        return ids.count - left
    }

    /// On a clean stop, after every lead loop has finished: gives back whatever this worker
    /// still has in flight and deregisters it.
    func release() {
        do {
            for thread in self.worker.threadIDs {
                try self.recover(releasing: thread)
            }
        } catch {
            self.worker.logger.warning("could not release in-flight leads on stop; other workers will recover them after the heartbeat expires", [
                (Logger.Key.worker, self.worker.id), (Logger.Key.error, "\(error)"),
            ])
        }
    }

    private func open() throws -> RedisConnection {
        if let connection = self.connection {
            return connection
        }
        let connection = try RedisConnection(url: self.worker.url)
        self.connection = connection
        return connection
    }
}
