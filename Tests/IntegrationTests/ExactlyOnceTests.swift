import Foundation
import LeadRouting
import Testing

extension WorkerProcessSuites {
    @Suite("Exactly once")
    struct ExactlyOnceTests {
        @Test("3 workers assign 3000 leads once each", .timeLimit(.minutes(1)))
        func threeWorkersAssignOnce() throws {
            let pool = try TestPool("once")
            let managers = ["m1", "m2", "m3"]
            try pool.addManagers(managers)
            let workers = try pool.startWorkers(3, concurrency: 2)
            for worker in workers {
                #expect(try pool.workerID(of: worker) != nil, "worker \(worker.pid) registered")
            }

            // Every 30th push is followed by a second push of an earlier id. Odd retries repeat
            // the same bytes and even ones carry a changed field. Every 10th retry repeats the
            // lead pushed just before it, so both copies are likely taken in one batch.
            var leads: [String] = []
            for index in 1...3000 {
                leads.append("{\"id\":\"L\(index)\",\"source\":\"web\"}")
                if index % 30 == 0 {
                    let retry = index / 30
                    let original = index - (retry % 10)
                    if retry % 2 == 1 {
                        leads.append("{\"id\":\"L\(original)\",\"source\":\"web\"}")
                    } else {
                        leads.append("{\"id\":\"L\(original)\",\"source\":\"web\",\"attempt\":2}")
                    }
                }
            }
            #expect(leads.count == 3100)
            var start = 0
            while start < leads.count {
                try pool.push(Array(leads[start..<min(start + 310, leads.count)]))
                start += 310
                Thread.sleep(forTimeInterval: 0.02)
            }

            let expected = Set((1...3000).map { "L\($0)" })
            #expect(try pool.waitForAssignments(of: expected, timeout: 40))
            for worker in workers {
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }

            let report = try pool.deliveryReport(expectedIDs: expected, pushed: leads.count)
            print("exactly once, 3 workers: \(report) counts=\(report.countsByManager.sorted { $0.key < $1.key })")
            expectExactlyOnce(report)
            #expect(try pool.leadSummaries().count == 3000, "one lead record per id")
            #expect(spread(report.countsByManager, over: managers) <= 1, "round robin counts \(report.countsByManager)")
            #expect(try pool.redis.command(["HGET", pool.keys.stats, "duplicates"]).integer == 100)
            #expect(try pool.incomingLength() == 0)
            let inFlight = try pool.inFlightLengths()
            #expect(inFlight.values.reduce(0, +) == 0, "in-flight lists \(inFlight)")
            for manager in managers {
                #expect(try pool.openCount(manager) == report.countsByManager[manager], "open counter of \(manager)")
            }
        }

        @Test("lead without id gets a generated one", .timeLimit(.minutes(1)))
        func leadWithoutIDGetsGeneratedID() throws {
            let pool = try TestPool("genid")
            try pool.addManagers(["a", "b"])
            let worker = try pool.startWorkers(1)[0]

            let ann = "{\"name\":\"Ann\",\"phone\":\"+1-555-0100\"}"
            let bob = "{\"name\":\"Bob\",\"phone\":\"+1-555-0101\"}"
            try pool.push([ann, bob, ann])
            #expect(try pool.waitUntil { try pool.nothingPending() && pool.leadSummaries().count == 2 })

            // A retry long after the first copy was assigned is still the same lead.
            try pool.push([ann])
            #expect(try pool.waitUntil { try pool.nothingPending() && pool.redis.command(["HGET", pool.keys.stats, "duplicates"]).integer == 2 })
            #expect(worker.stop() == 0)

            let summaries = try pool.leadSummaries()
            #expect(summaries.count == 2, "lead records \(summaries.keys.sorted())")
            for (id, summary) in summaries {
                #expect(id.hasPrefix("gen-"), "generated id \(id)")
                #expect(summary.status == "assigned", "status of \(id)")
            }
            let events = try pool.assignedEvents()
            #expect(events.count == 2, "leads with assigned events \(events.keys.sorted())")
            #expect(events.values.allSatisfy { $0.count == 1 }, "assigned events per lead \(events)")
            #expect(Set(events.keys) == Set(summaries.keys))

            let payloads = try summaries.keys.map { try pool.lead($0)["payload"] ?? "" }
            #expect(Set(payloads) == [ann, bob], "stored payloads")
        }

        /// `leadrouter push` adds `created_at` (the push time) to a lead that has none, and the
        /// worker derives a missing id from the bytes it receives. So two pushes of one id-less
        /// lead a few milliseconds apart arrive as different bytes and get different ids.
        @Test("CLI push of id-less lead twice assigns once", .timeLimit(.minutes(1)))
        func cliPushWithoutIDTwiceAssignsOnce() throws {
            let pool = try TestPool("genpush")
            try pool.addManagers(["a", "b"])
            let worker = try pool.startWorkers(1)[0]

            let lead = "{\"name\":\"Ann\",\"phone\":\"+1-555-0100\"}\n"
            for attempt in 1...2 {
                let push = try LeadrouterBinary.run(["push"], pool: pool.name, stdin: lead)
                #expect(push.status == 0, "push \(attempt): \(push.stderr)")
                Thread.sleep(forTimeInterval: 0.01)
            }
            #expect(try pool.waitUntil { try pool.nothingPending() && pool.leadSummaries().count >= 1 })
            // Leaves time for a second lead record to appear, if one is going to.
            Thread.sleep(forTimeInterval: 0.3)
            #expect(worker.stop() == 0)

            let summaries = try pool.leadSummaries()
            #expect(summaries.count == 1, "lead records for one id-less lead pushed twice: \(summaries.keys.sorted())")
            let events = try pool.assignedEvents()
            #expect(events.values.map(\.count).reduce(0, +) == 1, "assigned events: \(events)")
        }
    }
}
