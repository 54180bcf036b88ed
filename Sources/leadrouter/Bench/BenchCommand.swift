import Foundation
import LeadRouting
import RedisClient

/// `leadrouter bench`: throughput and speed-to-lead of real worker processes on a private pool,
/// next to Redis's own floor measured in the same run. The pool is removed afterwards.
enum BenchCommand {
    struct Options {
        var leads = 50_000
        var workers = 2
        var concurrency = 1
        var managers = 20
        var method = DistributionMethod.roundRobin
        var maxOpen: Int?
        var rate = 1_000
        var seconds = 5.0
        var json = false
    }

    struct Result {
        var throughput = 0.0
        var floor = 0.0
        var speeds: [Int] = []
        var cpuPerThousand = 0.0
        var peakRSS = 0.0
        var roundTripsPerLead = 0.0
        /// Redis server CPU seconds per 1,000 leads in the throughput phase (INFO cpu).
        var redisCPUPerThousand = 0.0
        var workerCPUPerThousandThroughput = 0.0
    }

    static func run(_ tail: [String], _ context: Context) throws {
        let arguments = try Arguments(
            tail, command: "bench",
            options: ["--leads", "--workers", "--concurrency", "--managers", "--method", "--max-open", "--rate", "--seconds"],
            flags: ["--json"]
        )
        _ = try arguments.expect([], command: "bench")
        var options = Options()
        options.leads = try arguments.integer("--leads", range: 10...10_000_000) ?? options.leads
        options.workers = try arguments.integer("--workers", range: 1...64) ?? options.workers
        options.concurrency = try arguments.integer("--concurrency", range: 1...64) ?? options.concurrency
        options.managers = try arguments.integer("--managers", range: 1...10_000) ?? options.managers
        options.maxOpen = try arguments.integer("--max-open", range: 1...10_000_000)
        options.rate = try arguments.integer("--rate", range: 1...1_000_000) ?? options.rate
        options.seconds = try arguments.number("--seconds", range: 0.1...3_600) ?? options.seconds
        options.json = arguments.has("--json")
        if let name = arguments.value("--method") {
            guard let method = DistributionMethod(rawValue: name), method.isSelector else {
                throw UsageError("invalid --method \(Identifiers.quoted(name)): use round_robin, least_loaded or weighted")
            }
            options.method = method
        }

        let pool = "bench-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let keys = try PoolKeys(pool: pool)
        let client = PoolClient(connection: try RedisConnection(url: context.url), keys: keys)
        defer { Self.removePool(client) }

        let result = try Self.measure(options, context: context, client: client)
        if options.json {
            let object: [String: Any] = [
                "throughput_leads_per_s": result.throughput.rounded(), "floor_leads_per_s": result.floor.rounded(),
                "ratio": (result.throughput / max(result.floor, 1) * 1000).rounded() / 1000,
                "p50_ms": Self.percentile(result.speeds, 0.5), "p99_ms": Self.percentile(result.speeds, 0.99),
                "p999_ms": Self.percentile(result.speeds, 0.999), "max_ms": result.speeds.last ?? 0,
                "worker_rss_mb": (result.peakRSS * 10).rounded() / 10,
                "worker_cpu_s_per_1000_leads": (result.cpuPerThousand * 1000).rounded() / 1000,
                "round_trips_per_lead": (result.roundTripsPerLead * 1000).rounded() / 1000,
                "redis_cpu_s_per_1000_leads": (result.redisCPUPerThousand * 1000).rounded() / 1000,
                "worker_cpu_s_per_1000_leads_throughput": (result.workerCPUPerThousandThroughput * 1000).rounded() / 1000,
                "leads": options.leads, "workers": options.workers, "concurrency": options.concurrency,
                "managers": options.managers, "method": options.method.rawValue,
                "rate_leads_per_s": options.rate, "seconds": options.seconds,
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            Self.printTable(options, result)
        }
    }

    private static func measure(_ options: Options, context: Context, client: PoolClient) throws -> Result {
        var result = Result()
        try Self.setUpPool(options, client: client)

        // 1. Throughput: a preloaded backlog, then K worker processes, until every lead is assigned.
        Self.progress("preloading \(options.leads) leads")
        try Self.pushLeads(client, count: options.leads, prefix: "t", stampNow: false)
        let before = try Self.commandCalls(client.connection)
        let redisCPUBefore = try Self.redisCPUSeconds(client.connection)
        let started = Date()
        let workers = try (0..<options.workers).map { try Self.startWorker($0, options: options, context: context, pool: client.keys.pool) }
        defer { Self.stopWorkers(workers) }
        try Self.waitForAssigned(client, total: options.leads, label: "throughput")
        result.throughput = Double(options.leads) / Date().timeIntervalSince(started)
        result.redisCPUPerThousand = (try Self.redisCPUSeconds(client.connection) - redisCPUBefore) / Double(options.leads) * 1000
        let throughputStats = workers.compactMap { ProcessStats.read(pid: $0.processIdentifier) }
        result.workerCPUPerThousandThroughput = throughputStats.reduce(0) { $0 + $1.cpuSeconds } / Double(options.leads) * 1000
        let after = try Self.commandCalls(client.connection)
        let perLeadCalls = ["evalsha", "blmove"].reduce(0) { $0 + (after[$1] ?? 0) - (before[$1] ?? 0) }
        result.roundTripsPerLead = Double(perLeadCalls) / Double(options.leads)

        // 2. Speed-to-lead: a paced producer while the same workers run.
        let paced = max(1, Int(Double(options.rate) * options.seconds))
        Self.progress("pacing \(options.rate) leads/s for \(options.seconds) s")
        try Self.pacedPush(client, rate: options.rate, total: paced)
        try Self.waitForAssigned(client, total: options.leads + paced, label: "speed-to-lead")
        result.speeds = try Self.speeds(client, count: paced)

        let stats = workers.compactMap { ProcessStats.read(pid: $0.processIdentifier) }
        result.cpuPerThousand = stats.reduce(0) { $0 + $1.cpuSeconds } / Double(options.leads + paced) * 1000
        result.peakRSS = stats.map(\.peakRSSMegabytes).max() ?? 0
        Self.stopWorkers(workers)

        // 3. The floor, with as many connections as the workers used.
        Self.progress("measuring the Redis floor with \(options.workers * options.concurrency) connections")
        result.floor = try BenchFloor.measure(url: context.url, keys: client.keys, items: options.leads, connections: options.workers * options.concurrency)
        Self.progress(nil)
        return result
    }

    private static func setUpPool(_ options: Options, client: PoolClient) throws {
        for index in 1...options.managers {
            let id = String(format: "bench-mgr-%03d", index)
            _ = try client.addManager(id, groups: ["bench"], maxOpen: nil)
            var update = ManagerUpdate()
            update.metrics = [("won_value", Double(100 + index * 10))]
            try client.updateManager(id, update)
        }
        var group = "\"method\": \"\(options.method.rawValue)\""
        if options.method == .weighted {
            group += ", \"rating\": {\"won_value\": 1}, \"min_share\": 0.01"
        }
        if let cap = options.maxOpen {
            group += ", \"max_open\": \(cap)"
        }
        let config = "{\"groups\": {\"bench\": {\(group)}}, \"routes\": [{\"group\": \"bench\"}]}"
        _ = try client.setConfig(Data(config.utf8))
    }

    private static func pushLeads(_ client: PoolClient, count: Int, prefix: String, stampNow: Bool) throws {
        var sent = 0
        while sent < count {
            let chunk = min(1_000, count - sent)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let commands = (sent..<(sent + chunk)).map { index -> [[UInt8]] in
                let created = stampNow ? ",\"created_at\":\(now)" : ""
                let lead = "{\"id\":\"\(prefix)-\(index)\",\"specialization\":\"Finance Management\",\"source\":\"bench\"\(created)}"
                return [Array("LPUSH".utf8), Array(client.keys.incoming.utf8), Array(lead.utf8)]
            }
            _ = try client.connection.pipeline(commands)
            sent += chunk
        }
    }

    /// Pushes `total` leads at `rate` per second, each stamped with its push time.
    private static func pacedPush(_ client: PoolClient, rate: Int, total: Int) throws {
        let start = Date()
        var sent = 0
        while sent < total {
            let due = min(total, Int(Date().timeIntervalSince(start) * Double(rate)) + 1)
            if due > sent {
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let commands = (sent..<due).map { index -> [[UInt8]] in
                    let lead = "{\"id\":\"p-\(index)\",\"source\":\"bench\",\"created_at\":\(now)}"
                    return [Array("LPUSH".utf8), Array(client.keys.incoming.utf8), Array(lead.utf8)]
                }
                _ = try client.connection.pipeline(commands)
                sent = due
            }
            Thread.sleep(forTimeInterval: 0.0005)
        }
    }

    private static func waitForAssigned(_ client: PoolClient, total: Int, label: String) throws {
        let deadline = Date().addingTimeInterval(600)
        while Date() < deadline {
            let assigned = try Self.assignedCount(client)
            Self.progress("\(label): \(assigned)/\(total) assigned")
            if assigned >= total {
                return
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw PoolError("bench timed out: leads were not all assigned within 600 s; check the worker logs")
    }

    private static func assignedCount(_ client: PoolClient) throws -> Int {
        let ids = (try client.connection.command(["ZRANGE", client.keys.managers, "0", "-1"]).elements ?? []).compactMap(\.text)
        let replies = try client.connection.pipeline(ids.map { ["HGET", client.keys.manager($0), "assigned_total"].map { Array($0.utf8) } })
        return replies.reduce(0) { $0 + Int($1.integer ?? 0) }
    }

    private static func speeds(_ client: PoolClient, count: Int) throws -> [Int] {
        var speeds: [Int] = []
        var index = 0
        while index < count {
            let chunk = min(1_000, count - index)
            let replies = try client.connection.pipeline((index..<(index + chunk)).map {
                ["HGET", client.keys.lead("p-\($0)"), "speed_ms"].map { Array($0.utf8) }
            })
            speeds += replies.compactMap { $0.integer.map { Int($0) } }
            index += chunk
        }
        return speeds.sorted()
    }

    /// Reads the server's user plus system CPU seconds so far (`INFO cpu`).
    private static func redisCPUSeconds(_ connection: RedisConnection) throws -> Double {
        let text = try connection.command(["INFO", "cpu"]).text ?? ""
        var total = 0.0
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0] == "used_cpu_sys" || parts[0] == "used_cpu_user" {
                total += Double(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
        }
        return total
    }

    private static func commandCalls(_ connection: RedisConnection) throws -> [String: Int] {
        let text = try connection.command(["INFO", "commandstats"]).text ?? ""
        var calls: [String: Int] = [:]
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("cmdstat_") {
            let parts = line.dropFirst("cmdstat_".count).split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let field = parts[1].split(separator: ",").first, field.hasPrefix("calls=") else { continue }
            calls[String(parts[0])] = Int(field.dropFirst("calls=".count))
        }
        return calls
    }

    private static func startWorker(_ index: Int, options: Options, context: Context, pool: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = ["--redis", context.urlText, "--pool", pool, "worker", "--name", "bench-\(index)", "--concurrency", String(options.concurrency)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    private static func stopWorkers(_ workers: [Process]) {
        for worker in workers where worker.isRunning {
            kill(worker.processIdentifier, SIGTERM)
        }
        for worker in workers {
            worker.waitUntilExit()
        }
    }

    private static func removePool(_ client: PoolClient) {
        do {
            try client.deleteAllKeys()
        } catch {
            CLI.fail("could not remove the bench pool \(client.keys.pool): \(error); delete its keys lr:{\(client.keys.pool)}:* by hand")
        }
    }

    static func percentile(_ sorted: [Int], _ fraction: Double) -> Int {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    /// Rewrites one progress line on standard error in place; nil clears it.
    private static func progress(_ text: String?) {
        guard isatty(STDERR_FILENO) == 1 else { return }
        let line = text.map { "\r\u{1B}[2K" + $0 } ?? "\r\u{1B}[2K"
        FileHandle.standardError.write(Data(line.utf8))
    }

    private static func printTable(_ options: Options, _ result: Result) {
        let ratio = result.throughput / max(result.floor, 1)
        print("leadrouter bench: \(options.workers) workers x concurrency \(options.concurrency), \(options.managers) managers, \(options.method.rawValue)")
        print(String(format: "  throughput      %9.0f leads/s  (%d leads preloaded)", result.throughput, options.leads))
        print(String(format: "  Redis floor     %9.0f leads/s  (LMOVE + EVALSHA per lead, %d connections)", result.floor, options.workers * options.concurrency))
        print(String(format: "  ratio           %9.2f", ratio))
        print("  speed-to-lead   p50 \(Self.percentile(result.speeds, 0.5)) ms, p99 \(Self.percentile(result.speeds, 0.99)) ms, p99.9 \(Self.percentile(result.speeds, 0.999)) ms, max \(result.speeds.last ?? 0) ms  (\(options.rate) leads/s for \(options.seconds) s)")
        print(String(format: "  worker CPU      %9.3f s per 1,000 leads (%.3f s in the throughput phase)", result.cpuPerThousand, result.workerCPUPerThousandThroughput))
        print(String(format: "  Redis CPU       %9.3f s per 1,000 leads in the throughput phase", result.redisCPUPerThousand))
        print(String(format: "  worker peak RSS %9.1f MB", result.peakRSS))
        print(String(format: "  round trips     %9.3f per lead (EVALSHA + BLMOVE calls)", result.roundTripsPerLead))
    }
}
