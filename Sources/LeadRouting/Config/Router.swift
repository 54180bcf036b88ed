import Foundation

/// The first group of a lead and the reason for it, in words for the trace.
public struct RouteDecision: Sendable, Equatable {
    public let group: String
    public let explanation: String
}

extension PoolConfig {
    /// Picks the first route whose every condition holds. A field that is missing, empty or a
    /// placeholder never matches, so unqualified leads fall to the catch-all route.
    public func route(_ lead: Lead) -> RouteDecision {
        for (index, route) in self.routes.enumerated() {
            if route.isCatchAll {
                return RouteDecision(group: route.group, explanation: self.defaultExplanation(lead, index: index, group: route.group))
            }
            var matched = true
            for condition in route.match {
                guard let value = self.qualifiedValue(lead, condition.field), condition.values.contains(value) else {
                    matched = false
                    break
                }
            }
            if matched {
                let conditions = route.match.map { condition in
                    "\(condition.field) = \(Identifiers.quoted(self.qualifiedValue(lead, condition.field) ?? "", limit: 60))"
                }
                return RouteDecision(group: route.group, explanation: "route \(index + 1) (\(conditions.joined(separator: ", "))) -> group \(route.group)")
            }
        }
        // Validation guarantees a catch-all last route; this only guards a config built in code.
        return RouteDecision(group: PoolConfig.defaultGroup, explanation: "no route matched -> group \(PoolConfig.defaultGroup)")
    }

    /// Returns the field's value when it is filled in, and nil when it is missing, empty or a
    /// placeholder.
    func qualifiedValue(_ lead: Lead, _ field: String) -> String? {
        guard let text = lead.fields[field]?.scalarText else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, !self.placeholders.contains(trimmed) else { return nil }
        return text
    }

    private func defaultExplanation(_ lead: Lead, index: Int, group: String) -> String {
        var notes: [String] = []
        for field in self.routingFields.sorted() {
            guard let text = lead.fields[field]?.scalarText else {
                notes.append("\(field) is missing")
                continue
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty {
                notes.append("\(field) is empty")
            } else if self.placeholders.contains(trimmed) {
                notes.append("\(field) is the placeholder \(Identifiers.quoted(trimmed))")
            }
        }
        let kind = index == 0 ? "route \(index + 1) (no conditions)" : "default route \(index + 1)"
        let reason = notes.isEmpty ? "" : ", unqualified: " + notes.joined(separator: ", ")
        return "\(kind) -> group \(group)\(reason)"
    }
}
