import Foundation
import Testing

@testable import LeadRouting

/// 2027-01-15T08:00:00Z, the worker clock for every test here.
private let now: Int64 = 1_800_000_000_000
/// 2026-12-04T10:15:00Z.
private let decemberFourth: Int64 = 1_796_379_300_000

private func parse(_ text: String, _ parser: LeadParser = LeadParser()) -> Result<Lead, LeadRejection> {
    parser.parse(Array(text.utf8), nowMillis: now)
}

private func parse(bytes: [UInt8], _ parser: LeadParser = LeadParser()) -> Result<Lead, LeadRejection> {
    parser.parse(bytes, nowMillis: now)
}

private func accepted(_ result: Result<Lead, LeadRejection>) -> Lead? {
    if case .success(let lead) = result {
        return lead
    }
    return nil
}

private func rejection(_ result: Result<Lead, LeadRejection>) -> LeadRejection? {
    if case .failure(let rejection) = result {
        return rejection
    }
    return nil
}

@Suite("LeadParser")
struct LeadParserTests {
    // MARK: - Valid leads

    @Test("trailing comma rejected")
    func trailingCommaRejected() {
        for text in [#"{"id":"t1",}"#, #"{"id":"t2","tags":["a",]}"#, "{\"id\":\"t3\" ,\n}"] {
            let reason = rejection(parse(text))?.reason ?? ""
            #expect(reason.contains("trailing comma"), "\(text): \(reason)")
        }
        // A comma inside a string is data.
        #expect(accepted(parse(#"{"id":"t4","note":"a,}"}"#)) != nil)
    }

