import Foundation
import LeadRouting
import RedisClient
import Testing

/// Counts the lines of `log` that contain `text`.
private func lines(containing text: String, in log: String) -> Int {
    log.split(separator: "\n").filter { $0.contains(text) }.count
}

/// Reads field `name` of `INFO` output as an integer, 0 when absent.
private func infoField(_ name: String, _ info: String) -> Int {
    for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix(name + ":") {
        // Counters read `errorstat_NOSCRIPT:count=3` or `cmdstat_get:calls=5,usec=…`.
        var value = line.dropFirst(name.count + 1)
        if let equals = value.firstIndex(of: "=") {
            value = value[value.index(after: equals)...]
        }
        return Int(value.prefix { $0.isNumber }) ?? 0
    }
    return 0
}

private func info(_ redis: RedisConnection, _ section: String) throws -> String {
    try redis.command(["INFO", section]).text ?? ""
}

extension WorkerProcessSuites {
    /// Faults injected into Redis and the worker processes while leads flow. Each test prints its
    /// figures (`fault figures [...]`) and requires no lead lost, none assigned twice, and open
    /// counters that match the lead records. The slower faults are in `SlowFaultTests`.
    @Suite("Faults")
    struct FaultTests {
        @Test("SCRIPT FLUSH mid-run reloads scripts", .timeLimit(.minutes(1)))
        func scriptFlushMidRun() throws {
            let pool = try FaultPool("flush", url: TestRedis.urlText)
            let managers = ["m1", "m2", "m3"]
            try pool.addManagers(managers)
            let workers = try pool.startWorkers(3, concurrency: 2)
            for worker in workers {
                #expect(try pool.workerID(of: worker) != nil, "worker \(worker.pid) registered")
            }
            let before = try info(pool.redis, "all")

            // The shared server's script cache is flushed between pushes, while workers have
            // leads in hand. Other tests' connections reload their scripts the same way.
            let producer = FaultProducer(pool, prefix: "F")
            var flushes = 0
            while producer.pushed < 3000 {
                try producer.push(150)
                Thread.sleep(forTimeInterval: 0.01)
                try pool.redis.command(["SCRIPT", "FLUSH"])
                flushes += 1
            }
            #expect(try pool.waitForAssignments(of: producer.ids, timeout: 30))

            let after = try info(pool.redis, "all")
            let noscript = infoField("errorstat_NOSCRIPT", after) - infoField("errorstat_NOSCRIPT", before)
            let loads = infoField("cmdstat_script|load", after) - infoField("cmdstat_script|load", before)
            let logs = workers.map { $0.log() }.joined()
            try pool.checkFigures("SCRIPT FLUSH", expectedIDs: producer.ids, pushed: producer.pushed, faults: flushes,
                                  managers: managers, notes: "NOSCRIPT_replies=\(noscript) SCRIPT_LOADs=\(loads)")
            #expect(noscript > 0, "the flushes made workers see NOSCRIPT")
            #expect(loads >= flushes, "scripts loaded again after each flush")
            #expect(lines(containing: " error ", in: logs) == 0, "error lines in the worker logs:\n\(logs)")
            #expect(lines(containing: "lost Redis connection", in: logs) == 0)
            for worker in workers {
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }
        }

