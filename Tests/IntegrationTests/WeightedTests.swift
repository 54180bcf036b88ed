import Foundation
import LeadRouting
import Testing

extension DistributionMethodTests {
    @Suite("Weighted distribution")
    struct WeightedTests {
        static func config(minShare: Double? = nil) -> String {
            let minShareField = minShare.map { #", "min_share": \#($0)"# } ?? ""
            return """
                { "routes": [ { "group": "general" } ],
                  "groups": { "general": { "method": "weighted", "rating": { "won_value": 1 }\(minShareField) } } }
                """
        }

        /// Adds managers with a `won_value` metric each (nil: a new manager with no metrics).
        static func addManagers(_ pool: TestPool, _ wonValues: [(String, Double?)]) throws {
            for (id, value) in wonValues {
                _ = try pool.client.addManager(id, groups: ["general"], maxOpen: nil)
                if let value {
                    var update = ManagerUpdate()
                    update.metrics = [("won_value", value)]
                    try pool.client.updateManager(id, update)
                }
            }
        }

        /// Waits up to 60 s until every lead in `ids` is assigned.
        static func waitForAssignments(_ pool: TestPool, _ ids: [String]) throws -> Bool {
            try pool.waitUntil(timeout: 60) { try pool.drained() && pool.count(of: ids, status: "assigned") == ids.count }
        }

        @Test("10,000 leads follow ratings 5:3:2")
        func countsFollowRatings() throws {
            let pool = try TestPool("weighted")
            try pool.setConfig(Self.config())
            try Self.addManagers(pool, [("m5", 500), ("m3", 300), ("m2", 200)])
            let workers = try pool.startWorkers(4)
            defer { stopWorkers(workers) }

            let total = 10_000
            let ids = (1...total).map { "w-\($0)" }
            try pool.push(pool.leads("w-", 1...total))
            #expect(try Self.waitForAssignments(pool, ids))

            let counts = try pool.assignedCounts(of: ids)
            #expect(counts.values.reduce(0, +) == total)
            for (manager, expected) in [("m5", 5000), ("m3", 3000), ("m2", 2000)] {
                let count = counts[manager] ?? 0
                #expect(abs(count - expected) <= 2, "manager \(manager): \(count) leads, expected \(expected) ± 2")
            }
            #expect(try pool.openCounts(["m5", "m3", "m2"]) == counts)

            // The shares held across processes: more than one worker assigned leads.
            #expect(stopWorkers(workers).allSatisfy { $0 == 0 })
            let perWorker = workers.map { $0.assignedAtStop ?? 0 }
            #expect(perWorker.reduce(0, +) == total, "assigned per worker: \(perWorker)")
            #expect(perWorker.filter { $0 > 0 }.count >= 2, "assigned per worker: \(perWorker)")
        }

        @Test("manager with no metrics gets min_share")
        func newManagerGetsMinShare() throws {
            let pool = try TestPool("weighted-min")
            try pool.setConfig(Self.config(minShare: 0.05))
            try Self.addManagers(pool, [("m5", 500), ("m3", 300), ("m2", 200), ("new", nil)])
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            let total = 4_000
            let ids = (1...total).map { "n-\($0)" }
            try pool.push(pool.leads("n-", 1...total))
            #expect(try Self.waitForAssignments(pool, ids))

            // Ratings 1, 0.6, 0.4 and 0 give shares 0.5, 0.3, 0.2 and 0. The new manager is raised
            // to min_share 0.05 and the others are scaled into the remaining 0.95.
            let expectedShares = ["m5": 0.475, "m3": 0.285, "m2": 0.19, "new": 0.05]
            let tolerance = max(2, total / 100)
            let counts = try pool.assignedCounts(of: ids)
            #expect(counts.values.reduce(0, +) == total)
            for (manager, share) in expectedShares {
                let expected = Int((share * Double(total)).rounded())
                let count = counts[manager] ?? 0
                #expect(abs(count - expected) <= tolerance, "manager \(manager): \(count) leads, expected \(expected) ± \(tolerance)")
            }
        }

        @Test("rating change applies to later leads")
        func ratingChangeAppliesToLaterLeads() throws {
            let pool = try TestPool("weighted-change")
            try pool.setConfig(Self.config())
            try Self.addManagers(pool, [("m5", 500), ("m3", 300), ("m2", 200)])
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            let before = (1...1000).map { "b-\($0)" }
            try pool.push(pool.leads("b-", 1...1000))
            #expect(try Self.waitForAssignments(pool, before))
            let beforeCounts = try pool.assignedCounts(of: before)
            for (manager, expected) in [("m5", 500), ("m3", 300), ("m2", 200)] {
                #expect(abs((beforeCounts[manager] ?? 0) - expected) <= 2, "manager \(manager) before the change: \(beforeCounts[manager] ?? 0)")
            }

            // The CRM syncs a new metric: won_value 100/300/200, so ratings 1/3, 1, 2/3 and
            // shares 1/6, 1/2, 1/3. Workers keep running.
            let synced = try pool.cli(["manager", "set", "m5", "--metric", "won_value=100"])
            #expect(synced.status == 0, "\(synced.stderr)")

            let after = (1...1200).map { "a-\($0)" }
            try pool.push(pool.leads("a-", 1...1200))
            #expect(try Self.waitForAssignments(pool, after))
            let afterCounts = try pool.assignedCounts(of: after)
            for (manager, expected) in [("m5", 200), ("m3", 600), ("m2", 400)] {
                let count = afterCounts[manager] ?? 0
                #expect(abs(count - expected) <= max(2, after.count / 100), "manager \(manager) after the change: \(count), expected \(expected)")
            }
        }
    }
}
