package zkref

import (
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

func TestStartServesClientsAndFourLetterWords(t *testing.T) {
	s := Start(t, Config{FourLetterWhitelist: "srvr,ruok"})
	c, _, err := zk.Connect([]string{s.Addr}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Create("/zkref", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	data, _, err := c.Get("/zkref")
	if err != nil || string(data) != "x" {
		t.Fatalf("get: %q %v", data, err)
	}
	out, err := s.FourLetter("ruok")
	if err != nil || out != "imok" {
		t.Fatalf("ruok: %q %v", out, err)
	}
	out, err = s.FourLetter("srvr")
	if err != nil || !strings.Contains(out, "Zookeeper version: 3.8") || !strings.Contains(out, "Mode: standalone") {
		t.Fatalf("srvr: %q %v", out, err)
	}
}
