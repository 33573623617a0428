namespace Zooflow.Jute;

/// <summary>
/// Malformed or truncated ZooKeeper wire data: a length or count that is negative, larger than the bytes that remain or
/// than jute.maxbuffer, a frame that ends early, or an operation type that cannot appear where it was found.
/// </summary>
/// <remarks>
/// The message names the field (<c>Record.field</c>), the byte offset within the decoded buffer and the bad value, e.g.
/// <c>CreateRequest.path: string length 70000000 at offset 8 exceeds remaining 12 bytes</c>. A server closes only the
/// connection that sent the data; nothing about the exception is specific to one session.
/// </remarks>
public sealed class ProtocolException : Exception
{
    /// <summary>Creates an exception with a message that already names field, offset and value.</summary>
    public ProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the exception that caused it.</summary>
    public ProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for <paramref name="field"/> at <paramref name="offset"/>.</summary>
    public ProtocolException(string field, long offset, string problem)
        : base($"{field}: {problem}")
    {
        Field = field;
        Offset = offset;
    }

    /// <summary>The field being decoded when the problem was found (<c>Record.field</c>), when known.</summary>
    public string? Field { get; }

    /// <summary>The byte offset (from the start of the decoded buffer) where the problem was found, or -1 when unknown.</summary>
    public long Offset { get; } = -1;
}
