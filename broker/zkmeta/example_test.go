package zkmeta_test

import (
	"context"
	"log"

	"github.com/gregorlog/gregor/broker/config"
	"github.com/gregorlog/gregor/broker/zkmeta"
)

// A broker's start-up against ZooKeeper, in Kafka's order: connect (the
// chroot is created if missing), create the persistent paths, read or
// create the cluster id, register, campaign for controller and follow
// metadata changes.
func Example() {
	cfg, err := config.Parse("zookeeper.connect=127.0.0.1:2181/edge\nbroker.id=1", nil)
	if err != nil {
		log.Fatal(err) // names the key and the value
	}
	ctx := context.Background()
	zc, err := zkmeta.Connect(ctx, zkmeta.OptionsFromConfig(cfg))
	if err != nil {
		log.Fatal(err)
	}
	defer zc.Close()
	if err := zc.EnsurePaths(ctx); err != nil {
		log.Fatal(err)
	}
	clusterID, err := zc.ClusterID(ctx)
	if err != nil {
		log.Fatal(err)
	}
	epoch, err := zc.RegisterBroker(ctx, zkmeta.BrokerInfo{ID: cfg.BrokerID(), Endpoints: cfg.AdvertisedListeners(), Rack: cfg.String("broker.rack")})
	if err != nil {
		log.Fatal(err) // ErrBrokerIDClash: another live broker has this id
	}
	log.Printf("cluster %s, broker epoch %d", clusterID, epoch)

	events := zc.Watch(ctx)
	leadership := zc.Campaign(ctx, cfg.BrokerID())
	for {
		select {
		case l := <-leadership:
			if l.Self {
				// Controller writes carry l.Fence; a deposed controller's
				// writes fail with ErrFenced.
				_, err := zc.CreateTopic(ctx, l.Fence, zkmeta.TopicSpec{
					Name:       "events",
					Assignment: map[int32][]int32{0: {cfg.BrokerID()}},
					Configs:    map[string]string{"retention.ms": "86400000"},
				})
				log.Print(err)
			}
		case ev := <-events:
			log.Printf("%v %v %s", ev.Kind, ev.Names, ev.Name)
		}
	}
}
