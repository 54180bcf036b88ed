import LeadRouting

/// Command-line arguments after the command words: positionals, options with values (repeatable)
/// and boolean flags. Accepts `--name value` and `--name=value`.
struct Arguments {
    private(set) var positionals: [String] = []
    private var values: [String: [String]] = [:]
    private var flags: Set<String> = []

    /// Options every command takes.
    static let globalOptions: Set<String> = ["--redis", "--pool"]

    init(_ arguments: [String], command: String, options: Set<String> = [], flags: Set<String> = []) throws(UsageError) {
        let known = options.union(Self.globalOptions)
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                self.positionals.append(argument)
                continue
            }
            var name = argument
            var inlineValue: String?
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            if flags.contains(name) {
                guard inlineValue == nil else {
                    throw UsageError("option \(name) of `leadrouter \(command)` takes no value")
                }
                self.flags.insert(name)
                continue
            }
            guard known.contains(name) else {
                throw UsageError("unknown option \(Identifiers.quoted(name)) for `leadrouter \(command)`; run `leadrouter help` for the options")
            }
            if let inlineValue {
                self.values[name, default: []].append(inlineValue)
                continue
            }
            guard index < arguments.count else {
                throw UsageError("option \(name) of `leadrouter \(command)` needs a value")
            }
            self.values[name, default: []].append(arguments[index])
            index += 1
        }
    }

    func has(_ flag: String) -> Bool {
        self.flags.contains(flag)
    }

    /// The last value given for an option.
    func value(_ name: String) -> String? {
        self.values[name]?.last
    }

    func all(_ name: String) -> [String] {
        self.values[name] ?? []
    }

    func integer(_ name: String, range: ClosedRange<Int>) throws(UsageError) -> Int? {
        guard let text = self.value(name) else { return nil }
        guard let number = Int(text), range.contains(number) else {
            throw UsageError("invalid value \(Identifiers.quoted(text)) for \(name): expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func number(_ name: String, range: ClosedRange<Double>) throws(UsageError) -> Double? {
        guard let text = self.value(name) else { return nil }
        guard let number = Double(text), number.isFinite, range.contains(number) else {
            throw UsageError("invalid value \(Identifiers.quoted(text)) for \(name): expected a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// Requires exactly `names.count` positionals and returns them.
    func expect(_ names: [String], command: String) throws(UsageError) -> [String] {
        guard self.positionals.count == names.count else {
            if names.isEmpty {
                throw UsageError("`leadrouter \(command)` takes no arguments; got \(Identifiers.quoted(self.positionals[0]))")
            }
            let usage = "leadrouter \(command) " + names.joined(separator: " ")
            if self.positionals.count < names.count {
                throw UsageError("missing \(names[self.positionals.count]); usage: \(usage)")
            }
            throw UsageError("unexpected argument \(Identifiers.quoted(self.positionals[names.count])); usage: \(usage)")
        }
        return self.positionals
    }
}
