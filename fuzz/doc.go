// Package fuzz holds the cross-package robustness tests of issue 9: the
// hostile-client tests that attack a running zkstore server and a running
// Kafka listener (netio, and the broker once it serves) on loopback, and
// the seed corpora of Kafka request frames captured from real clients.
//
// The package has no API; everything is in its tests. Fuzz targets live
// beside the decoders they test (see README.md for the full list and how to
// run them for hours).
package fuzz
