using Avro;
using Avro.Generic;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>Which message a request calls.</summary>
public enum RpcMessage
{
    /// <summary><c>""</c>: a handshake-only ping (Avro <c>Requestor.getRemote</c>); answered with the handshake alone.</summary>
    Ping,
    /// <summary><c>append(AvroFlumeEvent)</c>.</summary>
    Append,
    /// <summary><c>appendBatch(array&lt;AvroFlumeEvent&gt;)</c>.</summary>
    AppendBatch,
    /// <summary>Any other name: answered with a system error, as Java's Responder does.</summary>
    Unknown,
}

/// <summary>A decoded <c>HandshakeRequest</c>; the hashes are 16 bytes.</summary>
public sealed record HandshakeRequest(byte[] ClientHash, string? ClientProtocol, byte[] ServerHash);

/// <summary>A decoded <c>HandshakeResponse</c>.</summary>
public sealed record HandshakeResponse(HandshakeMatch Match, string? ServerProtocol, byte[]? ServerHash);

/// <summary>
/// Encodes and decodes the payloads of Flume's Avro RPC (Avro specification, "Protocol Wire Format"; Java
/// <c>Requestor</c> / <c>Responder</c>), inside <see cref="NettyFrame"/> frames.
/// </summary>
/// <remarks>
/// <code>
/// request  := [HandshakeRequest]  callMeta:map&lt;bytes&gt;  messageName:string  parameters
///               (handshake only until the connection's handshake succeeded)
///             appendBatch parameters := array&lt;AvroFlumeEvent&gt;      append parameters := AvroFlumeEvent
///             AvroFlumeEvent := headers:map&lt;string&gt; body:bytes
/// response := [HandshakeResponse] callMeta:map&lt;bytes&gt; isError:boolean (Status:enum | error:union{string})
///             a NONE handshake or a ping is answered with the HandshakeResponse alone
/// </code>
/// <para>Frame layouts follow Java's, so replies are byte-identical to a Flume agent's: a request is two buffers
/// (handshake, metadata and name; then the parameters), a reply three (the handshake or nothing; the metadata; the error
/// flag and the value).</para>
/// <para>Handshake records are written with Apache.Avro's <see cref="GenericDatumWriter{T}"/> against the parsed schemas;
/// events with its <c>BinaryEncoder</c>. Decoding goes through <see cref="AvroPayloadReader"/>, which checks every length
/// against the payload before allocating.</para>
/// </remarks>
public static class AvroRpcCodec
{
    private const int Md5Bytes = 16;
    private static readonly GenericDatumWriter<GenericRecord> HandshakeRequestWriter = new(FlumeAvroProtocol.HandshakeRequestSchema);
    private static readonly GenericDatumWriter<GenericRecord> HandshakeResponseWriter = new(FlumeAvroProtocol.HandshakeResponseSchema);
    private static readonly FixedSchema Md5Schema = (FixedSchema)FlumeAvroProtocol.HandshakeRequestSchema["clientHash"].Schema;
    private static readonly EnumSchema MatchSchema = (EnumSchema)FlumeAvroProtocol.HandshakeResponseSchema["match"].Schema;

    // ---- server side ----------------------------------------------------------------------------------------------

    /// <summary>Reads a <c>HandshakeRequest</c>.</summary>
    internal static HandshakeRequest ReadHandshakeRequest(AvroPayloadReader reader)
    {
        var clientHash = new byte[Md5Bytes];
        reader.ReadFixed("HandshakeRequest.clientHash", clientHash);
        string? clientProtocol = null;
        var at = reader.Position;
        switch (reader.ReadLong("HandshakeRequest.clientProtocol union index"))
        {
            case 0:
                break;
            case 1:
                clientProtocol = reader.ReadString("HandshakeRequest.clientProtocol");
                break;
            case var other:
                throw reader.Error("HandshakeRequest.clientProtocol union index", at, $"{other} is not a branch of [null, string]");
        }
        var serverHash = new byte[Md5Bytes];
        reader.ReadFixed("HandshakeRequest.serverHash", serverHash);
        SkipOptionalMeta(reader, "HandshakeRequest.meta");
        return new HandshakeRequest(clientHash, clientProtocol, serverHash);
    }

