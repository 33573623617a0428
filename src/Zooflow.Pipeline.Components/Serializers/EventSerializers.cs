using Avro;
using Avro.File;
using Avro.Generic;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.Serializers;

/// <summary>
/// Writes events to an output stream in one file format (Flume's <c>EventSerializer</c>). Lifecycle per file:
/// <see cref="AfterCreate"/>, any number of <see cref="Write"/>, <see cref="Flush"/> at the end of each batch (the
/// bytes must then be in the stream, i.e. handed to the OS by the stream's own flush), <see cref="BeforeClose"/>.
/// </summary>
/// <remarks>Not thread-safe: one sink writes one file at a time.</remarks>
internal interface IEventSerializer
{
    /// <summary>Writes a file header, if the format has one.</summary>
    void AfterCreate();

    /// <summary>Appends one event.</summary>
    void Write(Event @event);

    /// <summary>Pushes everything written so far into the stream.</summary>
    void Flush();

    /// <summary>Writes a trailer, if the format has one (the stream is closed by the caller).</summary>
    void BeforeClose();
}

/// <summary>
/// The serializers of <c>sink.serializer</c> (Flume's <c>EventSerializerType</c>, case-insensitive, or the Builder class
/// names): <c>TEXT</c> (default), <c>HEADER_AND_TEXT</c>, <c>AVRO_EVENT</c>; their options come from
/// <c>sink.serializer.*</c>.
/// </summary>
internal sealed class EventSerializerFactory
{
    private readonly Func<Stream, IEventSerializer> _create;

    private EventSerializerFactory(string name, Func<Stream, IEventSerializer> create, bool appendsNewline = false)
    {
        Name = name;
        _create = create;
        AppendsNewline = appendsNewline;
    }

    /// <summary>True for the text serializers with appendNewline: every event ends with <c>\n</c>.</summary>
    public bool AppendsNewline { get; }

    /// <summary>The canonical name: text, header_and_text or avro_event.</summary>
    public string Name { get; }

    /// <summary>A serializer writing to <paramref name="stream"/>.</summary>
    public IEventSerializer Create(Stream stream) => _create(stream);

    /// <summary>
    /// Reads <c>&lt;key&gt;</c> and <c>&lt;key&gt;.*</c> from the context (e.g. <c>sink.serializer</c>), recording
    /// errors there.
    /// </summary>
    public static EventSerializerFactory FromContext(ComponentContext context, string key)
    {
        var type = context.GetString(key, "TEXT")!.Trim();
        var appendNewlineKey = key + ".appendNewline";
        switch (type.ToUpperInvariant())
        {
            case "TEXT":
            case "ORG.APACHE.FLUME.SERIALIZATION.BODYTEXTEVENTSERIALIZER$BUILDER":
            {
                var appendNewline = context.GetBool(appendNewlineKey, true);
                return new EventSerializerFactory("text", stream => new BodyTextSerializer(stream, appendNewline), appendNewline);
            }
            case "HEADER_AND_TEXT":
            case "ORG.APACHE.FLUME.SERIALIZATION.HEADERANDBODYTEXTEVENTSERIALIZER$BUILDER":
            {
                var appendNewline = context.GetBool(appendNewlineKey, true);
                return new EventSerializerFactory("header_and_text", stream => new HeaderAndBodyTextSerializer(stream, appendNewline), appendNewline);
            }
            case "AVRO_EVENT":
            case "ORG.APACHE.FLUME.SERIALIZATION.FLUMEEVENTAVROEVENTSERIALIZER$BUILDER":
            {
                var syncIntervalBytes = context.GetInt(key + ".syncIntervalBytes", 2_048_000, 32, 1 << 30);
                var codec = context.GetChoice(key + ".compressionCodec", "null", "null", "deflate");
                return new EventSerializerFactory("avro_event", stream => new AvroEventSerializer(stream, syncIntervalBytes, codec));
            }
            default:
                context.AddError(key, $"'{type}' is not a known serializer (allowed: TEXT, HEADER_AND_TEXT, AVRO_EVENT)");
                return new EventSerializerFactory("text", stream => new BodyTextSerializer(stream, true));
        }
    }
}

