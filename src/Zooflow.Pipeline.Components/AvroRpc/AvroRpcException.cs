using System.Diagnostics.CodeAnalysis;

namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>
/// Malformed or refused Avro RPC input: the message names what was being read, at which byte offset of the connection's
/// (decompressed, decrypted) stream, and what was wrong. The connection that sent it is closed; nothing else is affected.
/// </summary>
public sealed class AvroRpcException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AvroRpcException(string field, long offset, string problem, Exception? inner = null)
        : base($"{field} at offset {offset}: {problem}", inner)
    {
        Field = field;
        Offset = offset;
        Problem = problem;
    }

    /// <summary>What was being read (e.g. <c>frame buffer count</c>, <c>AvroFlumeEvent.body length</c>).</summary>
    public string Field { get; }

    /// <summary>Byte offset in the connection's stream where the bad value starts.</summary>
    public long Offset { get; }

    /// <summary>What was wrong, with the bad value and what is allowed.</summary>
    public string Problem { get; }

    /// <summary>Throws a new <see cref="AvroRpcException"/>.</summary>
    [DoesNotReturn]
    public static void Throw(string field, long offset, string problem) => throw new AvroRpcException(field, offset, problem);
}