        @Test("Redis restart mid-run", .timeLimit(.minutes(1)))
        func redisRestartMidRun() throws {
            let redis = try PrivateRedis(["--appendonly", "yes", "--appendfsync", "everysec"])
            let pool = try FaultPool("restart", url: redis.url)
            let managers = ["m1", "m2", "m3"]
            try pool.addManagers(managers)
            let workers = try pool.startWorkers(3, concurrency: 2)
            for worker in workers {
                #expect(try pool.workerID(of: worker) != nil, "worker \(worker.pid) registered")
            }

            // Redis stops while the workers work off a backlog. The restart replays the AOF and
            // starts with an empty script cache.
            let producer = FaultProducer(pool, prefix: "R")
            try producer.push(2000)
            let restartedAt = Date()
            try redis.restart()
            let downSeconds = Date().timeIntervalSince(restartedAt)
            try pool.redis.reconnect()
            let inFlightAfterRestart = try pool.inFlightTotal()
            let incomingAfterRestart = try pool.incomingLength()
            try producer.push(upTo: 3000, chunk: 200)

            #expect(try pool.waitForAssignments(of: producer.ids, timeout: 15))
            let resumedSeconds = Date().timeIntervalSince(restartedAt)

            // A new connection loads each script before its first EVALSHA, so the empty cache
            // shows as SCRIPT LOAD calls on the restarted server, not as NOSCRIPT replies.
            let loads = infoField("cmdstat_script|load", try info(pool.redis, "commandstats"))
            // Read while the workers run: a clean stop gives back leads left in an in-flight list.
            let stillInFlight = try pool.inFlightTotal()
            try pool.checkFigures("Redis restart", expectedIDs: producer.ids, pushed: producer.pushed, faults: 1, managers: managers,
                                  notes: String(format: "down=%.2fs backlog_at_restart=%d in_flight_at_restart=%d still_in_flight=%d SCRIPT_LOADs_after=%d all_assigned_after=%.1fs",
                                                downSeconds, incomingAfterRestart, inFlightAfterRestart, stillInFlight, loads, resumedSeconds))
            #expect(stillInFlight == 0, "leads left in the in-flight lists of running workers")
            #expect(loads > 0, "workers loaded their scripts into the restarted server")
            for worker in workers {
                let lost = worker.logLines(startingWith: "lost Redis connection")
                let back = worker.logLines(startingWith: "reconnected to Redis")
                // Two lead loops. A loop that reconnects to the stopping server loses it again.
                #expect((2...4).contains(lost), "outage lines of the two lead loops of worker \(worker.pid)")
                #expect(back == lost, "one recovery line per outage line of worker \(worker.pid)")
                #expect(worker.isRunning, "worker \(worker.pid) survived the restart")
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }
        }

        @Test("CLIENT KILL while workers block", .timeLimit(.minutes(1)))
        func clientKillWhileBlocked() throws {
            let redis = try PrivateRedis()
            let pool = try FaultPool("kill", url: redis.url)
            let managers = ["m1", "m2", "m3"]
            try pool.addManagers(managers)
            let concurrency = 2
            let workers = try pool.startWorkers(2, concurrency: concurrency)
            for worker in workers {
                #expect(try pool.workerID(of: worker) != nil, "worker \(worker.pid) registered")
            }

            // Each round ends with every lead loop blocked on BLMOVE of an empty list. Then every
            // normal client is cut, except the test's own connection because CLIENT KILL skips
            // the caller.
            let producer = FaultProducer(pool, prefix: "K")
            let kills = 4
            var clientsKilled = 0
            for _ in 0..<kills {
                try producer.push(200)
                #expect(try pool.waitForAssignments(of: producer.ids, timeout: 10))
                Thread.sleep(forTimeInterval: 0.3)
                clientsKilled += Int(try pool.redis.command(["CLIENT", "KILL", "TYPE", "normal"]).integer ?? 0)
                Thread.sleep(forTimeInterval: 0.4)
            }
            try producer.push(200)
            #expect(try pool.waitForAssignments(of: producer.ids, timeout: 10))

            var loopLost = 0
            var loopBack = 0
            var maintenanceLost = 0
            for worker in workers {
                let lost = worker.logLines(startingWith: "lost Redis connection")
                let back = worker.logLines(startingWith: "reconnected to Redis")
                let maintenance = worker.logLines(startingWith: "maintenance lost Redis connection")
                loopLost += lost
                loopBack += back
                maintenanceLost += maintenance
                #expect(lost >= 1, "worker \(worker.pid) logged the lost connection")
                #expect(lost <= kills * concurrency, "at most one line per lead loop and kill, worker \(worker.pid)")
                #expect(back == lost, "one reconnect line per outage line, worker \(worker.pid)")
                #expect(maintenance <= kills, "maintenance lines of worker \(worker.pid)")
                #expect(worker.logLines(startingWith: "maintenance reconnected to Redis") == maintenance)
            }
            try pool.checkFigures("CLIENT KILL", expectedIDs: producer.ids, pushed: producer.pushed, faults: kills, managers: managers,
                                  notes: "clients_killed=\(clientsKilled) loop_lost_lines=\(loopLost) loop_reconnected_lines=\(loopBack) maintenance_lost_lines=\(maintenanceLost)")
            #expect(clientsKilled >= kills * workers.count * (concurrency + 1), "each kill cut every worker connection")
            for worker in workers {
                #expect(worker.isRunning, "worker \(worker.pid) survived the kills")
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }
        }

