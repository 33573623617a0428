namespace Zooflow.Pipeline.Abstractions;

/// <summary>
/// A Flume event: string headers and an opaque body. Immutable once handed to a channel; interceptors that change
/// headers return a new event (<see cref="WithHeader"/>) so a channel never sees a mutation after a put.
/// </summary>
public sealed class Event
{
    private static readonly IReadOnlyDictionary<string, string> NoHeaders = new Dictionary<string, string>(0);

    /// <summary>Creates an event; <paramref name="headers"/> is taken as is (callers must not mutate it afterwards).</summary>
    public Event(ReadOnlyMemory<byte> body, IReadOnlyDictionary<string, string>? headers = null)
    {
        Body = body;
        Headers = headers ?? NoHeaders;
    }

    /// <summary>The body bytes. Owned by the event; never pooled storage.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>Event headers (Flume's <c>Map&lt;String,String&gt;</c>).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>Returns a copy of this event with <paramref name="key"/> set to <paramref name="value"/>.</summary>
    public Event WithHeader(string key, string value)
    {
        var copy = new Dictionary<string, string>(Headers, StringComparer.Ordinal) { [key] = value };
        return new Event(Body, copy);
    }

    /// <summary>Returns a copy of this event with the given headers replacing the current ones.</summary>
    public Event WithHeaders(IReadOnlyDictionary<string, string> headers) => new(Body, headers);
}
