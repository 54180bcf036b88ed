import Foundation
import LeadRouting
import Testing

extension DistributionMethodTests {
    @Suite("Quality gate")
    struct QualityGateTests {
        static let config = """
            { "routes": [ { "group": "sales" } ],
              "groups": { "sales": { "method": "round_robin", "max_empty_fields": 0.30 } } }
            """

        @Test("manager above max_empty_fields gets nothing until synced")
        func gateSkipsUntilSynced() throws {
            let pool = try TestPool("gate")
            try pool.setConfig(Self.config)
            // Join order, and so turn order: a, b, c, d.
            try pool.addManagers(["a", "b", "c", "d"], groups: ["sales"])
            var update = ManagerUpdate()
            update.emptyFields = 0.35
            try pool.client.updateManager("a", update)
            update.emptyFields = 0.10
            try pool.client.updateManager("b", update)
            // c has no empty-fields data, and d is exactly at the limit: neither is excluded.
            update.emptyFields = 0.30
            try pool.client.updateManager("d", update)
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            let first = (1...21).map { "g1-\($0)" }
            try pool.push(pool.leads("g1-", 1...21))
            #expect(try pool.waitUntil { try pool.count(of: first, status: "assigned") == 21 })
            #expect(try pool.assignedCounts(of: first) == ["b": 7, "c": 7, "d": 7])

            // Turn order is a, b, c, d, so every lead that went to b looked at a first.
            let leadOfB = try #require(pool.statusAndManager(of: first).first { $0.value.manager == "b" }?.key)
            let explanation = try pool.client.explain(leadOfB)
            #expect(explanation.contains("empty fields 0.35 > 0.3"), "\(explanation)")

            let synced = try pool.cli(["manager", "set", "a", "--empty-fields", "0.20"])
            #expect(synced.status == 0, "\(synced.stderr)")

            let second = (1...40).map { "g2-\($0)" }
            try pool.push(pool.leads("g2-", 1...40))
            #expect(try pool.waitUntil { try pool.count(of: second, status: "assigned") == 40 })
            #expect(try pool.assignedCounts(of: second) == ["a": 10, "b": 10, "c": 10, "d": 10])
        }

        @Test("gate combines with least_loaded")
        func gateWithLeastLoaded() throws {
            let pool = try TestPool("gate-ll")
            try pool.setConfig("""
                { "routes": [ { "group": "sales" } ],
                  "groups": { "sales": { "method": "least_loaded", "max_empty_fields": 0.30 } } }
                """)
            try pool.addManagers(["a", "b"], groups: ["sales"])
            var update = ManagerUpdate()
            update.emptyFields = 0.9
            try pool.client.updateManager("a", update)
            let workers = try pool.startWorkers(2)
            defer { stopWorkers(workers) }

            let ids = (1...10).map { "ll-\($0)" }
            try pool.push(pool.leads("ll-", 1...10))
            #expect(try pool.waitUntil { try pool.count(of: ids, status: "assigned") == 10 })
            #expect(try pool.assignedCounts(of: ids) == ["b": 10])
        }
    }
}