        @Test("worker restarted in place keeps its leads", .timeLimit(.minutes(1)))
        func workerRestartedInPlace() throws {
            let pool = try FaultPool("inplace", url: TestRedis.urlText)
            let managers = ["m1", "m2", "m3"]
            try pool.addManagers(managers)
            let workers = try pool.startWorkers(3)
            let victim = workers[0]
            let victimID = try #require(try pool.workerID(of: victim))
            let producer = FaultProducer(pool, prefix: "P")
            try producer.push(upTo: 2000)

            let held = try pool.pauseHoldingLeads(victim, id: victimID, others: Array(workers.dropFirst()), minimum: 2) {
                if try pool.incomingLength() < 400 {
                    try producer.push(400)
                }
            }
            #expect(held > 0, "the worker was caught holding leads")
            victim.kill()
            let killedAt = Date()
            // A supervisor (systemd, compose) starts the same command again at once.
            let successor = try pool.startWorker(name: victim.name)
            let successorID = try #require(try pool.workerID(of: successor))
            #expect(successorID != victimID, "a restarted worker gets a new id")
            #expect(successorID.hasPrefix(victim.name + "-"))

            try producer.push(upTo: max(4000, producer.pushed))
            #expect(try pool.waitForAssignments(of: producer.ids, timeout: 20))
            let recoveredSeconds = Date().timeIntervalSince(killedAt)
            let survivors = [successor] + workers.dropFirst()

            let requeued = survivors.reduce(0) { total, worker in
                total + worker.log().split(separator: "\n").filter { $0.contains("recovered in-flight leads") }.reduce(0) { sum, line in
                    sum + (line.split(separator: " ").first { $0.hasPrefix("requeued=") }.flatMap { Int($0.dropFirst("requeued=".count)) } ?? 0)
                }
            }
            try pool.checkFigures("worker restarted in place", expectedIDs: producer.ids, pushed: producer.pushed, faults: 1, managers: managers,
                                  notes: String(format: "in_flight_at_kill=%d requeued=%d all_assigned_after=%.1fs", held, requeued, recoveredSeconds))
            #expect(requeued == held, "the killed worker's in-flight leads went back to the incoming list")
            #expect(try pool.inFlightLength(ofWorker: victimID) == 0)
            #expect(!(try pool.registeredWorkers().contains(victimID)), "the killed worker is deregistered")
            for worker in survivors {
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }
        }

