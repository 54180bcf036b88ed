import Foundation

/// A config rejected by validation: the JSON path of the bad field and what is wrong with it.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    public let path: String
    public let message: String

    public var description: String {
        "invalid config at \(self.path): \(self.message)"
    }
}

extension PoolConfig {
    private static let topKeys: Set<String> = ["placeholders", "routes", "groups", "max_lead_bytes", "events_maxlen", "closed_retention_days"]
    private static let groupKeys: Set<String> = [
        "method", "max_open", "max_empty_fields", "fallback", "manual_timeout_s", "claim_timeout_s",
        "max_claimed", "then", "rating", "min_share",
    ]

    /// Parses and validates a config document. Every rule is checked here, before anything is
    /// stored, so a worker never meets a config it cannot apply.
    public static func parse(_ data: Data) throws(ConfigError) -> PoolConfig {
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ConfigError(path: "$", message: "not valid JSON; check quotes, commas and brackets")
        }
        guard case .object(let top) = root else {
            throw ConfigError(path: "$", message: "must be a JSON object with routes and groups, got \(root.typeName)")
        }
        try Self.rejectUnknown(top, known: Self.topKeys, path: "$")

        var config = PoolConfig.implicit
        config.routes = []
        config.groups = [:]

        if let value = top["placeholders"] {
            config.placeholders = try Self.stringArray(value, path: "$.placeholders")
        }
        if let value = top["max_lead_bytes"] {
            config.maxLeadBytes = try Self.integer(value, path: "$.max_lead_bytes", range: 256...16_777_216)
        }
        if let value = top["events_maxlen"] {
            config.eventsMaxLength = try Self.integer(value, path: "$.events_maxlen", range: 100...100_000_000)
        }
        if let value = top["closed_retention_days"] {
            config.closedRetentionDays = try Self.integer(value, path: "$.closed_retention_days", range: 0...36_500)
        }

        guard let groupsValue = top["groups"] else {
            throw ConfigError(path: "$.groups", message: "missing; define at least one group, e.g. {\"general\": {\"method\": \"round_robin\"}}")
        }
        guard case .object(let groups) = groupsValue, !groups.isEmpty else {
            throw ConfigError(path: "$.groups", message: "must be a non-empty object of group name to group settings")
        }
        for (name, value) in groups {
            config.groups[name] = try Self.group(name: name, value: value)
        }

        if let routesValue = top["routes"] {
            guard case .array(let routes) = routesValue else {
                throw ConfigError(path: "$.routes", message: "must be an array of routes, got \(routesValue.typeName)")
            }
            for (index, value) in routes.enumerated() {
                config.routes.append(try Self.route(value, path: "$.routes[\(index)]", groups: config.groups))
            }
        }
        if config.routes.isEmpty {
            guard config.groups[Self.defaultGroup] != nil else {
                throw ConfigError(path: "$.routes", message: "missing; without routes every lead goes to group \"default\", which is not defined")
            }
            config.routes = [Route(match: [], group: Self.defaultGroup)]
        }
        if let early = config.routes.dropLast().firstIndex(where: \.isCatchAll) {
            throw ConfigError(path: "$.routes[\(early)]", message: "a route without match takes every lead, so the routes after it could never match; move it to the end")
        }
        guard let lastRoute = config.routes.last, lastRoute.isCatchAll else {
            throw ConfigError(path: "$.routes[\(config.routes.count - 1)]", message: "the last route must have no match, so unqualified leads have a default route, e.g. {\"group\": \"general\"}")
        }