    /// <summary>Reads the call metadata (ignored, as Flume ignores it) and the message name.</summary>
    internal static RpcMessage ReadCallHeader(AvroPayloadReader reader, out string? unknownName)
    {
        unknownName = null;
        reader.SkipBytesMap("call metadata");
        var name = reader.ReadStringBytes("message name");
        if (name.SequenceEqual("appendBatch"u8))
        {
            return RpcMessage.AppendBatch;
        }
        if (name.SequenceEqual("append"u8))
        {
            return RpcMessage.Append;
        }
        if (name.IsEmpty)
        {
            return RpcMessage.Ping;
        }
        unknownName = System.Text.Encoding.UTF8.GetString(name);
        return RpcMessage.Unknown;
    }

    /// <summary>Reads <c>appendBatch</c>'s array of events into <paramref name="events"/>. At most
    /// <paramref name="maxEvents"/> are accepted; bodies are copied into one array per batch.</summary>
    internal static void ReadAppendBatch(AvroPayloadReader reader, List<Event> events, int maxEvents)
    {
        var bodies = new BodyBlock(reader.Remaining);
        while (true)
        {
            var at = reader.Position;
            // An event is at least two bytes: an empty map (0) and an empty body (0).
            var count = reader.ReadBlockCount("appendBatch events count", 2);
            if (count == 0)
            {
                break;
            }
            if (events.Count + count > maxEvents)
            {
                throw reader.Error("appendBatch events count", at, $"{events.Count + count} events exceed the limit of {maxEvents} per batch");
            }
            for (var i = 0; i < count; i++)
            {
                events.Add(ReadEvent(reader, ref bodies));
            }
        }
        ExpectEnd(reader);
    }

    /// <summary>Reads <c>append</c>'s single event.</summary>
    internal static Event ReadAppend(AvroPayloadReader reader)
    {
        var bodies = new BodyBlock(reader.Remaining);
        var @event = ReadEvent(reader, ref bodies);
        ExpectEnd(reader);
        return @event;
    }

    /// <summary>A reply to a processed call, in Java's layout: [handshake or empty] [metadata] [false, status].</summary>
    internal static ReadOnlyMemory<byte> WriteStatusResponse(FrameWriter writer, int serial, HandshakeResponse? handshake, AvroStatus status)
    {
        BeginResponse(writer, serial, handshake);
        writer.Encoder.WriteBoolean(false);
        writer.Encoder.WriteEnum((int)status);
        return writer.Finish();
    }

    /// <summary>A system error reply (Java <c>Responder</c>: error flag, then the union <c>["string"]</c> branch 0).</summary>
    internal static ReadOnlyMemory<byte> WriteErrorResponse(FrameWriter writer, int serial, HandshakeResponse? handshake, string message)
    {
        BeginResponse(writer, serial, handshake);
        writer.Encoder.WriteBoolean(true);
        writer.Encoder.WriteUnionIndex(0);
        writer.WriteString(message);
        return writer.Finish();
    }

    /// <summary>A reply that is the handshake alone (match NONE, or a ping).</summary>
    internal static ReadOnlyMemory<byte> WriteHandshakeOnlyResponse(FrameWriter writer, int serial, HandshakeResponse handshake)
    {
        writer.Begin(serial);
        writer.NextBuffer();
        WriteHandshakeResponse(writer, handshake);
        return writer.Finish();
    }

    /// <summary>The first two buffers of a reply (the handshake or nothing; the empty metadata) and the start of the third.</summary>
    private static void BeginResponse(FrameWriter writer, int serial, HandshakeResponse? handshake)
    {
        writer.Begin(serial);
        writer.NextBuffer();
        if (handshake is not null)
        {
            WriteHandshakeResponse(writer, handshake);
        }
        writer.NextBuffer();
        writer.Encoder.WriteMapStart();
        writer.Encoder.WriteMapEnd();
        writer.NextBuffer();
    }

    private static void WriteHandshakeResponse(FrameWriter writer, HandshakeResponse handshake)
    {
        var record = new GenericRecord(FlumeAvroProtocol.HandshakeResponseSchema);
        record.Add("match", new GenericEnum(MatchSchema, MatchSchema.Symbols[(int)handshake.Match]));
        record.Add("serverProtocol", handshake.ServerProtocol);
        record.Add("serverHash", handshake.ServerHash is null ? null : new GenericFixed(Md5Schema, handshake.ServerHash));
        record.Add("meta", null);
        HandshakeResponseWriter.Write(record, writer.Encoder);
    }

