import Foundation
import LeadRouting
import Testing

/// Pushes leads with ids `PREFIX1, PREFIX2, …` in chunks and remembers how many it pushed.
/// With `invalidEvery` set, every n-th push is truncated JSON instead, which must end in the
/// dead-letter list.
private final class ChunkedProducer {
    let pool: TestPool
    let prefix: String
    let invalidEvery: Int?
    private(set) var pushed = 0
    private(set) var ids: Set<String> = []
    private(set) var invalid = 0

    init(_ pool: TestPool, prefix: String, invalidEvery: Int? = nil) {
        self.pool = pool
        self.prefix = prefix
        self.invalidEvery = invalidEvery
    }

    func push(_ count: Int) throws {
        var leads: [String] = []
        for number in self.pushed + 1...self.pushed + count {
            if let every = self.invalidEvery, number % every == 0 {
                leads.append("{\"id\":\"\(self.prefix)\(number)\",\"source\":")
                self.invalid += 1
            } else {
                leads.append("{\"id\":\"\(self.prefix)\(number)\",\"source\":\"web\"}")
                self.ids.insert("\(self.prefix)\(number)")
            }
        }
        try self.pool.push(leads)
        self.pushed += count
    }

    /// Pushes chunks of `chunk` leads, 20 ms apart, until `total` leads are pushed.
    func push(upTo total: Int, chunk: Int = 200) throws {
        while self.pushed < total {
            try self.push(min(chunk, total - self.pushed))
            Thread.sleep(forTimeInterval: 0.02)
        }
    }
}

/// Occurrences of `needle` in `text`.
private func occurrences(of needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}

/// Sum of the integer values of `key=` in the log lines that contain `message`.
private func sumOfField(_ key: String, inLinesWith message: String, _ log: String) -> Int {
    var total = 0
    for line in log.split(separator: "\n") where line.contains(message) {
        for part in line.split(separator: " ") where part.hasPrefix(key + "=") {
            total += Int(part.dropFirst(key.count + 1)) ?? 0
        }
    }
    return total
}

extension WorkerProcessSuites {
    @Suite("Worker lifecycle")
    struct WorkerLifecycleTests {
        @Test("SIGTERM stops a worker cleanly mid-run", .timeLimit(.minutes(1)))
        func sigtermStopsCleanly() throws {
            let pool = try TestPool("sigterm")
            let managers = ["m1", "m2", "m3"]
            try pool.addManagers(managers)
            let workers = try pool.startWorkers(3)
            let victim = workers[0]
            let victimID = try #require(try pool.workerID(of: victim))
            let producer = ChunkedProducer(pool, prefix: "T")
            try producer.push(upTo: 2000)

            // SIGTERM arrives while the worker has leads taken but not yet committed.
            let held = try pool.pauseHoldingLeads(victim, id: victimID, others: Array(workers.dropFirst()), minimum: 2) {
                if try pool.incomingLength() < 400 {
                    try producer.push(400)
                }
            }
            #expect(held > 0, "the worker was caught holding leads")
            victim.signal(SIGTERM)
            victim.signal(SIGCONT)
            let exitStatus = victim.stop(timeout: 5)
            #expect(exitStatus == 0, "exit status after SIGTERM (nil: still running after 5 s)")

            try producer.push(upTo: max(4000, producer.pushed))
            #expect(try pool.waitForAssignments(of: producer.ids))
            for worker in workers.dropFirst() {
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }

            let log = victim.log()
            #expect(log.contains("stop requested"))
            #expect(log.contains("worker stopped"))
            let committedByVictim = sumOfField("assigned", inLinesWith: "worker stopped", log)
            #expect(committedByVictim >= held, "the stopping worker committed the \(held) leads it held")
            #expect(!(try pool.registeredWorkers().contains(victimID)), "stopped worker deregistered")
            #expect(try pool.redis.command(["EXISTS", pool.keys.heartbeat(victimID)]).integer == 0)
            #expect(try pool.inFlightLength(ofWorker: victimID) == 0)

            let report = try pool.deliveryReport(expectedIDs: producer.ids, pushed: producer.pushed)
            print("SIGTERM: held at stop=\(held) committed by stopped worker=\(committedByVictim) \(report)")
            expectExactlyOnce(report)
            #expect(spread(report.countsByManager, over: managers) <= 1, "round robin counts \(report.countsByManager)")
        }

