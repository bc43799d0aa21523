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

    /// <summary>The request itself is broken (a bad chunked encoding, a body shorter than its Content-Length).</summary>
    MalformedRequest,

    /// <summary>The client did not send the body it announced in time.</summary>
    RequestTimeout,

    /// <summary>
    /// The stream is moving to another node of the cluster (or this node no longer owns it): the
    /// request was not applied, and is retried against the stream's new owner.
    /// </summary>
    StreamMoving,

    /// <summary>A failure of the server's own; the details are in its log, never in the response.</summary>
    Internal,

    /// <summary>No credentials, or credentials the server does not know.</summary>
    Unauthorized,

    /// <summary>Known credentials that do not cover this operation or stream.</summary>
    Forbidden,

    /// <summary>A configured limit is reached (concurrent requests, parked readers, queued replies); retry later.</summary>
    Overloaded,
}
