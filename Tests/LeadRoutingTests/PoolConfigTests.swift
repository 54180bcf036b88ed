import Foundation
import Testing

@testable import LeadRouting

/// The configuration example of the product contract, as `leadrouter config set` receives it.
let exampleConfig = #"""
    {
      "routes": [
        { "match": { "specialization": ["Finance Management", "Banking, Investment And Insurance"] }, "group": "finance" },
        { "match": { "source": ["Reference"] }, "group": "vip" },
        { "group": "general" }
      ],
      "groups": {
        "finance": { "method": "round_robin", "max_open": 10, "max_empty_fields": 0.30, "fallback": "general" },
        "vip":     { "method": "manual", "manual_timeout_s": 120, "then": "round_robin" },
        "inbound": { "method": "claim", "claim_timeout_s": 300, "max_claimed": 3, "then": "least_loaded" },
        "general": { "method": "weighted",
                     "rating": { "won_value": 0.5, "conversion": 0.3, "meetings": 0.2 },
                     "min_share": 0.05 }
      }
    }
    """#

private func parseConfig(_ text: String) throws(ConfigError) -> PoolConfig {
    try PoolConfig.parse(Data(text.utf8))
}

/// Parses `text` and returns the validation error, or nil when the config is accepted.
private func configError(_ text: String) -> ConfigError? {
    do {
        _ = try parseConfig(text)
        return nil
    } catch {
        return error
    }
}

/// Builds a config with one catch-all route to `general`, plus `groups` (members of the groups object).
private func withGroups(_ groups: String) -> String {
    #"{"routes":[{"group":"general"}],"groups":{"general":{"method":"round_robin"},\#(groups)}}"#
}

@Suite("PoolConfig")
struct PoolConfigTests {
    // MARK: - The example

    @Test("example config parses")
    func exampleParses() throws {
        let config = try parseConfig(exampleConfig)

        #expect(config.routes.count == 3)
        #expect(config.routes[0].group == "finance")
        #expect(config.routes[0].match.map(\.field) == ["specialization"])
        #expect(config.routes[0].match.first?.values == ["Finance Management", "Banking, Investment And Insurance"])
        #expect(config.routes[1].group == "vip")
        #expect(config.routes[1].match.first?.values == ["Reference"])
        #expect(config.routes[2].isCatchAll)
        #expect(config.routes[2].group == "general")
        #expect(config.routingFields == ["specialization", "source"])
        #expect(config.maxLeadBytes == LeadParser.defaultMaxBytes)
        #expect(config.placeholders.isEmpty)
    }

    @Test("example groups parsed")
    func exampleGroups() throws {
        let groups = try parseConfig(exampleConfig).groups
        #expect(Set(groups.keys) == ["finance", "vip", "inbound", "general"])

        let finance = try #require(groups["finance"])
        #expect(finance.method == .roundRobin)
        #expect(finance.maxOpen == 10)
        #expect(finance.maxEmptyFields == 0.30)
        #expect(finance.fallback == "general")

        let vip = try #require(groups["vip"])
        #expect(vip.method == .manual)
        #expect(vip.manualTimeoutSeconds == 120)
        #expect(vip.then == .roundRobin)

        let inbound = try #require(groups["inbound"])
        #expect(inbound.method == .claim)
        #expect(inbound.claimTimeoutSeconds == 300)
        #expect(inbound.maxClaimed == 3)
        #expect(inbound.then == .leastLoaded)

        let general = try #require(groups["general"])
        #expect(general.method == .weighted)
        #expect(general.minShare == 0.05)
        #expect(general.rating.map(\.metric).sorted() == ["conversion", "meetings", "won_value"])
        #expect(general.rating.first { $0.metric == "won_value" }?.weight == 0.5)
        #expect(general.rating.first { $0.metric == "conversion" }?.weight == 0.3)
        #expect(general.rating.first { $0.metric == "meetings" }?.weight == 0.2)
    }

    @Test("top-level options parsed")
    func topLevelOptions() throws {
        let config = try parseConfig(
            #"{"placeholders":["Select","—"],"max_lead_bytes":1024,"events_maxlen":5000,"closed_retention_days":7,"groups":{"default":{"method":"least_loaded"}}}"#
        )
        #expect(config.placeholders == ["Select", "—"])
        #expect(config.maxLeadBytes == 1024)
        #expect(config.eventsMaxLength == 5000)
        #expect(config.closedRetentionDays == 7)
        #expect(config.routes == [PoolConfig.Route(match: [], group: "default")])
        #expect(config.groups["default"]?.method == .leastLoaded)
    }

    @Test("retention defaults to thirty days")
    func retentionDefault() throws {
        let config = try parseConfig(#"{"groups":{"default":{"method":"round_robin"}}}"#)
        #expect(config.closedRetentionDays == 30)
        let error = try #require(configError(#"{"closed_retention_days":-1,"groups":{"default":{"method":"round_robin"}}}"#))
        #expect(error.path == "$.closed_retention_days")
    }

    @Test("fallback chain accepted")
    func fallbackChain() throws {
        let config = try parseConfig(withGroups(#""a":{"method":"round_robin","fallback":"b"},"b":{"method":"round_robin","fallback":"general"}"#))
        #expect(config.groups["a"]?.fallback == "b")
        #expect(config.groups["b"]?.fallback == "general")
    }

    @Test("zero max_open accepted")
    func zeroMaxOpen() throws {
        let config = try parseConfig(withGroups(#""g":{"method":"round_robin","max_open":0}"#))
        #expect(config.groups["g"]?.maxOpen == 0)
    }

    // MARK: - Rejected, with the JSON path

    @Test("unknown method rejected")
    func unknownMethod() throws {
        let error = try #require(configError(withGroups(#""g":{"method":"fastest_first"}"#)))
        #expect(error.path == "$.groups.g.method")
        #expect(error.message.contains(#"unknown method "fastest_first""#))
        #expect(error.message.contains("round_robin"))
    }

    @Test("missing method rejected")
    func missingMethod() throws {
        let error = try #require(configError(withGroups(#""g":{"max_open":3}"#)))
        #expect(error.path == "$.groups.g.method")
    }

    @Test("unknown group field rejected")
    func unknownGroupField() throws {
        let error = try #require(configError(withGroups(#""g":{"method":"round_robin","max_opn":3}"#)))
        #expect(error.path == "$.groups.g.max_opn")
        #expect(error.message.hasPrefix("unknown field"))
        #expect(error.message.contains("max_open"))
    }

    @Test("unknown top-level field rejected")
    func unknownTopField() throws {
        let error = try #require(configError(#"{"route":[],"groups":{"default":{"method":"round_robin"}}}"#))
        #expect(error.path == "$.route")
        #expect(error.message.hasPrefix("unknown field"))
    }

    @Test("unknown route field rejected")
    func unknownRouteField() throws {
        let error = try #require(configError(
            #"{"routes":[{"matches":{"source":["Google"]},"group":"general"},{"group":"general"}],"groups":{"general":{"method":"round_robin"}}}"#
        ))
        #expect(error.path == "$.routes[0].matches")
    }

    @Test("route to missing group rejected")
    func routeToMissingGroup() throws {
        let error = try #require(configError(
            #"{"routes":[{"match":{"source":["Google"]},"group":"ads"},{"group":"general"}],"groups":{"general":{"method":"round_robin"}}}"#
        ))
        #expect(error.path == "$.routes[0].group")
        #expect(error.message.contains(#"group "ads" is not defined"#))
    }

    @Test("route without group rejected")
    func routeWithoutGroup() throws {
        let error = try #require(configError(
            #"{"routes":[{"match":{"source":["Google"]}},{"group":"general"}],"groups":{"general":{"method":"round_robin"}}}"#
        ))
        #expect(error.path == "$.routes[0].group")
    }

    @Test("fallback to missing group rejected")
    func fallbackToMissingGroup() throws {
        let error = try #require(configError(withGroups(#""finance":{"method":"round_robin","fallback":"genral"}"#)))
        #expect(error.path == "$.groups.finance.fallback")
        #expect(error.message.contains(#"group "genral" is not defined"#))
    }

    @Test("missing group deep in chain")
    func fallbackChainToMissingGroup() throws {
        let error = try #require(configError(
            withGroups(#""a":{"method":"round_robin","fallback":"b"},"b":{"method":"round_robin","fallback":"nowhere"}"#)
        ))
        #expect(error.path == "$.groups.b.fallback")
    }

    @Test("fallback cycle rejected")
    func fallbackCycle() throws {
        let error = try #require(configError(
            withGroups(#""a":{"method":"round_robin","fallback":"b"},"b":{"method":"round_robin","fallback":"a"}"#)
        ))
        #expect(error.path == "$.groups.a.fallback")
        #expect(error.message.contains("fallback cycle a -> b -> a"))
    }

    @Test("self fallback rejected")
    func selfFallback() throws {
        let error = try #require(configError(withGroups(#""a":{"method":"round_robin","fallback":"a"}"#)))
        #expect(error.path == "$.groups.a.fallback")
        #expect(error.message.contains("a -> a"))
    }

    @Test("negative max_open rejected")
    func negativeMaxOpen() throws {
        let error = try #require(configError(withGroups(#""g":{"method":"round_robin","max_open":-1}"#)))
        #expect(error.path == "$.groups.g.max_open")
        #expect(error.message.contains("got -1"))
    }

    @Test("fractional max_open rejected")
    func fractionalMaxOpen() throws {
        let error = try #require(configError(withGroups(#""g":{"method":"round_robin","max_open":2.5}"#)))
        #expect(error.path == "$.groups.g.max_open")
    }

    @Test("max_empty_fields above 1 rejected")
    func maxEmptyFieldsAboveOne() throws {
        let error = try #require(configError(withGroups(#""g":{"method":"round_robin","max_empty_fields":1.5}"#)))
        #expect(error.path == "$.groups.g.max_empty_fields")
        #expect(error.message.contains("got 1.5"))
    }

    @Test("max_empty_fields as percent rejected")
    func maxEmptyFieldsPercent() throws {
        let error = try #require(configError(withGroups(#""g":{"method":"round_robin","max_empty_fields":30}"#)))
        #expect(error.path == "$.groups.g.max_empty_fields")
    }

    @Test("string rating weight rejected")
    func stringRatingWeight() throws {
        let error = try #require(configError(
            withGroups(#""g":{"method":"weighted","rating":{"conversion":0.5,"won_value":"0.5"}}"#)
        ))
        #expect(error.path == "$.groups.g.rating.won_value")
    }

    @Test("string number message names type")
    func stringNumberMessage() throws {
        // "got 0.5" for the string "0.5" reads as a valid value, so the message must name the type.
        let weight = try #require(configError(
            withGroups(#""g":{"method":"weighted","rating":{"won_value":"0.5"}}"#)
        ))
        #expect(weight.message.contains("got a string"))

        let maxOpen = try #require(configError(withGroups(#""g":{"method":"round_robin","max_open":"10"}"#)))
        #expect(maxOpen.path == "$.groups.g.max_open")
        #expect(maxOpen.message.contains("got a string"))
    }

    @Test("weighted without rating rejected")
    func weightedWithoutRating() throws {
        let error = try #require(configError(withGroups(#""g":{"method":"weighted","min_share":0.05}"#)))
        #expect(error.path == "$.groups.g.rating")
        #expect(error.message.hasPrefix("missing"))
    }

    @Test("manual without timeout rejected")
    func manualWithoutTimeout() throws {
        let error = try #require(configError(withGroups(#""vip":{"method":"manual","then":"round_robin"}"#)))
        #expect(error.path == "$.groups.vip.manual_timeout_s")
        #expect(error.message.hasPrefix("missing"))
    }

    @Test("claim without timeout rejected")
    func claimWithoutTimeout() throws {
        let error = try #require(configError(withGroups(#""inbound":{"method":"claim","max_claimed":3}"#)))
        #expect(error.path == "$.groups.inbound.claim_timeout_s")
    }

    @Test("then manual rejected")
    func thenManual() throws {
        let error = try #require(configError(
            withGroups(#""inbound":{"method":"claim","claim_timeout_s":300,"then":"manual"}"#)
        ))
        #expect(error.path == "$.groups.inbound.then")
        #expect(error.message.contains("must be a selector"))
    }

    @Test("last route not catch-all rejected")
    func lastRouteNotCatchAll() throws {
        let error = try #require(configError(
            #"{"routes":[{"match":{"source":["Google"]},"group":"general"}],"groups":{"general":{"method":"round_robin"}}}"#
        ))
        #expect(error.path == "$.routes[0]")
        #expect(error.message.contains("the last route must have no match"))
    }

    @Test("catch-all before other routes rejected")
    func earlyCatchAllRejected() throws {
        let error = try #require(configError(
            #"{"routes":[{"group":"general"},{"match":{"source":["Google"]},"group":"general"}],"groups":{"general":{"method":"round_robin"}}}"#
        ))
        #expect(error.path == "$.routes[0]")
        #expect(error.message.contains("could never match"))
    }

    @Test("setting of another method rejected")
    func foreignSettingRejected() throws {
        let error = try #require(configError(
            #"{"groups":{"default":{"method":"round_robin","manual_timeout_s":5}}}"#
        ))
        #expect(error.path == "$.groups.default.manual_timeout_s")
        #expect(error.message.contains("applies only to manual groups"))
    }

    @Test("routes without default group rejected")
    func noRoutesNoDefault() throws {
        let error = try #require(configError(#"{"groups":{"general":{"method":"round_robin"}}}"#))
        #expect(error.path == "$.routes")
    }

    @Test("empty match values rejected")
    func emptyMatchValues() throws {
        let error = try #require(configError(
            #"{"routes":[{"match":{"source":[]},"group":"general"},{"group":"general"}],"groups":{"general":{"method":"round_robin"}}}"#
        ))
        #expect(error.path == "$.routes[0].match.source")
    }

    @Test("numeric match value rejected")
    func numericMatchValue() throws {
        let error = try #require(configError(
            #"{"routes":[{"match":{"code":[100]},"group":"general"},{"group":"general"}],"groups":{"general":{"method":"round_robin"}}}"#
        ))
        #expect(error.path == "$.routes[0].match.code[0]")
    }

    @Test("invalid group name rejected")
    func invalidGroupName() throws {
        let error = try #require(configError(withGroups(#""a}b":{"method":"round_robin"}"#)))
        #expect(error.path == "$.groups.a}b")
    }

    @Test("missing groups rejected")
    func missingGroups() throws {
        let error = try #require(configError(#"{"routes":[{"group":"general"}]}"#))
        #expect(error.path == "$.groups")
    }

    @Test("max_lead_bytes out of range")
    func maxLeadBytesRange() throws {
        let error = try #require(configError(#"{"max_lead_bytes":10,"groups":{"default":{"method":"round_robin"}}}"#))
        #expect(error.path == "$.max_lead_bytes")
    }

    @Test("not JSON rejected")
    func notJSON() throws {
        let error = try #require(configError(#"{"groups": {"general": {"method": "round_robin"},}"#))
        #expect(error.path == "$")
        #expect(error.message.contains("not valid JSON"))
        #expect(error.description.hasPrefix("invalid config at $: "))
    }

    @Test("array document rejected")
    func notObject() throws {
        let error = try #require(configError(#"[{"group":"general"}]"#))
        #expect(error.path == "$")
        #expect(error.message.contains("got an array"))
    }

    @Test("string document rejected")
    func stringDocument() throws {
        let error = try #require(configError(#""general""#))
        #expect(error.path == "$")
    }

    // MARK: - Compiled groups

    @Test("compiled groups are JSON")
    func compiledGroups() throws {
        let config = try parseConfig(exampleConfig)
        let json = config.compiledGroupsJSON()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["finance", "vip", "inbound", "general"])

        let finance = try #require(object["finance"] as? [String: Any])
        #expect(finance["method"] as? String == "round_robin")
        #expect((finance["max_open"] as? NSNumber)?.intValue == 10)
        #expect((finance["max_empty_fields"] as? NSNumber)?.doubleValue == 0.3)
        #expect(finance["fallback"] as? String == "general")

        let vip = try #require(object["vip"] as? [String: Any])
        #expect(vip["method"] as? String == "manual")
        #expect((vip["manual_timeout_s"] as? NSNumber)?.doubleValue == 120)
        #expect(vip["then"] as? String == "round_robin")

        let inbound = try #require(object["inbound"] as? [String: Any])
        #expect(inbound["method"] as? String == "claim")
        #expect((inbound["claim_timeout_s"] as? NSNumber)?.doubleValue == 300)
        #expect((inbound["max_claimed"] as? NSNumber)?.intValue == 3)
        #expect(inbound["then"] as? String == "least_loaded")

        let general = try #require(object["general"] as? [String: Any])
        #expect(general["method"] as? String == "weighted")
        #expect((general["min_share"] as? NSNumber)?.doubleValue == 0.05)
        let rating = try #require(general["rating"] as? [String: Any])
        #expect((rating["won_value"] as? NSNumber)?.doubleValue == 0.5)
        #expect((rating["conversion"] as? NSNumber)?.doubleValue == 0.3)
        #expect((rating["meetings"] as? NSNumber)?.doubleValue == 0.2)
        let metrics = try #require(general["rating_metrics"] as? [String])
        #expect(Set(metrics) == ["won_value", "conversion", "meetings"])
        #expect(metrics.count == 3)
    }

    @Test("compiled tiny weights are JSON")
    func compiledTinyNumbers() throws {
        let config = try parseConfig(withGroups(#""w":{"method":"weighted","rating":{"calls":0.00001},"min_share":0.000001}"#))
        let json = config.compiledGroupsJSON()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let weighted = try #require(object["w"] as? [String: Any])
        #expect((weighted["min_share"] as? NSNumber)?.doubleValue == 0.000001)
        #expect(((weighted["rating"] as? [String: Any])?["calls"] as? NSNumber)?.doubleValue == 0.00001)
    }

    @Test("implicit config compiles")
    func implicitCompiled() throws {
        let json = PoolConfig.implicit.compiledGroupsJSON()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: [String: Any]])
        #expect(object.count == 1)
        #expect(object["default"]?["method"] as? String == "round_robin")
    }
}
