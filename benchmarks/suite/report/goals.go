package report

import "fmt"

// Case ids the goals read. The suite must produce cases with these ids.
const (
	IDProduce1KiB = "size/1KiB/gregor"    // 1 KiB, acks=1, default flush, 1 producer
	IDConsume1MiB = "consume/1MiB/gregor" // page-cache consume of the 1 MiB topic
	IDProduce15MB = "size/15MB/gregor"
	IDFlushOne64  = "flush/1MiB/flush.messages=1/acks=1/p64"
	IDLatency50   = "latency/50%"
	IDIdle1000    = "rss/1000-idle"
	IDZKCreate32  = "zk/create/32/zkstore"
	IDZKSet32     = "zk/set/32/zkstore"
	IDZKGet32     = "zk/get/32/zkstore"
)

// Goal is one target of issue 8, evaluated against a run.
type Goal struct {
	Goal   string  `json:"goal"`
	Figure string  `json:"figure"` // the measured figure, formatted
	Ratio  float64 `json:"ratio"`  // the compared value (a ratio, or ms/MB for absolute goals)
	Target string  `json:"target"` // e.g. ">= 3x"
	// Status is "met", "not met" or "unavailable: why".
	Status string `json:"status"`
}

type goalSpec struct {
	goal, id, metric, ref string
	atLeast               bool
	bound                 float64
	unit                  string // for absolute goals: the figure is the bound's unit
}

var goalSpecs = []goalSpec{
	{"Produce 1 KiB, acks=1, default flush vs NATS JetStream (equal durability)", IDProduce1KiB, MMBps, RefNATS, true, 3, ""},
	{"Produce 1 KiB, acks=1, default flush vs loopback TCP", IDProduce1KiB, MMBps, LimitTCP, true, 0.30, ""},
	{"Consume from the page cache (1 MiB records) vs loopback TCP (sendfile)", IDConsume1MiB, MMBps, LimitTCPSendfile, true, 0.50, ""},
	{"Produce 15 MB records vs loopback TCP", IDProduce15MB, MMBps, LimitTCP, true, 0.40, ""},
	{"flush.messages=1, 64 producers (1 MiB) vs fio one fdatasync per MiB", IDFlushOne64, MMBps, LimitDiskFdatasync, true, 0.70, ""},
	{"End-to-end p99 at 50% of max throughput (1 KiB)", IDLatency50, MP99, "", false, 5, "ms"},
	{"zkstore create, 32 clients vs Apache ZooKeeper", IDZKCreate32, MOpsPerSec, RefZooKeeper, true, 2, ""},
	{"zkstore set, 32 clients vs Apache ZooKeeper", IDZKSet32, MOpsPerSec, RefZooKeeper, true, 2, ""},
	{"zkstore get, 32 clients vs Apache ZooKeeper", IDZKGet32, MOpsPerSec, RefZooKeeper, true, 1.5, ""},
	{"Broker RSS with 1,000 idle partitions", IDIdle1000, MRSSMB, "", false, 200, "MiB"},
}

// Goals evaluates every goal of issue 8 against r, in the order.
func Goals(r *Results) []Goal {
	out := make([]Goal, 0, len(goalSpecs))
	for _, s := range goalSpecs {
		g := Goal{Goal: s.goal}
		if s.atLeast {
			g.Target = fmt.Sprintf(">= %gx", s.bound)
		} else {
			g.Target = fmt.Sprintf("<= %g %s", s.bound, s.unit)
		}
		c := r.Case(s.id)
		switch {
		case c == nil:
			g.Status = "unavailable: not measured in this run"
		case c.Unavailable != "":
			g.Status = "unavailable: " + c.Unavailable
		case !c.Metrics[s.metric].Valid():
			g.Status = "unavailable: no successful run"
		default:
			st := c.Metrics[s.metric]
			g.Figure = FormatStat(st) + " " + unitOf(s.metric)
			if s.ref != "" {
				g.Ratio = c.Ratios[s.ref]
			} else {
				g.Ratio = st.Median
			}
			met := g.Ratio >= s.bound
			if !s.atLeast {
				met = g.Ratio <= s.bound
			}
			switch {
			case s.ref != "" && g.Ratio == 0:
				g.Status = "unavailable: no " + s.ref + " reference in this run"
			case met:
				g.Status = "met"
			default:
				g.Status = "not met"
			}
		}
		out = append(out, g)
	}
	return out
}

func unitOf(metric string) string {
	switch metric {
	case MMBps:
		return "MB/s"
	case MRecPerSec:
		return "rec/s"
	case MOpsPerSec:
		return "ops/s"
	case MRSSMB:
		return "MiB"
	case MP50, MP99, MP999, MRebalanceMs:
		return "ms"
	case MCPUPerGB:
		return "CPU-s/GB"
	}
	return ""
}
