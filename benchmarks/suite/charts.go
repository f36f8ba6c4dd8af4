package main

import (
	"fmt"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/gregorlog/gregor/benchmarks/suite/report"
)

// chart is one PNG: grouped bars of one metric's medians (the ranges are
// in the tables), one group per label, one bar per series.
type chart struct {
	file, title, ylabel, metric string
	labels                      []string
	series                      []chartSeries
	limit                       string // a Results.Limits key drawn as a line, or ""
}

type chartSeries struct {
	label string
	ids   []string // case ids, one per label ("" or unknown: no bar)
}

// charts picks the run's charts from its sweeps.
func charts(res *report.Results) []chart {
	var out []chart
	var sizes, gIDs, nIDs, cIDs []string
	for _, c := range res.Sweep("size") {
		if c.Target == "gregor" {
			sz := c.Params["size"]
			sizes = append(sizes, sz)
			gIDs = append(gIDs, c.ID)
			nIDs = append(nIDs, "size/"+sz+"/nats")
			cIDs = append(cIDs, "consume/"+sz+"/gregor")
		}
	}
	if len(sizes) > 0 {
		out = append(out, chart{"sizes.png", "Produce (acks=1, default flush, 1 producer) and consume, by record size", "MB/s", report.MMBps, sizes,
			[]chartSeries{{"Gregor produce", gIDs}, {"NATS JetStream produce", nIDs}, {"Gregor consume", cIDs}}, report.LimitTCP})
	}
	var fl, fIDs []string
	for _, c := range res.Sweep("flush") {
		if c.Target == "gregor" && c.Params["acks"] == "1" {
			fl = append(fl, fmt.Sprintf("%s\n%s p%s", shortFlush(c.Params["flush"]), c.Params["size"], c.Params["producers"]))
			fIDs = append(fIDs, c.ID)
		}
	}
	if len(fl) > 0 {
		out = append(out, chart{"flush.png", "Produce by flush setting (acks=1)", "MB/s", report.MMBps, fl, []chartSeries{{"Gregor", fIDs}}, report.LimitDiskFdatasync})
	}
	var ll, p50, p99, p999 []string
	for _, c := range res.Sweep("latency") {
		ll = append(ll, c.Params["load"])
		p50, p99, p999 = append(p50, c.ID), append(p99, c.ID), append(p999, c.ID)
	}
	if len(ll) > 0 {
		out = append(out, chart{"latency-p99.png", "End-to-end p99 latency (1 KiB, acks=1) by load", "ms", report.MP99, ll, []chartSeries{{"Gregor p99", p99}}, ""})
	}
	var pl, pIDs []string
	for _, c := range res.Sweep("partitions") {
		pl = append(pl, c.Params["partitions"])
		pIDs = append(pIDs, c.ID)
	}
	if len(pl) > 0 {
		out = append(out, chart{"partitions-rss.png", "Broker VmRSS after each 8-producer run, and with 1,000 idle partitions", "MiB", report.MRSSMB, pl, []chartSeries{{"Gregor", pIDs}}, ""})
	}
	return out
}

// writeCharts draws the charts into dir and returns their file names.
func writeCharts(res *report.Results, dir string) ([]string, error) {
	var files []string
	for _, ch := range charts(res) {
		p := plot.New()
		p.Title.Text = ch.title
		p.Y.Label.Text = ch.ylabel
		w := vg.Points(float64(min(24, 60/max(1, len(ch.series)))))
		top := 0.0
		for i, se := range ch.series {
			vals := make(plotter.Values, len(se.ids))
			for j, id := range se.ids {
				if c := res.Case(id); c != nil {
					vals[j] = c.Metrics[ch.metric].Median
					top = max(top, vals[j])
				}
			}
			bars, err := plotter.NewBarChart(vals, w)
			if err != nil {
				return files, fmt.Errorf("%w: chart %s: %w", errSuite, ch.file, err)
			}
			bars.LineStyle.Width = 0
			bars.Color = plotutil.Color(i)
			bars.Offset = w * vg.Length(float64(i)-float64(len(ch.series)-1)/2)
			p.Add(bars)
			p.Legend.Add(se.label, bars)
		}
		if lim, ok := res.Limits[ch.limit]; ok && lim.Valid() {
			line, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: lim.Median}, {X: float64(len(ch.labels)) - 0.5, Y: lim.Median}})
			if err == nil {
				line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
				p.Add(line)
				p.Legend.Add(ch.limit+" limit (median)", line)
				top = max(top, lim.Median)
			}
		}
		// Headroom above the tallest bar for the legend.
		p.Y.Min, p.Y.Max = 0, top*1.45
		p.Legend.Top = true
		p.NominalX(ch.labels...)
		width := vg.Length(max(6, 1.3*float64(len(ch.labels)))) * vg.Inch
		if err := p.Save(width, 4*vg.Inch, filepath.Join(dir, ch.file)); err != nil {
			return files, fmt.Errorf("%w: chart %s: %w", errSuite, ch.file, err)
		}
		files = append(files, ch.file)
	}
	return files, nil
}

// shortFlush names a flush setting briefly enough for an axis label.
func shortFlush(name string) string {
	switch name {
	case "log.flush.interval.messages=10000":
		return "10000 msgs"
	case "log.flush.interval.ms=1000":
		return "1000 ms"
	case "flush.messages=1":
		return "every msg"
	}
	return name
}