        try Self.checkFallbacks(config.groups)
        return config
    }

    private static func group(name: String, value: JSONValue) throws(ConfigError) -> Group {
        let path = "$.groups.\(name)"
        guard Identifiers.isValidGroup(name) else {
            throw ConfigError(path: path, message: "group name must be 1-64 characters of A-Z a-z 0-9 _ . -")
        }
        guard case .object(let fields) = value else {
            throw ConfigError(path: path, message: "must be an object with a method, got \(value.typeName)")
        }
        try Self.rejectUnknown(fields, known: Self.groupKeys, path: path)

        guard let methodValue = fields["method"] else {
            throw ConfigError(path: "\(path).method", message: "missing; one of \(Self.methodList)")
        }
        var group = Group(name: name, method: try Self.method(methodValue, path: "\(path).method"))

        if let value = fields["max_open"] {
            group.maxOpen = try Self.integer(value, path: "\(path).max_open", range: 0...1_000_000)
        }
        if let value = fields["max_empty_fields"] {
            group.maxEmptyFields = try Self.number(value, path: "\(path).max_empty_fields", range: 0...1)
        }
        if let value = fields["fallback"] {
            guard case .string(let fallback) = value else {
                throw ConfigError(path: "\(path).fallback", message: "must be a group name, got \(value.typeName)")
            }
            group.fallback = fallback
        }
        if let value = fields["manual_timeout_s"] {
            group.manualTimeoutSeconds = try Self.number(value, path: "\(path).manual_timeout_s", range: 0.1...604_800)
        }
        if let value = fields["claim_timeout_s"] {
            group.claimTimeoutSeconds = try Self.number(value, path: "\(path).claim_timeout_s", range: 0.1...604_800)
        }
        if let value = fields["max_claimed"] {
            group.maxClaimed = try Self.integer(value, path: "\(path).max_claimed", range: 1...1_000_000)
        }
        if let value = fields["then"] {
            let then = try Self.method(value, path: "\(path).then")
            guard then.isSelector else {
                throw ConfigError(path: "\(path).then", message: "must be a selector (round_robin, least_loaded or weighted), got \(then.rawValue)")
            }
            group.then = then
        }
        if let value = fields["min_share"] {
            group.minShare = try Self.number(value, path: "\(path).min_share", range: 0...1)
        }
        if let value = fields["rating"] {
            guard case .object(let weights) = value else {
                throw ConfigError(path: "\(path).rating", message: "must be an object of metric name to weight, e.g. {\"won_value\": 0.5}")
            }
            for metric in weights.keys.sorted() {
                guard Identifiers.isValidGroup(metric) else {
                    throw ConfigError(path: "\(path).rating.\(metric)", message: "metric names are 1-64 characters of A-Z a-z 0-9 _ . -")
                }
                let weight = try Self.number(weights[metric]!, path: "\(path).rating.\(metric)", range: 0...1_000_000)
                group.rating.append((metric, weight))
            }
        }

        // Settings of another method are rejected, so a mistake such as a timeout on a round-robin
        // group does not pass silently.
        let onlyFor: [(String, Set<DistributionMethod>)] = [
            ("manual_timeout_s", [.manual]), ("claim_timeout_s", [.claim]), ("max_claimed", [.claim]),
            ("then", [.manual, .claim]), ("rating", [.weighted, .manual, .claim]), ("min_share", [.weighted, .manual, .claim]),
        ]
        for (field, methods) in onlyFor where fields[field] != nil && !methods.contains(group.method) {
            let names = methods.map(\.rawValue).sorted().joined(separator: " or ")
            throw ConfigError(path: "\(path).\(field)", message: "applies only to \(names) groups, and this group is \(group.method.rawValue); remove it or change the method")
        }

        switch group.method {
        case .weighted:
            guard !group.rating.isEmpty else {
                throw ConfigError(path: "\(path).rating", message: "missing; a weighted group needs metric weights, e.g. {\"won_value\": 0.5, \"conversion\": 0.5}")
            }
        case .manual:
            guard group.manualTimeoutSeconds != nil else {
                throw ConfigError(path: "\(path).manual_timeout_s", message: "missing; a manual group needs a timeout after which `then` routes the lead")
            }
        case .claim:
            guard group.claimTimeoutSeconds != nil else {
                throw ConfigError(path: "\(path).claim_timeout_s", message: "missing; a claim group needs a timeout after which `then` routes the lead")
            }
        case .roundRobin, .leastLoaded:
            break
        }
        return group
    }

    private static func route(_ value: JSONValue, path: String, groups: [String: Group]) throws(ConfigError) -> Route {
        guard case .object(let fields) = value else {
            throw ConfigError(path: path, message: "must be an object with match and group, got \(value.typeName)")
        }
        try Self.rejectUnknown(fields, known: ["match", "group"], path: path)
        guard case .string(let group)? = fields["group"] else {
            throw ConfigError(path: "\(path).group", message: "missing or not a string; name the group this route sends leads to")
        }
        guard groups[group] != nil else {
            throw ConfigError(path: "\(path).group", message: "group \"\(group)\" is not defined in $.groups")
        }
        var match: [(field: String, values: [String])] = []
        if let matchValue = fields["match"] {
            guard case .object(let conditions) = matchValue else {
                throw ConfigError(path: "\(path).match", message: "must be an object of field name to a list of values")
            }
            for field in conditions.keys.sorted() {
                let values = try Self.stringArray(conditions[field]!, path: "\(path).match.\(field)")
                guard !values.isEmpty else {
                    throw ConfigError(path: "\(path).match.\(field)", message: "must list at least one value")
                }
                match.append((field, values))
            }
        }
        return Route(match: match, group: group)
    }

    /// Groups no route and no fallback leads to: valid, but they never get a lead.
    public var unreachableGroups: [String] {
        var reached = Set(self.routes.map(\.group))
        var frontier = Array(reached)
        while let name = frontier.popLast() {
            if let next = self.groups[name]?.fallback, !reached.contains(next) {
                reached.insert(next)
                frontier.append(next)
            }
        }
        return self.groups.keys.filter { !reached.contains($0) }.sorted()
    }

    /// Rejects fallbacks to unknown groups and fallback cycles (a → b → a), which would bounce a
    /// lead forever.
    private static func checkFallbacks(_ groups: [String: Group]) throws(ConfigError) {
        for name in groups.keys.sorted() {
            var seen: [String] = [name]
            var current = groups[name]?.fallback
            while let next = current {
                guard groups[next] != nil else {
                    throw ConfigError(path: "$.groups.\(seen.last!).fallback", message: "group \"\(next)\" is not defined in $.groups")
                }
                guard !seen.contains(next) else {
                    throw ConfigError(path: "$.groups.\(name).fallback", message: "fallback cycle \((seen + [next]).joined(separator: " -> ")); end the chain at a group without fallback")
                }
                seen.append(next)
                current = groups[next]?.fallback
            }
        }
    }

    private static var methodList: String {
        DistributionMethod.allCases.map(\.rawValue).joined(separator: ", ")
    }

    private static func method(_ value: JSONValue, path: String) throws(ConfigError) -> DistributionMethod {
        guard case .string(let text) = value, let method = DistributionMethod(rawValue: text) else {
            throw ConfigError(path: path, message: "unknown method \(value.scalarText.map { "\"\($0)\"" } ?? value.typeName); use one of \(Self.methodList)")
        }
        return method
    }

    private static func rejectUnknown(_ object: [String: JSONValue], known: Set<String>, path: String) throws(ConfigError) {
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigError(path: "\(path).\(unknown)", message: "unknown field; known fields are \(known.sorted().joined(separator: ", "))")
        }
    }

    private static func integer(_ value: JSONValue, path: String, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard case .number(let number) = value, number == number.rounded(), number >= Double(range.lowerBound),
            number <= Double(range.upperBound)
        else {
            throw ConfigError(path: path, message: "must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(Self.describe(value))")
        }
        return Int(number)
    }

    private static func number(_ value: JSONValue, path: String, range: ClosedRange<Double>) throws(ConfigError) -> Double {
        guard case .number(let number) = value, range.contains(number) else {
            throw ConfigError(path: path, message: "must be a number from \(range.lowerBound) to \(range.upperBound), got \(Self.describe(value))")
        }
        return number
    }

    /// Describes a value for an error message: numbers as written, anything else by its type, so that
    /// "10" in quotes reads as "a string \"10\"" and not as a valid 10.
    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .number:
            return value.scalarText ?? "a number"
        case .string(let text):
            return "a string \(Identifiers.quoted(text)); write numbers without quotes"
        default:
            return value.typeName
        }
    }

    private static func stringArray(_ value: JSONValue, path: String) throws(ConfigError) -> [String] {
        guard case .array(let items) = value else {
            throw ConfigError(path: path, message: "must be an array of strings, got \(value.typeName)")
        }
        var strings: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                throw ConfigError(path: "\(path)[\(index)]", message: "must be a string, got \(item.typeName)")
            }
            strings.append(text)
        }
        return strings
    }
}
