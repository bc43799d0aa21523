namespace Streams.Actors.Domain;

/// <summary>
/// Every business failure a stream operation can end in. Actors reply with these; the Api maps
/// them to HTTP in exactly one place.
/// </summary>
public enum ErrorCode
{
    StreamNotFound,
    StreamGone,
    StreamSoftDeleted,
    StreamAlreadyExistsWithDifferentConfig,
    StreamClosed,
    ContentTypeMismatch,
    StreamSeqRegression,
    ProducerEpochStale,
    ProducerSeqGap,
    ProducerEpochRequiresSeqZero,
    InvalidJson,
    EmptyJsonArray,
    EmptyBody,
    InvalidHeader,
    InvalidOffset,
    OffsetInLostTail,
    PayloadTooLarge,
    Backpressure,
    Unavailable,
    Timeout,
    MethodNotAllowed,
    NotImplemented,
    InvalidStreamName,
    RouteNotFound,
}
