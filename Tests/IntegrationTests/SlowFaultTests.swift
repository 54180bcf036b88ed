import Foundation
import LeadRouting
import RedisClient
import Testing

/// The pool config of the poison tests: one round-robin group, and leads up to 16 MiB so a large
/// lead can stand in for one that crashes its worker.
private let largeLeadConfig = #"{"max_lead_bytes": 16777216, "routes": [{"group": "general"}], "groups": {"general": {"method": "round_robin"}}}"#

extension WorkerProcessSuites {
    /// Faults that take 12 s or more each: Redis down for seconds, a poison lead that needs three
    /// heartbeat expiries, and a stalled Redis. Run by `ops/faults`, which sets LEADROUTER_FAULTS=1.
    @Suite("Slow faults", .enabled(if: ProcessInfo.processInfo.environment["LEADROUTER_FAULTS"] == "1"))
    struct SlowFaultTests {
        @Test("Redis down for 30 s", .timeLimit(.minutes(2)))
        func redisDownForSeconds() throws {
            let redis = try PrivateRedis(["--appendonly", "yes", "--appendfsync", "everysec"])
            let pool = try FaultPool("down", url: redis.url)
            let managers = ["m1", "m2", "m3"]
            try pool.addManagers(managers)

            // Redis stops while one worker holds leads it has not committed and the other blocks
            // on an empty incoming list.
            let concurrency = 2
            let batch = try HeldBatch(pool, concurrency: concurrency, prefix: "D")
            let (workers, holder, producer, held) = (batch.workers, batch.holder, batch.producer, batch.held)
            Thread.sleep(forTimeInterval: 0.2)
            let cpuBefore = workers.map { $0.cpuSeconds() ?? 0 }
            redis.stop()
            let stoppedAt = Date()
            holder.signal(SIGCONT)
            Thread.sleep(forTimeInterval: 30)
            let cpuDuringOutage = zip(workers, cpuBefore).map { ($0.cpuSeconds() ?? 0) - $1 }
            let linesDuringOutage = workers.map { $0.logLines(startingWith: "lost Redis connection") }

            try redis.start()
            let downSeconds = Date().timeIntervalSince(stoppedAt)
            let startedAt = Date()
            try pool.redis.reconnect()
            try producer.push(300)
            #expect(try pool.waitForAssignments(of: producer.ids, timeout: 20))
            let resumedSeconds = Date().timeIntervalSince(startedAt)
            // An idle thread reconnects when its current backoff delay (at most 5 s) ends.
            let allBack = pool.waitUntil(timeout: 8) {
                workers.allSatisfy {
                    $0.logLines(startingWith: "reconnected to Redis") >= concurrency && $0.logLines(startingWith: "maintenance reconnected to Redis") >= 1
                }
            }
            let everyThreadBackSeconds = Date().timeIntervalSince(startedAt)
            #expect(allBack, "every thread of every worker logged its reconnect")

            try pool.checkFigures("Redis down", expectedIDs: producer.ids, pushed: producer.pushed, faults: 1, managers: managers,
                                  notes: String(format: "down=%.1fs held_in_flight=%d cpu_during_outage_s=%@ outage_lines=%@ all_assigned_after_start=%.1fs every_thread_reconnected_after=%.1fs",
                                                downSeconds, held, "\(cpuDuringOutage.map { String(format: "%.2f", $0) })", "\(linesDuringOutage)", resumedSeconds, everyThreadBackSeconds))
            #expect(resumedSeconds < 10, "workers resumed within the 5 s backoff cap plus recovery")
            for (index, worker) in workers.enumerated() {
                #expect(cpuDuringOutage[index] < 0.5, "CPU seconds of worker \(worker.pid) while Redis was down")
                // A line per retry would be dozens in 30 s. One outage is one line per thread.
                #expect(linesDuringOutage[index] == concurrency, "one outage line per lead loop, worker \(worker.pid)")
                #expect(worker.logLines(startingWith: "reconnected to Redis") == concurrency, "one recovery line per lead loop, worker \(worker.pid)")
                #expect(worker.logLines(startingWith: "maintenance lost Redis connection") == 1, "one outage line of the maintenance thread, worker \(worker.pid)")
                #expect(worker.logLines(startingWith: "maintenance reconnected to Redis") == 1, "one recovery line of the maintenance thread, worker \(worker.pid)")
                #expect(worker.isRunning, "worker \(worker.pid) waited for Redis")
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }
        }

