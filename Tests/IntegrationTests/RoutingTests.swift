import Foundation
import LeadRouting
import Testing

extension DistributionMethodTests {
    @Suite("Routing by specialization")
    struct RoutingTests {
        static let config = """
            {
              "placeholders": ["Select"],
              "routes": [
                { "match": { "specialization": ["Finance Management"], "source": ["Reference"] }, "group": "vip" },
                { "match": { "specialization": ["Finance Management", "Banking, Investment And Insurance"] }, "group": "finance" },
                { "match": { "specialization": ["Legal"] }, "group": "legal" },
                { "group": "general" }
              ],
              "groups": {
                "vip": { "method": "round_robin", "fallback": "finance" },
                "finance": { "method": "round_robin", "fallback": "general" },
                "legal":   { "method": "round_robin", "fallback": "overflow" },
                "general": { "method": "round_robin", "fallback": "overflow" },
                "overflow": { "method": "round_robin" }
              }
            }
            """

        func makePool(_ label: String) throws -> TestPool {
            let pool = try TestPool(label)
            try pool.setConfig(Self.config)
            try pool.addManagers(["f1", "f2"], groups: ["finance"])
            try pool.addManagers(["l1"], groups: ["legal"])
            try pool.addManagers(["g1", "g2"], groups: ["general"])
            try pool.addManagers(["o1"], groups: ["overflow"])
            try pool.addManagers(["v1"], groups: ["vip"])
            return pool
        }

        @Test("each specialization reaches its group")
        func specializationReachesGroup() throws {
            let pool = try self.makePool("route-spec")
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            let finance = pool.leads("fin-", 1...20, fields: ["specialization": "Finance Management"])
            let banking = pool.leads("bank-", 1...10, fields: ["specialization": "Banking, Investment And Insurance"])
            let legal = pool.leads("legal-", 1...10, fields: ["specialization": "Legal"])
            let other = pool.leads("other-", 1...10, fields: ["specialization": "Marketing"])
            // A route with two conditions needs both: only finance leads from references are vip.
            let vip = pool.leads("vip-", 1...3, fields: ["specialization": "Finance Management", "source": "Reference"])
            let legalReference = pool.leads("legal-ref-", 1...2, fields: ["specialization": "Legal", "source": "Reference"])
            try pool.push(finance + banking + legal + other + vip + legalReference)
            #expect(try pool.waitUntil { try pool.assignmentsByManager().values.reduce(0, +) == 55 })

            let financeIDs = (1...20).map { "fin-\($0)" } + (1...10).map { "bank-\($0)" }
            #expect(try pool.assignedCounts(of: financeIDs) == ["f1": 15, "f2": 15])
            #expect(try pool.assignedCounts(of: (1...10).map { "legal-\($0)" }) == ["l1": 10])
            #expect(try pool.assignedCounts(of: (1...10).map { "other-\($0)" }) == ["g1": 5, "g2": 5])
            #expect(try pool.assignedCounts(of: (1...3).map { "vip-\($0)" }) == ["v1": 3])
            #expect(try pool.assignedCounts(of: (1...2).map { "legal-ref-\($0)" }) == ["l1": 2])

            let record = try pool.lead("fin-1")
            #expect(record["group"] == "finance")
            #expect(record["method"] == "round_robin")
            #expect(record["route"]?.contains("group finance") == true)
        }

        @Test("unqualified leads take the default route")
        func unqualifiedLeadsTakeDefaultRoute() throws {
            let pool = try self.makePool("route-default")
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            let cases: [(id: String, lead: String, note: String)] = [
                ("missing", #"{"id":"missing","source":"Google"}"#, "specialization is missing"),
                ("empty", #"{"id":"empty","specialization":""}"#, "specialization is empty"),
                ("blank", #"{"id":"blank","specialization":"   "}"#, "specialization is empty"),
                ("select", #"{"id":"select","specialization":"Select"}"#, "placeholder"),
                ("select-padded", #"{"id":"select-padded","specialization":" Select "}"#, "placeholder"),
                ("null", #"{"id":"null","specialization":null}"#, "specialization"),
            ]
            try pool.push(cases.map(\.lead))
            #expect(try pool.waitUntil { try pool.count(of: cases.map(\.id), status: "assigned") == cases.count })

            for item in cases {
                let record = try pool.lead(item.id)
                #expect(record["group"] == "general", "lead \(item.id)")
                #expect(["g1", "g2"].contains(record["manager"] ?? ""), "lead \(item.id) went to \(record["manager"] ?? "nobody")")
                #expect(record["route"]?.contains("default route") == true, "lead \(item.id): \(record["route"] ?? "")")
                #expect(record["route"]?.contains(item.note) == true, "lead \(item.id): \(record["route"] ?? "")")
            }
            #expect(try pool.dead() == 0)
        }

        @Test("fallback when the group's managers are off")
        func fallbackWhenGroupIsOff() throws {
            let pool = try self.makePool("route-fallback")
            try pool.client.setManager("f1", active: false)
            try pool.client.setManager("f2", active: false)
            let workers = try pool.startWorkers(3)
            defer { stopWorkers(workers) }

            try pool.push(pool.leads("fin-", 1...10, fields: ["specialization": "Finance Management"]))
            let ids = (1...10).map { "fin-\($0)" }
            #expect(try pool.waitUntil { try pool.count(of: ids, status: "assigned") == 10 })
            #expect(try pool.assignedCounts(of: ids) == ["g1": 5, "g2": 5])

            let record = try pool.lead("fin-1")
            #expect(record["group"] == "general")
            let explanation = try pool.client.explain("fin-1")
            #expect(explanation.contains("group finance (round_robin): no eligible manager"), "\(explanation)")
            #expect(explanation.contains("skipped: off"), "\(explanation)")

            // A chain: with the general group off too, finance leads go on to overflow.
            try pool.client.setManager("g1", active: false)
            try pool.client.setManager("g2", active: false)
            try pool.push(pool.leads("chain-", 1...4, fields: ["specialization": "Finance Management"]))
            let chain = (1...4).map { "chain-\($0)" }
            #expect(try pool.waitUntil { try pool.count(of: chain, status: "assigned") == 4 })
            #expect(try pool.assignedCounts(of: chain) == ["o1": 4])
            #expect(try pool.lead("chain-1")["group"] == "overflow")

            // Switched back on, the finance group gets its leads again.
            try pool.client.setManager("f1", active: true)
            try pool.push(pool.leads("back-", 1...4, fields: ["specialization": "Finance Management"]))
            let back = (1...4).map { "back-\($0)" }
            #expect(try pool.waitUntil { try pool.count(of: back, status: "assigned") == 4 })
            #expect(try pool.assignedCounts(of: back) == ["f1": 4])
        }
    }
}