        @Test("SIGINT stops an idle worker", .timeLimit(.minutes(1)))
        func sigintStopsIdleWorker() throws {
            let pool = try TestPool("sigint")
            try pool.addManagers(["m1"])
            let worker = try pool.startWorkers(1)[0]
            let workerID = try #require(try pool.workerID(of: worker))
            let producer = ChunkedProducer(pool, prefix: "I")
            try producer.push(20)
            #expect(try pool.waitForAssignments(of: producer.ids))

            // The worker is now blocked waiting for the next lead.
            worker.signal(SIGINT)
            #expect(try pool.waitUntil(timeout: 5) { !worker.isRunning }, "worker still running 5 s after SIGINT")
            #expect(worker.stop() == 0)
            let log = worker.log()
            #expect(log.contains("signal=SIGINT"))
            #expect(occurrences(of: "worker started", in: log) == 1)
            #expect(occurrences(of: "worker stopped", in: log) == 1)
            #expect(!(try pool.registeredWorkers().contains(workerID)), "stopped worker deregistered")
        }

        @Test("SIGKILL loses no in-flight lead", .timeLimit(.minutes(1)))
        func sigkillLosesNothing() throws {
            let pool = try TestPool("sigkill")
            let managers = ["m1", "m2", "m3"]
            try pool.addManagers(managers)
            let workers = try pool.startWorkers(3)
            let victim = workers[0]
            let victimID = try #require(try pool.workerID(of: victim))
            let producer = ChunkedProducer(pool, prefix: "K", invalidEvery: 97)
            try producer.push(upTo: 2000)

            // Kill the worker at a moment when its in-flight list contains leads.
            let held = try pool.pauseHoldingLeads(victim, id: victimID, others: Array(workers.dropFirst()), minimum: 2) {
                if try pool.incomingLength() < 400 {
                    try producer.push(400)
                }
            }
            #expect(held > 0, "the worker was caught holding leads")
            victim.signal(SIGKILL)
            victim.kill()
            let killedAt = Date()

            try producer.push(upTo: max(4000, producer.pushed))
            // Heartbeat expiry (5 s) plus the recovery interval (2 s), with room to spare.
            #expect(try pool.waitForAssignments(of: producer.ids, timeout: 20))
            let recoverySeconds = Date().timeIntervalSince(killedAt)
            let survivors = Array(workers.dropFirst())
            for worker in survivors {
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }

            let report = try pool.deliveryReport(expectedIDs: producer.ids, pushed: producer.pushed)
            print(String(format: "SIGKILL: pushed=%d invalid=%d in flight at kill=%d assigned=%d lost=%d doubled=%d, all assigned %.1f s after the kill",
                         report.pushed, producer.invalid, held, report.assigned.count, report.lost.count, report.doubled.count, recoverySeconds))
            expectExactlyOnce(report)

            let survivorLogs = survivors.map { $0.log() }.joined()
            let requeued = sumOfField("requeued", inLinesWith: "recovered in-flight leads", survivorLogs)
            #expect(requeued == held, "leads given back to the incoming list by recovery")
            #expect(!(try pool.registeredWorkers().contains(victimID)), "killed worker deregistered")
            #expect(try pool.inFlightLength(ofWorker: victimID) == 0)
            let deadLetters = try pool.deadLetters()
            #expect(deadLetters.count == producer.invalid, "dead-letter entries, one per invalid lead")
            let poison = deadLetters.filter { ($0["reason"] as? String ?? "").hasPrefix("poison") }
            #expect(poison.count == 0, "leads dead-lettered as poison after one crash")
            for manager in managers {
                #expect(try pool.openCount(manager) == report.countsByManager[manager], "open counter of \(manager)")
            }
        }

