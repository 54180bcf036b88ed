import Foundation
import LeadRouting
import Testing

extension DistributionMethodTests {
    @Suite("Waiting leads")
    struct WaitingTests {
        /// Pushes leads one at a time and waits until each is waiting, so every lead has its own
        /// received time. Returns the ids oldest first. Ids count down from `count`, so an order
        /// by id would differ from the order by age.
        static func pushOneByOne(_ pool: TestPool, prefix: String, count: Int, fields: [String: String] = [:]) throws -> [String] {
            var oldestFirst: [String] = []
            for number in stride(from: count, through: 1, by: -1) {
                let id = String(format: "\(prefix)%02d", number)
                try pool.push([TestPool.leadJSON(id: id, fields: fields)])
                #expect(try pool.waitUntil { try pool.lead(id)["status"] == "waiting" }, "lead \(id)")
                Thread.sleep(forTimeInterval: 0.005)
                oldestFirst.append(id)
            }
            return oldestFirst
        }

        @Test("manager on assigns waiting leads oldest first")
        func managerOnAssignsOldestFirst() throws {
            let pool = try TestPool("waiting")
            try pool.setConfig("""
                { "routes": [ { "group": "sales" } ],
                  "groups": { "sales": { "method": "round_robin", "max_open": 4 } } }
                """)
            try pool.addManagers(["a", "b"], groups: ["sales"])
            try pool.client.setManager("a", active: false)
            try pool.client.setManager("b", active: false)
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            let ids = try Self.pushOneByOne(pool, prefix: "w", count: 10)
            #expect(try pool.sortedSetSize(pool.keys.waiting) == 10)
            #expect(try pool.count(of: ids, status: "waiting") == 10)
            #expect(try pool.events().filter { $0["type"] == "waiting" }.count == 10)

            let on = try pool.cli(["manager", "on", "a"])
            #expect(on.status == 0, "\(on.stderr)")
            #expect(try pool.waitUntil(timeout: 3) { try pool.count(of: ids, status: "assigned") == 4 })
            #expect(try pool.assignedCounts(of: Array(ids.prefix(4))) == ["a": 4])

            let second = try pool.cli(["manager", "on", "b"])
            #expect(second.status == 0, "\(second.stderr)")
            #expect(try pool.waitUntil(timeout: 3) { try pool.count(of: ids, status: "assigned") == 8 })
            #expect(try pool.assignedCounts(of: Array(ids[4..<8])) == ["b": 4])
            #expect(try pool.count(of: Array(ids.suffix(2)), status: "waiting") == 2)

            // Adding a manager is capacity too.
            let added = try pool.cli(["manager", "add", "c", "--groups", "sales"])
            #expect(added.status == 0, "\(added.stderr)")
            #expect(try pool.waitUntil(timeout: 3) { try pool.count(of: ids, status: "assigned") == 10 })
            #expect(try pool.assignedCounts(of: Array(ids.suffix(2))) == ["c": 2])
            #expect(try pool.sortedSetSize(pool.keys.waiting) == 0)

            // Assigned in age order: the events stream lists the assignments oldest lead first.
            let order = try pool.events().filter { $0["type"] == "assigned" }.compactMap { $0["lead"] }
            #expect(order == ids)
            // A waiting lead is only waiting once: routing it again without capacity adds no event.
            #expect(try pool.events().filter { $0["type"] == "waiting" }.count == 10)
        }

        @Test("config change routes waiting leads again")
        func configChangeRoutesWaiting() throws {
            let pool = try TestPool("waiting-config")
            try pool.setConfig("""
                { "routes": [ { "group": "east" } ],
                  "groups": { "east": { "method": "round_robin" }, "west": { "method": "round_robin" } } }
                """)
            try pool.addManagers(["e1"], groups: ["east"])
            try pool.addManagers(["w1"], groups: ["west"])
            try pool.client.setManager("e1", active: false)
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            let ids = (1...5).map { "cfg-\($0)" }
            try pool.push(pool.leads("cfg-", 1...5))
            #expect(try pool.waitUntil { try pool.count(of: ids, status: "waiting") == 5 })

            try pool.setConfig("""
                { "routes": [ { "group": "west" } ],
                  "groups": { "east": { "method": "round_robin" }, "west": { "method": "round_robin" } } }
                """)
            #expect(try pool.waitUntil(timeout: 3) { try pool.count(of: ids, status: "assigned") == 5 })
            #expect(try pool.assignedCounts(of: ids) == ["w1": 5])
            #expect(try pool.lead("cfg-1")["group"] == "west")
        }

        @Test("new lead does not overtake a waiting one")
        func newLeadDoesNotOvertakeWaiting() throws {
            let pool = try TestPool("waiting-fifo")
            try pool.setConfig("""
                { "routes": [ { "group": "sales" } ],
                  "groups": { "sales": { "method": "round_robin", "max_open": 1 } } }
                """)
            try pool.addManagers(["a"], groups: ["sales"])
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            try pool.push([TestPool.leadJSON(id: "first")])
            #expect(try pool.waitUntil { try pool.lead("first")["status"] == "assigned" })
            try pool.push([TestPool.leadJSON(id: "old")])
            #expect(try pool.waitUntil { try pool.lead("old")["status"] == "waiting" })

            // The deal closes and a new lead arrives right after: the one place that frees up
            // belongs to the lead that has waited longest.
            #expect(try pool.client.close(lead: "first") == "closed")
            try pool.push([TestPool.leadJSON(id: "new")])
            #expect(try pool.waitUntil(timeout: 3) { try pool.drained() && pool.count(of: ["old", "new"], status: "assigned") == 1 })
            Thread.sleep(forTimeInterval: 0.3)
            #expect(try pool.lead("old")["status"] == "assigned")
            #expect(try pool.lead("new")["status"] == "waiting")
            #expect(try pool.openCounts(["a"]) == ["a": 1])
        }

        @Test("waiting leads behind a long blocked backlog")
        func leadsBehindBlockedBacklog() throws {
            let pool = try TestPool("waiting-backlog")
            try pool.setConfig("""
                { "routes": [ { "match": { "team": ["finance"] }, "group": "finance" }, { "group": "general" } ],
                  "groups": { "finance": { "method": "round_robin" }, "general": { "method": "round_robin" } } }
                """)
            try pool.addManagers(["f1"], groups: ["finance"])
            try pool.addManagers(["g1"], groups: ["general"])
            try pool.client.setManager("f1", active: false)
            try pool.client.setManager("g1", active: false)
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            // 250 finance leads wait first (finance stays off), then 5 general leads.
            let finance = (1...250).map { "fin-\($0)" }
            try pool.push(pool.leads("fin-", 1...250, fields: ["team": "finance"]))
            #expect(try pool.waitUntil { try pool.count(of: finance, status: "waiting") == 250 })
            let general = (1...5).map { "gen-\($0)" }
            try pool.push(pool.leads("gen-", 1...5))
            #expect(try pool.waitUntil { try pool.count(of: general, status: "waiting") == 5 })

            // The general group's manager comes back: its leads must not wait behind leads of
            // a group that still has no capacity.
            try pool.client.setManager("g1", active: true)
            let assigned = try pool.waitUntil(timeout: 3) { try pool.count(of: general, status: "assigned") == 5 }
            let stillWaiting = try pool.count(of: general, status: "waiting")
            #expect(assigned, "\(stillWaiting) of 5 general leads still waiting 3 s after their manager came back")
            #expect(try pool.count(of: finance, status: "waiting") == 250)
        }
    }
}
