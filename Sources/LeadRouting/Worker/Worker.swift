import Foundation
import RedisClient
import Synchronization

/// Settings of one `leadrouter worker` process.
public struct WorkerOptions: Sendable {
    public var name: String
    /// Threads taking leads, each with its own Redis connection.
    public var concurrency = 1
    /// Leads taken from the incoming list per script call when a backlog exists.
    public var batchSize = 64
    /// Lifetime of the heartbeat key; a worker silent this long is presumed dead and its
    /// in-flight leads go back to the incoming list.
    public var heartbeatMillis = 5_000
    /// Deliveries after which a lead that keeps killing its workers is dead-lettered.
    public var maxDeliveries = 3

    public init(name: String) {
        self.name = name
    }
}

/// Counters of one worker process, for its stop line and for tests.
public struct WorkerCounts: Sendable, Equatable {
    public var assigned = 0
    public var queued = 0
    public var deadLettered = 0
    public var duplicates = 0
    public var stale = 0
}

/// A worker: takes leads from `lr:{P}:incoming` and assigns them, until `requestStop()`.
///
/// A lead is never held only in memory: it moves atomically from the incoming list into this
/// process's in-flight list, and leaves it only in the script that records its assignment or its
/// dead-letter entry. If the process dies, other workers see its heartbeat expire and give its
/// in-flight leads back to the incoming list.
public final class Worker: Sendable {
    public let id: String
    let url: RedisURL
    let keys: PoolKeys
    let options: WorkerOptions
    let logger: Logger
    let configs: ConfigStore
    public let metrics = WorkerMetrics()
    private let stopping = Atomic<Bool>(false)
    private let counts = Mutex(WorkerCounts())

    public init(url: RedisURL, keys: PoolKeys, options: WorkerOptions, logger: Logger) {
        // Each process start gets its own identity, so a restarted worker with the same name
        // and pid never adopts (or hides) the in-flight leads of its previous life.
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        self.id = "\(options.name)-\(getpid())-\(suffix)"
        self.url = url
        self.keys = keys
        self.options = options
        self.logger = logger
        self.configs = ConfigStore(.implicit)
    }

    /// The registry entry of this worker in `lr:{P}:workers`.
    var descriptionJSON: String {
        "{\"name\":\"\(self.options.name)\",\"pid\":\(getpid()),\"concurrency\":\(self.options.concurrency)}"
    }

    /// Ids of the worker's lead threads: `ID.0`, `ID.1`, … Each thread has its own in-flight list
    /// and registry entry, so after a lost reply it can reread exactly the leads it holds, and
    /// recovery finds every list by its registry entry and heartbeat.
    public var threadIDs: [String] {
        (0..<self.options.concurrency).map { "\(self.id).\($0)" }
    }

    public func inFlightKey(thread index: Int) -> String {
        self.keys.processing(self.threadIDs[index])
    }

    public var isStopping: Bool {
        self.stopping.load(ordering: .relaxed)
    }

    public var totals: WorkerCounts {
        self.counts.withLock { $0 }
    }

    /// Asks the worker to stop: it finishes the leads in hand and takes no new ones.
    public func requestStop() {
        self.stopping.store(true, ordering: .relaxed)
    }

    func count(_ update: (inout WorkerCounts) -> Void) {
        self.counts.withLock { update(&$0) }
    }

    /// Runs until `requestStop()`. Blocking Redis calls run on threads this method starts, never
    /// on Swift's cooperative pool. Throws only when the first connection or config load fails.
    public func run() throws {
        let connection = try RedisConnection(url: self.url)
        self.configs.replace(try LoadedConfig.load(from: connection, keys: self.keys))
        let maintenance = Maintenance(worker: self, connection: connection)
        try maintenance.beat()

        let managers = try connection.command(["ZCARD", self.keys.managers]).integer ?? 0
        if managers == 0 {
            self.logger.warning("pool has no managers yet; leads will wait until one is added (check --pool)", [
                (Logger.Key.worker, self.id), (Logger.Key.pool, self.keys.pool),
            ])
        }
        self.logger.info("worker started", [
            (Logger.Key.worker, self.id), (Logger.Key.pool, self.keys.pool),
            ("concurrency", String(self.options.concurrency)), ("redis", self.url.description),
        ])

        let loops = DispatchGroup()
        for index in 0..<self.options.concurrency {
            loops.enter()
            let thread = Thread { [self] in
                LeadLoop(worker: self, index: index).run()
                loops.leave()
            }
            thread.name = "lead-loop-\(index)"
            thread.start()
        }
        let housekeeping = DispatchGroup()
        housekeeping.enter()
        let thread = Thread {
            maintenance.run()
            housekeeping.leave()
        }
        thread.name = "maintenance"
        thread.start()

        // The release must come after the last commit: releasing earlier would hand a lead that
        // is still being committed to another worker.
        loops.wait()
        housekeeping.wait()
        maintenance.release()

        let totals = self.totals
        self.logger.info("worker stopped", [
            (Logger.Key.worker, self.id), ("assigned", String(totals.assigned)), ("queued", String(totals.queued)),
            ("dead_lettered", String(totals.deadLettered)), ("duplicates", String(totals.duplicates)),
        ])
    }

    /// Checks the path a lead takes: Redis replies, the assignment script is in its cache and
    /// this worker's heartbeat is alive. Returns nil when healthy, or what is wrong.
    public func healthProblem() -> String? {
        guard !self.isStopping else { return "worker is stopping" }
        do {
            let connection = try RedisConnection(url: self.url, commandTimeout: 2)
            let sha1 = try connection.load(AssignScript.script)
            guard try connection.command(["SCRIPT", "EXISTS", sha1]).elements?.first?.integer == 1 else {
                return "assignment script not in the Redis script cache"
            }
            guard (try connection.command(["PTTL", self.keys.heartbeat(self.threadIDs[0])]).integer ?? -2) > 0 else {
                return "heartbeat key expired; maintenance thread is not running"
            }
            return nil
        } catch {
            return "Redis not usable: \(error)"
        }
    }

    /// Prometheus text: this worker's counters and the pool's waiting and in-flight gauges.
    public func metricsText() -> String {
        var waiting: Int?
        var inFlight: Int?
        if let connection = try? RedisConnection(url: self.url, commandTimeout: 2),
            let client = Optional(PoolClient(connection: connection, keys: self.keys)),
            let status = try? client.queueDepths()
        {
            waiting = status.waiting
            inFlight = status.processing
        }
        return self.metrics.render(pool: self.keys.pool, waiting: waiting, inFlight: inFlight)
    }

    /// Sleeps up to `seconds` in short steps, returning early once a stop is requested.
    func pause(_ seconds: Double) {
        var remaining = seconds
        while remaining > 0, !self.isStopping {
            let step = min(remaining, 0.1)
            Thread.sleep(forTimeInterval: step)
            remaining -= step
        }
    }
}
