import Foundation
import RedisClient
import Testing

@testable import LeadRouting

private let now: Int64 = 1_800_000_000_000

private func jsonInputs(_ text: String) -> [Producer.Input] {
    Producer.jsonInputs(Data(text.utf8))
}

private func csvInputs(_ text: String, idColumn: String = "id") throws -> [Producer.Input] {
    try Producer.csvInputs(Data(text.utf8), idColumn: idColumn)
}

/// Decodes raw lead bytes as a JSON object, as a consumer of the incoming list would.
private func object(_ raw: [UInt8]) -> [String: Any]? {
    try? JSONSerialization.jsonObject(with: Data(raw)) as? [String: Any]
}

/// Parses raw lead bytes with the worker's validator.
private func parsedLead(_ raw: [UInt8]) -> Lead? {
    try? LeadParser().parse(raw, nowMillis: now).get()
}

@Suite("Producer")
struct ProducerTests {
    // MARK: - JSON

    @Test("JSON array of objects")
    func jsonArray() throws {
        let inputs = jsonInputs(#"[{"id":"L1","source":"Google"}, {"id":"L2"}, 7]"#)
        #expect(inputs.count == 3)
        #expect(inputs.map(\.origin) == ["element 1", "element 2", "element 3"])
        #expect(inputs[0].problem == nil)
        #expect(inputs[1].problem == nil)
        #expect(inputs[2].problem == "not a JSON object")
        #expect(object(inputs[0].raw)?["id"] as? String == "L1")
        #expect(object(inputs[0].raw)?["source"] as? String == "Google")
        #expect(object(inputs[1].raw)?["id"] as? String == "L2")
    }

    @Test("array elements keep field types")
    func arrayFieldTypes() throws {
        let inputs = jsonInputs(#"[{"id":"L1","vip":true,"score":0.1,"count":3,"name":"Дмитрий","none":null}]"#)
        let lead = try #require(inputs.first.flatMap { parsedLead($0.raw) })
        #expect(lead.fields["vip"] == .bool(true))
        #expect(lead.fields["score"] == .number(0.1))
        #expect(lead.fields["count"] == .number(3))
        #expect(lead.fields["name"] == .string("Дмитрий"))
        #expect(lead.fields["none"] == .null)
    }

    @Test("pretty-printed JSON array")
    func prettyArray() throws {
        let text = """
            [
              {
                "id": "L1",
                "source": "Google"
              },
              {
                "id": "L2"
              }
            ]
            """
        let inputs = jsonInputs(text)
        #expect(inputs.count == 2)
        #expect(inputs.map(\.problem) == [nil, nil])
        #expect(parsedLead(inputs[0].raw)?.id == "L1")
        #expect(parsedLead(inputs[1].raw)?.id == "L2")
    }

    @Test("single pretty-printed object")
    func prettyObject() throws {
        let text = """

            {
              "id": "L1",
              "name": "Anna",
              "source": "Google"
            }

            """
        let inputs = jsonInputs(text)
        #expect(inputs.count == 1)
        #expect(inputs.first?.origin == "document")
        #expect(inputs.first?.problem == nil)
        let raw = try #require(inputs.first?.raw)
        #expect(raw.first == UInt8(ascii: "{"))
        #expect(raw.last == UInt8(ascii: "}"))
        #expect(parsedLead(raw)?.id == "L1")
    }

    @Test("JSON lines with a bad line")
    func jsonLines() throws {
        let text = #"""
            {"id":"L1"}
            {"id":"L2", "name":
            {"id":"L3"}

            [1,2]
            {"id":"L5"}
            """#
        let inputs = jsonInputs(text)
        #expect(inputs.count == 5)
        #expect(inputs.map(\.origin) == ["line 1", "line 2", "line 3", "line 5", "line 6"])
        #expect(inputs.map(\.problem) == [nil, "not a JSON object", nil, "not a JSON object", nil])
        #expect(inputs[0].raw == Array(#"{"id":"L1"}"#.utf8))
        #expect(inputs[1].raw == Array(#"{"id":"L2", "name":"#.utf8))
        #expect(inputs[4].raw == Array(#"{"id":"L5"}"#.utf8))
    }

    @Test("JSON lines with CRLF")
    func jsonLinesCRLF() throws {
        let inputs = jsonInputs("{\"id\":\"L1\"}\r\n{\"id\":\"L2\"}\r\n\r\n")
        #expect(inputs.count == 2)
        #expect(inputs.map(\.problem) == [nil, nil])
        #expect(inputs[0].raw == Array(#"{"id":"L1"}"#.utf8))
        #expect(inputs[1].raw == Array(#"{"id":"L2"}"#.utf8))
        #expect(!inputs.contains { $0.raw.contains(UInt8(ascii: "\r")) })
    }

    @Test("JSON lines keep raw bytes")
    func jsonLinesRaw() throws {
        // Lines are pushed as written, so the worker receives the producer's own bytes.
        let line = #"{"id":"L1",  "phone":"+7 916",   "score":1.50}"#
        let inputs = jsonInputs(line + "\n" + #"{"id":"L2"}"#)
        #expect(inputs.count == 2)
        #expect(inputs[0].raw == Array(line.utf8))
    }

    @Test("JSON with UTF-8 BOM")
    func jsonByteOrderMark() throws {
        // Windows PowerShell 5.1 (Out-File -Encoding utf8) writes a byte order mark first.
        let array = jsonInputs("\u{FEFF}[{\"id\":\"L1\"},{\"id\":\"L2\"}]")
        #expect(array.count == 2)
        #expect(array.map(\.problem) == [nil, nil])

        let lines = jsonInputs("\u{FEFF}{\"id\":\"L1\"}\r\n{\"id\":\"L2\"}\r\n")
        #expect(lines.count == 2)
        #expect(lines.map(\.problem) == [nil, nil])
        #expect(parsedLead(lines.first?.raw ?? [])?.id == "L1")

        let pretty = jsonInputs("\u{FEFF}{\n  \"id\": \"L1\"\n}\n")
        #expect(pretty.count == 1)
        #expect(pretty.map(\.problem) == [nil])
    }

    @Test("empty input yields nothing")
    func emptyJSON() {
        #expect(jsonInputs("").isEmpty)
        #expect(jsonInputs(" \n\r\n ").isEmpty)
    }

    // MARK: - CSV

    @Test("CSV rows become objects")
    func csvRows() throws {
        let inputs = try csvInputs("id,name,specialization\nL1,Anna,Finance Management\nL2,Boris,Banking\n")
        #expect(inputs.count == 2)
        #expect(inputs.map(\.origin) == ["row 2", "row 3"])
        #expect(inputs.map(\.problem) == [nil, nil])
        let first = try #require(object(inputs[0].raw))
        #expect(first["id"] as? String == "L1")
        #expect(first["name"] as? String == "Anna")
        #expect(first["specialization"] as? String == "Finance Management")
        #expect(parsedLead(inputs[1].raw)?.id == "L2")
    }

    @Test("CSV quoted comma")
    func csvQuotedComma() throws {
        let inputs = try csvInputs("id,name,specialization\nL1,\"Smith, John\",\"Banking, Investment And Insurance\"\n")
        let lead = try #require(object(inputs.first?.raw ?? []))
        #expect(lead["name"] as? String == "Smith, John")
        #expect(lead["specialization"] as? String == "Banking, Investment And Insurance")
    }

    @Test("CSV doubled quotes")
    func csvDoubledQuotes() throws {
        let inputs = try csvInputs("id,comment\nL1,\"She said \"\"call me\"\" twice\"\nL2,\"\"\"\"\n")
        #expect(inputs.count == 2)
        #expect(object(inputs[0].raw)?["comment"] as? String == #"She said "call me" twice"#)
        #expect(object(inputs[1].raw)?["comment"] as? String == #"""#)
    }

    @Test("CSV embedded newline")
    func csvEmbeddedNewline() throws {
        let inputs = try csvInputs("id,comment,source\nL1,\"first line\nsecond line\",Google\nL2,plain,Ads\n")
        #expect(inputs.count == 2)
        let first = try #require(object(inputs[0].raw))
        #expect(first["comment"] as? String == "first line\nsecond line")
        #expect(first["source"] as? String == "Google")
        #expect(object(inputs[1].raw)?["id"] as? String == "L2")
        // The newline is escaped, so the raw lead stays one JSON line.
        #expect(!inputs[0].raw.contains(UInt8(ascii: "\n")))
    }

    @Test("CSV with CRLF rows")
    func csvCRLF() throws {
        let inputs = try csvInputs("id,name\r\nL1,Anna\r\nL2,Boris\r\n")
        #expect(inputs.count == 2)
        #expect(object(inputs[0].raw)?["name"] as? String == "Anna")
        #expect(object(inputs[1].raw)?["name"] as? String == "Boris")
    }

    @Test("CSV other id column")
    func csvOtherIDColumn() throws {
        let inputs = try csvInputs("crm_id,name\n10342,Anna\n", idColumn: "crm_id")
        let lead = try #require(object(inputs.first?.raw ?? []))
        #expect(lead["id"] as? String == "10342")
        #expect(lead["name"] as? String == "Anna")
    }

    @Test("CSV short row padded")
    func csvShortRow() throws {
        let inputs = try csvInputs("id,name,source\nL1,Anna\n")
        let lead = try #require(object(inputs.first?.raw ?? []))
        #expect(lead["source"] as? String == "")
    }

    @Test("CSV blank lines skipped")
    func csvBlankLines() throws {
        let inputs = try csvInputs("id,name\nL1,Anna\n\nL2,Boris\n\n")
        #expect(inputs.count == 2)
    }

    @Test("CSV with UTF-8 BOM")
    func csvByteOrderMark() throws {
        // Excel's "CSV UTF-8" format writes a byte order mark before the header.
        let inputs = try csvInputs("\u{FEFF}id,name\nL1,Anna\n")
        #expect(inputs.count == 1)
        #expect(object(inputs.first?.raw ?? [])?["id"] as? String == "L1")
    }

    @Test("CSV missing id column")
    func csvMissingIDColumn() throws {
        do {
            _ = try csvInputs("lead_id,name\nL1,Anna\n", idColumn: "id")
            Issue.record("a CSV without the id column was accepted")
        } catch let error as PoolError {
            #expect(error.description.contains(#"column "id" not found"#))
            #expect(error.description.contains("lead_id, name"))
        }
    }

    @Test("empty CSV rejected")
    func csvEmpty() throws {
        #expect(throws: PoolError.self) {
            try csvInputs("")
        }
    }

    @Test("CSV not UTF-8 rejected")
    func csvNotUTF8() throws {
        var data = Data("id,name\nL1,".utf8)
        data.append(contentsOf: [0xC0, 0xFF])
        do {
            _ = try Producer.csvInputs(data, idColumn: "id")
            Issue.record("a CSV with invalid UTF-8 was accepted")
        } catch let error as PoolError {
            #expect(error.description.contains("not valid UTF-8"))
        }
    }

    @Test("CSV reader fields")
    func csvReaderFields() {
        let rows = CSVReader.rows("a,\"b,c\",\"d\"\"e\"\n,,\n\"x\ny\",z")
        #expect(rows == [["a", "b,c", "d\"e"], ["", "", ""], ["x\ny", "z"]])
    }

    // MARK: - push

    @Test("push keeps FIFO order")
    func pushOrder() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let client = PoolClient(connection: redis.connection, keys: try PoolKeys(pool: redis.pool))
        let inputs = jsonInputs("{\"id\":\"L1\"}\n{\"id\":\"L2\",\"created_at\":1796379300000}\n{\"id\":\"L3\"}\n")
        var progress: [Int] = []

        try Producer.push(inputs, client: client) { sent, total in
            #expect(total == 3)
            progress.append(sent)
        }
        #expect(progress == [3])

        // Workers take from the right, so the first lead pushed is the first taken.
        var popped: [Lead] = []
        while case .bulk(let raw) = try redis.connection.command(["RPOP", client.keys.incoming]) {
            popped.append(try #require(parsedLead(raw)))
        }
        #expect(popped.map(\.id) == ["L1", "L2", "L3"])
        #expect(popped[1].createdAtMillis == 1_796_379_300_000)
        #expect(popped[0].createdAtMillis != nil)
        #expect(popped[2].createdAtMillis != nil)
    }

    @Test("push without stamp sends raw")
    func pushRaw() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let client = PoolClient(connection: redis.connection, keys: try PoolKeys(pool: redis.pool))
        let raw: [UInt8] = Array(#"{"id":"L1"}"#.utf8)

        try Producer.push([Producer.Input(raw: raw, origin: "line 1", problem: nil)], client: client, stamp: false)
        #expect(try redis.connection.command(["RPOP", client.keys.incoming]) == .bulk(raw))
    }

    @Test("push sends large imports in chunks")
    func pushChunks() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let client = PoolClient(connection: redis.connection, keys: try PoolKeys(pool: redis.pool))
        let inputs = (1...1_201).map { Producer.Input(raw: Array("{\"id\":\"L\($0)\"}".utf8), origin: "line \($0)", problem: nil) }
        var progress: [Int] = []

        try Producer.push(inputs, client: client) { sent, _ in progress.append(sent) }
        #expect(progress.last == 1_201)
        #expect(progress == progress.sorted())
        #expect(progress.count > 1)
        #expect(try redis.connection.command(["LLEN", client.keys.incoming]) == .integer(1_201))
        let oldest = try redis.connection.command(["LINDEX", client.keys.incoming, "-1"])
        #expect(parsedLead(oldest.bytes ?? [])?.id == "L1")
    }

    @Test("push of nothing sends nothing")
    func pushNothing() throws {
        let redis = try ScratchRedis()
        defer { redis.removeKeys() }
        let client = PoolClient(connection: redis.connection, keys: try PoolKeys(pool: redis.pool))

        try Producer.push([], client: client)
        #expect(try redis.connection.command(["EXISTS", client.keys.incoming]) == .integer(0))
    }

    // MARK: - stamped

    @Test("stamp adds created_at")
    func stampAdds() throws {
        let input = Producer.Input(raw: Array(#"{"id":"L1"}"#.utf8), origin: "line 1", problem: nil)
        let stamped = Producer.stamped(input, nowMillis: now)
        let lead = try #require(object(stamped))
        #expect((lead["created_at"] as? NSNumber)?.int64Value == now)
        #expect(lead["id"] as? String == "L1")
        #expect(parsedLead(stamped)?.createdAtMillis == now)
    }

    @Test("stamp keeps existing created_at")
    func stampKeeps() {
        let raw = Array(#"{"id":"L1","created_at":"2026-12-04T10:15:00Z"}"#.utf8)
        let input = Producer.Input(raw: raw, origin: "line 1", problem: nil)
        #expect(Producer.stamped(input, nowMillis: now) == raw)
    }

    @Test("stamp leaves lead without id")
    func stampWithoutID() throws {
        // The worker derives a missing id from the bytes, so they must not change.
        for raw in ["{}", #"{"name":"Ann","phone":"+1-555-0100"}"#] {
            let input = Producer.Input(raw: Array(raw.utf8), origin: "line 1", problem: nil)
            #expect(Producer.stamped(input, nowMillis: now) == Array(raw.utf8), "\(raw)")
        }
    }

    @Test("stamp handles padded object")
    func stampPaddedObject() throws {
        let input = Producer.Input(raw: Array("  { \"id\": \"L1\" \n }".utf8), origin: "document", problem: nil)
        let stamped = Producer.stamped(input, nowMillis: now)
        #expect((object(stamped)?["created_at"] as? NSNumber)?.int64Value == now)
        #expect(object(stamped)?["id"] as? String == "L1")
    }

    @Test("stamp leaves invalid input")
    func stampInvalid() {
        let raw = Array(#"{"id":"L1""#.utf8)
        let input = Producer.Input(raw: raw, origin: "line 1", problem: "not a JSON object")
        #expect(Producer.stamped(input, nowMillis: now) == raw)

        let array = Producer.Input(raw: Array("[1]".utf8), origin: "element 1", problem: nil)
        #expect(Producer.stamped(array, nowMillis: now) == Array("[1]".utf8))
    }

    @Test("stamp pretty-printed document")
    func stampPretty() throws {
        let inputs = jsonInputs("{\n  \"id\": \"L1\"\n}\n")
        let input = try #require(inputs.first)
        let stamped = Producer.stamped(input, nowMillis: now)
        #expect((object(stamped)?["created_at"] as? NSNumber)?.int64Value == now)
        #expect(object(stamped)?["id"] as? String == "L1")
    }
}
