import Foundation
import LeadRouting
import RedisClient
import Testing

/// The Redis server under test: `REDIS_URL`, set by `ops/test` to a private server on loopback.
enum TestRedis {
    static var url: RedisURL {
        get throws {
            let text = ProcessInfo.processInfo.environment["REDIS_URL"] ?? "redis://127.0.0.1:6379"
            return try RedisURL(parsing: text)
        }
    }

    static var urlText: String {
        ProcessInfo.processInfo.environment["REDIS_URL"] ?? "redis://127.0.0.1:6379"
    }

    static func connect() throws -> RedisConnection {
        try RedisConnection(url: try self.url)
    }
}

/// A pool of one test with the test's own connection to its Redis server. `TestPool` and
/// `FaultPool` conform, and the helpers in the extensions below and in DeliveryChecks.swift read
/// and write the pool through it.
protocol PoolFixture: AnyObject {
    var name: String { get }
    var keys: PoolKeys { get }
    var redis: RedisConnection { get }
    var client: PoolClient { get }
    /// The worker processes the pool started, killed when the pool goes away.
    var workers: [WorkerProcess] { get }
    /// True when `waitUntil` treats a lost connection as "not yet", for tests that restart Redis.
    var waitsThroughLostConnections: Bool { get }
}

extension PoolFixture {
    /// Returns `t-LABEL-SUFFIX` with a random suffix, so that tests running at the same time never
    /// share a pool.
    static func uniqueName(_ label: String) -> String {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return "t-\(label)-\(suffix)"
    }

    /// Kills the pool's workers and deletes its keys, for `deinit`.
    func killWorkersAndRemoveKeys() {
        for worker in self.workers {
            worker.kill()
        }
        self.removeKeys()
    }

    /// Polls `condition` every 50 ms until it is true or `timeout` seconds pass, and returns its
    /// last result. With `waitsThroughLostConnections`, a lost connection counts as "not yet", so
    /// the poll goes on while the server restarts.
    func waitUntil(timeout: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            do {
                if try condition() {
                    return true
                }
            } catch let error as RedisError where error.needsReconnect && self.waitsThroughLostConnections {
                // The next command reconnects.
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return try condition()
    }

    /// Deletes every key of the pool (SCAN on the pool's prefix), when the server still runs.
    func removeKeys() {
        _ = try? self.client.deleteAllKeys()
    }

    /// Adds the managers `ids` with the given groups.
    func addManagers(_ ids: [String], groups: [String] = [], maxOpen: Int? = nil) throws {
        for id in ids {
            _ = try self.client.addManager(id, groups: groups, maxOpen: maxOpen)
        }
    }

    func setConfig(_ json: String) throws {
        _ = try self.client.setConfig(Data(json.utf8))
    }

    /// LPUSHes raw leads as a producer would, 500 to a pipeline. Throws when Redis rejects a push
    /// (OOM, for example).
    func push(_ leads: [String]) throws {
        var index = 0
        while index < leads.count {
            let chunk = leads[index..<min(index + 500, leads.count)]
            let replies = try self.redis.pipeline(chunk.map { [Array("LPUSH".utf8), Array(self.keys.incoming.utf8), Array($0.utf8)] })
            for reply in replies {
                if case .error(let message) = reply {
                    throw RedisError(.server, message, command: "LPUSH")
                }
            }
            index += 500
        }
    }

    /// Reads every entry of the events stream, as field maps.
    func events() throws -> [[String: String]] {
        let reply = try self.redis.command(["XRANGE", self.keys.events, "-", "+"])
        return (reply.elements ?? []).compactMap { entry in
            guard let parts = entry.elements, parts.count == 2 else { return nil }
            return parts[1].fieldMap.compactMapValues(\.text)
        }
    }
}

/// A pool of its own for one test on the shared `REDIS_URL` server: a unique name, a connection,
/// and removal of every key of the pool when the test ends (also on failure).
final class TestPool: PoolFixture {
    let name: String
    let keys: PoolKeys
    let redis: RedisConnection
    let client: PoolClient
    let waitsThroughLostConnections = false
    private(set) var workers: [WorkerProcess] = []

    init(_ label: String) throws {
        self.name = Self.uniqueName(label)
        self.keys = try PoolKeys(pool: self.name)
        self.redis = try TestRedis.connect()
        self.client = PoolClient(connection: self.redis, keys: self.keys)
    }

    deinit {
        self.killWorkersAndRemoveKeys()
    }

    /// Starts `count` worker processes of the built binary on this pool.
    @discardableResult
    func startWorkers(_ count: Int, concurrency: Int = 1, extraArguments: [String] = []) throws -> [WorkerProcess] {
        var started: [WorkerProcess] = []
        for index in 0..<count {
            let worker = try WorkerProcess(pool: self.name, name: "w\(index)", concurrency: concurrency, extraArguments: extraArguments)
            self.workers.append(worker)
            started.append(worker)
        }
        return started
    }