    @Test("out of range date rejected")
    func outOfRangeDateRejected() {
        for value in ["2024-01-15T25:00:00Z", "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2024-01-15T23:60:00Z", "2024-00-10T00:00:00Z"] {
            let reason = rejection(parse(#"{"id":"d1","created_at":"\#(value)"}"#))?.reason ?? ""
            #expect(reason.contains("is not an RFC 3339 timestamp"), "\(value): \(reason)")
        }
        #expect(accepted(parse(#"{"id":"d2","created_at":"2024-02-29T23:59:60Z"}"#)) != nil)
    }

    @Test("lead with id")
    func leadWithID() throws {
        let lead = try #require(accepted(parse(#"{"id":"crm-10342","specialization":"Finance Management","source":"Google"}"#)))
        #expect(lead.id == "crm-10342")
        #expect(lead.createdAtMillis == nil)
        #expect(lead.fields["specialization"] == .string("Finance Management"))
        #expect(lead.fields["source"] == .string("Google"))
    }

    @Test("lead without id")
    func leadWithoutID() throws {
        let lead = try #require(accepted(parse(#"{"name":"Anna","phone":"+7 916 000-00-00"}"#)))
        #expect(lead.id == nil)
        #expect(lead.fields["name"] == .string("Anna"))
    }

    @Test("empty object accepted")
    func emptyObject() throws {
        let lead = try #require(accepted(parse("{}")))
        #expect(lead.id == nil)
        #expect(lead.fields.isEmpty)
    }

    @Test("field types kept apart")
    func fieldTypes() throws {
        let lead = try #require(accepted(parse(#"{"n":1,"b":true,"s":"1","z":null,"a":[1],"o":{"k":"v"}}"#)))
        #expect(lead.fields["n"] == .number(1))
        #expect(lead.fields["b"] == .bool(true))
        #expect(lead.fields["s"] == .string("1"))
        #expect(lead.fields["z"] == .null)
        #expect(lead.fields["a"] == .array([.number(1)]))
        #expect(lead.fields["o"] == .object(["k": .string("v")]))
    }

    @Test("non-ASCII text accepted")
    func nonASCIIText() throws {
        let lead = try #require(accepted(parse(#"{"id":"L1","name":"Дмитрий 😀"}"#)))
        #expect(lead.fields["name"] == .string("Дмитрий 😀"))
    }

    @Test("id of 128 characters accepted")
    func idAtLimit() throws {
        let id = String(repeating: "x", count: 128)
        let lead = try #require(accepted(parse(#"{"id":"\#(id)"}"#)))
        #expect(lead.id == id)
    }

    @Test("id with punctuation accepted")
    func idWithPunctuation() throws {
        let lead = try #require(accepted(parse(#"{"id":"crm:10342/a_b.c-d~{x}"}"#)))
        #expect(lead.id == "crm:10342/a_b.c-d~{x}")
    }

    @Test("lead at byte limit accepted")
    func leadAtByteLimit() throws {
        let parser = LeadParser(maxBytes: 64)
        let prefix = #"{"id":"L1","pad":""#
        let padding = String(repeating: "p", count: 64 - prefix.utf8.count - 2)
        let text = prefix + padding + #""}"#
        #expect(text.utf8.count == 64)
        #expect(accepted(parse(text, parser)) != nil)
    }

    @Test("nesting at depth limit accepted")
    func nestingAtLimit() throws {
        let depth = LeadParser.maxDepth
        let inner = String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1)
        let lead = try #require(accepted(parse(#"{"deep":\#(inner)}"#)))
        #expect(lead.fields["deep"] != nil)
    }

    @Test("brackets inside strings not counted")
    func bracketsInStrings() throws {
        let brackets = String(repeating: "[{", count: 50)
        let lead = try #require(accepted(parse(#"{"note":"\#(brackets)","quote":"say \"[[[[\" ok"}"#)))
        #expect(lead.fields["note"] == .string(brackets))
        #expect(lead.fields["quote"] == .string(#"say "[[[[" ok"#))
    }

    // MARK: - created_at

    @Test("created_at epoch milliseconds")
    func createdAtEpoch() throws {
        let lead = try #require(accepted(parse(#"{"id":"L1","created_at":1796379300000}"#)))
        #expect(lead.createdAtMillis == decemberFourth)
    }

    @Test("created_at RFC 3339 UTC")
    func createdAtUTC() throws {
        let lead = try #require(accepted(parse(#"{"created_at":"2026-12-04T10:15:00Z"}"#)))
        #expect(lead.createdAtMillis == decemberFourth)
    }

    @Test("created_at fractional seconds")
    func createdAtFractional() throws {
        let lead = try #require(accepted(parse(#"{"created_at":"2026-12-04T10:15:00.250Z"}"#)))
        #expect(lead.createdAtMillis == decemberFourth + 250)
    }

    @Test("created_at positive offset")
    func createdAtPositiveOffset() throws {
        let lead = try #require(accepted(parse(#"{"created_at":"2026-12-04T10:15:00+03:00"}"#)))
        #expect(lead.createdAtMillis == decemberFourth - 3 * 3_600_000)
    }

    @Test("created_at negative offset")
    func createdAtNegativeOffset() throws {
        let lead = try #require(accepted(parse(#"{"created_at":"2026-12-04T10:15:00-05:00"}"#)))
        #expect(lead.createdAtMillis == decemberFourth + 5 * 3_600_000)
    }

    @Test("created_at fraction with offset")
    func createdAtFractionWithOffset() throws {
        let lead = try #require(accepted(parse(#"{"created_at":"2026-12-04T10:15:00.500+03:00"}"#)))
        #expect(lead.createdAtMillis == decemberFourth - 3 * 3_600_000 + 500)
    }

    @Test("created_at microsecond fraction")
    func createdAtMicroseconds() throws {
        // Python's datetime.isoformat() writes six fractional digits and "+00:00".
        let lead = try #require(accepted(parse(#"{"created_at":"2026-12-04T10:15:00.123456+00:00"}"#)))
        #expect(lead.createdAtMillis == decemberFourth + 123)
    }

    @Test("created_at null means absent")
    func createdAtNull() throws {
        let lead = try #require(accepted(parse(#"{"id":"L1","created_at":null}"#)))
        #expect(lead.createdAtMillis == nil)
    }

    @Test("created_at slightly ahead accepted")
    func createdAtSlightlyAhead() throws {
        let lead = try #require(accepted(parse(#"{"created_at":\#(now + 60_000)}"#)))
        #expect(lead.createdAtMillis == now + 60_000)
    }

    // MARK: - Not a JSON object

    @Test("not JSON rejected")
    func notJSON() throws {
        let rejected = try #require(rejection(parse("name=Anna&phone=123")))
        #expect(rejected.reason.hasPrefix("lead is not valid JSON"))
        #expect(rejected.reason.contains("push one JSON object per lead"))
        #expect(rejected.leadID == nil)
    }

    @Test("truncated JSON rejected")
    func truncatedJSON() throws {
        let rejected = try #require(rejection(parse(#"{"id":"L1","name":"An"#)))
        #expect(rejected.reason.hasPrefix("lead is not valid JSON"))
    }

    @Test("whitespace only rejected")
    func whitespaceOnly() throws {
        let rejected = try #require(rejection(parse("  \n ")))
        #expect(rejected.reason.hasPrefix("lead is not valid JSON"))
    }

    @Test("array rejected")
    func arrayLead() throws {
        let rejected = try #require(rejection(parse(#"[{"id":"L1"}]"#)))
        #expect(rejected.reason.hasPrefix("lead is an array, not a JSON object"))
    }

    @Test("string rejected")
    func stringLead() throws {
        let rejected = try #require(rejection(parse(#""crm-10342""#)))
        #expect(rejected.reason.hasPrefix("lead is a string, not a JSON object"))
    }

    @Test("number rejected")
    func numberLead() throws {
        let rejected = try #require(rejection(parse("10342")))
        #expect(rejected.reason.hasPrefix("lead is a number, not a JSON object"))
    }

    @Test("boolean rejected")
    func booleanLead() throws {
        let rejected = try #require(rejection(parse("true")))
        #expect(rejected.reason.hasPrefix("lead is a boolean, not a JSON object"))
    }

    @Test("null rejected")
    func nullLead() throws {
        let rejected = try #require(rejection(parse("null")))
        #expect(rejected.reason.hasPrefix("lead is null, not a JSON object"))
    }

    @Test("oversized lead rejected")
    func tooLarge() throws {
        let parser = LeadParser(maxBytes: 64)
        let text = #"{"id":"L1","pad":""# + String(repeating: "p", count: 64) + #""}"#
        let rejected = try #require(rejection(parse(text, parser)))
        #expect(rejected.reason.hasPrefix("lead is too large: \(text.utf8.count) bytes, the limit is 64"))
    }

    @Test("default limit is 64 KiB")
    func defaultLimit() throws {
        let text = #"{"pad":""# + String(repeating: "p", count: 65_536) + #""}"#
        let rejected = try #require(rejection(parse(text)))
        #expect(rejected.reason.contains("the limit is 65536"))
    }

    @Test("empty input rejected")
    func emptyInput() throws {
        let rejected = try #require(rejection(parse(bytes: [])))
        #expect(rejected.reason.hasPrefix("lead is empty"))
    }

    @Test("invalid UTF-8 rejected")
    func invalidUTF8() throws {
        var bytes = Array(#"{"name":""#.utf8)
        bytes += [0xC3, 0x28, 0xFF]
        bytes += Array(#""}"#.utf8)
        let rejected = try #require(rejection(parse(bytes: bytes)))
        #expect(rejected.reason.hasPrefix("lead is not valid UTF-8"))
    }

    @Test("nesting past limit rejected")
    func nestingTooDeep() throws {
        let depth = LeadParser.maxDepth
        let inner = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let rejected = try #require(rejection(parse(#"{"deep":\#(inner)}"#)))
        #expect(rejected.reason.hasPrefix("lead JSON is nested deeper than \(depth) levels"))
    }

    @Test("unbalanced deep nesting rejected")
    func hostileNesting() throws {
        let rejected = try #require(rejection(parse(String(repeating: "[", count: 10_000))))
        #expect(rejected.reason.hasPrefix("lead JSON is nested deeper than"))
    }

    // MARK: - id

    @Test("numeric id rejected")
    func idNumber() throws {
        let rejected = try #require(rejection(parse(#"{"id":10342}"#)))
        #expect(rejected.reason.hasPrefix("field id is a number; it must be a string"))
    }

    @Test("empty id rejected")
    func idEmpty() throws {
        let rejected = try #require(rejection(parse(#"{"id":""}"#)))
        #expect(rejected.reason.hasPrefix(#"field id "" is invalid"#))
    }

    @Test("id of 129 characters rejected")
    func idTooLong() throws {
        let id = String(repeating: "x", count: 129)
        let rejected = try #require(rejection(parse(#"{"id":"\#(id)"}"#)))
        #expect(rejected.reason.hasPrefix("field id \"" + String(repeating: "x", count: 40) + "…\" is invalid"))
        #expect(rejected.reason.contains("1-128 printable ASCII characters"))
    }

    @Test("id with space rejected")
    func idWithSpace() throws {
        let rejected = try #require(rejection(parse(#"{"id":"crm 10342"}"#)))
        #expect(rejected.reason.hasPrefix(#"field id "crm 10342" is invalid"#))
        #expect(rejected.reason.contains("without spaces"))
    }

    @Test("id with newline rejected")
    func idWithNewline() throws {
        let rejected = try #require(rejection(parse(#"{"id":"crm\n10342"}"#)))
        #expect(rejected.reason.hasPrefix(#"field id "crm\n10342" is invalid"#))
        #expect(!rejected.reason.contains("\n"))
    }

    @Test("non-ASCII id rejected")
    func idNonASCII() throws {
        let rejected = try #require(rejection(parse(#"{"id":"заявка-1"}"#)))
        #expect(rejected.reason.hasPrefix(#"field id "заявка-1" is invalid"#))
    }

    // MARK: - created_at rejected

    @Test("created_at not a date rejected")
    func createdAtNotDate() throws {
        let rejected = try #require(rejection(parse(#"{"id":"L1","created_at":"yesterday"}"#)))
        #expect(rejected.reason.hasPrefix(#"field created_at "yesterday" is not an RFC 3339 timestamp"#))
        #expect(rejected.leadID == "L1")
    }

    @Test("created_at without offset rejected")
    func createdAtWithoutOffset() throws {
        let rejected = try #require(rejection(parse(#"{"created_at":"2026-12-04T10:15:00"}"#)))
        #expect(rejected.reason.contains("is not an RFC 3339 timestamp"))
    }

    @Test("created_at far future rejected")
    func createdAtFuture() throws {
        let future = now + 2 * 24 * 3_600_000
        let rejected = try #require(rejection(parse(#"{"id":"L1","created_at":\#(future)}"#)))
        #expect(rejected.reason == "field created_at \(future) is more than a day in the future; check the producer's clock")
        #expect(rejected.leadID == "L1")
    }

    @Test("created_at before 2000 rejected")
    func createdAtBefore2000() throws {
        // Epoch seconds given where milliseconds are expected.
        let rejected = try #require(rejection(parse(#"{"created_at":1796379300}"#)))
        #expect(rejected.reason.hasPrefix("field created_at 1796379300 is before the year 2000"))
        #expect(rejected.reason.contains("not seconds"))
    }

    @Test("created_at RFC 3339 before 2000 rejected")
    func createdAtTextBefore2000() throws {
        let rejected = try #require(rejection(parse(#"{"created_at":"1999-12-31T23:59:59Z"}"#)))
        #expect(rejected.reason.contains("is before the year 2000"))
    }

    @Test("created_at boolean rejected")
    func createdAtBoolean() throws {
        let rejected = try #require(rejection(parse(#"{"created_at":true}"#)))
        #expect(rejected.reason.hasPrefix("field created_at is a boolean"))
    }

    @Test("created_at object rejected")
    func createdAtObject() throws {
        let rejected = try #require(rejection(parse(#"{"created_at":{"ms":1796379300000}}"#)))
        #expect(rejected.reason.hasPrefix("field created_at is an object"))
    }

    @Test("created_at fractional milliseconds rejected")
    func createdAtFractionalNumber() throws {
        let rejected = try #require(rejection(parse(#"{"created_at":1796379300000.5}"#)))
        #expect(rejected.reason.contains("is not whole epoch milliseconds"))
    }

    // MARK: - Routing fields

    @Test("routing field object rejected")
    func routingFieldObject() throws {
        let parser = LeadParser(routingFields: ["specialization", "source"])
        let rejected = try #require(rejection(parse(#"{"id":"L1","source":{"name":"Google"}}"#, parser)))
        #expect(rejected.reason == "field source is an object; routing needs a string")
        #expect(rejected.leadID == "L1")
    }

    @Test("routing field array rejected")
    func routingFieldArray() throws {
        let parser = LeadParser(routingFields: ["specialization"])
        let rejected = try #require(rejection(parse(#"{"specialization":["Finance Management"]}"#, parser)))
        #expect(rejected.reason == "field specialization is an array; routing needs a string")
    }

    @Test("routing field scalars accepted")
    func routingFieldScalars() throws {
        let parser = LeadParser(routingFields: ["a", "b", "c", "d", "missing"])
        let lead = try #require(accepted(parse(#"{"a":"x","b":7,"c":false,"d":null}"#, parser)))
        #expect(lead.fields["b"] == .number(7))
    }

    @Test("non-routing object field accepted")
    func nonRoutingObject() throws {
        let parser = LeadParser(routingFields: ["specialization"])
        let lead = try #require(accepted(parse(#"{"utm":{"campaign":"spring"}}"#, parser)))
        #expect(lead.fields["utm"] == .object(["campaign": .string("spring")]))
    }
}
