import Foundation
import LeadRouting
import RedisClient
import Testing

/// Parent of the suites that run `leadrouter worker` processes. `.serialized` applies to every
/// nested suite, so these tests run one after another and their workers do not compete for CPU.
@Suite("Worker processes", .serialized)
struct WorkerProcessSuites {}

/// Status and manager of one lead record.
struct LeadSummary: Equatable {
    let status: String
    let manager: String
}

/// What a run did with a set of pushed lead ids, read back from Redis.
struct DeliveryReport: CustomStringConvertible {
    /// Number of LPUSHes, duplicates included.
    let pushed: Int
    let expectedIDs: Set<String>
    /// Lead id to manager, for every lead record with status `assigned`.
    let assigned: [String: String]
    /// Lead id to the managers named by its `assigned` events, in stream order.
    let assignedEvents: [String: [String]]

    /// Expected ids with no assigned lead record.
    var lost: [String] {
        self.expectedIDs.filter { self.assigned[$0] == nil }.sorted()
    }

    /// Ids with more than one `assigned` event.
    var doubled: [String] {
        self.assignedEvents.filter { $0.value.count > 1 }.keys.sorted()
    }

    /// Assigned ids whose `assigned` events do not name exactly the manager of the record.
    var recordsWithoutMatchingEvent: [String] {
        self.assigned.filter { self.assignedEvents[$0.key] != [$0.value] }.keys.sorted()
    }

    /// Assigned ids that were never pushed.
    var unexpected: [String] {
        self.assigned.keys.filter { !self.expectedIDs.contains($0) }.sorted()
    }

    var countsByManager: [String: Int] {
        var counts: [String: Int] = [:]
        for manager in self.assigned.values {
            counts[manager, default: 0] += 1
        }
        return counts
    }

    var description: String {
        "pushed=\(self.pushed) unique=\(self.expectedIDs.count) assigned=\(self.assigned.count) lost=\(self.lost.count) doubled=\(self.doubled.count)"
    }
}

extension PoolFixture {
    /// LPUSHes leads given as raw bytes, which need not be valid UTF-8.
    func pushRaw(_ leads: [[UInt8]]) throws {
        for lead in leads {
            _ = try self.redis.command([Array("LPUSH".utf8), Array(self.keys.incoming.utf8), lead])
        }
    }

    /// Key names of the pool that match `pattern` (a SCAN glob after the `lr:{P}:` prefix).
    func scanKeys(_ pattern: String) throws -> [String] {
        var found: [String] = []
        var cursor = "0"
        repeat {
            let reply = try self.redis.command(["SCAN", cursor, "MATCH", self.keys.prefix + pattern, "COUNT", "1000"])
            guard let parts = reply.elements, parts.count == 2 else { break }
            cursor = parts[0].text ?? "0"
            found += (parts[1].elements ?? []).compactMap(\.text)
        } while cursor != "0"
        return found
    }

    /// Lengths of every in-flight list `lr:{P}:processing:*`, found by SCAN, so the lists of
    /// workers that are no longer registered count too.
    func inFlightLengths() throws -> [String: Int] {
        var lengths: [String: Int] = [:]
        for key in try self.scanKeys("processing:*") {
            lengths[key] = Int(try self.redis.command(["LLEN", key]).integer ?? 0)
        }
        return lengths
    }

    func incomingLength() throws -> Int {
        Int(try self.redis.command(["LLEN", self.keys.incoming]).integer ?? 0)
    }

    /// True when the incoming list and every in-flight list are empty.
    func nothingPending() throws -> Bool {
        let incoming = try self.incomingLength()
        let inFlight = try self.inFlightLengths().values.reduce(0, +)
        return incoming == 0 && inFlight == 0
    }

