using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using Minio;
using Minio.DataModel.Args;
using Minio.Exceptions;

namespace Streams.Actors.ObjectStore;

/// <summary>
/// An <see cref="IObjectStore"/> on an S3-compatible bucket through the Minio 7.0.0 SDK.
/// </summary>
/// <remarks>
/// Works around three defects of that SDK version (see docs/object-store.md):
/// <list type="bullet">
/// <item>A ranged GetObject fails with PartialContentException on the 206 reply, so objects are
/// always fetched whole.</item>
/// <item>PutObject sends If-None-Match / If-Match as user metadata, so it cannot make a conditional
/// write; and GetObject stats the object (after checking the bucket) before every read, three
/// requests where one will do. Conditional puts and gets therefore bypass the SDK's request path:
/// the SDK only presigns the URL (locally, no request), and <see cref="HttpClient"/> sends it with
/// the condition header (docs/adr/0010-s3-requests-presigned-through-httpclient.md).</item>
/// <item>A body can end short; the bytes received are compared with the reply's Content-Length
/// and a mismatch throws.</item>
/// </list>
/// Request cost, for whoever budgets round trips: Get, GetVersioned, PutIfVersion, Put, Delete and a
/// list page are one request each; Head is two (the SDK checks that the bucket exists first).
/// </remarks>
public sealed class S3ObjectStore : IObjectStore, IDisposable
{
    private const string ContentType = "application/octet-stream";

    // S3 serves listings 1000 keys at a time; a larger maxKeys must not pre-allocate more.
    private const int MaxInitialPageCapacity = 1000;

    // A presigned URL is sent the moment it is made; the validity only has to cover the request
    // itself (a slow body included), not any storage of the URL.
    private const int PresignedUrlLifetimeSeconds = 15 * 60;

    private static readonly MediaTypeHeaderValue OctetStream = new(ContentType);

    private readonly IMinioClient _client;
    private readonly string _bucket;
    private readonly string _region;
    private readonly string _keyPrefix;
    private readonly string _accessKey;
    private readonly string _secretKey;
    private readonly S3ListingCursors _cursors;
    private readonly HttpClient _http;

