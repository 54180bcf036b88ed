import Foundation
import LeadRouting

enum ManagerCommand {
    static func run(_ tail: [String], _ context: Context) throws {
        guard let action = tail.first else {
            throw UsageError("missing manager action: add, remove, on, off, set or list")
        }
        let rest = Array(tail.dropFirst())
        switch action {
        case "add":
            let arguments = try Arguments(rest, command: "manager add", options: ["--groups", "--max-open"])
            let id = try self.managerID(arguments, "manager add")
            let groups = (arguments.value("--groups") ?? "").split(separator: ",", omittingEmptySubsequences: true).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            for group in groups where !Identifiers.isValidGroup(group) {
                throw UsageError("invalid group name \(Identifiers.quoted(group)) in --groups: use 1-64 characters of A-Z a-z 0-9 _ . -")
            }
            let maxOpen = try arguments.integer("--max-open", range: 0...1_000_000)
            let client = try context.connect()
            let outcome = try client.addManager(id, groups: groups, maxOpen: maxOpen)
            let effective = groups.isEmpty ? [PoolConfig.defaultGroup] : groups
            print("\(outcome) manager \(id) (groups: \(effective.joined(separator: ",")))")
            // A manager only in groups the config does not define never gets a lead.
            if let document = try client.configDocument(), let config = try? PoolConfig.parse(Data(document.utf8)) {
                let unknown = effective.filter { config.groups[$0] == nil }
                if unknown.count == effective.count {
                    warn("the pool config defines none of the groups \(effective.joined(separator: ",")), so \(id) gets no leads; defined groups: \(config.groups.keys.sorted().joined(separator: ", "))")
                } else if !unknown.isEmpty {
                    warn("the pool config does not define group(s) \(unknown.joined(separator: ",")); \(id) gets leads only from the others")
                }
            }
        case "remove":
            let id = try self.managerID(try Arguments(rest, command: "manager remove"), "manager remove")
            try context.connect().removeManager(id)
            print("removed manager \(id)")
        case "on", "off":
            let id = try self.managerID(try Arguments(rest, command: "manager \(action)"), "manager \(action)")
            try context.connect().setManager(id, active: action == "on")
            print("manager \(id) is \(action)")
        case "set":
            let arguments = try Arguments(rest, command: "manager set", options: ["--open-deals", "--empty-fields", "--max-open", "--metric"])
            let id = try self.managerID(arguments, "manager set")
            var update = ManagerUpdate()
            update.openDeals = try arguments.integer("--open-deals", range: 0...10_000_000)
            update.emptyFields = try arguments.number("--empty-fields", range: 0...1)
            update.maxOpen = try arguments.integer("--max-open", range: 0...1_000_000)
            for pair in arguments.all("--metric") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, Identifiers.isValidGroup(parts[0]) else {
                    throw UsageError("invalid --metric \(Identifiers.quoted(pair)): expected NAME=VALUE, e.g. --metric won_value=275056")
                }
                guard let value = Double(parts[1]), value.isFinite, value >= 0 else {
                    throw UsageError("invalid value \(Identifiers.quoted(parts[1])) for metric \(parts[0]): expected a number ≥ 0")
                }
                update.metrics.append((parts[0], value))
            }
            try context.connect().updateManager(id, update)
            print("updated manager \(id)")
        case "list":
            let arguments = try Arguments(rest, command: "manager list", flags: ["--json"])
            _ = try arguments.expect([], command: "manager list")
            let client = try context.connect()
            let status = try client.status()
            if arguments.has("--json") {
                let managers = status.jsonObject()["managers"] ?? []
                print(String(decoding: try JSONSerialization.data(withJSONObject: managers, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
            } else {
                print(StatusView.managerTable(status, bars: false))
            }
        default:
            throw UsageError("unknown manager action \(Identifiers.quoted(action)); use add, remove, on, off, set or list")
        }
    }

    private static func managerID(_ arguments: Arguments, _ command: String) throws(UsageError) -> String {
        let id = try arguments.expect(["ID"], command: command)[0]
        try Identifiers.validateManager(id)
        return id
    }
}