    /// Status and manager of every lead record of the pool, by lead id.
    func leadSummaries() throws -> [String: LeadSummary] {
        var summaries: [String: LeadSummary] = [:]
        let keys = try self.scanKeys("lead:*")
        var index = 0
        while index < keys.count {
            let chunk = Array(keys[index..<min(index + 500, keys.count)])
            let replies = try self.redis.pipeline(chunk.map {
                [Array("HMGET".utf8), Array($0.utf8), Array("status".utf8), Array("manager".utf8)]
            })
            for (key, reply) in zip(chunk, replies) {
                let fields = (reply.elements ?? []).map { $0.text ?? "" }
                let id = String(key.dropFirst(self.keys.prefix.count + "lead:".count))
                summaries[id] = LeadSummary(status: fields.first ?? "", manager: fields.count > 1 ? fields[1] : "")
            }
            index += 500
        }
        return summaries
    }

    /// Reads the managers named by the `assigned` events of each lead id, in stream order.
    func assignedEvents() throws -> [String: [String]] {
        var managers: [String: [String]] = [:]
        for event in try self.events() where event["type"] == "assigned" {
            managers[event["lead"] ?? "", default: []].append(event["manager"] ?? "")
        }
        return managers
    }

    /// Reads back what happened to `expectedIDs` after `pushed` LPUSHes.
    func deliveryReport(expectedIDs: Set<String>, pushed: Int) throws -> DeliveryReport {
        var assigned: [String: String] = [:]
        for (id, summary) in try self.leadSummaries() where summary.status == "assigned" {
            assigned[id] = summary.manager
        }
        return DeliveryReport(pushed: pushed, expectedIDs: expectedIDs, assigned: assigned, assignedEvents: try self.assignedEvents())
    }

    /// Waits until nothing is pending and every expected id has an assigned lead record.
    func waitForAssignments(of expectedIDs: Set<String>, timeout: Double = 30) throws -> Bool {
        try self.waitUntil(timeout: timeout) {
            guard try self.nothingPending() else { return false }
            let assigned = try self.leadSummaries().filter { $0.value.status == "assigned" }
            return expectedIDs.allSatisfy { assigned[$0] != nil }
        }
    }

    /// Reads the entries of `lr:{P}:dead`, oldest first, decoded from JSON.
    func deadLetters() throws -> [[String: Any]] {
        let reply = try self.redis.command(["LRANGE", self.keys.dead, "0", "-1"])
        let entries = (reply.elements ?? []).compactMap(\.bytes).reversed()
        return entries.compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
    }

    /// Reads the manager's `open` counter.
    func openCount(_ manager: String) throws -> Int {
        Int(try self.redis.command(["HGET", self.keys.manager(manager), "open"]).integer ?? 0)
    }

    /// Ids of the workers registered in `lr:{P}:workers`.
    func registeredWorkers() throws -> [String] {
        (try self.redis.command(["HKEYS", self.keys.workers]).elements ?? []).compactMap(\.text)
    }

    /// Waits for a worker process to register and returns its worker id (`NAME-PID-SUFFIX`), or
    /// nil if it did not register within `timeout` seconds.
    func workerID(of worker: WorkerProcess, timeout: Double = 10) throws -> String? {
        var found: String?
        _ = try self.waitUntil(timeout: timeout) {
            found = try self.registeredWorkers().first { $0.contains("-\(worker.pid)-") }
            return found != nil
        }
        return found
    }

    func inFlightLength(ofWorker id: String) throws -> Int {
        Int(try self.redis.command(["LLEN", self.keys.processing(id)]).integer ?? 0)
    }

    /// Stops `worker` with SIGSTOP at a moment when its in-flight list contains leads, and
    /// returns how many. The `others` are paused meanwhile (well under the 5 s heartbeat), so the
    /// backlog that `refill` pushes stays for `worker` to take. A commit sent just before the stop
    /// still runs in Redis, so the length is read again after a short wait. Returns 0, with every
    /// worker running, when no attempt caught `worker` with leads in flight.
    /// Before each pause it waits up to 1 s for at least `minimum` leads in flight. A `minimum`
    /// above 1 skips the single lead that a blocking pop takes before the worker takes batches.
    func pauseHoldingLeads(_ worker: WorkerProcess, id: String, others: [WorkerProcess], minimum: Int = 1, attempts: Int = 20, refill: () throws -> Void) throws -> Int {
        for _ in 0..<attempts {
            others.forEach { $0.signal(SIGSTOP) }
            try refill()
            // Polls every 2 ms: one worker alone clears a backlog of a few hundred leads in tens
            // of milliseconds.
            let deadline = Date().addingTimeInterval(1)
            while try self.inFlightLength(ofWorker: id) < minimum, Date() < deadline {
                Thread.sleep(forTimeInterval: 0.002)
            }
            worker.signal(SIGSTOP)
            Thread.sleep(forTimeInterval: 0.1)
            let held = try self.inFlightLength(ofWorker: id)
            others.forEach { $0.signal(SIGCONT) }
            if held > 0 {
                return held
            }
            worker.signal(SIGCONT)
            Thread.sleep(forTimeInterval: 0.05)
        }
        return 0
    }
}

