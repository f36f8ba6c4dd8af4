package engine

import "sync/atomic"

// mpscNode is embedded by queued items. next is owned by the queue.
type mpscNode[T any] struct {
	next *T
}

// linked is implemented by *T for queue items that embed mpscNode[T].
type linked[T any] interface {
	*T
	link() **T
}

// mpscQueue is a lock-free multi-producer single-consumer queue: producers
// push with a CAS onto a Treiber stack; the single consumer takes the whole
// stack with one atomic swap and reverses it to restore arrival order.
//
// There is no ABA hazard: nodes are only ever removed all at once by Swap,
// never popped one by one, so a producer's CAS can only fail because
// another push or a drain changed head, and it simply retries.
type mpscQueue[T any, P linked[T]] struct {
	head atomic.Pointer[T]
}

// push adds x and reports whether the queue was empty before, which tells
// the producer it must wake (or start) the consumer.
func (q *mpscQueue[T, P]) push(x P) (wasEmpty bool) {
	for {
		h := q.head.Load()
		*x.link() = h
		if q.head.CompareAndSwap(h, (*T)(x)) {
			return h == nil
		}
	}
}

// drain removes everything queued and returns it in push order, appended
// to buf[:0]. Consumer only.
func (q *mpscQueue[T, P]) drain(buf []P) []P {
	buf = buf[:0]
	h := q.head.Swap(nil)
	for h != nil {
		p := P(h)
		buf = append(buf, p)
		h = *p.link()
		*p.link() = nil
	}
	for i, j := 0, len(buf)-1; i < j; i, j = i+1, j-1 {
		buf[i], buf[j] = buf[j], buf[i]
	}
	return buf
}

// empty reports whether nothing is queued.
func (q *mpscQueue[T, P]) empty() bool { return q.head.Load() == nil }
