import LeadRouting

/// `assign`, `claim` and `close`: a person acting on one lead.
enum LeadCommands {
    static func run(_ command: String, _ tail: [String], _ context: Context) throws {
        let arguments = try Arguments(tail, command: command)
        switch command {
        case "assign":
            let values = try arguments.expect(["ID", "MANAGER"], command: "assign")
            try Identifiers.validateLead(values[0])
            try Identifiers.validateManager(values[1])
            let result = try context.connect().assign(lead: values[0], to: values[1])
            if result.action == "reassigned" {
                print("reassigned lead \(values[0]) from \(result.previous) to \(values[1])")
            } else {
                print("assigned lead \(values[0]) to \(values[1]) (was \(result.previous))")
            }
        case "claim":
            guard (1...2).contains(arguments.positionals.count) else {
                throw UsageError("usage: leadrouter claim MANAGER [ID]")
            }
            let manager = arguments.positionals[0]
            try Identifiers.validateManager(manager)
            let lead = arguments.positionals.count == 2 ? arguments.positionals[1] : nil
            if let lead {
                try Identifiers.validateLead(lead)
            }
            let claimed = try context.connect().claim(manager: manager, lead: lead)
            print("\(manager) claimed lead \(claimed)")
        default:
            let id = try arguments.expect(["ID"], command: "close")[0]
            try Identifiers.validateLead(id)
            let outcome = try context.connect().close(lead: id)
            print(outcome == "closed" ? "closed lead \(id)" : "lead \(id) was already closed; nothing changed")
        }
    }
}