        @Test("kill -9 of Redis with appendfsync always", .timeLimit(.minutes(1)))
        func hardRestartWithAOFAlways() throws {
            let redis = try PrivateRedis(["--appendonly", "yes", "--appendfsync", "always"])
            let pool = try FaultPool("aof", url: redis.url)
            let managers = ["m1", "m2", "m3"]
            try pool.addManagers(managers)
            let workers = try pool.startWorkers(3, concurrency: 2)
            for worker in workers {
                #expect(try pool.workerID(of: worker) != nil, "worker \(worker.pid) registered")
            }

            // A producer pushes one lead per LPUSH while Redis is killed and started again on the
            // same directory, twice. Only a push that got its reply is acknowledged.
            let producer = try BackgroundProducer(url: redis.url, keys: pool.keys, prefix: "H")
            producer.start()
            let kills = 2
            var downSeconds: [Double] = []
            for _ in 0..<kills {
                Thread.sleep(forTimeInterval: 1)
                let killedAt = Date()
                redis.kill9()
                try redis.start()
                downSeconds.append(Date().timeIntervalSince(killedAt))
            }
            Thread.sleep(forTimeInterval: 1)
            producer.stop()
            try pool.redis.reconnect()

            // A push whose connection broke before the reply may or may not have reached Redis.
            // One that did must be assigned once like the others.
            let acknowledged = producer.acknowledged
            let uncertain = producer.uncertain
            #expect(try pool.waitUntil(timeout: 20) {
                try pool.nothingPending() && acknowledged.isSubset(of: pool.assignedIDs())
            }, "every acknowledged lead assigned and nothing left in incoming or in flight")
            let stillInFlight = try pool.inFlightTotal()
            let uncertainAssigned = uncertain.intersection(try pool.assignedIDs())
            try pool.checkFigures("kill -9, appendfsync always", expectedIDs: acknowledged.union(uncertainAssigned), pushed: producer.attempted,
                                  faults: kills, managers: managers,
                                  notes: "acknowledged=\(acknowledged.count) unacknowledged=\(uncertain.count) of_which_assigned=\(uncertainAssigned.count) rejected_while_down=\(producer.rejected.count) still_in_flight=\(stillInFlight) down_s=\(downSeconds.map { String(format: "%.2f", $0) })")
            #expect(stillInFlight == 0, "leads left in the in-flight lists of running workers")
            #expect(acknowledged.count > 500, "the producer kept pushing between the kills")
            for worker in workers {
                #expect(worker.isRunning, "worker \(worker.pid) survived the kills")
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }
        }

        @Test("full Redis fails closed and resumes", .timeLimit(.minutes(1)))
        func redisFullFailsClosed() throws {
            let maxMemory = 4 * 1024 * 1024
            let redis = try PrivateRedis(["--maxmemory", String(maxMemory), "--maxmemory-policy", "noeviction"])
            let pool = try FaultPool("oom", url: redis.url)
            let managers = ["m1", "m2", "m3"]
            try pool.addManagers(managers)

            // One worker is stopped holding leads, the other is stopped too, and 200 leads are
            // pushed. Memory is then filled to just below the limit and leads are pushed until
            // LPUSH is rejected, so leads wait both in flight and in the incoming list.
            let concurrency = 2
            let batch = try HeldBatch(pool, concurrency: concurrency, prefix: "M")
            let (workers, holderID, producer, held) = (batch.workers, batch.holderID, batch.producer, batch.held)
            workers[1].signal(SIGSTOP)
            try producer.push(200)
            // The filler is a hash of 16 KiB values. One large argument would itself count
            // against maxmemory while Redis reads it, and APPEND preallocates up to 1 MiB more.
            let filler = pool.keys.prefix + "filler"
            let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 16 * 1024)
            var fillerBytes = 0
            while infoField("used_memory", try info(pool.redis, "memory")) < maxMemory - 32 * 1024 {
                try pool.redis.command([Array("HSET".utf8), Array(filler.utf8), Array("f\(fillerBytes)".utf8), chunk])
                fillerBytes += chunk.count
            }
            var rejection = ""
            var pushedUntilFull = 0
            while rejection.isEmpty && pushedUntilFull < 100_000 {
                do {
                    try producer.push(1)
                    pushedUntilFull += 1
                } catch let error as RedisError where error.kind == .server {
                    rejection = error.message
                }
            }
            #expect(rejection.hasPrefix("OOM"), "LPUSH rejected when Redis is full: \(rejection)")
            // Right at the limit, a write goes through whenever usage dips below it. A limit
            // 256 KiB under the usage keeps Redis full until the test frees memory.
            let usedWhenFull = infoField("used_memory", try info(pool.redis, "memory"))
            try pool.redis.command(["CONFIG", "SET", "maxmemory", String(usedWhenFull - 256 * 1024)])
            let fullAt = Date()
            workers.forEach { $0.signal(SIGCONT) }

            // Full for 3 s: nothing moves, and every open count has its lead record.
            let assignedAtFull = try pool.assignedIDs().count
            let incomingAtFull = try pool.incomingLength()
            var samples = 0
            while Date().timeIntervalSince(fullAt) < 3 {
                Thread.sleep(forTimeInterval: 0.2)
                #expect(try pool.counterDrift(managers) == 0, "open counters match the lead records while full")
                #expect(try pool.assignedIDs().count == assignedAtFull, "no lead assigned while full")
                #expect(try pool.inFlightLength(ofWorker: holderID) == held, "the held leads stay in flight")
                #expect(try pool.incomingLength() == incomingAtFull, "the pushed leads stay in the incoming list")
                samples += 1
            }
            let loopLines = workers.map { $0.logLines(startingWith: "assignment failed") }
            let maintenanceLines = workers.map { $0.logLines(startingWith: "maintenance step failed") }

            try pool.redis.command(["DEL", filler])
            try pool.redis.command(["CONFIG", "SET", "maxmemory", "0"])
            let freedAt = Date()
            #expect(try pool.waitForAssignments(of: producer.ids, timeout: 15))
            let resumedSeconds = Date().timeIntervalSince(freedAt)
            try pool.checkFigures("Redis full", expectedIDs: producer.ids, pushed: producer.pushed, faults: 1, managers: managers,
                                  notes: String(format: "filler=%dKiB held_in_flight=%d incoming_when_full=%d pushed_until_OOM=%d samples=%d lead_loop_error_lines=%@ maintenance_error_lines=%@ all_assigned_after_free=%.1fs",
                                                fillerBytes / 1024, held, incomingAtFull, pushedUntilFull, samples, "\(loopLines)", "\(maintenanceLines)", resumedSeconds))
            #expect(incomingAtFull >= 200, "leads waited in the incoming list")
            #expect(pushedUntilFull > 0, "leads were pushed until Redis was full")
            for (worker, count) in zip(workers, loopLines) {
                #expect((1...concurrency).contains(count), "one error line per lead loop and burst, worker \(worker.pid)")
            }
            for (worker, count) in zip(workers, maintenanceLines) {
                #expect(count <= 1, "one maintenance error line per burst, worker \(worker.pid)")
            }
            for worker in workers {
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }
        }

        @Test("ACL users run the pool", .timeLimit(.minutes(1)))
        func aclUsers() throws {
            // The shipped ACL file with a password of its own for each user.
            let token = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            let users = ["redis-admin", "leadrouter-worker", "leadrouter-admin", "leadrouter-ops", "leadrouter-producer", "leadrouter-events"]
            var passwords: [String: String] = [:]
            for user in users {
                passwords[user] = "pw-\(user)-\(token)"
            }
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let shipped = try String(contentsOf: root.appendingPathComponent("ops/acl/users.acl"), encoding: .utf8)
            var aclLines: [String] = []
            for line in shipped.split(separator: "\n") {
                let user = line.split(separator: " ").dropFirst().first.map(String.init) ?? ""
                aclLines.append(line.replacingOccurrences(of: ">CHANGE_ME", with: ">" + (passwords[user] ?? "CHANGE_ME")))
            }
            #expect(!aclLines.joined().contains("CHANGE_ME"), "every user of users.acl got a test password")
            let aclURL = FileManager.default.temporaryDirectory.appendingPathComponent("lr-acl-\(token).acl")
            try (aclLines.joined(separator: "\n") + "\n").write(to: aclURL, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: aclURL) }

            let redis = try PrivateRedis(["--aclfile", aclURL.path])
            let pool = try FaultPool("acl", url: redis.url, user: "redis-admin", password: passwords["redis-admin"])
            func run(_ user: String, _ arguments: [String], password: String? = nil, stdin: String? = nil) throws -> CLIResult {
                try runLeadrouter(url: redis.url(user: user), pool: pool.name, arguments,
                                  environment: ["LEADROUTER_REDIS_PASSWORD": password ?? passwords[user]!], stdin: stdin)
            }

            // Config and managers as leadrouter-admin.
            let configURL = FileManager.default.temporaryDirectory.appendingPathComponent("lr-acl-\(token).json")
            try #"{"routes": [{"group": "general"}], "groups": {"general": {"method": "round_robin"}}}"#.write(to: configURL, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: configURL) }
            let config = try run("leadrouter-admin", ["config", "set", configURL.path])
            #expect(config.status == 0, "config set as leadrouter-admin: \(config.stderr)")
            let managers = ["m1", "m2", "m3"]
            for manager in managers {
                let added = try run("leadrouter-admin", ["manager", "add", manager, "--groups", "general"])
                #expect(added.status == 0, "manager add \(manager) as leadrouter-admin: \(added.stderr)")
            }

            // Workers run as leadrouter-worker at debug level, and leadrouter-producer pushes.
            let workerEnvironment = ["LEADROUTER_REDIS_PASSWORD": passwords["leadrouter-worker"]!, "LEADROUTER_LOG_LEVEL": "debug"]
            let workers = try (0..<2).map { _ in
                try pool.startWorker(url: redis.url(user: "leadrouter-worker"), environment: workerEnvironment)
            }
            for worker in workers {
                #expect(try pool.workerID(of: worker) != nil, "worker \(worker.pid) registered")
            }
            var payloadValues: [String] = []
            var leads: [String] = []
            var ids: Set<String> = []
            for number in 1...60 {
                let name = "Zelda Payloadson \(token) \(number)"
                let phone = "+1-555-\(token)-\(number)"
                payloadValues += [name, phone]
                leads.append("{\"id\":\"A\(number)\",\"name\":\"\(name)\",\"phone\":\"\(phone)\",\"source\":\"web\"}")
                ids.insert("A\(number)")
            }
            let push = try run("leadrouter-producer", ["push"], stdin: leads.joined(separator: "\n") + "\n")
            #expect(push.status == 0, "push as leadrouter-producer: \(push.stderr)")
            #expect(try pool.waitForAssignments(of: ids, timeout: 15))

            // Status as leadrouter-ops.
            let status = try run("leadrouter-ops", ["status"])
            #expect(status.status == 0, "status as leadrouter-ops: \(status.stderr)")
            let statusJSON = try run("leadrouter-ops", ["status", "--json"])
            #expect(statusJSON.status == 0, "status --json as leadrouter-ops: \(statusJSON.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(statusJSON.stdout.utf8)) as? [String: Any]
            let listed = (object?["managers"] as? [[String: Any]] ?? []).reduce(0) { $0 + ($1["assigned_total"] as? Int ?? 0) }
            #expect(listed == ids.count, "assigned_total over the managers in status --json")

            // A wrong password, from the environment and in the URL, is named in no message.
            let wrongPassword = "wrong-\(token)"
            let wrongFromEnvironment = try run("leadrouter-ops", ["status"], password: wrongPassword)
            let wrongInURL = try runLeadrouter(url: "redis://leadrouter-ops:\(wrongPassword)@127.0.0.1:\(redis.port)", pool: pool.name, ["status"])
            let wrongWorker = try WorkerProcess(redisURL: redis.url(user: "leadrouter-worker"), pool: pool.name, name: "wrong",
                                                environment: ["LEADROUTER_REDIS_PASSWORD": wrongPassword, "LEADROUTER_LOG_LEVEL": "debug"])
            _ = pool.waitUntil(timeout: 10) { !wrongWorker.isRunning }
            let wrongWorkerLog = wrongWorker.log()
            for (label, result) in [("password from the environment", wrongFromEnvironment), ("password in the URL", wrongInURL)] {
                #expect(result.status != 0, "status with a wrong \(label) fails")
                #expect(result.stderr.contains("WRONGPASS") || result.stderr.contains("invalid username-password"), "error names the cause: \(result.stderr)")
                #expect(!result.stderr.contains(wrongPassword) && !result.stdout.contains(wrongPassword), "wrong \(label) echoed: \(result.stderr)")
            }
            #expect(!wrongWorker.isRunning, "a worker with a wrong password exits")
            #expect(!wrongWorkerLog.contains(wrongPassword), "wrong password in the worker's output: \(wrongWorkerLog)")

            for worker in workers {
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }
            let workerLogs = workers.map { $0.log() }.joined()
            let outputs = [config, push, status, statusJSON].map { $0.stdout + $0.stderr }.joined()
            for (user, password) in passwords {
                #expect(!workerLogs.contains(password), "password of \(user) in the worker logs")
                #expect(!outputs.contains(password), "password of \(user) in CLI output")
            }
            let leakedValues = payloadValues.filter { workerLogs.contains($0) || workerLogs.contains($0.replacingOccurrences(of: " ", with: "\\u0020")) }
            #expect(leakedValues.isEmpty, "payload values in the debug-level worker logs: \(leakedValues.prefix(5))")
            #expect(lines(containing: " debug ", in: workerLogs) >= ids.count, "the workers logged at debug level")
            #expect(!workerLogs.contains("NOPERM"), "a worker was denied a command:\n\(workerLogs)")

            // ACL LOG lists denied commands and failed logins. Only the wrong passwords may be there.
            let aclLog = try pool.redis.command(["ACL", "LOG"]).elements ?? []
            let denied = aclLog.map { $0.fieldMap.compactMapValues(\.text) }.filter { $0["reason"] != "auth" }
            #expect(denied.isEmpty, "commands denied by the ACL: \(denied)")
            try pool.checkFigures("ACL users", expectedIDs: ids, pushed: leads.count, faults: 3, managers: managers,
                                  notes: "acl_log_entries=\(aclLog.count) denied_commands=\(denied.count) debug_lines=\(lines(containing: " debug ", in: workerLogs))")
        }
    }
}
