/// One group as `status` shows it: its method and filters, its managers, and which of them the
/// group would skip right now and why.
public struct GroupSummary: Sendable {
    public var name: String
    public var method: String
    public var maxOpen: Int?
    public var maxEmptyFields: Double?
    public var fallback: String?
    public var members: Int
    /// Manager id and the reason the group skips them now, in the words of the routing trace.
    public var skipped: [(id: String, reason: String)]
    /// Assignments made by this group among the recent events `status` read.
    public var assignedRecently: Int
}

extension GroupSummary {
    /// Builds the summary of every configured group. The skip rules mirror `eligibility` in the
    /// Lua prelude, which remains the one that decides; this copy only explains.
    static func summaries(config: PoolConfig, managers: [ManagerInfo], assignedByGroup: [String: Int]) -> [GroupSummary] {
        config.groups.keys.sorted().compactMap { name in
            guard let group = config.groups[name] else { return nil }
            let members = config == .implicit ? managers : managers.filter { $0.groups.contains(name) }
            var skipped: [(String, String)] = []
            for manager in members {
                if let reason = Self.skipReason(manager, group) {
                    skipped.append((manager.id, reason))
                }
            }
            return GroupSummary(
                name: name, method: group.method.rawValue, maxOpen: group.maxOpen, maxEmptyFields: group.maxEmptyFields,
                fallback: group.fallback, members: members.count, skipped: skipped, assignedRecently: assignedByGroup[name] ?? 0
            )
        }
    }

    static func skipReason(_ manager: ManagerInfo, _ group: PoolConfig.Group) -> String? {
        if !manager.active {
            return "off"
        }
        if let cap = manager.maxOpen ?? group.maxOpen, manager.open >= cap {
            return "at cap \(manager.open)/\(cap)"
        }
        if let gate = group.maxEmptyFields, let empty = manager.emptyFields, empty > gate {
            return "empty fields \(Self.format(empty)) > \(Self.format(gate))"
        }
        return nil
    }

    private static func format(_ value: Double) -> String {
        var text = String(format: "%.4f", value)
        while text.hasSuffix("0") {
            text.removeLast()
        }
        if text.hasSuffix(".") {
            text.removeLast()
        }
        return text
    }
}