        @Test("poison lead is dead-lettered after 3 deliveries", .timeLimit(.minutes(2)))
        func poisonLead() throws {
            let pool = try FaultPool("poison", url: TestRedis.urlText)
            try pool.setConfig(largeLeadConfig)
            let managers = ["m1", "m2", "m3"]
            try pool.addManagers(managers, groups: ["general"])
            let workers = try pool.startWorkers(3)
            for worker in workers {
                #expect(try pool.workerID(of: worker) != nil, "worker \(worker.pid) registered")
            }

            // Other leads keep arriving, 5 every 20 ms. Each time the poison lead is delivered,
            // the worker that has it in flight is killed and replaced.
            let producer = try BackgroundProducer(url: pool.url, keys: pool.keys, prefix: "N", batch: 5, interval: 0.02)
            producer.start()
            Thread.sleep(forTimeInterval: 0.5)
            let marker = "{\"id\":\"POISON-1\""
            try pool.push([largeLead(id: "POISON-1")])
            let pushedAt = Date()
            var kills = 0
            while Date().timeIntervalSince(pushedAt) < 60, try pool.redis.command(["LLEN", pool.keys.dead]).integer == 0 {
                kills += try pool.killHolders(ofLeadStartingWith: marker)
                Thread.sleep(forTimeInterval: 0.002)
            }
            let deadAfter = Date().timeIntervalSince(pushedAt)
            Thread.sleep(forTimeInterval: 1)
            producer.stop()

            let acknowledged = producer.acknowledged
            #expect(try pool.waitForAssignments(of: acknowledged, timeout: 20))
            let entries = try pool.deadLetters()
            let poison = entries.filter { ($0["reason"] as? String ?? "").contains("poison") }
            let innocent = poison.filter { !($0["raw"] as? String ?? "").hasPrefix(marker) }
            try pool.checkFigures("poison lead", expectedIDs: acknowledged, pushed: producer.attempted + 1, faults: kills, managers: managers,
                                  notes: String(format: "workers_killed=%d dead_letter_entries=%d poison_entries=%d innocent_poison_entries=%d dead_lettered_after=%.1fs",
                                                kills, entries.count, poison.count, innocent.count, deadAfter))
            #expect(kills == 3, "the poison lead was delivered, and killed its worker, 3 times")
            #expect(entries.count == 1, "one dead-letter entry")
            let entry = try #require(poison.first, "a dead-letter entry whose reason names a poison lead")
            #expect((entry["raw"] as? String ?? "").hasPrefix(marker), "the entry keeps the raw lead")
            #expect(innocent.isEmpty, "other leads dead-lettered as poison")
            #expect(try pool.leadSummaries()["POISON-1"] == nil, "no lead record for the poison lead")
            // ops/KEYS.md: an entry has `lead_id` when the lead had a readable id.
            #expect(entry["lead_id"] as? String == "POISON-1", "lead_id of the poison entry; entry fields: \(entry.keys.sorted())")
            for worker in pool.workers where worker.isRunning {
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }
        }

