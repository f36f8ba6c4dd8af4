package broker

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorlog/gregor/broker/config"
	"github.com/gregorlog/gregor/broker/zkmeta"
	"github.com/gregorlog/gregor/engine"
	"github.com/gregorlog/gregor/engine/batch"
)

// Broker-level sentinels for situations that have a Kafka code but no
// engine or zkmeta error.
var (
	errUnknownTopicOrPartition   = errors.New("broker: unknown topic or partition")
	errUnknownTopicID            = errors.New("broker: unknown topic id")
	errLeaderNotAvailable        = errors.New("broker: partition has no leader")
	errNotLeader                 = errors.New("broker: this broker does not lead the partition")
	errNotController             = errors.New("broker: this broker is not the controller")
	errInvalidPartitions         = errors.New("broker: invalid partitions")
	errInvalidReplicationFactor  = errors.New("broker: invalid replication factor")
	errInvalidReplicaAssignment  = errors.New("broker: invalid replica assignment")
	errTopicDeletionDisabled     = errors.New("broker: topic deletion is disabled (delete.topic.enable=false)")
	errInternalTopic             = errors.New("broker: cannot append to internal topic")
	errInvalidRequiredAcks       = errors.New("broker: acks must be -1, 0 or 1")
	errUnsupportedVersion        = errors.New("broker: unsupported version")
	errUnsupportedCompression    = errors.New("broker: zstd needs produce v7+")
	errCoordinator               = errors.New("broker: metadata inconsistency")
	errInvalidRequest            = errors.New("broker: invalid request")
	errInvalidRecord             = errors.New("broker: invalid record")
	errPolicyViolation           = errors.New("broker: policy violation")
	errDuplicateResource         = errors.New("broker: duplicate resource")
	errRequestTimedOut           = errors.New("broker: request timed out")
	errInvalidConfigBroker       = errors.New("broker: invalid config")
	errResourceNotFound          = errors.New("broker: resource not found")
	errTopicAuthorizationFailure = errors.New("broker: topic authorization failed")
)

// errorCode maps an error to its Kafka error code: the one place where
// Gregor's errors meet the wire (kafka-protocol.md §10). Order matters:
// batch.ErrInvalidRecord is checked before batch.ErrTruncated, because a
// truncated produce payload wraps both and Kafka answers INVALID_RECORD.
func errorCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errOutOfOrderSequence):
		return kerr.OutOfOrderSequenceNumber.Code
	case errors.Is(err, errInvalidEpoch):
		return kerr.InvalidProducerEpoch.Code
	case errors.Is(err, batch.ErrInvalidRecord), errors.Is(err, errInvalidRecord):
		return kerr.InvalidRecord.Code
	case errors.Is(err, batch.ErrTooLarge):
		return kerr.MessageTooLarge.Code
	case errors.Is(err, batch.ErrInvalidTimestamp):
		return kerr.InvalidTimestamp.Code
	case errors.Is(err, batch.ErrUnsupportedCodec), errors.Is(err, errUnsupportedCompression):
		return kerr.UnsupportedCompressionType.Code
	case errors.Is(err, batch.ErrCorrupt), errors.Is(err, batch.ErrTruncated), errors.Is(err, batch.ErrDecompressedTooLarge):
		return kerr.CorruptMessage.Code
	case errors.Is(err, engine.ErrOffsetOutOfRange):
		return kerr.OffsetOutOfRange.Code
	case errors.Is(err, engine.ErrOffline), errors.Is(err, engine.ErrNoOnlineDir), errors.Is(err, engine.ErrCorruptLog):
		return kerr.KafkaStorageError.Code
	case errors.Is(err, engine.ErrUnknownLog), errors.Is(err, engine.ErrClosed):
		return kerr.NotLeaderForPartition.Code
	case errors.Is(err, errUnknownTopicOrPartition), errors.Is(err, zkmeta.ErrNoTopic):
		return kerr.UnknownTopicOrPartition.Code
	case errors.Is(err, errUnknownTopicID):
		return kerr.UnknownTopicID.Code
	case errors.Is(err, errLeaderNotAvailable):
		return kerr.LeaderNotAvailable.Code
	case errors.Is(err, errNotLeader):
		return kerr.NotLeaderForPartition.Code
	case errors.Is(err, errNotController), errors.Is(err, zkmeta.ErrFenced):
		return kerr.NotController.Code
	case errors.Is(err, zkmeta.ErrTopicExists):
		return kerr.TopicAlreadyExists.Code
	case errors.Is(err, zkmeta.ErrInvalidTopic), errors.Is(err, errInternalTopic):
		return kerr.InvalidTopicException.Code
	case errors.Is(err, errInvalidPartitions):
		return kerr.InvalidPartitions.Code
	case errors.Is(err, errInvalidReplicationFactor):
		return kerr.InvalidReplicationFactor.Code
	case errors.Is(err, errInvalidReplicaAssignment), errors.Is(err, zkmeta.ErrInvalidAssignment):
		return kerr.InvalidReplicaAssignment.Code
	case errors.Is(err, zkmeta.ErrInvalidConfig), errors.Is(err, config.ErrInvalidValue), errors.Is(err, config.ErrUnknownKey),
		errors.Is(err, config.ErrNotDynamic), errors.Is(err, errInvalidConfigBroker):
		return kerr.InvalidConfig.Code
	case errors.Is(err, errTopicDeletionDisabled):
		return kerr.TopicDeletionDisabled.Code
	case errors.Is(err, errInvalidRequiredAcks):
		return kerr.InvalidRequiredAcks.Code
	case errors.Is(err, errUnsupportedVersion):
		return kerr.UnsupportedVersion.Code
	case errors.Is(err, errInvalidRequest):
		return kerr.InvalidRequest.Code
	case errors.Is(err, errPolicyViolation):
		return kerr.PolicyViolation.Code
	case errors.Is(err, errDuplicateResource):
		return kerr.DuplicateResource.Code
	case errors.Is(err, errResourceNotFound):
		return kerr.ResourceNotFound.Code
	case errors.Is(err, errTopicAuthorizationFailure):
		return kerr.TopicAuthorizationFailed.Code
	case errors.Is(err, errRequestTimedOut), errors.Is(err, context.DeadlineExceeded):
		return kerr.RequestTimedOut.Code
	}
	return kerr.UnknownServerError.Code
}

// errorMessage is the text for a response's error_message field (nil for
// success).
func errorMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
