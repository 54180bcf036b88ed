import Foundation
import RedisClient

/// One thread of a worker: takes leads from the incoming list and commits their assignments,
/// with its own Redis connection and in-flight list. Reconnects with capped, jittered backoff
/// and logs one line when Redis goes away and one when it is back.
struct LeadLoop {
    let worker: Worker
    let index: Int

    var threadID: String { self.worker.threadIDs[self.index] }
    var inFlightKey: String { self.worker.inFlightKey(thread: self.index) }

    /// How long a blocking pop waits before the loop checks for a stop request again.
    static let blockSeconds = 1.0

    func run() {
        var connection: RedisConnection?
        var backoff = Backoff()
        var outage: RedisError?
        var repeatedErrors = 0
        // Leads taken into the in-flight list but not yet committed. After a reconnect they are
        // reread from the list, and the commit is retried (it is idempotent: see AssignScript).
        var inHand: [[UInt8]] = []
        var takenAt: Int64 = 0

        while !self.worker.isStopping || !inHand.isEmpty {
            do {
                if connection == nil {
                    connection = try RedisConnection(url: self.worker.url)
                    // A reply lost with the old connection may hide leads that Redis did move
                    // into our in-flight list (a take) or did commit (an assignment). The list is
                    // the truth: hold exactly what it contains.
                    if let redis = connection {
                        inHand = try self.leadsInFlight(redis)
                        takenAt = 0
                    }
                }
                guard let redis = connection else { continue }
                if let lost = outage {
                    self.worker.logger.info("reconnected to Redis", [(Logger.Key.worker, self.threadID), ("after", lost.message)])
                    outage = nil
                }

                if inHand.isEmpty {
                    if self.worker.isStopping { break }
                    (inHand, takenAt) = try self.take(redis)
                }
                if !inHand.isEmpty {
                    try LeadHandler(worker: self.worker, connection: redis, inFlightKey: self.inFlightKey).handle(inHand, takenAt: takenAt)
                    inHand = []
                }
                backoff.reset()
                repeatedErrors = 0
            } catch let error as RedisError {
                self.worker.metrics.recordRedisError(reconnect: error.needsReconnect && outage == nil)
                if error.needsReconnect {
                    connection?.close()
                    connection = nil
                    if outage == nil {
                        self.worker.logger.warning("lost Redis connection; retrying with backoff", [
                            (Logger.Key.worker, self.threadID), (Logger.Key.error, error.description),
                        ])
                        outage = error
                    }
                } else {
                    // Server errors (OOM with noeviction, a script error) leave the leads in the
                    // in-flight list; log the first of a burst, then one line per 100.
                    if repeatedErrors % 100 == 0 {
                        self.worker.logger.error("assignment failed; leads stay in flight and will be retried", [
                            (Logger.Key.worker, self.worker.id), (Logger.Key.error, error.description),
                            ("repeats", String(repeatedErrors)),
                        ])
                    }
                    repeatedErrors += 1
                }
                if self.worker.isStopping {
                    // Asked to stop while Redis fails: the in-flight list still holds the leads,
                    // and the stop's release (or, if Redis stays away, another worker's recovery
                    // once our heartbeat expires) gives them back to the incoming list.
                    break
                }
                self.worker.pause(backoff.nextDelay())
            } catch {
                self.worker.logger.error("unexpected error in lead loop", [(Logger.Key.worker, self.worker.id), (Logger.Key.error, "\(error)")])
                self.worker.pause(backoff.nextDelay())
            }
        }
        connection?.close()
    }

    /// Reads the leads in this thread's in-flight list, oldest first (the list is pushed on the left).
    private func leadsInFlight(_ redis: RedisConnection) throws -> [[UInt8]] {
        let reply = try redis.command(["LRANGE", self.inFlightKey, "0", "-1"])
        return (reply.elements ?? []).compactMap(\.bytes).reversed()
    }

    /// Takes a batch without blocking when a backlog exists; otherwise blocks up to one second
    /// for the next lead. Returns the leads and the Redis time they were taken (0 = unknown).
    private func take(_ redis: RedisConnection) throws -> ([[UInt8]], Int64) {
        let keys = self.worker.keys
        let reply = try redis.evaluate(
            QueueScripts.take,
            keys: [keys.incoming, self.inFlightKey, keys.workers, keys.redelivered],
            arguments: [keys.prefix, String(self.worker.options.batchSize), self.threadID, self.worker.descriptionJSON]
        )
        let elements = reply.elements ?? []
        let takenAt = elements.first?.integer ?? 0
        let leads = elements.dropFirst().compactMap(\.bytes)
        if !leads.isEmpty {
            return (Array(leads), takenAt)
        }

        let moved = try redis.blockingCommand(
            ["BLMOVE", keys.incoming, self.inFlightKey, "RIGHT", "LEFT", String(Self.blockSeconds)].map { Array($0.utf8) },
            blockSeconds: Self.blockSeconds
        )
        guard let lead = moved.bytes else {
            return ([], 0)
        }
        return ([lead], 0)
    }
}
