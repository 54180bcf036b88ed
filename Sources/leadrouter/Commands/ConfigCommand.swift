import Foundation
import LeadRouting

/// Prints a warning line on standard error: the command succeeded, but something looks wrong.
func warn(_ message: String) {
    FileHandle.standardError.write(Data("leadrouter: warning: \(message)\n".utf8))
}

enum ConfigCommand {
    static func run(_ tail: [String], _ context: Context) throws {
        guard let action = tail.first else {
            throw UsageError("missing config action: set FILE or show")
        }
        let arguments = try Arguments(Array(tail.dropFirst()), command: "config \(action)")
        switch action {
        case "set":
            let path = try arguments.expect(["FILE"], command: "config set")[0]
            let document = try PushCommand.read(path)
            // Validate before connecting, so a bad file is reported even with Redis down.
            let config = try PoolConfig.parse(document)
            let client = try context.connect()
            _ = try client.setConfig(document)
            print("stored config for pool \(context.keys.pool): \(counted(config.routes.count, "route")), \(counted(config.groups.count, "group")); running workers apply it within a second")
            for group in config.unreachableGroups {
                warn("group \(group) is not the target of any route or fallback, so it gets no leads")
            }
            for manager in try client.managers(today: "") {
                let known = manager.groups.filter { config.groups[$0] != nil }
                if known.isEmpty {
                    warn("manager \(manager.id) is in no group of this config (groups: \(manager.groups.joined(separator: ","))), so it gets no leads; fix with `leadrouter manager add \(manager.id) --groups GROUP`")
                }
            }
        case "show":
            _ = try arguments.expect([], command: "config show")
            if let document = try context.connect().configDocument() {
                print(document)
            } else {
                print("pool \(context.keys.pool) has no config: one group \"default\" of every manager, round robin")
            }
        default:
            throw UsageError("unknown config action \(Identifiers.quoted(action)); use set FILE or show")
        }
    }
}