/// Records one issue per broken exactly-once property, each naming the ids involved.
func expectExactlyOnce(_ report: DeliveryReport, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(report.lost.isEmpty, "leads never assigned: \(report.lost.prefix(20))", sourceLocation: sourceLocation)
    #expect(report.doubled.isEmpty, "leads with more than one assigned event: \(report.doubled.prefix(20))", sourceLocation: sourceLocation)
    #expect(report.recordsWithoutMatchingEvent.isEmpty, "assigned leads without one matching assigned event: \(report.recordsWithoutMatchingEvent.prefix(20))", sourceLocation: sourceLocation)
    #expect(report.unexpected.isEmpty, "assigned leads that were never pushed: \(report.unexpected.prefix(20))", sourceLocation: sourceLocation)
    #expect(report.assigned.count == report.expectedIDs.count, "assigned lead records", sourceLocation: sourceLocation)
}

/// Max minus min of the counts, with every manager of `managers` counted (0 when absent).
func spread(_ counts: [String: Int], over managers: [String]) -> Int {
    let values = managers.map { counts[$0] ?? 0 }
    return (values.max() ?? 0) - (values.min() ?? 0)
}

/// A finished `leadrouter` run with its output.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
    /// True when the command did not finish in time and was killed.
    let timedOut: Bool

    var stderrLines: [Substring] {
        self.stderr.split(separator: "\n", omittingEmptySubsequences: true)
    }
}

/// Runs the CLI against the test server like `LeadrouterBinary.run`, but kills it after
/// `timeout` seconds, so a command that wrongly starts a worker cannot hang the test run.
/// `arguments` follow `--redis`, and no `--pool` is added.
func runLeadrouter(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 20) throws -> CLIResult {
    var fullEnvironment = ProcessInfo.processInfo.environment
    fullEnvironment.removeValue(forKey: "LEADROUTER_POOL")
    fullEnvironment.merge(environment) { _, new in new }
    return try runLeadrouterProcess(["--redis", TestRedis.urlText] + arguments, environment: fullEnvironment, stdin: nil, timeout: timeout)
}

/// Runs `leadrouter` with exactly `arguments` and `environment`, and kills it after `timeout`
/// seconds. With `stdin` nil its standard input is /dev/null.
func runLeadrouterProcess(_ arguments: [String], environment: [String: String], stdin: String?, timeout: Double) throws -> CLIResult {
    let directory = FileManager.default.temporaryDirectory
    let token = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    let outURL = directory.appendingPathComponent("lr-cli-\(token).out")
    let errURL = directory.appendingPathComponent("lr-cli-\(token).err")
    let inURL = directory.appendingPathComponent("lr-cli-\(token).in")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    if let stdin {
        FileManager.default.createFile(atPath: inURL.path, contents: Data(stdin.utf8))
    }
    defer {
        for url in [outURL, errURL, inURL] {
            try? FileManager.default.removeItem(at: url)
        }
    }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: LeadrouterBinary.path)
    process.arguments = arguments
    process.environment = environment
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    if stdin == nil {
        process.standardInput = FileHandle.nullDevice
    } else {
        process.standardInput = try FileHandle(forReadingFrom: inURL)
    }
    try process.run()

    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline {
        Thread.sleep(forTimeInterval: 0.02)
    }
    let timedOut = process.isRunning
    if timedOut {
        kill(process.processIdentifier, SIGKILL)
    }
    process.waitUntilExit()
    return CLIResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
        timedOut: timedOut
    )
}
