import Testing

@testable import LeadRouting

/// Runs `validatePool` and returns its error, or nil when the name is accepted.
private func poolError(_ name: String) -> UsageError? {
    do {
        try Identifiers.validatePool(name)
        return nil
    } catch {
        return error
    }
}

@Suite("Identifiers")
struct IdentifierTests {
    // MARK: - Pool names

    @Test("valid pool names accepted", arguments: [
        "sales", "default", "a", "Sales_EU-2.b", String(repeating: "p", count: 64), "0", "...", "-",
    ])
    func validPools(name: String) {
        #expect(poolError(name) == nil)
    }

    @Test("pool name with brace rejected")
    func poolWithBrace() throws {
        // A "}" would end the Redis Cluster hash tag early and move keys to another slot.
        let error = try #require(poolError("a}b"))
        #expect(error.description.hasPrefix(#"invalid pool name "a}b""#))
        #expect(error.description.contains("1-64 characters of A-Z a-z 0-9 _ . -"))
        #expect(poolError("{sales") != nil)
    }

    @Test("pool name with space rejected")
    func poolWithSpace() {
        #expect(poolError("north sales") != nil)
        #expect(poolError(" sales") != nil)
    }

    @Test("pool name with newline rejected")
    func poolWithNewline() throws {
        let error = try #require(poolError("sales\nDEL"))
        #expect(error.description.contains(#""sales\nDEL""#))
        #expect(!error.description.contains("\n"))
    }

    @Test("pool name of 65 characters rejected")
    func poolTooLong() {
        #expect(poolError(String(repeating: "p", count: 65)) != nil)
    }

    @Test("empty pool name rejected")
    func poolEmpty() {
        #expect(poolError("") != nil)
    }

    @Test("pool name with other characters rejected", arguments: ["a:b", "a*", "a/b", "продажи", "a,b", "a\u{0}b"])
    func poolOtherCharacters(name: String) {
        #expect(poolError(name) != nil)
    }

    @Test("pool keys use hash tag")
    func poolKeys() throws {
        let keys = try PoolKeys(pool: "sales")
        #expect(keys.prefix == "lr:{sales}:")
        #expect(keys.incoming == "lr:{sales}:incoming")
        #expect(keys.dead == "lr:{sales}:dead")
        #expect(keys.lead("crm-1") == "lr:{sales}:lead:crm-1")
        #expect(throws: UsageError.self) {
            try PoolKeys(pool: "a}b")
        }
    }

    // MARK: - Lead, manager and group ids

    @Test("id length limits")
    func idLength() {
        #expect(Identifiers.isValidID("a"))
        #expect(Identifiers.isValidID(String(repeating: "x", count: 128)))
        #expect(!Identifiers.isValidID(String(repeating: "x", count: 129)))
        #expect(!Identifiers.isValidID(""))
    }

    @Test("id character rules")
    func idCharacters() {
        #expect(Identifiers.isValidID("crm:10342/a_b.c-d~{x}!"))
        #expect(!Identifiers.isValidID("crm 1"))
        #expect(!Identifiers.isValidID("crm\t1"))
        #expect(!Identifiers.isValidID("crm\n1"))
        #expect(!Identifiers.isValidID("crm\u{7F}"))
        #expect(!Identifiers.isValidID("crm\u{0}"))
        #expect(!Identifiers.isValidID("иван"))
        #expect(!Identifiers.isValidID("crm\u{A0}1"))
    }

    @Test("manager id error message")
    func managerError() throws {
        #expect(throws: Never.self) {
            try Identifiers.validateManager("anna.k")
        }
        do {
            try Identifiers.validateManager("Anna K")
            Issue.record("manager id with a space was accepted")
        } catch {
            #expect(error.description == #"invalid manager id "Anna K": use 1-128 printable ASCII characters without spaces"#)
        }
    }

    @Test("lead id error message")
    func leadError() throws {
        do {
            try Identifiers.validateLead("")
            Issue.record("empty lead id was accepted")
        } catch {
            #expect(error.description.hasPrefix(#"invalid lead id """#))
        }
    }

    @Test("group name rules")
    func groupNames() {
        #expect(Identifiers.isValidGroup("finance"))
        #expect(Identifiers.isValidGroup(String(repeating: "g", count: 64)))
        #expect(!Identifiers.isValidGroup(String(repeating: "g", count: 65)))
        #expect(!Identifiers.isValidGroup("finance,general"))
        #expect(!Identifiers.isValidGroup(""))
        #expect(!Identifiers.isValidGroup("a}b"))
    }

    // MARK: - quoted()

    @Test("quoted plain value")
    func quotedPlain() {
        #expect(Identifiers.quoted("sales") == #""sales""#)
        #expect(Identifiers.quoted("") == #""""#)
    }

    @Test("quoted escapes line breaks")
    func quotedLineBreaks() {
        let quoted = Identifiers.quoted("a\nb\r\nc\td")
        #expect(quoted == #""a\nb\r\nc\td""#)
        #expect(!quoted.contains("\n"))
        #expect(!quoted.contains("\r"))
    }

    @Test("quoted escapes quotes and controls")
    func quotedControls() {
        #expect(Identifiers.quoted(#"say "hi""#) == #""say \"hi\"""#)
        #expect(Identifiers.quoted("a\u{1}b\u{7F}") == #""a\u{1}b\u{7f}""#)
        #expect(Identifiers.quoted("\u{1B}[31m") == #""\u{1b}[31m""#)
    }

    @Test("quoted cuts long values")
    func quotedCuts() {
        let long = String(repeating: "x", count: 200)
        #expect(Identifiers.quoted(long) == "\"" + String(repeating: "x", count: 40) + "…\"")
        #expect(Identifiers.quoted(String(repeating: "y", count: 40)) == "\"" + String(repeating: "y", count: 40) + "\"")
        #expect(Identifiers.quoted(String(repeating: "z", count: 41)) == "\"" + String(repeating: "z", count: 40) + "…\"")
        #expect(Identifiers.quoted(long, limit: 5) == #""xxxxx…""#)
    }

    @Test("quoted keeps non-ASCII text")
    func quotedNonASCII() {
        #expect(Identifiers.quoted("Дмитрий") == #""Дмитрий""#)
    }
}