        /// Recovery counts redeliveries per lead content (SHA-1 of the raw bytes) and dead-letters a
        /// lead as poison at the third. A producer that retries one push three times puts three
        /// identical copies in flight, so one crash of their worker counts three deliveries.
        @Test("retried copies in a killed worker aren't poison", .timeLimit(.minutes(1)))
        func retriedCopiesAreNotPoison() throws {
            let pool = try TestPool("copies")
            try pool.addManagers(["m1", "m2"])
            let workers = try pool.startWorkers(2)
            let victim = workers[0]
            let victimID = try #require(try pool.workerID(of: victim))

            // Every lead is pushed three times in a row with the same bytes.
            var ids: Set<String> = []
            var pushed = 0
            func pushTriples(_ count: Int) throws {
                var leads: [String] = []
                for number in ids.count + 1...ids.count + count {
                    let lead = "{\"id\":\"R\(number)\",\"source\":\"webhook\"}"
                    leads += [lead, lead, lead]
                    ids.insert("R\(number)")
                }
                try pool.push(leads)
                pushed += leads.count
            }
            let held = try pool.pauseHoldingLeads(victim, id: victimID, others: [workers[1]], minimum: 3) {
                if try pool.incomingLength() < 300 {
                    try pushTriples(200)
                }
            }
            #expect(held >= 3, "the worker was caught holding leads")
            victim.signal(SIGKILL)
            victim.kill()

            #expect(try pool.waitForAssignments(of: ids, timeout: 20))
            #expect(workers[1].stop() == 0)

            let report = try pool.deliveryReport(expectedIDs: ids, pushed: pushed)
            let poison = try pool.deadLetters().filter { ($0["reason"] as? String ?? "").hasPrefix("poison") }
            print("retried copies: in flight at kill=\(held) poison entries=\(poison.count) \(report)")
            expectExactlyOnce(report)
            #expect(poison.count == 0, "leads dead-lettered as poison after one crash")
        }

        @Test("paused worker's late commit is rejected", .timeLimit(.minutes(1)))
        func pausedWorkerLateCommit() throws {
            let pool = try TestPool("paused")
            let managers = ["m1", "m2", "m3"]
            try pool.addManagers(managers)
            let workers = try pool.startWorkers(3, extraArguments: ["--batch", "1000"])
            let victim = workers[0]
            let victimID = try #require(try pool.workerID(of: victim))
            for worker in workers.dropFirst() {
                #expect(try pool.workerID(of: worker) != nil, "worker \(worker.pid) registered")
            }
            let producer = ChunkedProducer(pool, prefix: "S", invalidEvery: 97)
            try producer.push(3000)

            let held = try pool.pauseHoldingLeads(victim, id: victimID, others: Array(workers.dropFirst()), minimum: 2) {
                if try pool.incomingLength() < 1000 {
                    try producer.push(1000)
                }
            }
            #expect(held > 0, "the worker was caught holding leads")
            let pausedAt = Date()
            // Only valid leads reach the assignment script, so only they can be rejected as late
            // commits. The truncated ones are the entries that do not end with "}".
            let heldLeads = (try pool.redis.command(["LRANGE", pool.keys.processing(victimID), "0", "-1"]).elements ?? []).compactMap(\.text)
            let heldInvalid = heldLeads.filter { !$0.hasSuffix("}") }.count
            let heldValid = held - heldInvalid

            // The other workers see the heartbeat expire and take over its leads.
            let recovered = try pool.waitUntil(timeout: 20) {
                try pool.inFlightLength(ofWorker: victimID) == 0 && pool.waitForAssignments(of: producer.ids, timeout: 0)
            }
            #expect(recovered, "leads of the paused worker recovered and assigned")
            let recoverySeconds = Date().timeIntervalSince(pausedAt)
            victim.signal(SIGCONT)

            let staleMessage = "late commit was rejected"
            #expect(try pool.waitUntil(timeout: 10) { occurrences(of: staleMessage, in: victim.log()) >= heldValid })
            #expect(try pool.waitUntil(timeout: 10) { try pool.registeredWorkers().contains(victimID) }, "resumed worker registered again")
            for worker in workers {
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }

            let stale = occurrences(of: staleMessage, in: victim.log())
            let report = try pool.deliveryReport(expectedIDs: producer.ids, pushed: producer.pushed)
            print(String(format: "SIGSTOP: held while paused=%d (invalid %d) rejected late commits=%d, recovered %.1f s after the pause; invalid pushed=%d %@",
                         held, heldInvalid, stale, recoverySeconds, producer.invalid, report.description))
            #expect(stale == heldValid, "late commits rejected")
            // The invalid leads it held are dead-lettered once, by the worker that recovered them.
            #expect(try pool.deadLetters().count == producer.invalid, "dead-letter entries, one per invalid lead")
            expectExactlyOnce(report)
            #expect(try pool.nothingPending())
            for manager in managers {
                #expect(try pool.openCount(manager) == report.countsByManager[manager], "open counter of \(manager)")
            }
        }
    }
}
