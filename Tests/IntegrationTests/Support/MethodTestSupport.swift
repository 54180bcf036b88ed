import Foundation
import LeadRouting
import RedisClient
import Synchronization
import Testing

/// Parent of the distribution-method suites. `.serialized` applies to every nested suite, so
/// these tests run one at a time, because each starts several worker processes and tests side by
/// side would compete for CPU.
@Suite("Distribution methods", .serialized)
struct DistributionMethodTests {}

extension TestPool {
    /// Runs a `leadrouter` CLI command on this pool.
    func cli(_ arguments: [String]) throws -> LeadrouterBinary.Result {
        try LeadrouterBinary.run(arguments, pool: self.name)
    }

    /// Lead JSON objects `{"id": "<prefix><n>", ...fields}` for n in `numbers`.
    func leads(_ prefix: String, _ numbers: ClosedRange<Int>, fields: [String: String] = [:]) -> [String] {
        numbers.map { number in
            Self.leadJSON(id: "\(prefix)\(number)", fields: fields)
        }
    }

    static func leadJSON(id: String, fields: [String: String] = [:]) -> String {
        var object: [String: String] = fields
        object["id"] = id
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// Reads the `status` and `manager` fields of each lead, by lead id ("" for a missing field).
    func statusAndManager(of ids: [String]) throws -> [String: (status: String, manager: String)] {
        var result: [String: (status: String, manager: String)] = [:]
        var start = 0
        while start < ids.count {
            let chunk = Array(ids[start..<min(start + 500, ids.count)])
            let replies = try self.redis.pipeline(chunk.map { id in
                ["HMGET", self.keys.lead(id), "status", "manager"].map { Array($0.utf8) }
            })
            for (id, reply) in zip(chunk, replies) {
                let fields = (reply.elements ?? []).map { $0.text ?? "" }
                result[id] = (fields.first ?? "", fields.count > 1 ? fields[1] : "")
            }
            start += 500
        }
        return result
    }

    /// Counts the given leads that are assigned, per manager.
    func assignedCounts(of ids: [String]) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for (_, record) in try self.statusAndManager(of: ids) where record.status == "assigned" {
            counts[record.manager, default: 0] += 1
        }
        return counts
    }

    /// Counts the given leads whose status is `status`.
    func count(of ids: [String], status: String) throws -> Int {
        try self.statusAndManager(of: ids).values.filter { $0.status == status }.count
    }

    /// Reads the `open` counter of each manager.
    func openCounts(_ managers: [String]) throws -> [String: Int] {
        let replies = try self.redis.pipeline(managers.map { ["HGET", self.keys.manager($0), "open"].map { Array($0.utf8) } })
        var counts: [String: Int] = [:]
        for (id, reply) in zip(managers, replies) {
            counts[id] = Int(reply.integer ?? 0)
        }
        return counts
    }

    /// Returns the length of the dead-letter list.
    func dead() throws -> Int {
        Int(try self.redis.command(["LLEN", self.keys.dead]).integer ?? -1)
    }

    func sortedSetSize(_ key: String) throws -> Int {
        Int(try self.redis.command(["ZCARD", key]).integer ?? -1)
    }
}

/// Stops workers with SIGTERM, as an operator would, and returns their exit statuses (nil for a
/// worker that had to be killed).
@discardableResult
func stopWorkers(_ workers: [WorkerProcess]) -> [Int32?] {
    for worker in workers {
        worker.signal(SIGTERM)
    }
    return workers.map { $0.stop() }
}

extension WorkerProcess {
    /// The `assigned` count from the worker's "worker stopped" log line; nil before a clean stop.
    var assignedAtStop: Int? {
        guard let line = self.log().split(separator: "\n").last(where: { $0.contains("worker stopped") }),
            let field = line.split(separator: " ").first(where: { $0.hasPrefix("assigned=") })
        else { return nil }
        return Int(field.dropFirst("assigned=".count))
    }
}

/// Writes `text` to a new temporary file and returns its path.
func temporaryFile(_ text: String, suffix: String = ".json") throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("lr-test-\(UUID().uuidString)\(suffix)")
    try Data(text.utf8).write(to: url)
    return url.path
}

extension LeadrouterBinary {
    /// Starts every command at once, each as its own `leadrouter` process, and waits for all of
    /// them. Output is small (one line), so the pipes never fill before the processes exit.
    static func runConcurrently(_ commands: [[String]], pool: String) throws -> [Result] {
        var running: [(Process, Pipe, Pipe)] = []
        for arguments in commands {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: self.path)
            process.arguments = ["--redis", TestRedis.urlText, "--pool", pool] + arguments
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            running.append((process, out, err))
        }
        for (process, _, _) in running {
            try process.run()
        }
        return running.map { process, out, err in
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            let errData = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
        }
    }
}

/// Reads the `open` counter of some managers in a loop on a thread of its own, with its own
/// connection, and records the highest value seen per manager.
final class OpenCountSampler: Sendable {
    private let highest = Mutex<[String: Int]>([:])
    private let samples = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(pool: TestPool, managers: [String]) {
        let keys = managers.map { pool.keys.manager($0) }
        let thread = Thread { [self] in
            defer { self.finished.signal() }
            guard let redis = try? TestRedis.connect() else { return }
            while !self.stopping.load(ordering: .relaxed) {
                guard let replies = try? redis.pipeline(keys.map { ["HGET", $0, "open"].map { Array($0.utf8) } }) else { continue }
                self.highest.withLock { highest in
                    for (id, reply) in zip(managers, replies) {
                        highest[id] = max(highest[id] ?? 0, Int(reply.integer ?? 0))
                    }
                }
                self.samples.add(1, ordering: .relaxed)
                Thread.sleep(forTimeInterval: 0.002)
            }
        }
        thread.start()
    }

    /// Stops sampling; returns the highest open count seen per manager and the number of samples.
    func stop() -> (highest: [String: Int], samples: Int) {
        self.stopping.store(true, ordering: .relaxed)
        self.finished.wait()
        return (self.highest.withLock { $0 }, self.samples.load(ordering: .relaxed))
    }
}
