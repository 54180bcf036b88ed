import Foundation
import LeadRouting
import Testing

extension WorkerProcessSuites {
    @Suite("Invalid lead corpus")
    struct InvalidLeadCorpusTests {
        /// One invalid input: its category, a label that names the case in failures, and a
        /// fragment its dead-letter reason must contain.
        struct InvalidLead {
            let category: String
            let label: String
            let raw: [UInt8]
            let reason: String
            /// The id the dead-letter entry names. It is set when the lead has a valid id and fails a
            /// later check (`created_at` or a routing field), and nil when no id can be read.
            var leadID: String? = nil
        }

        /// Reason fragments, one per rejection that `LeadParser` makes.
        enum Reason {
            static let empty = "lead is empty"
            static let notJSON = "not valid JSON"
            static let notObject = "not a JSON object"
            static let notUTF8 = "not valid UTF-8"
            static let tooDeep = "nested deeper"
            static let tooLarge = "too large"
            static let id = "field id"
            static let createdAtType = "field created_at is"
            static let createdAtFuture = "more than a day in the future"
            static let createdAtNotTimestamp = "is not an RFC 3339 timestamp"
            static let createdAtBefore2000 = "before the year 2000"
            static let createdAtFractional = "not whole epoch milliseconds"
            static let routing = "routing needs"
        }

        /// Routes on `specialization`, so that field must be a scalar (or null) in every lead.
        static let config = """
            {
              "routes": [
                { "match": { "specialization": ["Finance Management"] }, "group": "finance" },
                { "group": "general" }
              ],
              "groups": {
                "finance": { "method": "round_robin" },
                "general": { "method": "round_robin" }
              }
            }
            """

        /// A valid lead with nested values. Every proper prefix of it is cut JSON, and the whole
        /// lead is pushed as one of the valid leads.
        static let truncationSource = #"{"id":"corpus-source","specialization":"Finance Management","source":"Google","created_at":"2024-01-15T08:00:00Z","phone":"+1 555 0100","tags":["web","form"],"meta":{"utm":"spring"}}"#

        // MARK: - Corpus

        static func corpus() -> [InvalidLead] {
            Self.truncatedJSON() + Self.malformedJSON() + Self.nonObjects() + Self.invalidUTF8()
                + Self.nulBytes() + Self.deepNesting() + Self.tooLarge() + Self.invalidIDs()
                + Self.wrongFieldTypes() + Self.invalidCreatedAt() + Self.emptyInput()
        }

        /// Cuts the truncation source after each of its bytes but the last.
        static func truncatedJSON() -> [InvalidLead] {
            let source = Array(Self.truncationSource.utf8)
            return (1..<source.count).map { length in
                InvalidLead(category: "truncated JSON", label: "first \(length) bytes", raw: Array(source[..<length]), reason: Reason.notJSON)
            }
        }

