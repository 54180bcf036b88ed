import Foundation
import LeadRouting
import Testing

extension DistributionMethodTests {
    @Suite("Manual assignment")
    struct ManualTests {
        static func config(timeout: Double) -> String {
            """
            { "routes": [ { "group": "vip" } ],
              "groups": { "vip": { "method": "manual", "manual_timeout_s": \(timeout), "then": "round_robin" } } }
            """
        }

        @Test("lead waits for assign, reassign moves the count")
        func assignAndReassignByHand() throws {
            let pool = try TestPool("manual")
            try pool.setConfig(Self.config(timeout: 600))
            try pool.addManagers(["s1", "s2"], groups: ["vip"])
            let workers = try pool.startWorkers(2)
            defer { stopWorkers(workers) }

            try pool.push(pool.leads("vip-", 1...3))
            let ids = (1...3).map { "vip-\($0)" }
            #expect(try pool.waitUntil { try pool.count(of: ids, status: "manual") == 3 })
            #expect(try pool.sortedSetSize(pool.keys.manual) == 3)
            #expect(try pool.lead("vip-1")["manager"] == "")
            #expect(try pool.openCounts(["s1", "s2"]) == ["s1": 0, "s2": 0])
            #expect(try pool.client.explain("vip-1").contains("waiting for a supervisor"))

            let assigned = try pool.cli(["assign", "vip-1", "s1"])
            #expect(assigned.status == 0, "\(assigned.stderr)")
            #expect(assigned.stdout.contains("assigned lead vip-1 to s1"), "\(assigned.stdout)")
            var record = try pool.lead("vip-1")
            #expect(record["status"] == "assigned")
            #expect(record["manager"] == "s1")
            #expect(record["method"] == "manual")
            #expect(try pool.sortedSetSize(pool.keys.manual) == 2)
            #expect(try pool.openCounts(["s1", "s2"]) == ["s1": 1, "s2": 0])

            let reassigned = try pool.cli(["assign", "vip-1", "s2"])
            #expect(reassigned.status == 0, "\(reassigned.stderr)")
            #expect(reassigned.stdout.contains("from s1 to s2"), "\(reassigned.stdout)")
            record = try pool.lead("vip-1")
            #expect(record["manager"] == "s2")
            #expect(try pool.openCounts(["s1", "s2"]) == ["s1": 0, "s2": 1])
            #expect(try pool.client.explain("vip-1").contains("reassigned by hand from s1"))

            let events = try pool.events().filter { $0["lead"] == "vip-1" }
            #expect(events.map { $0["type"] ?? "" } == ["manual", "assigned", "reassigned"])
            #expect(events.last?["from"] == "s1")
            #expect(events.last?["manager"] == "s2")

            // Assigning to the manager who already has the lead, or to an unknown manager, fails
            // and changes nothing.
            let same = try pool.cli(["assign", "vip-1", "s2"])
            #expect(same.status != 0)
            #expect(same.stderr.contains("already assigned to s2"), "\(same.stderr)")
            let unknown = try pool.cli(["assign", "vip-2", "nobody"])
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("not found"), "\(unknown.stderr)")
            #expect(try pool.lead("vip-2")["status"] == "manual")
            #expect(try pool.openCounts(["s1", "s2"]) == ["s1": 0, "s2": 1])

            // Closing the reassigned lead frees the new manager's count, not the old one's.
            #expect(try pool.client.close(lead: "vip-1") == "closed")
            #expect(try pool.openCounts(["s1", "s2"]) == ["s1": 0, "s2": 0])
        }

