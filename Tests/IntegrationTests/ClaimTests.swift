import Foundation
import LeadRouting
import Testing

extension DistributionMethodTests {
    @Suite("Claim")
    struct ClaimTests {
        static func config(timeout: Double, maxClaimed: Int = 3) -> String {
            """
            { "routes": [ { "group": "inbound" } ],
              "groups": { "inbound": { "method": "claim", "claim_timeout_s": \(timeout), "max_claimed": \(maxClaimed), "then": "least_loaded" } } }
            """
        }

        static let managers = (1...20).map { String(format: "c%02d", $0) }

        @Test("20 concurrent claims of one lead: one wins")
        func concurrentClaimsOneWinner() throws {
            let pool = try TestPool("claim-race")
            try pool.setConfig(Self.config(timeout: 600))
            try pool.addManagers(Self.managers, groups: ["inbound"])
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            try pool.push([TestPool.leadJSON(id: "hot-1")])
            #expect(try pool.waitUntil { try pool.lead("hot-1")["status"] == "open" })
            #expect(try pool.sortedSetSize(pool.keys.open) == 1)
            #expect(try pool.lead("hot-1")["manager"] == "")

            let results = try LeadrouterBinary.runConcurrently(Self.managers.map { ["claim", $0, "hot-1"] }, pool: pool.name)
            let winners = zip(Self.managers, results).filter { $0.1.status == 0 }.map(\.0)
            try #require(winners.count == 1, "winners: \(winners)")
            let winner = winners[0]
            #expect(try pool.lead("hot-1")["manager"] == winner)
            #expect(try pool.lead("hot-1")["status"] == "assigned")

            for (manager, result) in zip(Self.managers, results) where manager != winner {
                #expect(result.stderr.contains("already taken by \(winner)"), "\(manager): \(result.stderr)")
            }
            let open = try pool.openCounts(Self.managers)
            #expect(open[winner] == 1)
            #expect(open.values.reduce(0, +) == 1)
            #expect(try pool.events().filter { $0["type"] == "claimed" }.count == 1)
            #expect(try pool.sortedSetSize(pool.keys.open) == 0)
        }

        @Test("max_claimed caps one manager's claims")
        func maxClaimedRespected() throws {
            let pool = try TestPool("claim-cap")
            try pool.setConfig(Self.config(timeout: 600))
            try pool.addManagers(["c01", "c02"], groups: ["inbound"])
            let workers = try pool.startWorkers(2)
            defer { stopWorkers(workers) }

            let ids = (1...5).map { "open-\($0)" }
            try pool.push(pool.leads("open-", 1...5))
            #expect(try pool.waitUntil { try pool.count(of: ids, status: "open") == 5 })

            // Without an id, a claim takes the oldest open lead.
            var claimed: [String] = []
            for _ in 1...3 {
                claimed.append(try pool.client.claim(manager: "c01", lead: nil))
            }
            #expect(Set(claimed).count == 3)
            let fourth = try pool.cli(["claim", "c01"])
            #expect(fourth.status != 0)
            #expect(fourth.stderr.contains("max_claimed 3"), "\(fourth.stderr)")
            #expect(try pool.count(of: ids, status: "open") == 2)

            // Another manager is not affected by c01's claims.
            let other = try pool.cli(["claim", "c02"])
            #expect(other.status == 0, "\(other.stderr)")

            // Closing one claimed lead lets c01 claim again.
            #expect(try pool.client.close(lead: claimed[0]) == "closed")
            let again = try pool.cli(["claim", "c01"])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(try pool.count(of: ids, status: "open") == 0)
            #expect(try pool.assignedCounts(of: ids) == ["c01": 3, "c02": 1])

            // A claimed lead reassigned to another manager no longer counts against c01's claims.
            try pool.push([TestPool.leadJSON(id: "open-6")])
            #expect(try pool.waitUntil { try pool.lead("open-6")["status"] == "open" })
            let blocked = try pool.cli(["claim", "c01", "open-6"])
            #expect(blocked.status != 0)
            #expect(blocked.stderr.contains("max_claimed 3"), "\(blocked.stderr)")
            let moved = try pool.cli(["assign", claimed[1], "c02"])
            #expect(moved.status == 0, "\(moved.stderr)")
            let afterMove = try pool.cli(["claim", "c01", "open-6"])
            #expect(afterMove.status == 0, "\(afterMove.stderr)")
            #expect(try pool.openCounts(["c01", "c02"]) == ["c01": 3, "c02": 2])
        }

        @Test("unclaimed lead falls through to then")
        func timeoutFallsThrough() throws {
            let pool = try TestPool("claim-timeout")
            try pool.setConfig(Self.config(timeout: 1))
            try pool.addManagers(["c01", "c02", "c03"], groups: ["inbound"])
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            let ids = (1...6).map { "cold-\($0)" }
            try pool.push(pool.leads("cold-", 1...6))
            #expect(try pool.waitUntil { try pool.count(of: ids, status: "open") + pool.count(of: ids, status: "assigned") == 6 })
            #expect(try pool.waitUntil(timeout: 6) { try pool.count(of: ids, status: "assigned") == 6 })
            Thread.sleep(forTimeInterval: 1.0)

            for id in ids {
                #expect(try pool.lead(id)["method"] == "least_loaded", "lead \(id)")
            }
            #expect(try pool.assignedCounts(of: ids) == ["c01": 2, "c02": 2, "c03": 2])
            #expect(try pool.sortedSetSize(pool.keys.open) == 0)
            #expect(try pool.sortedSetSize(pool.keys.timers) == 0)
            let assignedEvents = try pool.events().filter { $0["type"] == "assigned" }
            for id in ids {
                #expect(assignedEvents.filter { $0["lead"] == id }.count == 1, "assigned events of \(id)")
            }

            // A fallen-through lead can no longer be claimed.
            let late = try pool.cli(["claim", "c01", "cold-1"])
            #expect(late.status != 0)
            #expect(late.stderr.contains("already taken by"), "\(late.stderr)")
        }
    }
}
