import Foundation
import LeadRouting
import Testing

extension DistributionMethodTests {
    @Suite("Load cap")
    struct LoadCapTests {
        static let config = """
            { "routes": [ { "group": "sales" } ],
              "groups": { "sales": { "method": "round_robin", "max_open": 5 } } }
            """
        static let managers = ["a", "b", "c"]

        @Test("cap holds with 100 leads and 4 workers")
        func capHoldsUnderConcurrency() throws {
            let pool = try TestPool("cap-hold")
            try pool.setConfig(Self.config)
            try pool.addManagers(Self.managers, groups: ["sales"])
            let sampler = OpenCountSampler(pool: pool, managers: Self.managers)
            let workers = try pool.startWorkers(4, concurrency: 2)
            defer { stopWorkers(workers) }

            let ids = (1...100).map { "cap-\($0)" }
            try pool.push(pool.leads("cap-", 1...100))
            #expect(try pool.waitUntil { try pool.drained() && pool.sortedSetSize(pool.keys.waiting) == 85 })

            #expect(try pool.count(of: ids, status: "assigned") == 15)
            #expect(try pool.count(of: ids, status: "waiting") == 85)
            #expect(try pool.sortedSetSize(pool.keys.waiting) == 85)
            #expect(try pool.assignedCounts(of: ids) == ["a": 5, "b": 5, "c": 5])
            #expect(try pool.client.status().waiting == 85)

            // Closing 5 leads frees 5 places: exactly 5 waiting leads are assigned.
            let assigned = try pool.statusAndManager(of: ids).filter { $0.value.status == "assigned" }.map(\.key).sorted()
            for id in assigned.prefix(4) {
                #expect(try pool.client.close(lead: id) == "closed")
            }
            let closedByCLI = try pool.cli(["close", assigned[4]])
            #expect(closedByCLI.status == 0, "\(closedByCLI.stderr)")
            #expect(try pool.waitUntil(timeout: 3) { try pool.count(of: ids, status: "assigned") == 15 })
            Thread.sleep(forTimeInterval: 0.5)
            #expect(try pool.count(of: ids, status: "assigned") == 15)
            #expect(try pool.count(of: ids, status: "closed") == 5)
            #expect(try pool.sortedSetSize(pool.keys.waiting) == 80)
            #expect(try pool.openCounts(Self.managers) == ["a": 5, "b": 5, "c": 5])

            // Closing a closed lead changes nothing.
            #expect(try pool.client.close(lead: assigned[0]) == "already closed")
            Thread.sleep(forTimeInterval: 0.3)
            #expect(try pool.count(of: ids, status: "assigned") == 15)
            #expect(try pool.openCounts(Self.managers) == ["a": 5, "b": 5, "c": 5])

            // Closing a waiting lead takes it out of the waiting set and frees no place.
            let waitingLead = try #require(pool.statusAndManager(of: ids).first { $0.value.status == "waiting" }?.key)
            #expect(try pool.client.close(lead: waitingLead) == "closed")
            Thread.sleep(forTimeInterval: 0.3)
            #expect(try pool.sortedSetSize(pool.keys.waiting) == 79)
            #expect(try pool.count(of: ids, status: "assigned") == 15)
            #expect(try pool.lead(waitingLead)["status"] == "closed")

            let sampled = sampler.stop()
            #expect(sampled.samples > 10)
            for manager in Self.managers {
                #expect((sampled.highest[manager] ?? 0) <= 5, "manager \(manager) reached \(sampled.highest[manager] ?? 0) open leads")
            }
        }

        @Test("per-manager max_open overrides the group's")
        func managerCapOverridesGroup() throws {
            let pool = try TestPool("cap-own")
            try pool.setConfig(Self.config)
            let added = try pool.cli(["manager", "add", "a", "--groups", "sales", "--max-open", "2"])
            #expect(added.status == 0, "\(added.stderr)")
            try pool.addManagers(["b"], groups: ["sales"], maxOpen: 8)
            try pool.addManagers(["c"], groups: ["sales"])
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            let ids = (1...40).map { "own-\($0)" }
            try pool.push(pool.leads("own-", 1...40))
            #expect(try pool.waitUntil { try pool.drained() && pool.sortedSetSize(pool.keys.waiting) == 25 })
            #expect(try pool.assignedCounts(of: ids) == ["a": 2, "b": 8, "c": 5])
            #expect(try pool.openCounts(["a", "b", "c"]) == ["a": 2, "b": 8, "c": 5])

            // `manager set --max-open` raises one manager's own cap; waiting leads flow to them.
            let raised = try pool.cli(["manager", "set", "a", "--max-open", "4"])
            #expect(raised.status == 0, "\(raised.stderr)")
            #expect(try pool.waitUntil(timeout: 3) { try pool.count(of: ids, status: "assigned") == 17 })
            #expect(try pool.assignedCounts(of: ids) == ["a": 4, "b": 8, "c": 5])
        }

        @Test("lower open-deals count lets waiting leads flow")
        func openDealsSyncFreesCapacity() throws {
            let pool = try TestPool("cap-sync")
            try pool.setConfig(Self.config)
            try pool.addManagers(Self.managers, groups: ["sales"])
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            let ids = (1...30).map { "sync-\($0)" }
            try pool.push(pool.leads("sync-", 1...30))
            #expect(try pool.waitUntil { try pool.drained() && pool.sortedSetSize(pool.keys.waiting) == 15 })

            // The CRM reports only 2 open deals for manager a, so 3 places free up.
            let synced = try pool.cli(["manager", "set", "a", "--open-deals", "2"])
            #expect(synced.status == 0, "\(synced.stderr)")
            #expect(try pool.waitUntil(timeout: 3) { try pool.count(of: ids, status: "assigned") == 18 })
            Thread.sleep(forTimeInterval: 0.3)
            #expect(try pool.count(of: ids, status: "assigned") == 18)
            #expect(try pool.assignedCounts(of: ids) == ["a": 8, "b": 5, "c": 5])
            #expect(try pool.openCounts(Self.managers) == ["a": 5, "b": 5, "c": 5])
            #expect(try pool.sortedSetSize(pool.keys.waiting) == 12)

            // A higher count than the cap takes the manager out until deals close.
            var update = ManagerUpdate()
            update.openDeals = 9
            try pool.client.updateManager("b", update)
            update.openDeals = 0
            try pool.client.updateManager("c", update)
            #expect(try pool.waitUntil(timeout: 3) { try pool.count(of: ids, status: "assigned") == 23 })
            #expect(try pool.openCounts(Self.managers) == ["a": 5, "b": 9, "c": 5])
            #expect(try pool.sortedSetSize(pool.keys.waiting) == 7)
        }
    }
}
