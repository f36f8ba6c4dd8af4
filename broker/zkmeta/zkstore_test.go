package zkmeta_test

import (
	"net"
	"strings"
	"testing"

	"github.com/gregorlog/gregor/broker/zkmeta/zkmetatest"
	"github.com/gregorlog/gregor/zkstore"
	zkcfg "github.com/gregorlog/gregor/zkstore/config"
)

// TestAgainstZkstore runs the same behaviour suite against Gregor's own
// coordination service.
func TestAgainstZkstore(t *testing.T) {
	zkmetatest.Run(t, func(t *testing.T) string {
		cfg, _, err := zkcfg.Parse(strings.NewReader("tickTime=500\ndataDir=" + t.TempDir() +
			"\nclientPort=0\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n"))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := zkstore.NewServer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return srv.Addr().(*net.TCPAddr).String()
	})
}
