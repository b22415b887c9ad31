import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// HTTP/1 connections with the two timeouts of SPEC §4.2: hummingbird's idle timeout closes a
/// keep-alive connection idle for `idleTimeout`, and a ``RequestHeadDeadline`` closes one whose
/// request head has not fully arrived `headerTimeout` after its first byte (slowloris). Requests
/// that expect `100 Continue` get it (``ExpectContinue``).
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value

    let responder: HTTPChannelHandler.Responder
    let idleTimeout: TimeAmount
    let headerTimeout: TimeAmount

    /// The server builder for `Application(server:)`.
    static func builder(idleTimeout: TimeAmount, headerTimeout: TimeAmount) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            GuardedHTTP1Channel(responder: responder, idleTimeout: idleTimeout, headerTimeout: headerTimeout)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let deadline = NIOLoopBound(RequestHeadDeadline(timeout: headerTimeout), eventLoop: channel.eventLoop)
        let http1 = HTTP1Channel(responder: responder, configuration: .init(
            additionalChannelHandlers: [RequestHeadDeadline.HeadWatcher(deadline.value), ExpectContinue()], idleTimeout: idleTimeout))
        return channel.eventLoop.makeCompletedFuture {
            // Reads grow past NIO's 64 KiB default while they come back full (a blob upload):
            // fewer, larger chunks to hash and write. Small requests keep small buffers.
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffers)
            // First in the pipeline: it sees raw bytes before the HTTP decoder does.
            try channel.pipeline.syncOperations.addHandler(RequestHeadDeadline.ByteWatcher(deadline.value))
        }.flatMap { http1.setup(channel: channel, logger: logger) }
    }

    /// How large a connection's reads may grow.
    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 1 << 20)

    func handle(value: Value, logger: Logger) async {
        await HTTP1Channel(responder: responder).handle(value: value, logger: logger)
    }
}

/// One connection's request-head clock, shared by two handlers on its event loop: the byte
/// watcher (before the HTTP decoder) starts it at the first byte of a request, the head
/// watcher (after it) stops it when the head is decoded and rearms it when the request ends.
/// At most one timer is pending per connection, so a request on a busy connection schedules none.
final class RequestHeadDeadline {
    let timeout: TimeAmount
    /// Between a request's end (or the connection's start) and the next head.
    private var awaitingHead = true
    /// When the first byte of the awaited head arrived.
    private var firstByte: NIODeadline?
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    fileprivate func bytesArrived(_ context: ChannelHandlerContext) {
        guard awaitingHead, firstByte == nil else { return }
        firstByte = .now()
        if timer == nil { schedule(context, at: firstByte! + timeout) }
    }

    fileprivate func headArrived() {
        awaitingHead = false
        firstByte = nil
    }

    fileprivate func requestEnded() { awaitingHead = true }

    fileprivate func cancel() {
        timer?.cancel()
        timer = nil
    }

    private func schedule(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timer = nil
            guard awaitingHead, let firstByte else { return }
            if NIODeadline.now() >= firstByte + timeout {
                context.close(promise: nil)
            } else {
                schedule(context, at: firstByte + timeout)
            }
        }
    }

    final class ByteWatcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        let deadline: RequestHeadDeadline

        init(_ deadline: RequestHeadDeadline) { self.deadline = deadline }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            deadline.bytesArrived(context)
            context.fireChannelRead(data)
        }

        func channelInactive(context: ChannelHandlerContext) {
            deadline.cancel()
            context.fireChannelInactive()
        }

        func handlerRemoved(context: ChannelHandlerContext) { deadline.cancel() }
    }

    final class HeadWatcher: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        let deadline: RequestHeadDeadline

        init(_ deadline: RequestHeadDeadline) { self.deadline = deadline }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: deadline.headArrived()
            case .body: break
            case .end: deadline.requestEnded()
            }
            context.fireChannelRead(data)
        }
    }
}
