import Foundation
import LeadRouting

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
            _ = try context.connect().setConfig(document)
            print("stored config for pool \(context.keys.pool): \(config.routes.count) routes, \(config.groups.count) groups; running workers apply it within a second")
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
