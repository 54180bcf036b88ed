import Foundation
import LeadRouting
import RedisClient
import Testing

/// A redis-server of one test's own, on a free loopback port, with a temporary directory as its
/// working directory (AOF files and `redis.log` live there). Tests that restart, stop, fill or
/// reconfigure Redis use one, so the shared `REDIS_URL` server is never touched.
final class PrivateRedis {
    let port: Int
    let directory: URL
    /// Options given to every start, after the port, bind address and directory.
    let arguments: [String]
    private var process: Process?
    /// The user `stop()` sends `SHUTDOWN` as, when an ACL file switches the default user off.
    var adminUser: String?
    var adminPassword: String?

    /// Starts redis-server with `arguments` (for example `["--appendonly", "yes"]`) and waits
    /// until it replies to PING. Picks a new port when another process takes the first one.
    init(_ arguments: [String] = []) throws {
        self.arguments = arguments
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("lr-redis-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)

        var started: (port: Int, process: Process)?
        var lastError: Error?
        for _ in 0..<3 where started == nil {
            let port = try Self.freePort()
            do {
                started = (port, try Self.launch(port: port, directory: self.directory, arguments: arguments))
            } catch {
                lastError = error
            }
        }
        guard let started else {
            try? FileManager.default.removeItem(at: self.directory)
            throw lastError ?? PrivateRedisError("redis-server did not start")
        }
        self.port = started.port
        self.process = started.process
    }

    deinit {
        self.kill9()
        try? FileManager.default.removeItem(at: self.directory)
    }

    var url: String { "redis://127.0.0.1:\(self.port)" }

    /// `redis://USER@127.0.0.1:PORT`, for programs that get the password from the environment.
    func url(user: String) -> String { "redis://\(user)@127.0.0.1:\(self.port)" }

    var pid: Int32? { self.process?.processIdentifier }

    var isRunning: Bool { self.process?.isRunning ?? false }

    /// Opens a connection, authenticated when `user` and `password` are given.
    func connect(user: String? = nil, password: String? = nil, commandTimeout: Double = 5) throws -> RedisConnection {
        var url = try RedisURL(parsing: self.url)
        url.user = user
        url.password = password
        return try RedisConnection(url: url, commandTimeout: commandTimeout)
    }

    /// Starts the server again on the same port and directory, so it replays its AOF.
    func start() throws {
        guard !self.isRunning else { return }
        self.process = try Self.launch(port: self.port, directory: self.directory, arguments: self.arguments)
    }

    /// Stops the server with `SHUTDOWN` (Redis flushes the AOF first) and starts it again.
    func restart() throws {
        self.stop()
        try self.start()
    }

    /// Sends `SHUTDOWN` and waits up to 10 s for the server to exit, then SIGKILL.
    ///
    /// SIGTERM would not do: children of `Foundation.Process` inherit the test process's signal
    /// mask, in which SIGTERM is blocked, and redis-server does not unblock it.
    func stop() {
        guard let process = self.process, process.isRunning else { return }
        if let connection = try? self.connect(user: self.adminUser, password: self.adminPassword) {
            // The server closes the connection instead of replying.
            _ = try? connection.command(["SHUTDOWN"])
        }
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        self.kill9()
    }

    /// Kills the server with SIGKILL, as a crash of the Redis host would, and waits for it.
    func kill9() {
        guard let process = self.process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func log() -> String {
        (try? String(contentsOf: self.directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
    }

    /// Runs redis-server and waits until it replies to PING. Any reply counts, NOAUTH included
    /// (an ACL file may switch the default user off), except LOADING.
    private static func launch(port: Int, directory: URL, arguments: [String]) throws -> Process {
        let logURL = directory.appendingPathComponent("redis.log")
        if !FileManager.default.fileExists(atPath: logURL.path) {
            FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        let log = try FileHandle(forWritingTo: logURL)
        log.seekToEndOfFile()

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "redis-server", "--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
            "--dir", directory.path, "--daemonize", "no", "--save", "",
        ] + arguments
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()

        let url = try RedisURL(parsing: "redis://127.0.0.1:\(port)")
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard process.isRunning else {
                throw PrivateRedisError("redis-server on port \(port) exited at start; log: \(logURL.path)")
            }
            do {
                let connection = try RedisConnection(url: url, commandTimeout: 1)
                _ = try connection.command(["PING"])
                return process
            } catch let error as RedisError where error.kind == .server && error.serverCode != "LOADING" {
                return process
            } catch {
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw PrivateRedisError("redis-server on port \(port) did not reply to PING within 10 s; log: \(logURL.path)")
    }

    /// Returns a TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw PrivateRedisError("socket() failed: errno \(errno)") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) }
        }
        guard bound == 0 else { throw PrivateRedisError("bind() on 127.0.0.1 failed: errno \(errno)") }
        var actualLength = length
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &actualLength) }
        }
        guard named == 0 else { throw PrivateRedisError("getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

struct PrivateRedisError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// A pool of one test on any Redis server: the shared `REDIS_URL` one or a `PrivateRedis`.
/// Like `TestPool`, with reads that retry while the server restarts.
final class FaultPool: PoolFixture {
    let name: String
    let keys: PoolKeys
    let url: String
    let redis: RedisConnection
    let client: PoolClient
    let waitsThroughLostConnections = true
    private(set) var workers: [WorkerProcess] = []
    private var workerCount = 0

    /// Opens a pool on `url`. The test's own connection authenticates with `user` and `password`.
    init(_ label: String, url: String, user: String? = nil, password: String? = nil) throws {
        self.name = Self.uniqueName(label)
        self.keys = try PoolKeys(pool: self.name)
        self.url = url
        var parsed = try RedisURL(parsing: url)
        parsed.user = user ?? parsed.user
        parsed.password = password ?? parsed.password
        self.redis = try RedisConnection(url: parsed)
        self.client = PoolClient(connection: self.redis, keys: self.keys)
    }

    deinit {
        self.killWorkersAndRemoveKeys()
    }

    /// Starts one worker process, named w0, w1, … unless `name` is given.
    @discardableResult
    func startWorker(name: String? = nil, concurrency: Int = 1, url: String? = nil, environment: [String: String] = [:], extraArguments: [String] = []) throws -> WorkerProcess {
        let workerName = name ?? "w\(self.workerCount)"
        self.workerCount += 1
        let worker = try WorkerProcess(redisURL: url ?? self.url, pool: self.name, name: workerName, concurrency: concurrency, environment: environment, extraArguments: extraArguments)
        self.workers.append(worker)
        return worker
    }

    @discardableResult
    func startWorkers(_ count: Int, concurrency: Int = 1, extraArguments: [String] = []) throws -> [WorkerProcess] {
        try (0..<count).map { _ in try self.startWorker(concurrency: concurrency, extraArguments: extraArguments) }
    }

    func inFlightTotal() throws -> Int {
        try self.inFlightLengths().values.reduce(0, +)
    }

    func assignedIDs() throws -> Set<String> {
        Set(try self.leadSummaries().filter { $0.value.status == "assigned" }.keys)
    }

    /// Sum of the `open` counters of `managers`.
    func openTotal(_ managers: [String]) throws -> Int {
        try managers.reduce(0) { total, manager in
            total + (try self.openCount(manager))
        }
    }

    /// Sum of the managers' `open` counters minus the number of assigned lead records: 0 when
    /// every counter increment has its lead record.
    func counterDrift(_ managers: [String]) throws -> Int {
        try self.openTotal(managers) - self.assignedIDs().count
    }

    /// Returns the started worker whose process id is part of worker id `id`.
    func worker(withID id: String) -> WorkerProcess? {
        self.workers.first { id.contains("-\($0.pid)-") }
    }
}

/// Leads with ids `PREFIX1, PREFIX2, …`, pushed by the test thread in chunks.
/// Two workers with `concurrency` threads each, 300 leads assigned, and then the first worker
/// paused while it holds at least two leads in flight and the second has drained the incoming
/// list. The fault tests that need Redis to fail under a held batch start from here.
struct HeldBatch {
    let workers: [WorkerProcess]
    let holder: WorkerProcess
    let holderID: String
    let producer: FaultProducer
    let held: Int

    init(_ pool: FaultPool, concurrency: Int, prefix: String) throws {
        let workers = try pool.startWorkers(2, concurrency: concurrency)
        let holder = workers[0]
        let holderID = try #require(try pool.workerID(of: holder))
        #expect(try pool.workerID(of: workers[1]) != nil)
        let producer = FaultProducer(pool, prefix: prefix)
        try producer.push(300)
        #expect(try pool.waitForAssignments(of: producer.ids, timeout: 10))

        let held = try pool.pauseHoldingLeads(holder, id: holderID, others: [workers[1]], minimum: 2) {
            if try pool.incomingLength() < 200 {
                try producer.push(200)
            }
        }
        #expect(held > 0, "the worker was caught holding leads")
        #expect(try pool.waitUntil(timeout: 5) { try pool.incomingLength() == 0 }, "the other worker drained the incoming list")

        self.workers = workers
        self.holder = holder
        self.holderID = holderID
        self.producer = producer
        self.held = held
    }
}

final class FaultProducer {
    let pool: FaultPool
    let prefix: String
    private(set) var pushed = 0
    private(set) var ids: Set<String> = []

    init(_ pool: FaultPool, prefix: String) {
        self.pool = pool
        self.prefix = prefix
    }

    func lead(_ number: Int) -> String {
        "{\"id\":\"\(self.prefix)\(number)\",\"source\":\"web\"}"
    }

    func push(_ count: Int) throws {
        let numbers = Array(self.pushed + 1...self.pushed + count)
        try self.pool.push(numbers.map(self.lead))
        self.pushed += count
        self.ids.formUnion(numbers.map { "\(self.prefix)\($0)" })
    }

    /// Pushes chunks of `chunk` leads, 20 ms apart, until `total` leads are pushed.
    func push(upTo total: Int, chunk: Int = 200) throws {
        while self.pushed < total {
            try self.push(min(chunk, total - self.pushed))
            Thread.sleep(forTimeInterval: 0.02)
        }
    }
}

/// Pushes leads `PREFIX1, PREFIX2, …` one LPUSH at a time, on a thread and a connection of its
/// own, through faults. A push that gets a reply is acknowledged. A push whose connection breaks
/// first is uncertain, because Redis may or may not have it. A push rejected with an error reply
/// (OOM) or sent while no connection could be opened is not in Redis.
final class BackgroundProducer: @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `lock`.
    private let url: RedisURL
    private let incoming: String
    private let prefix: String
    private let batch: Int
    private let interval: Double
    private let lock = NSLock()
    private var stopRequested = false
    private var next = 1
    private var acknowledgedIDs: Set<String> = []
    private var uncertainIDs: Set<String> = []
    private var rejectedIDs: Set<String> = []
    private var errorMessages: [String] = []
    private let finished = DispatchSemaphore(value: 0)

    /// Pushes `batch` leads every `interval` seconds.
    init(url: String, keys: PoolKeys, prefix: String, batch: Int = 5, interval: Double = 0.01) throws {
        self.url = try RedisURL(parsing: url)
        self.incoming = keys.incoming
        self.prefix = prefix
        self.batch = batch
        self.interval = interval
    }

    func start() {
        let thread = Thread { [self] in
            self.run()
            self.finished.signal()
        }
        thread.name = "fault-producer"
        thread.start()
    }

    /// Stops pushing and waits for the thread to finish.
    func stop() {
        self.lock.withLock { self.stopRequested = true }
        self.finished.wait()
    }

    var acknowledged: Set<String> { self.lock.withLock { self.acknowledgedIDs } }
    var uncertain: Set<String> { self.lock.withLock { self.uncertainIDs } }
    var rejected: Set<String> { self.lock.withLock { self.rejectedIDs } }
    var errors: [String] { self.lock.withLock { self.errorMessages } }
    var attempted: Int { self.lock.withLock { self.next - 1 } }

    private func run() {
        var connection: RedisConnection?
        while !self.lock.withLock({ self.stopRequested }) {
            for _ in 0..<self.batch {
                let id = self.lock.withLock { () -> String in
                    defer { self.next += 1 }
                    return "\(self.prefix)\(self.next)"
                }
                do {
                    if connection == nil {
                        connection = try RedisConnection(url: self.url, commandTimeout: 2)
                    }
                    _ = try connection?.command(["LPUSH", self.incoming, "{\"id\":\"\(id)\",\"source\":\"web\"}"])
                    self.lock.withLock { _ = self.acknowledgedIDs.insert(id) }
                } catch let error as RedisError where error.kind == .server {
                    self.lock.withLock {
                        self.rejectedIDs.insert(id)
                        self.errorMessages.append(error.message)
                    }
                } catch {
                    // Not connected at all: nothing was sent. Connected but broken: maybe sent.
                    let sent = connection != nil
                    connection = nil
                    self.lock.withLock {
                        if sent {
                            self.uncertainIDs.insert(id)
                        } else {
                            self.rejectedIDs.insert(id)
                        }
                        self.errorMessages.append("\(error)")
                    }
                    Thread.sleep(forTimeInterval: 0.05)
                }
            }
            Thread.sleep(forTimeInterval: self.interval)
        }
    }
}

/// The figures each fault test prints and checks.
struct FaultFigures: CustomStringConvertible {
    let fault: String
    let pushed: Int
    let faults: Int
    let lost: Int
    let doubled: Int
    /// Sum of the managers' `open` counters minus the assigned lead records.
    let drift: Int
    var notes: String = ""

    var description: String {
        "fault figures [\(self.fault)]: pushed=\(self.pushed) faults=\(self.faults) lost=\(self.lost) doubled=\(self.doubled) counter_drift=\(self.drift)"
            + (self.notes.isEmpty ? "" : " " + self.notes)
    }
}

extension FaultPool {
    /// Reads the figures of a run, prints them and records an issue for each lost lead, each lead
    /// assigned twice and any counter drift.
    @discardableResult
    func checkFigures(_ fault: String, expectedIDs: Set<String>, pushed: Int, faults: Int, managers: [String], notes: String = "", sourceLocation: SourceLocation = #_sourceLocation) throws -> DeliveryReport {
        let report = try self.deliveryReport(expectedIDs: expectedIDs, pushed: pushed)
        let drift = try self.openTotal(managers) - report.assigned.count
        let figures = FaultFigures(fault: fault, pushed: pushed, faults: faults, lost: report.lost.count, doubled: report.doubled.count, drift: drift, notes: notes)
        print(figures)
        expectExactlyOnce(report, sourceLocation: sourceLocation)
        #expect(drift == 0, "sum of open counters minus assigned lead records", sourceLocation: sourceLocation)
        return report
    }
}

/// Runs a `leadrouter` command against any Redis URL to completion, killing it after `timeout`
/// seconds. `LEADROUTER_POOL` and `LEADROUTER_REDIS_PASSWORD` are not inherited from the test's
/// environment, and `environment` adds variables.
func runLeadrouter(url: String, pool: String?, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, timeout: Double = 20) throws -> CLIResult {
    var fullEnvironment = ProcessInfo.processInfo.environment
    fullEnvironment.removeValue(forKey: "LEADROUTER_POOL")
    fullEnvironment.removeValue(forKey: "LEADROUTER_REDIS_PASSWORD")
    fullEnvironment.merge(environment) { _, new in new }
    let fullArguments = ["--redis", url] + (pool.map { ["--pool", $0] } ?? []) + arguments
    return try runLeadrouterProcess(fullArguments, environment: fullEnvironment, stdin: stdin ?? "", timeout: timeout)
}

extension FaultPool {
    /// Lua run by the test, not by leadrouter, that returns the registered workers whose in-flight
    /// list contains a lead starting with ARGV[2]. Comparing in Redis keeps large leads off the wire.
    private static let holdersScript = """
        local found = {}
        for _, w in ipairs(redis.call('HKEYS', ARGV[1] .. 'workers')) do
          for _, raw in ipairs(redis.call('LRANGE', ARGV[1] .. 'processing:' .. w, 0, -1)) do
            if string.sub(raw, 1, #ARGV[2]) == ARGV[2] then
              found[#found + 1] = w
              break
            end
          end
        end
        return found
        """

    /// Returns the ids of the registered workers whose in-flight list contains a lead starting
    /// with `prefix`.
    func workersHolding(leadStartingWith prefix: String) throws -> [String] {
        let reply = try self.redis.command(["EVAL", Self.holdersScript, "0", self.keys.prefix, prefix])
        return (reply.elements ?? []).compactMap(\.text)
    }

    /// Kills every running worker with a lead starting with `prefix` in flight, starts a
    /// replacement for each and returns how many it killed. This stands in for a lead that
    /// crashes the worker handling it.
    func killHolders(ofLeadStartingWith prefix: String) throws -> Int {
        var killed = 0
        for id in try self.workersHolding(leadStartingWith: prefix) {
            guard let worker = self.worker(withID: id), worker.isRunning else { continue }
            worker.kill()
            killed += 1
            try self.startWorker()
        }
        return killed
    }
}

/// Builds a valid lead of about `fields` × 110 bytes. A debug build of the worker on a 2-CPU
/// machine held a lead of 100,000 such fields in flight for about 0.6 s, long enough for a test
/// to see it there.
func largeLead(id: String, fields: Int = 50_000) -> String {
    var text = "{\"id\":\"\(id)\",\"source\":\"web\""
    let value = String(repeating: "x", count: 100)
    for index in 0..<fields {
        text += ",\"f\(index)\":\"\(value)\""
    }
    return text + "}"
}
