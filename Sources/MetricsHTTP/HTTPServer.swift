import CMicroHTTPD
import Foundation

/// A small HTTP server for `/metrics` and `/healthz`, on GNU libmicrohttpd so that no HTTP
/// parsing is written here. Requests are handled on libmicrohttpd's own thread, never on
/// Swift's cooperative pool. Only GET is served.
public final class HTTPServer: @unchecked Sendable {
    // @unchecked: `daemon` is set once in init and cleared once in stop(); the handler is
    // immutable.
    public struct Response: Sendable {
        public var status: Int
        public var contentType: String
        public var body: String

        public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    public typealias Handler = @Sendable (_ path: String) -> Response

    private var daemon: OpaquePointer?
    fileprivate let handler: Handler

    /// Starts listening on `host:port`; `host` must be an IPv4 address (127.0.0.1 unless the
    /// operator chose otherwise).
    public init(host: String, port: UInt16, handler: @escaping Handler) throws {
        self.handler = handler
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw HTTPServerError(message: "invalid listen address \(host): expected an IPv4 address such as 127.0.0.1")
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        let started = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                lr_mhd_start(port, socketAddress, requestCallback, context)
            }
        }
        guard let started else {
            throw HTTPServerError(message: "cannot listen on \(host):\(port): the port may be in use")
        }
        self.daemon = started
    }

    public func stop() {
        if let daemon = self.daemon {
            MHD_stop_daemon(daemon)
            self.daemon = nil
        }
    }

    deinit {
        self.stop()
    }
}

public struct HTTPServerError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { self.message }
}

/// MHD_RESPMEM_MUST_COPY (value 2 in microhttpd.h): the library copies the body, so the Swift
/// buffer may go away as soon as the call returns.
private let responseMustCopy = MHD_ResponseMemoryMode(rawValue: 2)!

/// libmicrohttpd's access handler: replies to every GET at once with the Swift handler's response.
private let requestCallback: MHD_AccessHandlerCallback = { context, connection, url, method, _, _, uploadSize, _ in
    guard let context, let connection else { return .NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(context).takeUnretainedValue()
    let path = url.map { String(cString: $0) } ?? "/"
    let verb = method.map { String(cString: $0) } ?? ""

    var response: HTTPServer.Response
    if verb == "GET" || verb == "HEAD" {
        response = server.handler(path)
    } else {
        response = HTTPServer.Response(status: 405, body: "only GET is served\n")
    }
    uploadSize?.pointee = 0

    var body = Array(response.body.utf8)
    let reply = body.withUnsafeMutableBytes { buffer in
        MHD_create_response_from_buffer(buffer.count, buffer.baseAddress, responseMustCopy)
    }
    guard let reply else { return .NO }
    _ = MHD_add_response_header(reply, "Content-Type", response.contentType)
    let queued = MHD_queue_response(connection, UInt32(response.status), reply)
    MHD_destroy_response(reply)
    return queued
}
