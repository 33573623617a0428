using System.Text;
using System.Text.Json;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources.Syslog;

namespace Zooflow.Pipeline.Components.Sources.Http;

/// <summary>The client sent something the handler cannot turn into events (Flume's <c>HTTPBadRequestException</c>): HTTP 400.</summary>
public sealed class HttpBadRequestException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The request is larger than a configured limit: HTTP 413.</summary>
public sealed class HttpPayloadTooLargeException(string message) : Exception(message);

/// <summary>What a handler sees of one request: its body (already read in full, within the size limit), Content-Type
/// and query parameters (first value of each name).</summary>
public sealed record HttpSourceRequest(ReadOnlyMemory<byte> Body, string? ContentType, IReadOnlyDictionary<string, string> Parameters);

/// <summary>Flume's <c>HTTPSourceHandler</c>: turns one request into the events of one channel transaction.</summary>
public interface IHttpSourceHandler
{
    /// <summary>The events of <paramref name="request"/>; throws <see cref="HttpBadRequestException"/> (400) or
    /// <see cref="HttpPayloadTooLargeException"/> (413) for a request that can never succeed.</summary>
    IReadOnlyList<Event> GetEvents(HttpSourceRequest request);
}

/// <summary>
/// Flume's <c>org.apache.flume.source.http.JSONHandler</c>: the body is a JSON array of events, each an object with an
/// optional <c>headers</c> object (string values; numbers and booleans are taken as their text, as Gson does) and an
/// optional <c>body</c> string (encoded in the request's charset). Other members are ignored.
/// </summary>
/// <remarks>
/// <code>
/// body   := "[" [ event *( "," event ) ] "]"
/// event  := "{" ( "headers" : "{" *( name : scalar ) "}" | "body" : scalar | other : any ) ... "}"
/// </code>
/// <para>The charset comes from <c>Content-Type: application/json; charset=...</c>: UTF-8 (default), UTF-16 or UTF-32,
/// as in Flume; the body string is encoded with it the way Java's <c>String.getBytes</c> does (UTF-16 with a big-endian
/// byte order mark, UTF-32 big-endian). Anything that is not such an array is a 400 and no event of the request is put.
/// Differences: parsing is strict RFC 8259 (Gson is lenient: single quotes, unquoted names, comments); an empty body, a
/// null element or an unsupported charset is a 400 (Flume answers 500 after a NullPointerException or
/// UnsupportedCharsetException).</para>
/// </remarks>
public sealed class JsonHandler : IHttpSourceHandler
{
    /// <inheritdoc />
    public IReadOnlyList<Event> GetEvents(HttpSourceRequest request)
    {
        var charset = CharsetOf(request.ContentType) ?? "UTF-8";
        Encoding encoding;
        switch (charset.ToUpperInvariant())
        {
            case "UTF-8":
                encoding = new UTF8Encoding(false, true);
                break;
            case "UTF-16":
            case "UTF-32":
                Charsets.TryGet(charset, out encoding);
                break;
            default:
                throw new HttpBadRequestException($"Unsupported character set '{charset}' in the request: the JSON handler supports UTF-8, UTF-16 and UTF-32 only");
        }
        if (request.Body.IsEmpty)
        {
            throw new HttpBadRequestException("Request has an empty body; expected a JSON array of events");
        }
        try
        {
            using var document = encoding is UTF8Encoding
                ? JsonDocument.Parse(request.Body)
                : JsonDocument.Parse(encoding.GetString(request.Body.Span).TrimStart('\uFEFF'));
            return ToEvents(document.RootElement, charset.ToUpperInvariant());
        }
        catch (Exception ex) when (ex is JsonException or DecoderFallbackException or ArgumentException)
        {
            throw new HttpBadRequestException($"Request has invalid JSON Syntax: {ex.Message}", ex);
        }
    }

