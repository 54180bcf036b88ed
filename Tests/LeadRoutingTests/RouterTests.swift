import Foundation
import Testing

@testable import LeadRouting

/// A config with placeholders, four conditional routes and a catch-all. Routes 1 and 2 both
/// match on specialization.
private let routingConfig = #"""
    {
      "placeholders": ["Select", "—"],
      "routes": [
        { "match": { "specialization": ["Finance Management"] }, "group": "finance" },
        { "match": { "specialization": ["Finance Management", "Banking"], "source": ["Reference"] }, "group": "vip" },
        { "match": { "source": ["Reference"] }, "group": "referrals" },
        { "match": { "code": ["100", "2.5", "true", "-7"] }, "group": "coded" },
        { "group": "general" }
      ],
      "groups": {
        "finance":   { "method": "round_robin" },
        "vip":       { "method": "round_robin" },
        "referrals": { "method": "round_robin" },
        "coded":     { "method": "round_robin" },
        "general":   { "method": "round_robin" }
      }
    }
    """#

private func config(_ text: String = routingConfig) throws -> PoolConfig {
    try PoolConfig.parse(Data(text.utf8))
}

/// Parses a lead as the worker does, with the config's routing fields.
private func lead(_ text: String, for config: PoolConfig) throws -> Lead {
    let parser = LeadParser(maxBytes: config.maxLeadBytes, routingFields: config.routingFields)
    return try parser.parse(Array(text.utf8), nowMillis: 1_800_000_000_000).get()
}

private func route(_ text: String, _ config: PoolConfig) throws -> RouteDecision {
    config.route(try lead(text, for: config))
}

@Suite("Router")
struct RouterTests {
    // MARK: - Route order

    @Test("first matching route wins")
    func firstMatchWins() throws {
        let config = try config()
        // Routes 1 and 2 both hold, and route 1 comes first.
        let decision = try route(#"{"specialization":"Finance Management","source":"Reference"}"#, config)
        #expect(decision.group == "finance")
        #expect(decision.explanation.hasPrefix("route 1 "))
        #expect(decision.explanation.contains(#"specialization = "Finance Management""#))
        #expect(decision.explanation.hasSuffix("-> group finance"))
    }

    @Test("all conditions must hold")
    func allConditionsHold() throws {
        let config = try config()
        let bankingReference = try route(#"{"specialization":"Banking","source":"Reference"}"#, config)
        #expect(bankingReference.group == "vip")
        #expect(bankingReference.explanation.contains(#"source = "Reference""#))

        // Banking without the Reference source fails route 2 and matches nothing else.
        let bankingGoogle = try route(#"{"specialization":"Banking","source":"Google"}"#, config)
        #expect(bankingGoogle.group == "general")
    }

    @Test("later route when earlier fails")
    func laterRoute() throws {
        let config = try config()
        let decision = try route(#"{"specialization":"Retail","source":"Reference"}"#, config)
        #expect(decision.group == "referrals")
        #expect(decision.explanation.hasPrefix("route 3 "))
    }

    @Test("values compared exactly")
    func exactComparison() throws {
        let config = try config()
        #expect(try route(#"{"specialization":"finance management"}"#, config).group == "general")
        #expect(try route(#"{"specialization":"Finance"}"#, config).group == "general")
    }

    @Test("implicit config routes to default")
    func implicitDefault() throws {
        let decision = PoolConfig.implicit.route(try lead(#"{"id":"L1"}"#, for: .implicit))
        #expect(decision.group == "default")
        #expect(decision.explanation.contains("-> group default"))
    }

    // MARK: - Unqualified leads

    @Test("placeholder falls to default")
    func placeholder() throws {
        let config = try config()
        let decision = try route(#"{"specialization":"Select","source":"Google"}"#, config)
        #expect(decision.group == "general")
        #expect(decision.explanation.hasPrefix("default route 5 -> group general"))
        #expect(decision.explanation.contains(#"specialization is the placeholder "Select""#))
    }

    @Test("padded placeholder falls to default")
    func paddedPlaceholder() throws {
        let config = try config()
        let decision = try route(#"{"specialization":"  Select ","source":"Google"}"#, config)
        #expect(decision.group == "general")
        #expect(decision.explanation.contains("specialization is the placeholder"))
    }

    @Test("placeholder never matches route")
    func placeholderNeverMatches() throws {
        // A route that lists the placeholder itself still does not take an unqualified lead.
        let config = try config(#"""
            {"placeholders":["Select"],
             "routes":[{"match":{"specialization":["Select"]},"group":"odd"},{"group":"general"}],
             "groups":{"odd":{"method":"round_robin"},"general":{"method":"round_robin"}}}
            """#)
        #expect(try route(#"{"specialization":"Select"}"#, config).group == "general")
    }

    @Test("empty string falls to default")
    func emptyString() throws {
        let config = try config()
        let decision = try route(#"{"specialization":"","source":"Google"}"#, config)
        #expect(decision.group == "general")
        #expect(decision.explanation.contains("specialization is empty"))
    }

    @Test("blank string falls to default")
    func blankString() throws {
        let config = try config()
        let decision = try route(#"{"specialization":"   "}"#, config)
        #expect(decision.group == "general")
        #expect(decision.explanation.contains("specialization is empty"))
    }

    @Test("line break only falls to default")
    func lineBreakOnly() throws {
        let config = try config()
        let decision = try route(#"{"specialization":"\r\n","source":"Google"}"#, config)
        #expect(decision.group == "general")
        #expect(decision.explanation.contains("specialization is empty"))
    }

    @Test("missing field falls to default")
    func missingField() throws {
        let config = try config()
        let decision = try route(#"{"id":"L1","source":"Google"}"#, config)
        #expect(decision.group == "general")
        #expect(decision.explanation.contains("specialization is missing"))
        #expect(!decision.explanation.contains("source is"))
    }

    @Test("null field counts as missing")
    func nullField() throws {
        let config = try config()
        let decision = try route(#"{"specialization":null}"#, config)
        #expect(decision.group == "general")
        #expect(decision.explanation.contains("specialization is missing"))
    }

    @Test("explanation names every unqualified field")
    func everyUnqualifiedField() throws {
        let config = try config()
        let decision = try route(#"{"specialization":"—","source":""}"#, config)
        #expect(decision.group == "general")
        #expect(decision.explanation.contains(#"specialization is the placeholder "—""#))
        #expect(decision.explanation.contains("source is empty"))
        #expect(decision.explanation.contains("code is missing"))
    }

    // MARK: - Numbers and booleans

    @Test("integer matches its spelling")
    func integerSpelling() throws {
        let config = try config()
        #expect(try route(#"{"code":100}"#, config).group == "coded")
        #expect(try route(#"{"code":100.0}"#, config).group == "coded")
        #expect(try route(#"{"code":1e2}"#, config).group == "coded")
        #expect(try route(#"{"code":-7}"#, config).group == "coded")
    }

    @Test("fraction matches its spelling")
    func fractionSpelling() throws {
        let config = try config()
        #expect(try route(#"{"code":2.5}"#, config).group == "coded")
        #expect(try route(#"{"code":2.50}"#, config).group == "coded")
        #expect(try route(#"{"code":25}"#, config).group == "general")
    }

    @Test("boolean matches its spelling")
    func booleanSpelling() throws {
        let config = try config()
        #expect(try route(#"{"code":true}"#, config).group == "coded")
        #expect(try route(#"{"code":false}"#, config).group == "general")
    }

    @Test("number and string agree")
    func numberAndString() throws {
        let config = try config()
        let number = try route(#"{"code":100}"#, config)
        let string = try route(#"{"code":"100"}"#, config)
        #expect(number.group == string.group)
        #expect(number.explanation == string.explanation)
    }

    @Test("long integer matches its spelling")
    func longIntegerSpelling() throws {
        // A 16-digit account number is exact in a Double (below 2^53) and must not turn into 1.2e+15.
        let config = try config(#"""
            {"routes":[{"match":{"account":["1234567890123456"]},"group":"big"},{"group":"general"}],
             "groups":{"big":{"method":"round_robin"},"general":{"method":"round_robin"}}}
            """#)
        #expect(try route(#"{"account":1234567890123456}"#, config).group == "big")
    }
}