        /// A worker that crashes while handling a batch leaves the whole batch in its in-flight
        /// list, and recovery puts it back in order at the consuming end, so the next worker takes
        /// the same batch again. Each crash counts one delivery for every lead of the batch.
        @Test("poison lead's batch neighbors aren't dead-lettered", .timeLimit(.minutes(2)))
        func poisonLeadBatchNeighbours() throws {
            let pool = try FaultPool("poisonbatch", url: TestRedis.urlText)
            try pool.setConfig(largeLeadConfig)
            let managers = ["m1", "m2"]
            try pool.addManagers(managers, groups: ["general"])
            // One worker at a time. It is stopped while the leads are pushed, so its pending
            // BLMOVE gets the first lead and its next take gets all the others, the poison lead
            // in the middle, as one batch.
            let first = try pool.startWorker()
            #expect(try pool.workerID(of: first) != nil)
            Thread.sleep(forTimeInterval: 0.5)

            let marker = "{\"id\":\"POISON-2\""
            let neighbors = (1...60).map { "{\"id\":\"B\($0)\",\"source\":\"web\"}" }
            let ids = Set((1...60).map { "B\($0)" })
            first.signal(SIGSTOP)
            try pool.push(Array(neighbors[..<30]) + [largeLead(id: "POISON-2")] + Array(neighbors[30...]))
            first.signal(SIGCONT)
            let pushedAt = Date()
            var kills = 0
            while Date().timeIntervalSince(pushedAt) < 60, try pool.redis.command(["LLEN", pool.keys.dead]).integer == 0 {
                kills += try pool.killHolders(ofLeadStartingWith: marker)
                Thread.sleep(forTimeInterval: 0.002)
            }
            _ = try pool.waitUntil(timeout: 10) { try pool.nothingPending() }

            let poison = try pool.deadLetters().filter { ($0["reason"] as? String ?? "").contains("poison") }
            let innocent = poison.compactMap { $0["raw"] as? String }.filter { !$0.hasPrefix(marker) }
            try pool.checkFigures("poison lead in a batch", expectedIDs: ids, pushed: neighbors.count + 1, faults: kills, managers: managers,
                                  notes: "workers_killed=\(kills) poison_entries=\(poison.count) innocent_poison_entries=\(innocent.count)")
            #expect(kills == 3)
            #expect(innocent.isEmpty, "leads dead-lettered as poison because they shared a batch with it: \(innocent.prefix(3))…")
            for worker in pool.workers where worker.isRunning {
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }
        }

        /// A reply that never reaches the worker must not strand the leads its command moved.
        /// Here Redis stalls longer than the worker's socket timeout for BLMOVE, which is the 1 s
        /// block plus the 5 s command timeout. After the stall Redis serves the pop to the
        /// connection the worker has already closed. A restart or a network failure loses replies
        /// the same way.
        @Test("lost reply of a pop strands no lead", .timeLimit(.minutes(1)))
        func lostPopReplyStrandsNoLead() throws {
            let redis = try PrivateRedis(["--enable-debug-command", "yes"])
            let pool = try FaultPool("stall", url: redis.url)
            let managers = ["m1"]
            try pool.addManagers(managers)
            let worker = try pool.startWorker()
            let workerID = try #require(try pool.workerID(of: worker))
            Thread.sleep(forTimeInterval: 1.5)

            let stall = try redis.connect(commandTimeout: 20)
            let replies = try stall.pipeline([
                ["MULTI"], ["LPUSH", pool.keys.incoming, "{\"id\":\"S1\",\"source\":\"web\"}"], ["DEBUG", "SLEEP", "7"], ["EXEC"],
            ].map { $0.map { Array($0.utf8) } })
            #expect(replies.last?.elements?.count == 2, "MULTI with LPUSH and DEBUG SLEEP ran: \(replies)")

            // Longer than heartbeat expiry plus the recovery interval, while the lead needs milliseconds.
            let assigned = pool.waitUntil(timeout: 8) { (try? pool.assignedIDs().contains("S1")) ?? false }
            let stranded = try pool.inFlightLength(ofWorker: workerID)
            try pool.checkFigures("lost pop reply", expectedIDs: ["S1"], pushed: 1, faults: 1, managers: managers,
                                  notes: "in_flight_list_of_live_worker=\(stranded) worker_registered=\(try pool.registeredWorkers().contains(workerID))")
            #expect(assigned, "lead S1 assigned within 8 s after the stall")
            #expect(stranded == 0, "leads left in the in-flight list of the running worker \(workerID)")
            #expect(worker.isRunning)

            // A clean stop gives the leads back, and a new worker assigns them.
            #expect(worker.stop() == 0, "worker log: \(worker.log())")
            try pool.startWorker()
            #expect(try pool.waitForAssignments(of: ["S1"], timeout: 10), "S1 assigned after its worker stopped")
            for worker in pool.workers where worker.isRunning {
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }
        }
    }
}
