import Foundation
import LeadRouting
import Testing

extension DistributionMethodTests {
    @Suite("Least loaded")
    struct LeastLoadedTests {
        static let config = """
            { "routes": [ { "group": "sales" } ],
              "groups": { "sales": { "method": "least_loaded" } } }
            """

        static func setOpenDeals(_ pool: TestPool, _ counts: [String: Int]) throws {
            for (manager, count) in counts {
                var update = ManagerUpdate()
                update.openDeals = count
                try pool.client.updateManager(manager, update)
            }
        }

        @Test("fewest open leads wins, ties by turn order")
        func fewestOpenWinsTiesByTurn() throws {
            let pool = try TestPool("least")
            try pool.setConfig(Self.config)
            // Join order, and so turn order: a, b, c.
            try pool.addManagers(["a", "b", "c"], groups: ["sales"])
            try Self.setOpenDeals(pool, ["a": 3, "b": 1, "c": 2])
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            // One lead at a time, so the order of decisions is known. Open counts before each
            // lead, and the winner:
            //   3,1,2 -> b (the only minimum)
            //   3,2,2 -> c (b and c tie, and the turn after b starts at c)
            //   3,2,3 -> b
            //   3,3,3 -> c (all tie, and the turn after b starts at c)
            //   3,3,4 -> a (a and b tie, and the turn after c starts at a)
            //   4,3,4 -> b
            //   4,4,4 -> c
            //   4,4,5 -> a
            //   5,4,5 -> b
            let expected = ["b", "c", "b", "c", "a", "b", "c", "a", "b"]
            for (index, manager) in expected.enumerated() {
                let id = "seq-\(index + 1)"
                try pool.push([TestPool.leadJSON(id: id)])
                #expect(try pool.waitUntil { try pool.lead(id)["status"] == "assigned" })
                #expect(try pool.lead(id)["manager"] == manager, "lead \(index + 1)")
            }
            #expect(try pool.openCounts(["a", "b", "c"]) == ["a": 5, "b": 5, "c": 5])

            let explanation = try pool.client.explain("seq-1")
            #expect(explanation.contains("fewest open leads (1)"), "\(explanation)")
        }

        @Test("concurrent leads level the open counts")
        func concurrentLeadsLevelCounts() throws {
            let pool = try TestPool("least-bulk")
            try pool.setConfig(Self.config)
            try pool.addManagers(["a", "b", "c"], groups: ["sales"])
            try Self.setOpenDeals(pool, ["a": 3, "b": 1, "c": 2])
            let workers = try pool.startWorkers(4)
            defer { stopWorkers(workers) }

            // 36 open leads in all, 12 each: a needs 9, b 11, c 10.
            let ids = (1...30).map { "bulk-\($0)" }
            try pool.push(pool.leads("bulk-", 1...30))
            #expect(try pool.waitUntil { try pool.count(of: ids, status: "assigned") == 30 })
            #expect(try pool.assignedCounts(of: ids) == ["a": 9, "b": 11, "c": 10])
            #expect(try pool.openCounts(["a", "b", "c"]) == ["a": 12, "b": 12, "c": 12])

            // After closes, the manager with fewer open leads catches up first.
            for id in try pool.statusAndManager(of: ids).filter({ $0.value.manager == "a" }).map(\.key).prefix(3) {
                _ = try pool.client.close(lead: id)
            }
            let more = (1...3).map { "more-\($0)" }
            try pool.push(pool.leads("more-", 1...3))
            #expect(try pool.waitUntil { try pool.count(of: more, status: "assigned") == 3 })
            #expect(try pool.assignedCounts(of: more) == ["a": 3])
        }
    }
}
