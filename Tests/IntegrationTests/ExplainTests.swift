import Foundation
import LeadRouting
import Testing

extension DistributionMethodTests {
    @Suite("Explain")
    struct ExplainTests {
        @Test("explain names skipped managers and the chosen one")
        func explainShowsSkipsAndChoice() throws {
            let pool = try TestPool("explain")
            try pool.setConfig("""
                { "placeholders": ["Select"],
                  "routes": [ { "match": { "specialization": ["Finance Management"] }, "group": "finance" }, { "group": "finance" } ],
                  "groups": { "finance": { "method": "round_robin", "max_open": 5, "max_empty_fields": 0.3 } } }
                """)
            // Join order, and so turn order: away, busy, sloppy, chosen.
            try pool.addManagers(["away", "busy", "sloppy", "chosen"], groups: ["finance"])
            try pool.client.setManager("away", active: false)
            var update = ManagerUpdate()
            update.openDeals = 5
            try pool.client.updateManager("busy", update)
            update = ManagerUpdate()
            update.emptyFields = 0.35
            try pool.client.updateManager("sloppy", update)
            let workers = try pool.startWorkers(2)
            defer { stopWorkers(workers) }

            try pool.push([#"{"id":"why-1","specialization":"Finance Management"}"#])
            #expect(try pool.waitUntil { try pool.lead("why-1")["status"] == "assigned" })

            let result = try pool.cli(["explain", "why-1"])
            #expect(result.status == 0, "\(result.stderr)")
            let output = result.stdout
            #expect(output.contains("assigned to chosen"), "\(output)")
            #expect(output.contains("route 1 (specialization = \"Finance Management\") -> group finance"), "\(output)")
            #expect(output.contains("speed-to-lead"), "\(output)")
            // One line per candidate, starting with the manager id.
            func candidateLine(_ manager: String) -> String {
                output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix(manager + " ") } ?? ""
            }
            #expect(candidateLine("away").contains("skipped: off"), "\(output)")
            #expect(candidateLine("busy").contains("skipped: at cap 5/5"), "\(output)")
            #expect(candidateLine("sloppy").contains("skipped: empty fields 0.35 > 0.3"), "\(output)")
            #expect(candidateLine("chosen").contains("chosen: next in turn"), "\(output)")
        }

        @Test("explain of a waiting lead and an unknown id")
        func explainWaitingAndUnknown() throws {
            let pool = try TestPool("explain-wait")
            try pool.setConfig("""
                { "routes": [ { "group": "sales" } ],
                  "groups": { "sales": { "method": "round_robin", "max_open": 1 } } }
                """)
            try pool.addManagers(["solo"], groups: ["sales"])
            let workers = try pool.startWorkers(2)
            defer { stopWorkers(workers) }

            try pool.push(pool.leads("q-", 1...2))
            #expect(try pool.waitUntil { try pool.count(of: ["q-1", "q-2"], status: "waiting") == 1 })
            let waitingID = try pool.lead("q-1")["status"] == "waiting" ? "q-1" : "q-2"

            let waiting = try pool.cli(["explain", waitingID])
            #expect(waiting.status == 0, "\(waiting.stderr)")
            #expect(waiting.stdout.contains("waiting"), "\(waiting.stdout)")
            #expect(waiting.stdout.contains("at cap 1/1"), "\(waiting.stdout)")
            #expect(waiting.stdout.contains("no eligible manager"), "\(waiting.stdout)")

            let unknown = try pool.cli(["explain", "no-such-lead"])
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("not found"), "\(unknown.stderr)")
        }
    }
}