        static func malformedJSON() -> [InvalidLead] {
            // Foundation's JSONDecoder (Swift 6.3, Linux) accepts trailing commas; the lead parser
            // rejects them itself.
            let texts = [
                #"{"id":"mal-trailing-1",}"#,
                #"{"id":"mal-trailing-2","tags":["a","b",]}"#,
                "{\"id\":\"mal-trailing-3\" , \n }",
                #"{'id':'mal-2'}"#,
                #"{id:"mal-3"}"#,
                #"{"id":"mal-4" "source":"Google"}"#,
                #"{"id" "mal-5"}"#,
                #"{"id":"mal-6"}}"#,
                #"{"id":"mal-7"}{"id":"mal-7b"}"#,
                #"{"id":"mal-8"} trailing"#,
                #"{"id":"mal-9","score":NaN}"#,
                #"{"id":"mal-10","score":Infinity}"#,
                #"{"id":"mal-11","score":-Infinity}"#,
                #"{"id":"mal-12","score":01}"#,
                #"{"id":"mal-13","score":1.}"#,
                #"{"id":"mal-14","score":.5}"#,
                #"{"id":"mal-15","score":+1}"#,
                #"{"id":"mal-16","score":0x10}"#,
                #"{"id":"mal-17" /* comment */}"#,
                "// comment\n{\"id\":\"mal-18\"}",
                #"{"id":"mal-19","note":"\x41"}"#,
                #"{"id":"mal-20","note":"\u12"}"#,
                // Control characters must be escaped inside JSON strings.
                "{\"id\":\"mal-21\",\"note\":\"line\nbreak\"}",
                "{\"id\":\"mal-22\",\"note\":\"tab\there\"}",
                #"{"id":"mal-23","note":"unterminated}"#,
                #"{"id":"mal-24",,"source":"Google"}"#,
                #"{,}"#,
                #"{"id"}"#,
                #"{:"mal-27"}"#,
                #"{"id":"mal-28"]"#,
                #"{"id":"mal-29","tags":[1,2,}"#,
                #"{"id":"mal-30","ok":tru}"#,
                #"{"id":"mal-31","ok":True}"#,
                #"{"id":"mal-32","ok":None}"#,
                #"{"id":"mal-33","ok":nul}"#,
                #"<lead id="mal-34"/>"#,
                "id=mal-35&specialization=Finance+Management",
                "mal-36,Finance Management,Google",
                #"{"id":"mal-37","source":'Google'}"#,
                #"{"id":"mal-38","source":"Google"  "#,
                // A vertical tab is not JSON whitespace.
                "{\"id\":\"mal-39\"\u{0B}}",
                #"{"id":"mal-40","tags":[1 2]}"#,
                #"{"id":"mal-41","meta":{"utm":}}"#,
                #"{"id":"mal-42","score":1e}"#,
                #"{"id":"mal-43","score":--1}"#,
                #"{"id":"mal-44","note":"\"}"#,
            ]
            return texts.enumerated().map { index, text in
                InvalidLead(category: "malformed JSON", label: "case \(index + 1): \(text.prefix(40))", raw: Array(text.utf8), reason: Reason.notJSON)
            }
        }

