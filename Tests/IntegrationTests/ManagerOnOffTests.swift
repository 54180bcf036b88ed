import Foundation
import LeadRouting
import Testing

extension WorkerProcessSuites {
    @Suite("Manager on and off")
    struct ManagerOnOffTests {
        /// Lead JSON for ids `PREFIX1…PREFIXcount`, with the ids.
        private func batch(_ prefix: String, _ count: Int) -> (leads: [String], ids: [String]) {
            let ids = (1...count).map { "\(prefix)\($0)" }
            return (ids.map { "{\"id\":\"\($0)\",\"specialization\":\"Finance Management\"}" }, ids)
        }

        /// Assignment counts per manager of the given lead ids.
        private func counts(_ ids: [String], _ summaries: [String: LeadSummary]) -> [String: Int] {
            var counts: [String: Int] = [:]
            for id in ids {
                if let summary = summaries[id], summary.status == "assigned" {
                    counts[summary.manager, default: 0] += 1
                }
            }
            return counts
        }

        @Test("switched-off manager gets no leads, then rejoins", .timeLimit(.minutes(1)))
        func offManagerSkippedThenRejoins() throws {
            let pool = try TestPool("onoff")
            let managers = ["a", "b", "c"]
            try pool.addManagers(managers)
            let workers = try pool.startWorkers(2)

            // Manager b goes off while the workers are busy with the first batch. Every lead
            // pushed after the command returned must skip b.
            let first = self.batch("first-", 600)
            try pool.push(first.leads)
            let off = try LeadrouterBinary.run(["manager", "off", "b"], pool: pool.name)
            #expect(off.status == 0, "manager off: \(off.stderr)")
            #expect(off.stdout.contains("manager b is off"))
            #expect(try pool.redis.command(["HGET", pool.keys.manager("b"), "active"]).text == "0")
            let second = self.batch("second-", 600)
            try pool.push(second.leads)
            #expect(try pool.waitForAssignments(of: Set(first.ids + second.ids)))
            let afterOff = self.counts(second.ids, try pool.leadSummaries())
            #expect(afterOff["b"] == nil, "leads to b after it went off: \(afterOff)")

            // With the pool idle and b still off, a later batch is split evenly between a and c.
            let third = self.batch("third-", 301)
            try pool.push(third.leads)
            #expect(try pool.waitForAssignments(of: Set(third.ids)))
            let whileOff = self.counts(third.ids, try pool.leadSummaries())
            #expect(whileOff["b"] == nil, "leads to b while off: \(whileOff)")
            #expect(spread(whileOff, over: ["a", "c"]) <= 1, "counts while b is off: \(whileOff)")

            // Back on, b takes its place in the turn order again.
            try pool.client.setManager("b", active: true)
            let fourth = self.batch("fourth-", 300)
            try pool.push(fourth.leads)
            #expect(try pool.waitForAssignments(of: Set(fourth.ids)))
            let afterOn = self.counts(fourth.ids, try pool.leadSummaries())
            #expect(spread(afterOn, over: managers) <= 1, "counts after b is back on: \(afterOn)")
            print("manager on/off: after off \(afterOff), while off \(whileOff), after on \(afterOn)")

            for worker in workers {
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }
            let all = Set(first.ids + second.ids + third.ids + fourth.ids)
            let report = try pool.deliveryReport(expectedIDs: all, pushed: all.count)
            expectExactlyOnce(report)
            for manager in managers {
                #expect(try pool.openCount(manager) == report.countsByManager[manager], "open counter of \(manager)")
            }
        }
    }
}