/// <summary>Flume's <c>BodyTextEventSerializer</c>: the body bytes, then <c>\n</c> when appendNewline (default true); headers are not written.</summary>
internal sealed class BodyTextSerializer(Stream stream, bool appendNewline) : IEventSerializer
{
    public void AfterCreate()
    {
    }

    public void Write(Event @event)
    {
        stream.Write(@event.Body.Span);
        if (appendNewline)
        {
            stream.WriteByte((byte)'\n');
        }
    }

    public void Flush() => stream.Flush();

    public void BeforeClose()
    {
    }
}

/// <summary>Flume's <c>HeaderAndBodyTextEventSerializer</c>: <c>{k1=v1, k2=v2} </c> (Java's Map.toString and a space), the body, <c>\n</c>.</summary>
internal sealed class HeaderAndBodyTextSerializer(Stream stream, bool appendNewline) : IEventSerializer
{
    public void AfterCreate()
    {
    }

    public void Write(Event @event)
    {
        var prefix = System.Text.Encoding.UTF8.GetBytes(JavaFormat.Map(@event.Headers) + " ");
        stream.Write(prefix);
        stream.Write(@event.Body.Span);
        if (appendNewline)
        {
            stream.WriteByte((byte)'\n');
        }
    }

    public void Flush() => stream.Flush();

    public void BeforeClose()
    {
    }
}

/// <summary>
/// Flume's <c>FlumeEventAvroEventSerializer</c>: an Avro object container file whose records have the schema
/// <c>{"type":"record","name":"Event","fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}</c>,
/// a new block every <c>syncIntervalBytes</c> (2048000) and at every flush; codec <c>null</c> or <c>deflate</c>.
/// </summary>
internal sealed class AvroEventSerializer : IEventSerializer
{
    /// <summary>The record schema Flume writes (same as its RPC event).</summary>
    internal const string SchemaJson =
        """{"type":"record","name":"Event","fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}""";

    internal static readonly RecordSchema Schema = (RecordSchema)Avro.Schema.Parse(SchemaJson);

    private readonly IFileWriter<GenericRecord> _writer;

    public AvroEventSerializer(Stream stream, int syncIntervalBytes, string codec)
    {
        var avroCodec = Codec.CreateCodec(codec == "deflate" ? Codec.Type.Deflate : Codec.Type.Null);
        _writer = DataFileWriter<GenericRecord>.OpenWriter(new GenericDatumWriter<GenericRecord>(Schema), stream, avroCodec, leaveOpen: true);
        _writer.SetSyncInterval(syncIntervalBytes);
    }

    public void AfterCreate()
    {
    }

    public void Write(Event @event)
    {
        var record = new GenericRecord(Schema);
        var headers = new Dictionary<string, object>(@event.Headers.Count, StringComparer.Ordinal);
        foreach (var (key, value) in @event.Headers)
        {
            headers[key] = value;
        }
        record.Add("headers", headers);
        record.Add("body", @event.Body.ToArray());
        _writer.Append(record);
    }

    public void Flush() => _writer.Flush();

    public void BeforeClose() => _writer.Close();
}

/// <summary>Formatting that matches what Java's collections print, for formats defined by Flume's toString calls.</summary>
internal static class JavaFormat
{
    /// <summary>Java's <c>AbstractMap.toString()</c>: <c>{k1=v1, k2=v2}</c>.</summary>
    public static string Map(IReadOnlyDictionary<string, string> map)
    {
        if (map.Count == 0)
        {
            return "{}";
        }
        var builder = new System.Text.StringBuilder("{");
        var first = true;
        foreach (var (key, value) in map)
        {
            if (!first)
            {
                builder.Append(", ");
            }
            builder.Append(key).Append('=').Append(value);
            first = false;
        }
        return builder.Append('}').ToString();
    }
}