        /// Builds scalars, bare and wrapped in one to three arrays, and other arrays.
        static func nonObjects() -> [InvalidLead] {
            let scalars = ["0", "-1", "42", "3.25", "1e10", "1714557600000", #""lead""#, #""""#, #""{\"id\":\"x\"}""#, "true", "false", "null"]
            var cases: [InvalidLead] = []
            for wrapping in 0...3 {
                for scalar in scalars {
                    let text = String(repeating: "[", count: wrapping) + scalar + String(repeating: "]", count: wrapping)
                    cases.append(InvalidLead(category: "array or scalar", label: text, raw: Array(text.utf8), reason: Reason.notObject))
                }
            }
            let arrays = [
                "[]", "[[]]", "[[[[[[[[[[]]]]]]]]]]", #"[{"id":"arr-1"}]"#, #"[{"id":"arr-2"},{"id":"arr-3"}]"#,
                #"["a",1,true,null,{}]"#, "[[1],[2,[3]]]", " 42 ", "\n[1]\n", "\u{FEFF}[1]",
            ]
            for text in arrays {
                cases.append(InvalidLead(category: "array or scalar", label: text, raw: Array(text.utf8), reason: Reason.notObject))
            }
            return cases
        }

        static let invalidUTF8Sequences: [(name: String, bytes: [UInt8])] = [
            ("lone continuation byte 80", [0x80]),
            ("lone continuation byte BF", [0xBF]),
            ("two continuation bytes", [0x80, 0x80]),
            ("overlong NUL C0 80", [0xC0, 0x80]),
            ("overlong slash C0 AF", [0xC0, 0xAF]),
            ("overlong C1 BF", [0xC1, 0xBF]),
            ("overlong 3-byte slash E0 80 AF", [0xE0, 0x80, 0xAF]),
            ("overlong 4-byte slash F0 80 80 AF", [0xF0, 0x80, 0x80, 0xAF]),
            ("byte FF", [0xFF]),
            ("byte FE", [0xFE]),
            ("bytes FF FE FF", [0xFF, 0xFE, 0xFF]),
            ("truncated 2-byte C3", [0xC3]),
            ("truncated 3-byte E2 82", [0xE2, 0x82]),
            ("truncated 4-byte F0 9F 98", [0xF0, 0x9F, 0x98]),
            ("surrogate ED A0 80", [0xED, 0xA0, 0x80]),
            ("surrogate ED BF BF", [0xED, 0xBF, 0xBF]),
            ("above U+10FFFF F4 90 80 80", [0xF4, 0x90, 0x80, 0x80]),
            ("lead byte F5", [0xF5, 0x80, 0x80, 0x80]),
            ("5-byte form F8", [0xF8, 0x88, 0x80, 0x80, 0x80]),
            ("Latin-1 e-acute E9", [0xE9]),
        ]

        /// Places each invalid sequence in a value, a key and the id, before and after the object,
        /// and alone.
        static func invalidUTF8() -> [InvalidLead] {
            var cases: [InvalidLead] = []
            for (index, sequence) in Self.invalidUTF8Sequences.enumerated() {
                let id = { (position: Int) in Array("u8-\(index)-\(position)".utf8) }
                let placements: [(String, [UInt8])] = [
                    ("in a value", Array(#"{"id":""#.utf8) + id(0) + Array(#"","name":"Jos"#.utf8) + sequence.bytes + Array(#""}"#.utf8)),
                    ("in a key", Array(#"{"id":""#.utf8) + id(1) + Array(#"","na"#.utf8) + sequence.bytes + Array(#"me":"x"}"#.utf8)),
                    ("in the id", Array(#"{"id":""#.utf8) + id(2) + sequence.bytes + Array(#""}"#.utf8)),
                    ("before the object", sequence.bytes + Array(#"{"id":""#.utf8) + id(3) + Array(#""}"#.utf8)),
                    ("after the object", Array(#"{"id":""#.utf8) + id(4) + Array(#""}"#.utf8) + sequence.bytes),
                    ("alone", sequence.bytes),
                ]
                for (position, raw) in placements {
                    cases.append(InvalidLead(category: "invalid UTF-8", label: "\(sequence.name) \(position)", raw: raw, reason: Reason.notUTF8))
                }
            }
            return cases
        }

        /// Places raw NUL bytes inside and outside strings, and an escaped NUL in the id.
        static func nulBytes() -> [InvalidLead] {
            var cases: [InvalidLead] = []
            for count in [1, 4] {
                let nul = [UInt8](repeating: 0, count: count)
                let tag = { (position: Int) in "nul-\(count)-\(position)" }
                let placements: [(String, [UInt8])] = [
                    ("in a value", Array(#"{"id":"\#(tag(0))","name":"a"#.utf8) + nul + Array(#"b"}"#.utf8)),
                    ("in a key", Array(#"{"id":"\#(tag(1))","na"#.utf8) + nul + Array(#"me":"x"}"#.utf8)),
                    ("in the id", Array(#"{"id":"\#(tag(2))"#.utf8) + nul + Array(#""}"#.utf8)),
                    ("before the object", nul + Array(#"{"id":"\#(tag(3))"}"#.utf8)),
                    ("after the object", Array(#"{"id":"\#(tag(4))"}"#.utf8) + nul),
                    ("between members", Array(#"{"id":"\#(tag(5))","#.utf8) + nul + Array(#""name":"x"}"#.utf8)),
                    ("after a colon", Array(#"{"id":"#.utf8) + nul + Array(#""\#(tag(6))"}"#.utf8)),
                    ("alone", nul),
                ]
                for (position, raw) in placements {
                    cases.append(InvalidLead(category: "NUL bytes", label: "\(count) NUL \(position)", raw: raw, reason: Reason.notJSON))
                }
            }
            // An escaped NUL is valid JSON, but not a printable id character.
            cases.append(InvalidLead(category: "NUL bytes", label: "escaped NUL in the id", raw: Array(#"{"id":"nul-escaped\u0000"}"#.utf8), reason: Reason.id))
            return cases
        }

        /// Builds nesting past the parser's limit of 32 levels, each case within the 64 KiB size limit.
        static func deepNesting() -> [InvalidLead] {
            var cases: [InvalidLead] = []
            for depth in [33, 34, 40, 64, 100, 1000, 10_000] {
                let inner = String(repeating: #"{"a":"#, count: depth - 1) + "1" + String(repeating: "}", count: depth - 1)
                let text = #"{"id":"deep-object-\#(depth)","x":"# + inner + "}"
                cases.append(InvalidLead(category: "deep nesting", label: "objects \(depth) levels", raw: Array(text.utf8), reason: Reason.tooDeep))
            }
            for depth in [33, 100, 1000, 20_000] {
                let inner = String(repeating: "[", count: depth - 1) + String(repeating: "]", count: depth - 1)
                let text = #"{"id":"deep-array-\#(depth)","x":"# + inner + "}"
                cases.append(InvalidLead(category: "deep nesting", label: "arrays \(depth) levels", raw: Array(text.utf8), reason: Reason.tooDeep))
            }
            let others = [
                ("top-level array 33 levels", String(repeating: "[", count: 33) + String(repeating: "]", count: 33)),
                ("unclosed objects 200 levels", #"{"id":"deep-unclosed","x":"# + String(repeating: #"{"a":"#, count: 200)),
                ("alternating arrays and objects 40 levels", #"{"id":"deep-mixed","x":"# + String(repeating: #"[{"a":"#, count: 20) + "1" + String(repeating: "}]", count: 20) + "}"),
            ]
            for (label, text) in others {
                cases.append(InvalidLead(category: "deep nesting", label: label, raw: Array(text.utf8), reason: Reason.tooDeep))
            }
            return cases
        }

        /// Builds a lead of `size` bytes, an object whose `pad` string fills the rest with `fill`.
        static func paddedLead(id: String, size: Int, fill: UInt8 = UInt8(ascii: "x")) -> [UInt8] {
            var raw = Array(#"{"id":"\#(id)","pad":""#.utf8)
            raw += [UInt8](repeating: fill, count: size - raw.count - 2)
            raw += Array(#""}"#.utf8)
            return raw
        }

        /// Builds leads over the default limit of 65536 bytes. The size check comes first, so it also
        /// wins over invalid UTF-8 and deep nesting.
        static func tooLarge() -> [InvalidLead] {
            var cases = [
                ("65537 bytes", Self.paddedLead(id: "large-65537", size: 65_537)),
                ("100000 bytes", Self.paddedLead(id: "large-100000", size: 100_000)),
                ("1 MB", Self.paddedLead(id: "large-1mb", size: 1_000_000)),
                ("10 MB value", Self.paddedLead(id: "large-10mb", size: 10_000_000)),
                ("1 MB of byte FF", Self.paddedLead(id: "large-ff", size: 1_000_000, fill: 0xFF)),
            ]
            let deep = #"{"id":"large-deep","x":"# + String(repeating: "[", count: 35_000) + String(repeating: "]", count: 35_000) + "}"
            cases.append(("70 KB nested 35000 levels", Array(deep.utf8)))
            return cases.map { label, raw in
                InvalidLead(category: "too large", label: label, raw: raw, reason: "\(Reason.tooLarge): \(raw.count) bytes")
            }
        }

        /// Puts each bad `id` value (as JSON text) in a lead alone and among other fields.
        static func invalidIDs() -> [InvalidLead] {
            var values: [(String, String)] = []
            for length in [129, 130, 256, 1000, 4096] {
                values.append(("\(length) characters", "\"" + String(repeating: "i", count: length) + "\""))
            }
            values += [
                ("leading space", #"" lead-1""#),
                ("trailing space", #""lead-2 ""#),
                ("inner space", #""lead 3""#),
                ("only a space", #"" ""#),
                ("two spaces", #""lead  4""#),
                ("escaped space", #""lead\u00205""#),
                ("trailing newline", #""lead-6\n""#),
                ("leading newline", #""\nlead-7""#),
                ("inner newline", #""lead\n8""#),
                ("trailing tab", #""lead-9\t""#),
                ("inner tab", #""lead\t10""#),
                ("carriage return", #""lead-11\r""#),
                ("CR LF", #""lead-12\r\n""#),
                ("form feed", #""lead-13\f""#),
                ("backspace", #""lead-14\b""#),
                ("vertical tab", #""lead-15\u000b""#),
                ("unit separator", #""lead-16\u001f""#),
                ("DEL", #""lead-17\u007f""#),
                ("Cyrillic", #""лид-18""#),
                ("e-acute", #""lead-é-19""#),
                ("CJK", #""漢字-20""#),
                ("emoji", #""lead-😀-21""#),
                ("escaped no-break space", #""lead\u00a022""#),
                ("escaped e-acute", #""lead-\u00e9-23""#),
                ("fullwidth letters", #""ｌｅａｄ-24""#),
                ("zero-width space", #""lead-\u200b25""#),
                ("line separator", #""lead-\u202826""#),
                ("empty", #""""#),
                ("number", "12345"),
                ("zero", "0"),
                ("negative number", "-5"),
                ("fraction", "1.5"),
                ("exponent", "1e3"),
                ("true", "true"),
                ("false", "false"),
                ("empty object", "{}"),
                ("object", #"{"id":"lead-27"}"#),
                ("empty array", "[]"),
                ("array of a string", #"["lead-28"]"#),
                ("array of a number", "[1]"),
            ]
            var cases: [InvalidLead] = []
            for (label, value) in values {
                let alone = #"{"id":\#(value)}"#
                let among = #"{"specialization":"Finance Management","id":\#(value),"source":"Google"}"#
                cases.append(InvalidLead(category: "invalid id", label: "\(label), id alone", raw: Array(alone.utf8), reason: Reason.id))
                cases.append(InvalidLead(category: "invalid id", label: "\(label), id among fields", raw: Array(among.utf8), reason: Reason.id))
            }
            return cases
        }

        /// Gives `created_at` and the routing field `specialization` the wrong JSON type.
        static func wrongFieldTypes() -> [InvalidLead] {
            var cases: [InvalidLead] = []
            let createdAtValues = ["true", "false", "{}", #"{"ms":1714557600000}"#, "[]", "[1714557600000]", #"["2024-01-15T08:00:00Z"]"#]
            for (index, value) in createdAtValues.enumerated() {
                let id = "type-created-\(index)"
                let text = #"{"id":"\#(id)","created_at":\#(value)}"#
                cases.append(InvalidLead(category: "wrong field type", label: "created_at \(value)", raw: Array(text.utf8), reason: Reason.createdAtType, leadID: id))
            }
            let routingValues = ["{}", #"{"name":"Finance Management"}"#, "[]", #"["Finance Management"]"#, "[[]]", #"[{"a":1}]"#, "[null]"]
            for (index, value) in routingValues.enumerated() {
                let id = "type-routing-\(index)"
                let text = #"{"id":"\#(id)","specialization":\#(value),"source":"Google"}"#
                cases.append(InvalidLead(category: "wrong field type", label: "specialization \(value)", raw: Array(text.utf8), reason: Reason.routing, leadID: id))
            }
            return cases
        }

        /// Gives `created_at` values (as JSON text) in the far future, not a timestamp, before
        /// 2000, or not whole milliseconds.
        static func invalidCreatedAt() -> [InvalidLead] {
            let values: [(String, String)] = [
                ("4102444800000", Reason.createdAtFuture),
                ("253402300799000", Reason.createdAtFuture),
                ("999999999999999", Reason.createdAtFuture),
                (#""2100-01-01T00:00:00Z""#, Reason.createdAtFuture),
                (#""9999-12-31T23:59:59Z""#, Reason.createdAtFuture),
                (#""2999-06-01T12:00:00+02:00""#, Reason.createdAtFuture),
                (#""2100-01-01T00:00:00.500Z""#, Reason.createdAtFuture),
                (#""""#, Reason.createdAtNotTimestamp),
                (#""yesterday""#, Reason.createdAtNotTimestamp),
                (#""now""#, Reason.createdAtNotTimestamp),
                (#""2024-13-01T00:00:00Z""#, Reason.createdAtNotTimestamp),
                // Date.ISO8601FormatStyle rolls out-of-range fields over; the parser checks the
                // fields first.
                (#""2024-01-15T25:00:00Z""#, Reason.createdAtNotTimestamp),
                (#""2024-02-30T00:00:00Z""#, Reason.createdAtNotTimestamp),
                (#""2023-02-29T00:00:00Z""#, Reason.createdAtNotTimestamp),
                (#""2024-01-15T23:60:00Z""#, Reason.createdAtNotTimestamp),
                (#""2024-01-15""#, Reason.createdAtNotTimestamp),
                (#""08:00:00""#, Reason.createdAtNotTimestamp),
                (#""1714557600000""#, Reason.createdAtNotTimestamp),
                (#""15/01/2024 08:00""#, Reason.createdAtNotTimestamp),
                (#""2024-01-15T08:00:00""#, Reason.createdAtNotTimestamp),
                (#""Mon, 15 Jan 2024 08:00:00 GMT""#, Reason.createdAtNotTimestamp),
                ("0", Reason.createdAtBefore2000),
                ("1", Reason.createdAtBefore2000),
                ("-1", Reason.createdAtBefore2000),
                ("1700000000", Reason.createdAtBefore2000),
                ("946684799999", Reason.createdAtBefore2000),
                ("-999999999999999", Reason.createdAtBefore2000),
                (#""1999-12-31T23:59:59Z""#, Reason.createdAtBefore2000),
                (#""1970-01-01T00:00:00Z""#, Reason.createdAtBefore2000),
                (#""0001-01-01T00:00:00Z""#, Reason.createdAtBefore2000),
                ("1714557600000.5", Reason.createdAtFractional),
                ("1714557600000.25", Reason.createdAtFractional),
                ("1714557600000.999", Reason.createdAtFractional),
                ("1.5", Reason.createdAtFractional),
                ("0.1", Reason.createdAtFractional),
                ("-0.5", Reason.createdAtFractional),
                ("1e15", Reason.createdAtFractional),
                ("1e300", Reason.createdAtFractional),
                ("-1e20", Reason.createdAtFractional),
            ]
            return values.enumerated().map { index, item in
                let (value, reason) = item
                let id = "created-\(index)"
                let text = #"{"id":"\#(id)","specialization":"Marketing","created_at":\#(value)}"#
                return InvalidLead(category: "invalid created_at", label: "created_at \(value)", raw: Array(text.utf8), reason: reason, leadID: id)
            }
        }

        /// Builds empty input and input of whitespace only.
        static func emptyInput() -> [InvalidLead] {
            var cases = [InvalidLead(category: "empty or whitespace", label: "empty", raw: [], reason: Reason.empty)]
            let blanks = [
                ("one space", " "), ("two spaces", "  "), ("tab", "\t"), ("newline", "\n"), ("CR LF", "\r\n"),
                ("mixed whitespace", " \t\n\r "), ("1000 spaces", String(repeating: " ", count: 1000)),
                ("vertical tab", "\u{0B}"), ("no-break space", "\u{A0}"), ("byte order mark", "\u{FEFF}"),
            ]
            for (label, text) in blanks {
                cases.append(InvalidLead(category: "empty or whitespace", label: label, raw: Array(text.utf8), reason: Reason.notJSON))
            }
            return cases
        }

        // MARK: - Valid leads

        /// Builds leads at the edges of the contract that the parser accepts, with their ids.
        static func edgeLeads() -> [(id: String, raw: [UInt8])] {
            let depth32 = String(repeating: "[", count: 31) + String(repeating: "]", count: 31)
            let id128 = "edge-" + String(repeating: "e", count: 123)
            let texts: [(String, String)] = [
                ("corpus-source", Self.truncationSource),
                ("edge-depth-32", #"{"id":"edge-depth-32","x":\#(depth32)}"#),
                (id128, #"{"id":"\#(id128)"}"#),
                ("edge-specialization-number", #"{"id":"edge-specialization-number","specialization":42}"#),
                ("edge-specialization-bool", #"{"id":"edge-specialization-bool","specialization":true}"#),
                ("edge-specialization-null", #"{"id":"edge-specialization-null","specialization":null}"#),
                ("edge-created-2000", #"{"id":"edge-created-2000","created_at":946684800000}"#),
                ("edge-created-exponent", #"{"id":"edge-created-exponent","created_at":1.7145576e12}"#),
                ("edge-created-offset", #"{"id":"edge-created-offset","created_at":"2024-01-15T08:00:00.250+03:00"}"#),
                ("edge-escaped-nul", #"{"id":"edge-escaped-nul","name":"a\u0000b"}"#),
                ("edge-brackets-in-string", #"{"id":"edge-brackets-in-string","note":"\#(String(repeating: "[{", count: 50))"}"#),
                ("edge-source-object", #"{"id":"edge-source-object","source":{"name":"Google"}}"#),
                ("edge-~{x}:/", #"{"id":"edge-~{x}:/"}"#),
                ("edge-A", #"{"id":"edge-\u0041"}"#),
                ("edge-whitespace", "  \n{\"id\":\"edge-whitespace\"}\n\t"),
            ]
            var leads = texts.map { (id: $0.0, raw: Array($0.1.utf8)) }
            leads.append((id: "edge-65536", raw: Self.paddedLead(id: "edge-65536", size: 65_536)))
            return leads
        }

        static func validLead(_ number: Int) -> (id: String, raw: [UInt8]) {
            let id = "valid-\(number)"
            let specialization = number % 2 == 0 ? "Finance Management" : "Marketing"
            let text = #"{"id":"\#(id)","specialization":"\#(specialization)","source":"Google","created_at":1705305600000}"#
            return (id, Array(text.utf8))
        }

        /// An entry of `lr:{P}:dead`. Decoded with JSONDecoder because JSONSerialization on Linux
        /// drops a leading U+FEFF from string values, which would change the raw input.
        struct DeadLetterRecord: Decodable {
            let id: String?
            let reason: String?
            let leadID: String?
            let raw: String?
            let rawBase64: String?
            let worker: String?
            let at: Int64?

            enum CodingKeys: String, CodingKey {
                case id, reason, raw, worker, at
                case leadID = "lead_id"
                case rawBase64 = "raw_base64"
            }

            /// The raw input: `raw` text, or `raw_base64` for non-UTF-8 input.
            var rawBytes: [UInt8]? {
                if let raw {
                    return Array(raw.utf8)
                }
                if let rawBase64, let data = Data(base64Encoded: rawBase64) {
                    return Array(data)
                }
                return nil
            }
        }

        /// Reads and decodes every entry of the pool's dead-letter list. Entries that are not JSON
        /// objects are left out.
        static func deadLetterRecords(_ pool: TestPool) throws -> [DeadLetterRecord] {
            let reply = try pool.redis.command(["LRANGE", pool.keys.dead, "0", "-1"])
            return (reply.elements ?? []).compactMap(\.bytes).compactMap {
                try? JSONDecoder().decode(DeadLetterRecord.self, from: Data($0))
            }
        }

        // MARK: - Test

        @Test("invalid leads dead-lettered once", .timeLimit(.minutes(1)))
        func invalidLeadsDeadLetteredOnce() throws {
            let corpus = Self.corpus()
            #expect(corpus.count >= 200, "corpus size")
            #expect(Set(corpus.map(\.raw)).count == corpus.count, "corpus inputs are distinct, so each dead-letter entry matches one case")

            let pool = try TestPool("corpus")
            try pool.setConfig(Self.config)
            try pool.addManagers(["f1", "f2"], groups: ["finance"])
            try pool.addManagers(["g1", "g2"], groups: ["general"])
            let workers = try pool.startWorkers(2)

            // One valid lead after every 5 invalid ones: the edge cases first, then plain leads.
            var validLeads = Self.edgeLeads()
            var validIDs: [String] = []
            var pushes: [[UInt8]] = []
            func pushValid() {
                if validLeads.isEmpty {
                    validLeads.append(Self.validLead(validIDs.count + 1))
                }
                let lead = validLeads.removeFirst()
                validIDs.append(lead.id)
                pushes.append(lead.raw)
            }
            for (index, lead) in corpus.enumerated() {
                pushes.append(lead.raw)
                if index % 5 == 4 {
                    pushValid()
                }
            }
            pushValid()
            #expect(Set(validIDs).count == validIDs.count, "valid lead ids are distinct")

            var start = 0
            while start < pushes.count {
                let chunk = pushes[start..<min(start + 100, pushes.count)]
                _ = try pool.redis.pipeline(chunk.map { [Array("LPUSH".utf8), Array(pool.keys.incoming.utf8), $0] })
                start += 100
            }

            let deadLength = { Int(try pool.redis.command(["LLEN", pool.keys.dead]).integer ?? 0) }
            let finished = try pool.waitUntil(timeout: 20) {
                try pool.nothingPending() && deadLength() >= corpus.count
            }
            let pending = "incoming=\(try pool.incomingLength()) in flight=\(try pool.inFlightLengths().values.reduce(0, +)) dead=\(try deadLength())"
            #expect(finished, "corpus of \(corpus.count) not drained: \(pending)")
            let expected = Set(validIDs)
            #expect(try pool.waitForAssignments(of: expected, timeout: 5), "every valid lead assigned")
            for worker in workers {
                #expect(worker.isRunning, "worker \(worker.pid) still running after the corpus; log: \(worker.log().suffix(2000))")
            }

            let entries = try Self.deadLetterRecords(pool)
            let deadCount = try deadLength()
            #expect(deadCount == corpus.count, "entries in the dead-letter list")
            #expect(entries.count == deadCount, "dead-letter entries that decode as JSON objects")

            var entriesByRaw: [[UInt8]: [DeadLetterRecord]] = [:]
            for entry in entries {
                let raw = entry.rawBytes
                #expect(raw != nil, "dead-letter entry \(entry.id ?? "-") without raw input, reason: \(entry.reason ?? "-")")
                if let raw {
                    entriesByRaw[raw, default: []].append(entry)
                }
            }
            for lead in corpus {
                let name = "\(lead.category), \(lead.label)"
                let matches = entriesByRaw[lead.raw] ?? []
                #expect(matches.count == 1, "dead-letter entries holding the input of \(name)")
                guard let entry = matches.first else { continue }

                let reason = entry.reason ?? ""
                #expect(!reason.isEmpty, "reason for \(name)")
                #expect(reason.contains(lead.reason), "reason for \(name): \(reason)")
                #expect(entry.leadID == lead.leadID, "lead id in the entry for \(name)")
                #expect(!(entry.worker ?? "").isEmpty, "worker named in the entry for \(name)")
                #expect(entry.at != nil, "time in the entry for \(name)")
                if String(validating: lead.raw, as: UTF8.self) != nil {
                    #expect(entry.raw != nil, "raw text in the entry for \(name)")
                    #expect(entry.rawBase64 == nil, "no raw_base64 in the entry for \(name)")
                } else {
                    #expect(entry.rawBase64 != nil, "raw_base64 in the entry for \(name)")
                    #expect(entry.raw == nil, "no raw text in the entry for \(name)")
                }
            }

            let deadEvents = try pool.events().filter { $0["type"] == "dead" }
            #expect(deadEvents.count == corpus.count, "dead events")

            let report = try pool.deliveryReport(expectedIDs: expected, pushed: validIDs.count)
            var sizes: [String: Int] = [:]
            for lead in corpus {
                sizes[lead.category, default: 0] += 1
            }
            let categories = sizes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            print("invalid lead corpus: invalid pushed=\(corpus.count) dead entries=\(deadCount) valid pushed=\(validIDs.count) valid assigned=\(report.assigned.count); \(categories)")
            expectExactlyOnce(report)

            for worker in workers {
                #expect(worker.isRunning, "worker \(worker.pid) running before the stop")
                #expect(worker.stop() == 0, "worker \(worker.pid) exit status")
            }
        }
    }
}
