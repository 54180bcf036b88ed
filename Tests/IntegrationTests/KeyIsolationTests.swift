import Foundation
import LeadRouting
import Testing

extension WorkerProcessSuites {
    /// Lead fields are data: whatever a producer writes into them, the scripts touch only keys
    /// of the lead's own pool.
    @Suite("Key isolation")
    struct KeyIsolationTests {
        @Test("lead fields never name keys")
        func leadFieldsNeverNameKeys() throws {
            let pool = try TestPool("isolation")
            let victim = try TestPool("isolation-victim")
            try pool.setConfig(#"{"routes":[{"match":{"specialization":["Finance Management"]},"group":"finance"},{"group":"general"}],"groups":{"finance":{"method":"round_robin","fallback":"general"},"general":{"method":"round_robin"}}}"#)
            try pool.addManagers(["m1"], groups: ["finance", "general"])
            try victim.addManagers(["v1"])
            let before = try Self.allKeys(pool)

            // Ids and fields that look like key names, hash tags, Lua and Redis commands.
            let hostile = [
                #"{"id":"x}y","specialization":"lr:{\#(victim.name)}:managers"}"#,
                #"{"id":"{\#(victim.name)}","specialization":"}:group:finance"}"#,
                #"{"id":"a:b:c","specialization":"Finance Management","group":"general","manager":"v1"}"#,
                #"{"id":"lua-1","source":"') redis.call('FLUSHALL') --","specialization":"redis.call('DEL','lr:{\#(victim.name)}:managers')"}"#,
                #"{"id":"key-1","lr:{\#(victim.name)}:managers":"1","*":"*"}"#,
            ]
            try pool.push(hostile)
            let worker = try pool.startWorkers(1)[0]
            #expect(try pool.waitUntil { try pool.assignmentsByManager()["m1"] == hostile.count })

            // Every key that appeared belongs to the pool, and the other pool is untouched. Tests
            // running at the same time write keys of their own pools (`lr:{t-…}`, `lr:{bench-…}`),
            // which are left out.
            let added = try Self.allKeys(pool).subtracting(before)
            let outside = added.filter { key in
                guard !key.hasPrefix(pool.keys.prefix) else { return false }
                let otherTest = key.hasPrefix("lr:{t-") || key.hasPrefix("lr:{bench-")
                return key.hasPrefix(victim.keys.prefix) || !otherTest
            }
            #expect(outside.isEmpty, "keys outside the pool: \(outside.sorted())")
            #expect(try victim.redis.command(["ZCARD", victim.keys.managers]).integer == 1)
            #expect(try victim.lead("x}y").isEmpty)
            #expect(try pool.lead("x}y")["manager"] == "m1")
            #expect(try pool.lead("a:b:c")["group"] == "finance")
            #expect(worker.stop() == 0)
        }

        static func allKeys(_ pool: TestPool) throws -> Set<String> {
            var keys: Set<String> = []
            var cursor = "0"
            repeat {
                let reply = try pool.redis.command(["SCAN", cursor, "COUNT", "1000"])
                guard let parts = reply.elements, parts.count == 2 else { break }
                cursor = parts[0].text ?? "0"
                keys.formUnion((parts[1].elements ?? []).compactMap(\.text))
            } while cursor != "0"
            return keys
        }
    }
}