        @Test("reassign respects the target's load cap")
        func reassignRespectsCap() throws {
            let pool = try TestPool("manual-cap")
            try pool.setConfig("""
                { "routes": [ { "group": "sales" } ],
                  "groups": { "sales": { "method": "round_robin", "max_open": 1 } } }
                """)
            try pool.addManagers(["a", "b"], groups: ["sales"])
            let workers = try pool.startWorkers(2)
            defer { stopWorkers(workers) }

            try pool.push(pool.leads("cap-", 1...2))
            let ids = ["cap-1", "cap-2"]
            #expect(try pool.waitUntil { try pool.count(of: ids, status: "assigned") == 2 })
            let ownerOfFirst = try pool.lead("cap-1")["manager"] ?? ""
            let other = ownerOfFirst == "a" ? "b" : "a"

            let refused = try pool.cli(["assign", "cap-1", other])
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("at cap 1/1"), "\(refused.stderr)")
            #expect(try pool.lead("cap-1")["manager"] == ownerOfFirst)
            #expect(try pool.openCounts(["a", "b"]) == ["a": 1, "b": 1])
        }

        @Test("unassigned lead falls through once after timeout")
        func timeoutFallsThroughOnce() throws {
            let pool = try TestPool("manual-timeout")
            try pool.setConfig(Self.config(timeout: 1))
            try pool.addManagers(["s1", "s2"], groups: ["vip"])
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            let ids = (1...6).map { "late-\($0)" }
            try pool.push(pool.leads("late-", 1...6))
            #expect(try pool.waitUntil { try pool.count(of: ids, status: "manual") + pool.count(of: ids, status: "assigned") == 6 })
            // One lead is assigned by hand before its timer fires, and the timer must not move it.
            let byHand = try pool.cli(["assign", "late-6", "s2"])
            #expect(byHand.status == 0, "\(byHand.stderr)")

            #expect(try pool.waitUntil(timeout: 6) { try pool.count(of: ids, status: "assigned") == 6 })
            Thread.sleep(forTimeInterval: 1.0)

            for id in ids.prefix(5) {
                let record = try pool.lead(id)
                #expect(record["method"] == "round_robin", "lead \(id)")
                #expect(record["group"] == "vip", "lead \(id)")
            }
            #expect(try pool.lead("late-6")["manager"] == "s2")
            #expect(try pool.lead("late-6")["method"] == "manual")
            #expect(try pool.client.explain("late-1").contains("not taken in time by manual; routed by round_robin"))

            let fallThrough = (1...5).map { "late-\($0)" }
            let counts = try pool.assignedCounts(of: fallThrough)
            #expect(counts.values.reduce(0, +) == 5)
            #expect(abs((counts["s1"] ?? 0) - (counts["s2"] ?? 0)) <= 1, "round robin counts \(counts)")
            #expect(try pool.openCounts(["s1", "s2"]).values.reduce(0, +) == 6)
            #expect(try pool.sortedSetSize(pool.keys.manual) == 0)
            #expect(try pool.sortedSetSize(pool.keys.timers) == 0)

            let assignedEvents = try pool.events().filter { $0["type"] == "assigned" }
            for id in ids {
                #expect(assignedEvents.filter { $0["lead"] == id }.count == 1, "assigned events of \(id)")
            }
        }

        @Test("fallen-through lead waits, then goes by then")
        func fallenThroughLeadWaits() throws {
            let pool = try TestPool("manual-wait")
            try pool.setConfig(Self.config(timeout: 1))
            try pool.addManagers(["s1"], groups: ["vip"])
            try pool.client.setManager("s1", active: false)
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            try pool.push([TestPool.leadJSON(id: "nobody-1")])
            #expect(try pool.waitUntil(timeout: 6) { try pool.lead("nobody-1")["status"] == "waiting" })

            // Back on, the manager gets the lead by the group's `then`, not back in the manual queue.
            try pool.client.setManager("s1", active: true)
            #expect(try pool.waitUntil(timeout: 3) { try pool.lead("nobody-1")["status"] == "assigned" })
            let record = try pool.lead("nobody-1")
            #expect(record["manager"] == "s1")
            #expect(record["method"] == "round_robin")
        }
    }
}