    private static List<Event> ToEvents(JsonElement root, string charset)
    {
        if (root.ValueKind != JsonValueKind.Array)
        {
            throw new HttpBadRequestException($"Request has invalid JSON Syntax: expected an array of events, found {root.ValueKind}");
        }
        var events = new List<Event>(root.GetArrayLength());
        var index = 0;
        foreach (var element in root.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                throw new HttpBadRequestException($"Request has invalid JSON Syntax: event {index} is {element.ValueKind}, expected an object with headers and body");
            }
            var headers = new Dictionary<string, string>(StringComparer.Ordinal);
            byte[] body = [];
            foreach (var member in element.EnumerateObject())
            {
                if (member.NameEquals("headers"))
                {
                    if (member.Value.ValueKind == JsonValueKind.Null)
                    {
                        continue;
                    }
                    if (member.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw new HttpBadRequestException($"Request has invalid JSON Syntax: headers of event {index} is {member.Value.ValueKind}, expected an object");
                    }
                    foreach (var header in member.Value.EnumerateObject())
                    {
                        if (Scalar(header.Value, $"header '{header.Name}' of event {index}") is { } value)
                        {
                            headers[header.Name] = value;
                        }
                    }
                }
                else if (member.NameEquals("body"))
                {
                    body = Scalar(member.Value, $"body of event {index}") is { } text ? Encode(text, charset) : [];
                }
            }
            events.Add(new Event(body, headers));
            index++;
        }
        return events;
    }

    /// <summary>A string, or the text of a number or boolean; null for JSON null; 400 for objects and arrays.</summary>
    private static string? Scalar(JsonElement value, string what) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Null => null,
        _ => throw new HttpBadRequestException($"Request has invalid JSON Syntax: {what} is {value.ValueKind}, expected a string"),
    };

    /// <summary>Java's <c>String.getBytes(charset)</c>.</summary>
    private static byte[] Encode(string text, string charset) => charset switch
    {
        "UTF-16" => [0xFE, 0xFF, .. Encoding.BigEndianUnicode.GetBytes(text)],
        "UTF-32" => new UTF32Encoding(bigEndian: true, byteOrderMark: false).GetBytes(text),
        _ => Encoding.UTF8.GetBytes(text),
    };

    /// <summary>The <c>charset</c> parameter of a Content-Type, unquoted, or null.</summary>
    internal static string? CharsetOf(string? contentType)
    {
        if (contentType is null)
        {
            return null;
        }
        foreach (var part in contentType.Split(';'))
        {
            var trimmed = part.Trim();
            if (trimmed.StartsWith("charset=", StringComparison.OrdinalIgnoreCase))
            {
                return trimmed["charset=".Length..].Trim().Trim('"');
            }
        }
        return null;
    }
}

/// <summary>
/// Flume's <c>org.apache.flume.source.http.BLOBHandler</c>: one event per request whose body is the request body and
/// whose headers are the query parameters. <c>handler.mandatoryParameters</c> (comma-separated) must all be present,
/// else 400.
/// </summary>
/// <remarks>Difference: Flume answers 500 for a missing parameter, and with the default empty mandatoryParameters it
/// demands a parameter named "" (so every request fails); Zooflow ignores empty names.</remarks>
public sealed class BlobHandler(IReadOnlyList<string> mandatoryParameters) : IHttpSourceHandler
{
    /// <inheritdoc />
    public IReadOnlyList<Event> GetEvents(HttpSourceRequest request)
    {
        foreach (var name in mandatoryParameters)
        {
            if (!request.Parameters.ContainsKey(name))
            {
                throw new HttpBadRequestException($"Please specify {name} parameter in the request.");
            }
        }
        var headers = new Dictionary<string, string>(request.Parameters, StringComparer.Ordinal);
        return [new Event(request.Body.ToArray(), headers)];
    }
}

/// <summary>
/// Flume's <c>org.apache.flume.sink.solr.morphline.BlobHandler</c>: like <see cref="BlobHandler"/> plus a
/// <c>Content-Type</c> header, and <c>handler.maxBlobLength</c> (default 100000000 bytes).
/// </summary>
/// <remarks>Difference: a longer body is refused with 413 instead of being silently truncated.</remarks>
public sealed class MorphlineBlobHandler(int maxBlobLength) : IHttpSourceHandler
{
    /// <summary>The largest body accepted.</summary>
    public int MaxBlobLength { get; } = maxBlobLength;

    /// <inheritdoc />
    public IReadOnlyList<Event> GetEvents(HttpSourceRequest request)
    {
        if (request.Body.Length > MaxBlobLength)
        {
            throw new HttpPayloadTooLargeException($"Request length {request.Body.Length} exceeds handler.maxBlobLength ({MaxBlobLength})");
        }
        var headers = new Dictionary<string, string>(request.Parameters, StringComparer.Ordinal);
        if (request.ContentType is not null)
        {
            headers["Content-Type"] = request.ContentType;
        }
        return [new Event(request.Body.ToArray(), headers)];
    }
}
