import Foundation

/// A distribution method. The first three are selectors (they pick a manager); `manual` and
/// `claim` queue the lead for a person and fall through to a selector after a timeout.
public enum DistributionMethod: String, Sendable, CaseIterable {
    case roundRobin = "round_robin"
    case leastLoaded = "least_loaded"
    case weighted
    case manual
    case claim

    public var isSelector: Bool {
        switch self {
        case .roundRobin, .leastLoaded, .weighted: return true
        case .manual, .claim: return false
        }
    }
}

/// One pool's configuration: routes that pick a group per lead, and the groups with their method
/// and filters. Stored as JSON at `lr:{P}:config`; see `PoolConfig+Parsing.swift` for the rules.
public struct PoolConfig: Sendable, Equatable {
    public struct Route: Sendable, Equatable {
        /// Field name and the values it may have, in the order the config lists them.
        public var match: [(field: String, values: [String])]
        public var group: String

        public var isCatchAll: Bool { self.match.isEmpty }

        public static func == (lhs: Route, rhs: Route) -> Bool {
            lhs.group == rhs.group && lhs.match.map(\.field) == rhs.match.map(\.field)
                && lhs.match.map(\.values) == rhs.match.map(\.values)
        }
    }

    public struct Group: Sendable, Equatable {
        public var name: String
        public var method: DistributionMethod
        /// Load cap: managers with this many open leads are skipped (a manager's own cap wins).
        public var maxOpen: Int?
        /// Quality gate: managers whose share of empty CRM fields is above this are skipped.
        public var maxEmptyFields: Double?
        public var fallback: String?
        /// Seconds a lead waits for a supervisor (manual) or a claim before `then` routes it.
        public var manualTimeoutSeconds: Double?
        public var claimTimeoutSeconds: Double?
        public var maxClaimed: Int?
        /// The selector used after a manual or claim timeout.
        public var then: DistributionMethod?
        /// Metric name and weight, in config order, for `weighted`.
        public var rating: [(metric: String, weight: Double)]
        public var minShare: Double?

        public init(name: String, method: DistributionMethod) {
            self.name = name
            self.method = method
            self.rating = []
        }

        public static func == (lhs: Group, rhs: Group) -> Bool {
            lhs.name == rhs.name && lhs.method == rhs.method && lhs.maxOpen == rhs.maxOpen
                && lhs.maxEmptyFields == rhs.maxEmptyFields && lhs.fallback == rhs.fallback
                && lhs.manualTimeoutSeconds == rhs.manualTimeoutSeconds
                && lhs.claimTimeoutSeconds == rhs.claimTimeoutSeconds && lhs.maxClaimed == rhs.maxClaimed
                && lhs.then == rhs.then && lhs.rating.map(\.metric) == rhs.rating.map(\.metric)
                && lhs.rating.map(\.weight) == rhs.rating.map(\.weight) && lhs.minShare == rhs.minShare
        }
    }

    public static let defaultGroup = "default"
    public static let defaultEventsMaxLength = 100_000
    public static let defaultClosedRetentionDays = 30

    /// Values that mean "not filled in yet" (a form's "Select"); routing treats them as missing.
    public var placeholders: [String]
    public var routes: [Route]
    public var groups: [String: Group]
    public var maxLeadBytes: Int
    public var eventsMaxLength: Int
    /// Days a closed lead's record is kept; 0 keeps it forever. The record is what makes a
    /// re-pushed id a duplicate, so that guarantee lasts this long after the close.
    public var closedRetentionDays: Int

    /// The behaviour of a pool without config: one group `default` holding every manager, with
    /// round robin.
    public static let implicit = PoolConfig(
        placeholders: [],
        routes: [Route(match: [], group: PoolConfig.defaultGroup)],
        groups: [PoolConfig.defaultGroup: Group(name: PoolConfig.defaultGroup, method: .roundRobin)],
        maxLeadBytes: LeadParser.defaultMaxBytes,
        eventsMaxLength: PoolConfig.defaultEventsMaxLength,
        closedRetentionDays: PoolConfig.defaultClosedRetentionDays
    )

    /// Fields any route matches on.
    public var routingFields: Set<String> {
        Set(self.routes.flatMap { $0.match.map(\.field) })
    }

    /// Encodes the group table the Lua scripts read as compact JSON. Names are validated identifiers,
    /// so they need no escaping beyond quotes.
    public func compiledGroupsJSON() -> String {
        var parts: [String] = []
        for name in self.groups.keys.sorted() {
            guard let group = self.groups[name] else { continue }
            var fields = ["\"method\":\"\(group.method.rawValue)\""]
            if let value = group.maxOpen { fields.append("\"max_open\":\(value)") }
            if let value = group.maxEmptyFields { fields.append("\"max_empty_fields\":\(value)") }
            if let value = group.fallback { fields.append("\"fallback\":\"\(value)\"") }
            if let value = group.manualTimeoutSeconds { fields.append("\"manual_timeout_s\":\(value)") }
            if let value = group.claimTimeoutSeconds { fields.append("\"claim_timeout_s\":\(value)") }
            if let value = group.maxClaimed { fields.append("\"max_claimed\":\(value)") }
            if let value = group.then { fields.append("\"then\":\"\(value.rawValue)\"") }
            if let value = group.minShare { fields.append("\"min_share\":\(value)") }
            if !group.rating.isEmpty {
                let weights = group.rating.map { "\"\($0.metric)\":\($0.weight)" }.joined(separator: ",")
                let metrics = group.rating.map { "\"\($0.metric)\"" }.joined(separator: ",")
                fields.append("\"rating\":{\(weights)}")
                fields.append("\"rating_metrics\":[\(metrics)]")
            }
            parts.append("\"\(name)\":{\(fields.joined(separator: ","))}")
        }
        return "{\(parts.joined(separator: ","))}"
    }
}