    public S3ObjectStore(S3ObjectStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var endpoint = ParseEndpoint(options.Endpoint);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Bucket, $"{nameof(options)}.{nameof(options.Bucket)}");
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Region, $"{nameof(options)}.{nameof(options.Region)}");
        ArgumentException.ThrowIfNullOrEmpty(options.AccessKey, $"{nameof(options)}.{nameof(options.AccessKey)}");
        ArgumentException.ThrowIfNullOrEmpty(options.SecretKey, $"{nameof(options)}.{nameof(options.SecretKey)}");
        if (!options.UsePathStyle)
        {
            throw new ArgumentException(
                "UsePathStyle=false is not supported: the Minio 7.0.0 SDK always addresses the bucket in the path. "
                + "S3, R2, MinIO and Ceph RGW all accept path-style requests.",
                nameof(options));
        }

        _bucket = options.Bucket;
        _region = options.Region;
        _keyPrefix = NormalizeKeyPrefix(options.KeyPrefix);
        _accessKey = options.AccessKey;
        _secretKey = options.SecretKey;
        _cursors = new S3ListingCursors(TimeProvider.System);
        _client = new MinioClient()
            .WithEndpoint(endpoint.Host, endpoint.Port)
            .WithSSL(endpoint.Scheme == Uri.UriSchemeHttps)
            .WithRegion(options.Region)
            .WithCredentials(options.AccessKey, options.SecretKey)
            .Build();
        // Presigned requests need no handler of their own: the signature is in the URL. The
        // caller's token bounds every request, so the client imposes no timeout of its own.
        _http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
    }

    public string Bucket => _bucket;

    /// <summary>The normalized key prefix: empty, or ending in '/'.</summary>
    public string KeyPrefix => _keyPrefix;

    /// <summary>Listings kept open for the next page (see <see cref="S3ListingCursors"/>).</summary>
    internal int ParkedListingCount => _cursors.ParkedCount;

    /// <summary>Creates the bucket unless it exists. The host calls this once at start-up.</summary>
    public async Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await BucketExistsAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            // The location must be passed explicitly: without it the SDK resets the client's
            // signing region to us-east-1 as a side effect.
            await _client.MakeBucketAsync(new MakeBucketArgs().WithBucket(_bucket).WithLocation(_region), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception exception) when (IsFailure(exception, cancellationToken))
        {
            // Another node may have created it between our check and our create.
            if (await BucketExistsQuietlyAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            throw Failure($"create bucket '{_bucket}'", exception);
        }
    }

    public async Task PutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var objectName = ObjectName(key);
        using var body = AsStream(content);
        // No If-None-Match / If-Match here, ever: this SDK version would store them as metadata
        // and the write would not be conditional (see the class remarks).
        var args = new PutObjectArgs()
            .WithBucket(_bucket)
            .WithObject(objectName)
            .WithStreamData(body)
            .WithObjectSize(content.Length)
            .WithContentType(ContentType);
        try
        {
            await _client.PutObjectAsync(args, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (IsFailure(exception, cancellationToken))
        {
            throw Failure($"put '{key}'", exception);
        }
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken) =>
        (await GetWithETagAsync(key, cancellationToken).ConfigureAwait(false))?.Content;

    public async Task<VersionedObject?> GetVersionedAsync(string key, CancellationToken cancellationToken) =>
        await GetWithETagAsync(key, cancellationToken).ConfigureAwait(false) is { } read
            ? new VersionedObject(read.Content, read.ETag ?? throw new ObjectStoreException($"S3 get '{key}' got no ETag; a versioned read needs one."))
            : null;

    private async Task<(byte[] Content, string? ETag)?> GetWithETagAsync(string key, CancellationToken cancellationToken)
    {
        var objectName = ObjectName(key);
        try
        {
            // Never a Range header: segments are fetched whole and sliced locally.
            var url = await _client.PresignedGetObjectAsync(
                new PresignedGetObjectArgs().WithBucket(_bucket).WithObject(objectName).WithExpiry(PresignedUrlLifetimeSeconds)).ConfigureAwait(false);
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound && !await IsMissingBucketAsync(response, cancellationToken).ConfigureAwait(false))
            {
                return null;
            }

            await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
            var content = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            // The length check the SDK's stat used to feed: a body that ends early must never be
            // taken for the object (a short segment would fail its checksum, a short manifest its parse).
            if (response.Content.Headers.ContentLength is { } declared)
            {
                EnsureCompleteBody(key, declared, content.Length);
            }

            return (content, response.Headers.TryGetValues("ETag", out var etags) ? etags.FirstOrDefault() : null);
        }
        catch (Exception exception) when (IsFailure(exception, cancellationToken))
        {
            throw Failure($"get '{key}'", exception);
        }
    }

    public async Task<string?> PutIfVersionAsync(string key, ReadOnlyMemory<byte> content, string? expectedVersion, CancellationToken cancellationToken)
    {
        var objectName = ObjectName(key);
        try
        {
            var url = await _client.PresignedPutObjectAsync(
                new PresignedPutObjectArgs().WithBucket(_bucket).WithObject(objectName).WithExpiry(PresignedUrlLifetimeSeconds)).ConfigureAwait(false);
            using var request = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ReadOnlyMemoryContent(content) };
            request.Content.Headers.ContentType = OctetStream;
            // The condition travels as a real request header (not signed: a presigned URL signs only
            // the host, and S3, R2, MinIO and Ceph RGW accept further headers on it).
            if (expectedVersion is null)
            {
                request.Headers.TryAddWithoutValidation("If-None-Match", "*");
            }
            else
            {
                // Without the quotes: Ceph RGW 16 compares the bare hex and answers 412 to the quoted
                // ETag; S3 and MinIO strip the quotes before comparing, so the bare form suits all.
                request.Headers.TryAddWithoutValidation("If-Match", expectedVersion.Trim('"'));
            }

            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            // 412: the object has another version (or exists, for If-None-Match). AWS answers an
            // If-Match on a missing object with 404, which means the same: the expected version is gone.
            if (response.StatusCode == HttpStatusCode.PreconditionFailed
                || (response.StatusCode == HttpStatusCode.NotFound && expectedVersion is not null
                    && !await IsMissingBucketAsync(response, cancellationToken).ConfigureAwait(false)))
            {
                return null;
            }

            await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
            return VersionFrom(response, key);
        }
        catch (Exception exception) when (IsFailure(exception, cancellationToken))
        {
            throw Failure($"conditional put '{key}'", exception);
        }
    }

    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        var objectName = ObjectName(key);
        try
        {
            var stat = await _client.StatObjectAsync(new StatObjectArgs().WithBucket(_bucket).WithObject(objectName), cancellationToken)
                .ConfigureAwait(false);
            return new ObjectInfo(key, stat.Size);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
        catch (Exception exception) when (IsFailure(exception, cancellationToken))
        {
            throw Failure($"head '{key}'", exception);
        }
    }

    public async Task<ObjectListPage> ListAsync(string prefix, string? continuationToken, int maxKeys, CancellationToken cancellationToken)
    {
        ObjectKeyRules.ValidatePrefix(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxKeys, 1);
        var fullPrefix = _keyPrefix + prefix;
        var cursor = (continuationToken is null ? null : _cursors.TryResume(fullPrefix, continuationToken))
            ?? new S3ListingCursor(token => _client.ListObjectsEnumAsync(
                new ListObjectsArgs().WithBucket(_bucket).WithPrefix(fullPrefix).WithRecursive(true),
                token));

        var objects = new List<ObjectInfo>(Math.Min(maxKeys, MaxInitialPageCapacity));
        var hasMore = false;
        try
        {
            while (await cursor.NextAsync(cancellationToken).ConfigureAwait(false) is { } item)
            {
                var key = item.Key[_keyPrefix.Length..];
                // A fresh listing starts at the beginning of the prefix; everything up to the
                // token was returned by earlier pages.
                if (item.IsDir || (continuationToken is not null && ObjectKeyRules.CompareKeys(key, continuationToken) <= 0))
                {
                    continue;
                }

                if (objects.Count == maxKeys)
                {
                    cursor.PushBack(item);
                    hasMore = true;
                    break;
                }

                objects.Add(new ObjectInfo(key, checked((long)item.Size)));
            }
        }
        catch (Exception exception)
        {
            cursor.Abandon();
            if (IsFailure(exception, cancellationToken))
            {
                throw Failure($"list '{prefix}'", exception);
            }

            throw;
        }

        if (!hasMore)
        {
            cursor.Abandon();
            return new ObjectListPage(objects, null);
        }

        var lastKey = objects[^1].Key;
        _cursors.Park(fullPrefix, lastKey, cursor);
        return new ObjectListPage(objects, lastKey);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var objectName = ObjectName(key);
        try
        {
            await _client.RemoveObjectAsync(new RemoveObjectArgs().WithBucket(_bucket).WithObject(objectName), cancellationToken)
                .ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            // Deleting a missing object is not an error (S3 itself answers 204 for it).
        }
        catch (Exception exception) when (IsFailure(exception, cancellationToken))
        {
            throw Failure($"delete '{key}'", exception);
        }
    }

    public void Dispose()
    {
        _cursors.AbandonAll();
        _client.Dispose();
        _http.Dispose();
    }

    private static string VersionFrom(HttpResponseMessage response, string key) =>
        response.Headers.TryGetValues("ETag", out var values) && values.FirstOrDefault() is { Length: > 0 } etag
            ? etag
            : throw new ObjectStoreException($"S3 reply for '{key}' carries no ETag; conditional writes need one.");

    private static async Task<bool> IsMissingBucketAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        (await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).Contains("<Code>NoSuchBucket</Code>", StringComparison.Ordinal);

    /// <summary>Throws for any reply but 2xx, with the S3 error code (never the presigned URL, which holds the access key).</summary>
    private async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (body.Contains("<Code>NoSuchBucket</Code>", StringComparison.Ordinal))
        {
            throw new HttpRequestException($"bucket '{_bucket}' does not exist (EnsureBucketAsync creates it)", null, response.StatusCode);
        }

        // Wrapped by Failure, which names the operation and redacts.
        throw new HttpRequestException($"S3 answered {(int)response.StatusCode} {response.ReasonPhrase}: {ErrorCodeOf(body)}", null, response.StatusCode);
    }

    private static string ErrorCodeOf(string errorDocument)
    {
        const string open = "<Code>";
        var start = errorDocument.IndexOf(open, StringComparison.Ordinal);
        var end = start < 0 ? -1 : errorDocument.IndexOf("</Code>", start, StringComparison.Ordinal);
        return end < 0 ? "(no error code)" : errorDocument[(start + open.Length)..end];
    }

    /// <summary>
    /// Throws unless the body received is exactly as long as the object. Needed because this
    /// SDK version can hand over a truncated body without reporting an error.
    /// </summary>
    internal static void EnsureCompleteBody(string key, long expectedLength, long receivedLength)
    {
        if (receivedLength != expectedLength)
        {
            throw new ObjectStoreException(
                $"S3 get '{key}' received {receivedLength} bytes but the object is {expectedLength} bytes long "
                + "(connection ended early, or the object was replaced between the size check and the read).");
        }
    }

    internal static string NormalizeKeyPrefix(string? keyPrefix)
    {
        var trimmed = (keyPrefix ?? "").Trim(ObjectKeyRules.Separator);
        if (trimmed.Length == 0)
        {
            return "";
        }

        var normalized = trimmed + ObjectKeyRules.Separator;
        ObjectKeyRules.ValidatePrefix(normalized, nameof(S3ObjectStoreOptions.KeyPrefix));
        return normalized;
    }

    private static Uri ParseEndpoint(string endpoint)
    {
        const string parameterName = $"options.{nameof(S3ObjectStoreOptions.Endpoint)}";
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"S3 endpoint {Describe(endpoint)} must be an absolute http:// or https:// URL.", parameterName);
        }

        if (uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            throw new ArgumentException(
                $"S3 endpoint {Describe(endpoint)} must be scheme, host and port only: no path, query or user info "
                + "(credentials go in AccessKey and SecretKey).",
                parameterName);
        }

        return uri;
    }

    // An endpoint written as user:password@host would put a secret into the message.
    private static string Describe(string? endpoint) =>
        endpoint is null ? "(null)"
        : endpoint.Contains('@', StringComparison.Ordinal) ? "(withheld: it contains user info)"
        : $"\"{endpoint}\"";

    private static MemoryStream AsStream(ReadOnlyMemory<byte> content) =>
        MemoryMarshal.TryGetArray(content, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);

    // Cancellation the caller asked for propagates unchanged; anything else is a store failure.
    private static bool IsFailure(Exception exception, CancellationToken cancellationToken) =>
        exception is not ObjectStoreException
        && !(exception is OperationCanceledException && cancellationToken.IsCancellationRequested);

    private string ObjectName(string key)
    {
        ObjectKeyRules.ValidateKey(key);
        return _keyPrefix + key;
    }

    private async Task<bool> BucketExistsAsync(CancellationToken cancellationToken) =>
        await _client.BucketExistsAsync(new BucketExistsArgs().WithBucket(_bucket), cancellationToken).ConfigureAwait(false);

    private async Task<bool> BucketExistsQuietlyAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await BucketExistsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (IsFailure(exception, cancellationToken))
        {
            return false;
        }
    }

    /// <summary>
    /// Wraps an SDK failure. The SDK's messages can quote the server's error document, which for
    /// a signature mismatch names the access key; credentials are masked in the message, and an
    /// inner exception that mentions them is left out rather than passed on to be logged.
    /// </summary>
    private ObjectStoreException Failure(string operation, Exception exception)
    {
        var detail = exception is BucketNotFoundException
            ? $"bucket '{_bucket}' does not exist (EnsureBucketAsync creates it)"
            : $"{exception.GetType().Name}: {exception.Message}";
        var message = Redact($"S3 {operation} in bucket '{_bucket}' failed: {detail}");
        return new ObjectStoreException(message, MentionsCredentials(exception) ? null : exception);
    }

    private string Redact(string text) =>
        text.Replace(_secretKey, "[secret key]", StringComparison.Ordinal)
            .Replace(_accessKey, "[access key]", StringComparison.Ordinal);

    private bool MentionsCredentials(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            var text = current is MinioException minio ? current.Message + minio.ServerMessage + minio.XmlError : current.Message;
            if (text.Contains(_accessKey, StringComparison.Ordinal) || text.Contains(_secretKey, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
