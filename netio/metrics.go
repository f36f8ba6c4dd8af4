package netio

import "sync/atomic"

// Metrics are the server's counters, updated atomically next to the code
// that does the work. Read them with Load.
type Metrics struct {
	Requests            atomic.Int64 // frames parsed and handed to the handler
	BytesIn             atomic.Int64 // request bytes read, size prefixes included
	BytesOut            atomic.Int64 // response bytes written, size prefixes included
	SendfileBytes       atomic.Int64 // file-region bytes sent with sendfile(2)
	CopyBytes           atomic.Int64 // file-region bytes sent through pread + write
	ConnectionsAccepted atomic.Int64
	ConnectionsRejected atomic.Int64 // closed at accept by MaxConnectionsPerIP
	ConnectionsActive   atomic.Int64
	InvalidFrames       atomic.Int64 // connections closed for a bad size or header
	IdleClosed          atomic.Int64 // connections closed by ConnectionsMaxIdle
}
