using System.Security.Cryptography;
using System.Text;
using Avro;

namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>
/// Flume's Avro RPC protocol (<c>flume-ng-sdk/src/main/avro/flume.avdl</c>) and the Avro IPC handshake records, parsed
/// with Apache.Avro.
/// </summary>
/// <remarks>
/// <code>
/// @namespace("org.apache.flume.source.avro")
/// protocol AvroSourceProtocol {
///   enum Status { OK, FAILED, UNKNOWN }
///   record AvroFlumeEvent { map&lt;string&gt; headers; bytes body; }
///   Status append( AvroFlumeEvent event );
///   Status appendBatch( array&lt;AvroFlumeEvent&gt; events );
/// }
/// </code>
/// <para>A Java peer identifies its protocol by the MD5 of the protocol's JSON text as Java's <c>Protocol.toString()</c>
/// prints it. <see cref="Json"/> is that text, printed by Java Avro 1.8.2 (the Avro of Flume 1.9) from the IDL above
/// (<c>tests/Zooflow.Pipeline.Tests/Components/testdata/avro-rpc/GoldenFrames.java</c>), so a Flume client's first
/// handshake matches at once (<c>BOTH</c>) instead of costing a second round trip with the protocol text.</para>
/// </remarks>
public static class FlumeAvroProtocol
{
    /// <summary>The protocol JSON exactly as Java's <c>Protocol.toString()</c> prints it.</summary>
    public const string Json =
        """{"protocol":"AvroSourceProtocol","namespace":"org.apache.flume.source.avro","types":[{"type":"enum","name":"Status","symbols":["OK","FAILED","UNKNOWN"]},{"type":"record","name":"AvroFlumeEvent","fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}],"messages":{"append":{"request":[{"name":"event","type":"AvroFlumeEvent"}],"response":"Status"},"appendBatch":{"request":[{"name":"events","type":{"type":"array","items":"AvroFlumeEvent"}}],"response":"Status"}}}""";

    /// <summary><c>org.apache.avro.ipc.HandshakeRequest</c> (Avro specification, "Handshake").</summary>
    public const string HandshakeRequestJson =
        """{"type":"record","name":"HandshakeRequest","namespace":"org.apache.avro.ipc","fields":[{"name":"clientHash","type":{"type":"fixed","name":"MD5","size":16}},{"name":"clientProtocol","type":["null","string"]},{"name":"serverHash","type":"MD5"},{"name":"meta","type":["null",{"type":"map","values":"bytes"}]}]}""";

    /// <summary><c>org.apache.avro.ipc.HandshakeResponse</c> (Avro specification, "Handshake").</summary>
    public const string HandshakeResponseJson =
        """{"type":"record","name":"HandshakeResponse","namespace":"org.apache.avro.ipc","fields":[{"name":"match","type":{"type":"enum","name":"HandshakeMatch","symbols":["BOTH","CLIENT","NONE"]}},{"name":"serverProtocol","type":["null","string"]},{"name":"serverHash","type":["null",{"type":"fixed","name":"MD5","size":16}]},{"name":"meta","type":["null",{"type":"map","values":"bytes"}]}]}""";

    /// <summary>The <c>appendBatch</c> message name.</summary>
    public const string AppendBatch = "appendBatch";

    /// <summary>The <c>append</c> message name.</summary>
    public const string Append = "append";

    /// <summary>The parsed protocol (validates <see cref="Json"/> and gives the message schemas).</summary>
    public static readonly Protocol Protocol = Protocol.Parse(Json);

    /// <summary>The parsed handshake request record.</summary>
    public static readonly RecordSchema HandshakeRequestSchema = (RecordSchema)Schema.Parse(HandshakeRequestJson);

    /// <summary>The parsed handshake response record.</summary>
    public static readonly RecordSchema HandshakeResponseSchema = (RecordSchema)Schema.Parse(HandshakeResponseJson);

    private static readonly byte[] Md5Bytes = MD5.HashData(Encoding.UTF8.GetBytes(Json));

    /// <summary>MD5 of <see cref="Json"/>: the hash Flume's Java client and server send (<c>30da5405...2069</c>).</summary>
    public static ReadOnlySpan<byte> Md5 => Md5Bytes;

    /// <summary>The hash as a new array (for records that keep it).</summary>
    public static byte[] Md5Copy() => (byte[])Md5Bytes.Clone();
}

/// <summary>Flume's <c>Status</c> reply: the enum index on the wire.</summary>
public enum AvroStatus
{
    /// <summary>The batch was committed to the source's channels.</summary>
    Ok = 0,
    /// <summary>The source could not take the batch (e.g. channel full); the sender rolls back and retries.</summary>
    Failed = 1,
    /// <summary>Declared by the protocol, never sent by Flume.</summary>
    Unknown = 2,
}

/// <summary>Avro IPC <c>HandshakeMatch</c>: the enum index on the wire.</summary>
public enum HandshakeMatch
{
    /// <summary>Both hashes known: the call is processed.</summary>
    Both = 0,
    /// <summary>The client's protocol is known but its guess of the server hash was wrong; the call is processed and the
    /// server's protocol and hash are sent back.</summary>
    Client = 1,
    /// <summary>The client's protocol is unknown: the call is not processed; the client must resend with its protocol text.</summary>
    None = 2,
}
