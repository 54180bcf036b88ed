import Foundation
import LeadRouting
import RedisClient
import Synchronization

/// Redis's own floor for this job, measured with the same number of connections as the workers:
/// per lead, one LMOVE into a processing list and one EVALSHA of a trivial script that writes
/// one hash field. No worker that records an assignment in Redis can do less per lead.
enum BenchFloor {
    static let script = RedisScript(
        name: "bench_floor",
        source: #"""
            #!lua
            redis.call('HSET', KEYS[1], ARGV[1], '1')
            return 1
            """#
    )

    /// Returns items per second.
    static func measure(url: RedisURL, keys: PoolKeys, items: Int, connections: Int) throws -> Double {
        let source = keys.prefix + "floor:incoming"
        let setup = try RedisConnection(url: url)
        var pushed = 0
        while pushed < items {
            let count = min(1_000, items - pushed)
            let commands = (pushed..<(pushed + count)).map { [Array("LPUSH".utf8), Array(source.utf8), Array("{\"id\":\"floor-\($0)\"}".utf8)] }
            _ = try setup.pipeline(commands)
            pushed += count
        }

        let failures = Mutex<[String]>([])
        let group = DispatchGroup()
        let start = Date()
        for index in 0..<connections {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do {
                    let redis = try RedisConnection(url: url)
                    let processing = keys.prefix + "floor:processing:\(index)"
                    let done = keys.prefix + "floor:done"
                    try redis.load(Self.script)
                    while true {
                        let item = try redis.command(["LMOVE", source, processing, "RIGHT", "LEFT"])
                        guard let bytes = item.bytes else { break }
                        try redis.evaluate(Self.script, keys: [Array(done.utf8)], arguments: [bytes])
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            thread.start()
        }
        group.wait()
        let elapsed = Date().timeIntervalSince(start)
        if let failure = failures.withLock({ $0.first }) {
            throw PoolError("floor measurement failed: \(failure)")
        }
        return Double(items) / elapsed
    }
}