    // ---- client side ----------------------------------------------------------------------------------------------

    /// <summary>An <c>appendBatch</c> request in Java's layout: [handshake?, metadata, name] [events].</summary>
    /// <param name="writer">Where the frame is built.</param>
    /// <param name="serial">The request id.</param>
    /// <param name="handshake">The handshake to prefix (first request of a connection), or null.</param>
    /// <param name="events">The events, in order.</param>
    internal static ReadOnlyMemory<byte> WriteAppendBatchRequest(FrameWriter writer, int serial, HandshakeRequest? handshake, IReadOnlyList<Event> events)
    {
        BeginRequest(writer, serial, handshake, FlumeAvroProtocol.AppendBatch);
        writer.NextBuffer();
        writer.Encoder.WriteArrayStart();
        writer.Encoder.SetItemCount(events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            writer.Encoder.StartItem();
            WriteEvent(writer, events[i]);
        }
        writer.Encoder.WriteArrayEnd();
        return writer.Finish();
    }

    /// <summary>An <c>append</c> request of one event.</summary>
    internal static ReadOnlyMemory<byte> WriteAppendRequest(FrameWriter writer, int serial, HandshakeRequest? handshake, Event @event)
    {
        BeginRequest(writer, serial, handshake, FlumeAvroProtocol.Append);
        writer.NextBuffer();
        WriteEvent(writer, @event);
        return writer.Finish();
    }

    /// <summary>A handshake-only ping (empty message name), as Avro's <c>Requestor.getRemote</c> sends.</summary>
    internal static ReadOnlyMemory<byte> WritePingRequest(FrameWriter writer, int serial, HandshakeRequest handshake)
    {
        BeginRequest(writer, serial, handshake, "");
        return writer.Finish();
    }

    /// <summary>The handshake Flume's client sends first: its hash as both hashes, no protocol text; with
    /// <paramref name="withProtocol"/> (after a NONE reply) the protocol text too.</summary>
    public static HandshakeRequest ClientHandshake(bool withProtocol) =>
        new(FlumeAvroProtocol.Md5Copy(), withProtocol ? FlumeAvroProtocol.Json : null, FlumeAvroProtocol.Md5Copy());

    /// <summary>Reads a <c>HandshakeResponse</c>.</summary>
    internal static HandshakeResponse ReadHandshakeResponse(AvroPayloadReader reader)
    {
        var at = reader.Position;
        var match = reader.ReadInt("HandshakeResponse.match", 0, 2);
        string? serverProtocol = null;
        at = reader.Position;
        switch (reader.ReadLong("HandshakeResponse.serverProtocol union index"))
        {
            case 0:
                break;
            case 1:
                serverProtocol = reader.ReadString("HandshakeResponse.serverProtocol");
                break;
            case var other:
                throw reader.Error("HandshakeResponse.serverProtocol union index", at, $"{other} is not a branch of [null, string]");
        }
        byte[]? serverHash = null;
        at = reader.Position;
        switch (reader.ReadLong("HandshakeResponse.serverHash union index"))
        {
            case 0:
                break;
            case 1:
                serverHash = new byte[Md5Bytes];
                reader.ReadFixed("HandshakeResponse.serverHash", serverHash);
                break;
            case var other:
                throw reader.Error("HandshakeResponse.serverHash union index", at, $"{other} is not a branch of [null, MD5]");
        }
        SkipOptionalMeta(reader, "HandshakeResponse.meta");
        return new HandshakeResponse((HandshakeMatch)match, serverProtocol, serverHash);
    }

    /// <summary>Reads the rest of a reply after any handshake: the status, or the error text of a system error.</summary>
    internal static AvroStatus ReadCallResponse(AvroPayloadReader reader, out string? error)
    {
        error = null;
        reader.SkipBytesMap("response metadata");
        if (reader.ReadBoolean("response error flag"))
        {
            var at = reader.Position;
            var branch = reader.ReadLong("response error union index");
            error = branch == 0
                ? reader.ReadString("response error message")
                : throw reader.Error("response error union index", at, $"{branch} is not a branch of [string]");
            return AvroStatus.Failed;
        }
        var status = (AvroStatus)reader.ReadInt("response Status", 0, 2);
        ExpectEnd(reader);
        return status;
    }