    /// True when nothing is left in the incoming list or any in-flight list.
    func drained() throws -> Bool {
        let status = try self.client.status()
        return status.incoming == 0 && status.processing == 0
    }

    func lead(_ id: String) throws -> [String: String] {
        try self.client.leadRecord(id) ?? [:]
    }

    /// Counts per manager id of the leads recorded as assigned (lead records, not counters).
    func assignmentsByManager() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        var cursor = "0"
        repeat {
            let reply = try self.redis.command(["SCAN", cursor, "MATCH", "lr:{\(self.name)}:lead:*", "COUNT", "1000"])
            guard let parts = reply.elements, parts.count == 2 else { break }
            cursor = parts[0].text ?? "0"
            let keys = (parts[1].elements ?? []).compactMap(\.text)
            let replies = try self.redis.pipeline(keys.map { [Array("HMGET".utf8), Array($0.utf8), Array("status".utf8), Array("manager".utf8)] })
            for reply in replies {
                let fields = (reply.elements ?? []).map { $0.text ?? "" }
                if fields.count == 2, fields[0] == "assigned" {
                    counts[fields[1], default: 0] += 1
                }
            }
        } while cursor != "0"
        return counts
    }
}

/// The `leadrouter` executable built by `ops/test` (`LEADROUTER_BIN`), or the debug build.
enum LeadrouterBinary {
    static var path: String {
        if let path = ProcessInfo.processInfo.environment["LEADROUTER_BIN"] {
            return path
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/leadrouter").path
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs the CLI to completion with `--redis` set to the test server.
    static func run(_ arguments: [String], pool: String? = nil, stdin: String? = nil, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: self.path)
        var full = ["--redis", TestRedis.urlText]
        if let pool {
            full += ["--pool", pool]
        }
        process.arguments = full + arguments
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
        }
        try input.fileHandleForWriting.close()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// A `leadrouter worker` child process. Its standard output and error go to a temporary file,
/// read by `log()`.
final class WorkerProcess {
    let name: String
    let process = Process()
    let logURL: URL

    /// Starts a worker on `redisURL`, by default the shared `REDIS_URL` server.
    ///
    /// With `environment` nil the worker inherits the test's environment as it is. Otherwise it
    /// gets the test's environment without `LEADROUTER_REDIS_PASSWORD`, plus `environment`, so a
    /// worker on a server with ACL users authenticates only with the credentials its test sets.
    init(redisURL: String = TestRedis.urlText, pool: String, name: String, concurrency: Int = 1, environment: [String: String]? = nil, extraArguments: [String] = []) throws {
        self.name = name
        self.logURL = FileManager.default.temporaryDirectory.appendingPathComponent("lr-\(pool)-\(name)-\(UInt32.random(in: 0...UInt32.max)).log")
        FileManager.default.createFile(atPath: self.logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: self.logURL)
        self.process.executableURL = URL(fileURLWithPath: LeadrouterBinary.path)
        self.process.arguments = ["--redis", redisURL, "--pool", pool, "worker", "--name", name, "--concurrency", String(concurrency)] + extraArguments
        if let environment {
            var merged = ProcessInfo.processInfo.environment
            merged.removeValue(forKey: "LEADROUTER_REDIS_PASSWORD")
            merged.merge(environment) { _, new in new }
            self.process.environment = merged
        }
        self.process.standardOutput = log
        self.process.standardError = log
        self.process.standardInput = FileHandle.nullDevice
        try self.process.run()
    }

    var pid: Int32 { self.process.processIdentifier }

    var isRunning: Bool { self.process.isRunning }

    func signal(_ number: Int32) {
        if self.process.isRunning {
            Glibc.kill(self.pid, number)
        }
    }

    /// Sends SIGTERM and waits up to `timeout` seconds; returns the exit status, or nil if the
    /// worker did not exit in time (it is then killed).
    func stop(timeout: Double = 10) -> Int32? {
        self.signal(SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while self.process.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        if self.process.isRunning {
            self.kill()
            return nil
        }
        return self.process.terminationStatus
    }

    func kill() {
        if self.process.isRunning {
            Glibc.kill(self.pid, SIGKILL)
            self.process.waitUntilExit()
        }
    }

    func log() -> String {
        (try? String(contentsOf: self.logURL, encoding: .utf8)) ?? ""
    }

    /// Counts the log lines whose message (the text after `leadrouter.worker: `) starts with
    /// `message`.
    func logLines(startingWith message: String) -> Int {
        self.log().split(separator: "\n").filter { $0.contains("leadrouter.worker: " + message) }.count
    }

    /// Reads the user plus system CPU time of the process so far, in seconds, from
    /// `/proc/PID/stat`.
    func cpuSeconds() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(self.pid)/stat", encoding: .utf8),
            let commandEnd = stat.lastIndex(of: ")")
        else { return nil }
        // The fields after the command name start at field 3 (state). Fields 14 and 15 are
        // utime and stime, in clock ticks.
        let fields = stat[stat.index(after: commandEnd)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    deinit {
        self.kill()
        try? FileManager.default.removeItem(at: self.logURL)
    }
}
