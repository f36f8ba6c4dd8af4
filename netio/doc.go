// Package netio is Gregor's Kafka network layer: listeners, request framing,
// strictly ordered (but pipelined) responses and zero-copy file regions.
// It knows Kafka's framing and request header, not request bodies: the
// broker decodes bodies with kmsg.
//
// # Framing (kafka-protocol.md §1)
//
// Request frame, all integers big-endian:
//
//	size int32                  bytes that follow; < 0 or > MaxRequestBytes closes the connection
//	api_key int16
//	api_version int16
//	correlation_id int32
//	client_id int16 len + bytes -1 = null; a classic string even in header v2
//	[tag section]               header v2 only (flexible versions): uvarint count,
//	                            then per tag uvarint tag, uvarint size, bytes
//	body ...                    Request.Body
//
// Response frame: size int32 (computed by netio from the parts), then the
// parts of Response in order. The handler writes the response header itself
// (Request.AppendResponseHeader): correlation_id, plus one 0x00 tag byte for
// flexible versions, except ApiVersions, whose response header is always v0.
//
// # Handler contract
//
// For one connection, Handler.Handle is called strictly in request arrival
// order, one call at a time: the next request of that connection is not
// handed over until Handle has returned. Handle returns a Reply:
//
//   - Respond(resp): the response is ready now.
//   - NoResponse(): nothing is sent (a Produce with acks=0).
//   - CloseConn(err): close the connection after the responses to earlier
//     requests have been written (Kafka's answer to an unknown key, an
//     unsupported version or an unparsable body).
//   - Defer(): returns a Reply and a *Pending the handler resolves later,
//     exactly once, from any goroutine (Pending.Respond, NoResponse, Close):
//     a produce waiting for fsync or replication, a fetch long-polling.
//
// While a reply is deferred, the connection's next requests are handled,
// but responses are always written in request order: a response that is
// ready waits for the ones before it. At most Config.MaxInFlight requests
// of one connection may await their response; beyond that netio stops
// reading from the socket (TCP backpressure, like Kafka's muting).
//
// Request buffers are pooled and recycled once the request's reply is
// resolved and written (or dropped because the connection died). A handler
// that keeps Request.Body or Request.Frame longer must call Request.Keep.
//
// # Responses and file regions
//
// A Response is an ordered list of byte chunks and file regions. Chunks go
// out with writev (net.Buffers). Regions go out with sendfile(2) at an
// explicit offset (never the file's shared offset, which concurrent fetches
// would race on), parking on the netpoller when the socket is full, never
// past the region's length. When Config.ZeroCopy is false, or sendfile is
// unavailable (EINVAL, ENOSYS, EOPNOTSUPP), regions are copied: pread into
// a pooled buffer, then write. FileRegion.Release is called once the region
// has been written or the connection has died.
//
// # Threads
//
// Go's netpoller does what Kafka's processor selectors do, so each
// connection has one reader and one writer goroutine. NetworkThreads is the
// number of accept loops per listener; IOThreads bounds how many Handle
// calls run at once across all connections (num.io.threads).
package netio