    private static void BeginRequest(FrameWriter writer, int serial, HandshakeRequest? handshake, string messageName)
    {
        writer.Begin(serial);
        writer.NextBuffer();
        if (handshake is not null)
        {
            var record = new GenericRecord(FlumeAvroProtocol.HandshakeRequestSchema);
            record.Add("clientHash", new GenericFixed(Md5Schema, handshake.ClientHash));
            record.Add("clientProtocol", handshake.ClientProtocol);
            record.Add("serverHash", new GenericFixed(Md5Schema, handshake.ServerHash));
            record.Add("meta", null);
            HandshakeRequestWriter.Write(record, writer.Encoder);
        }
        writer.Encoder.WriteMapStart();
        writer.Encoder.WriteMapEnd();
        writer.WriteString(messageName);
    }

    private static void WriteEvent(FrameWriter writer, Event @event)
    {
        var headers = @event.Headers;
        writer.Encoder.WriteMapStart();
        writer.Encoder.SetItemCount(headers.Count);
        if (headers is Dictionary<string, string> dictionary)
        {
            // The struct enumerator: no boxed enumerator per event.
            foreach (var (key, value) in dictionary)
            {
                writer.Encoder.StartItem();
                writer.WriteString(key);
                writer.WriteString(value);
            }
        }
        else if (headers.Count > 0)
        {
            foreach (var (key, value) in headers)
            {
                writer.Encoder.StartItem();
                writer.WriteString(key);
                writer.WriteString(value);
            }
        }
        writer.Encoder.WriteMapEnd();
        writer.WriteBytes(@event.Body.Span);
    }

    private static Event ReadEvent(AvroPayloadReader reader, ref BodyBlock bodies)
    {
        Dictionary<string, string>? headers = null;
        while (true)
        {
            // A header entry is at least two bytes (empty key, empty value).
            var count = reader.ReadBlockCount("AvroFlumeEvent.headers count", 2);
            if (count == 0)
            {
                break;
            }
            headers ??= new Dictionary<string, string>(count, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var key = reader.ReadString("AvroFlumeEvent.headers key");
                headers[key] = reader.ReadString("AvroFlumeEvent.headers value");
            }
        }
        var start = reader.ReadBytesSpan("AvroFlumeEvent.body length", out var length);
        return new Event(bodies.Copy(reader.Buffer.AsSpan(start, length)), headers);
    }

    private static void SkipOptionalMeta(AvroPayloadReader reader, string field)
    {
        var at = reader.Position;
        switch (reader.ReadLong(field + " union index"))
        {
            case 0:
                return;
            case 1:
                reader.SkipBytesMap(field);
                return;
            case var other:
                throw reader.Error(field + " union index", at, $"{other} is not a branch of [null, map<bytes>]");
        }
    }

    private static void ExpectEnd(AvroPayloadReader reader)
    {
        if (reader.Remaining != 0)
        {
            throw reader.Error("end of call", reader.Position, $"{reader.Remaining} bytes follow the parameters");
        }
    }

    /// <summary>
    /// Event bodies of one batch share arrays of up to <see cref="ChunkBytes"/> (each body is a slice of one), so a batch
    /// costs a few small allocations instead of one per event, and none lands on the large object heap (arrays of
    /// 85,000 bytes or more go there and are only reclaimed by full collections). A body larger than a chunk gets its own
    /// array.
    /// </summary>
    private struct BodyBlock(int remaining)
    {
        private const int ChunkBytes = 64 * 1024;
        private int _remaining = remaining;
        private byte[] _chunk = [];
        private int _used;

        public ReadOnlyMemory<byte> Copy(ReadOnlySpan<byte> body)
        {
            if (body.IsEmpty)
            {
                return ReadOnlyMemory<byte>.Empty;
            }
            _remaining -= body.Length;
            if (body.Length > ChunkBytes)
            {
                return body.ToArray();
            }
            if (_chunk.Length - _used < body.Length)
            {
                // The payload left bounds what the rest of the batch can need.
                _chunk = new byte[Math.Min(ChunkBytes, Math.Max(body.Length, _remaining + body.Length))];
                _used = 0;
            }
            body.CopyTo(_chunk.AsSpan(_used));
            var memory = new ReadOnlyMemory<byte>(_chunk, _used, body.Length);
            _used += body.Length;
            return memory;
        }
    }
}
