using Avro;
using Avro.File;
using Avro.Generic;
using Avro.IO;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources.Spooldir;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>
/// spooldir's AVRO deserializer against container files written by the Apache.Avro library (Flume's
/// AvroEventDeserializer: one event per record, body = the record's binary encoding, header
/// <c>flume.avro.schema.hash</c> = CRC-64-AVRO of the parsing canonical form, or <c>flume.avro.schema.literal</c>), and the
/// tracker meta file read back by the Avro library with Flume's own schema.
/// </summary>
public sealed class SpoolAvroTests : IDisposable
{
    private const string SchemaJson =
        "{\"type\":\"record\",\"name\":\"Click\",\"namespace\":\"test.zooflow\",\"fields\":[" +
        "{\"name\":\"user\",\"type\":\"string\"},{\"name\":\"n\",\"type\":\"long\"},{\"name\":\"ok\",\"type\":\"boolean\"}," +
        "{\"name\":\"score\",\"type\":[\"null\",\"double\"]},{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}}," +
        "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":\"int\"}},{\"name\":\"id\",\"type\":{\"type\":\"fixed\",\"name\":\"Id\",\"size\":4}}," +
        "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"Kind\",\"symbols\":[\"A\",\"B\"]}},{\"name\":\"raw\",\"type\":\"bytes\"},{\"name\":\"f\",\"type\":\"float\"}]}";

    private readonly string _dir = TempDir();
    private readonly RecordSchema _schema = (RecordSchema)Schema.Parse(SchemaJson);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private GenericRecord Record(int i)
    {
        var record = new GenericRecord(_schema);
        record.Add("user", $"user-{i}");
        record.Add("n", (long)i * 1_000_003);
        record.Add("ok", i % 2 == 0);
        record.Add("score", i % 3 == 0 ? null : (object)(i / 7.0));
        record.Add("tags", Enumerable.Range(0, i % 4).Select(t => $"t{t}").ToArray());
        record.Add("attrs", Enumerable.Range(0, i % 3).ToDictionary(a => $"k{a}", a => (object)(a * i)));
        record.Add("id", new GenericFixed((FixedSchema)_schema["id"].Schema, [(byte)i, 1, 2, 3]));
        record.Add("kind", new GenericEnum((EnumSchema)_schema["kind"].Schema, i % 2 == 0 ? "A" : "B"));
        record.Add("raw", new byte[i % 5]);
        record.Add("f", i * 0.5f);
        return record;
    }

    private byte[] Encode(GenericRecord record)
    {
        using var stream = new MemoryStream();
        new GenericDatumWriter<GenericRecord>(_schema).Write(record, new BinaryEncoder(stream));
        return stream.ToArray();
    }

    /// <summary>Writes <paramref name="count"/> records, a block boundary every <paramref name="perBlock"/> records.</summary>
    private string WriteContainer(string name, int count, int perBlock, Codec.Type codec = Codec.Type.Null)
    {
        var path = Path.Combine(_dir, name);
        using var writer = DataFileWriter<GenericRecord>.OpenWriter(new GenericDatumWriter<GenericRecord>(_schema), path, Codec.CreateCodec(codec));
        for (var i = 0; i < count; i++)
        {
            writer.Append(Record(i));
            if ((i + 1) % perBlock == 0)
            {
                writer.Sync();
            }
        }
        return path;
    }

    private static List<Event> ReadAll(ISpoolDeserializer deserializer, int batch = 4)
    {
        var events = new List<Event>();
        while (deserializer.ReadEvents(events, batch) > 0)
        {
        }
        return events;
    }

    [Theory]
    [InlineData(Codec.Type.Null)]
    [InlineData(Codec.Type.Deflate)]
    public void Avro_EachRecordIsAnEvent_BodyIsItsBinaryEncoding_WithTheSchemaHash(Codec.Type codec)
    {
        var path = WriteContainer("clicks.avro", 23, perBlock: 5, codec);
        using var handle = File.OpenHandle(path);

        var events = ReadAll(new AvroSpoolDeserializer(handle, path, AvroSchemaType.Hash));

        Assert.Equal(23, events.Count);
        for (var i = 0; i < 23; i++)
        {
            Assert.Equal(Encode(Record(i)), events[i].Body.ToArray());
        }
        var hash = Convert.ToHexStringLower(SchemaNormalization.ParsingFingerprint("CRC-64-AVRO", _schema));
        Assert.All(events, e => Assert.Equal(hash, e.Headers["flume.avro.schema.hash"]));
        Assert.Equal(16, hash.Length);
    }

    [Fact]
    public void Avro_Literal_HeaderIsTheFilesSchemaText()
    {
        var path = WriteContainer("clicks.avro", 2, perBlock: 10);
        using var handle = File.OpenHandle(path);

        var events = ReadAll(new AvroSpoolDeserializer(handle, path, AvroSchemaType.Literal));

        Assert.All(events, e => Assert.Equal(Schema.Parse(e.Headers["flume.avro.schema.literal"]), _schema));
    }

    [Fact]
    public void Avro_ResumeInsideABlock_ContinuesWithTheNextRecord()
    {
        var path = WriteContainer("clicks.avro", 40, perBlock: 12);
        using var handle = File.OpenHandle(path);
        var first = new AvroSpoolDeserializer(handle, path, AvroSchemaType.Hash);
        var events = new List<Event>();
        first.ReadEvents(events, 7);
        first.ReadEvents(events, 10);
        var position = first.Position;

        var second = new AvroSpoolDeserializer(handle, path, AvroSchemaType.Hash);
        second.Seek(position);
        events.AddRange(ReadAll(second, 9));

        Assert.Equal(Enumerable.Range(0, 40).Select(i => Encode(Record(i))), events.Select(e => e.Body.ToArray()));
        Assert.Equal(5, position.RecordsIntoBlock);
    }

    [Fact]
    public void Avro_Damaged_ThrowsSpoolFileExceptionNamingTheFile()
    {
        var path = WriteContainer("clicks.avro", 10, perBlock: 10);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^20]);
        using var handle = File.OpenHandle(path);
        var deserializer = new AvroSpoolDeserializer(handle, path, AvroSchemaType.Hash);

        var ex = Assert.Throws<SpoolFileException>(() => ReadAll(deserializer));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("ends after the end of the file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MetaFile_ReadByTheAvroLibraryWithFlumesSchema_AndTornTailIgnored()
    {
        var meta = Path.Combine(_dir, ".flumespool-main.meta");
        using (var file = SpoolMetaFile.Create(meta, "/spool/a.log", 42))
        {
            file.Append(new SpoolPosition(100, 0));
            file.Append(new SpoolPosition(200, 3));
            file.Append(new SpoolPosition(300, 0));
        }

        // Flume reads it with its schema (offset only): the extra field is skipped by schema resolution.
        var flumeSchema = Schema.Parse("{\"type\":\"record\",\"name\":\"TransferStateFileMeta\",\"namespace\":\"org.apache.flume.serialization\",\"fields\":[{\"name\":\"offset\",\"type\":\"long\"}]}");
        using (var reader = DataFileReader<GenericRecord>.OpenReader(meta, flumeSchema))
        {
            Assert.Equal("/spool/a.log", reader.GetMetaString("file"));
            Assert.Equal([100L, 200L, 300L], reader.NextEntries.Select(r => (long)r["offset"]).ToArray());
        }
        Assert.Equal(new SpoolProgress("/spool/a.log", new SpoolPosition(300, 0), 42), SpoolMetaFile.Read(meta));

        // A crash in the middle of the last append: the record before it is the position.
        var bytes = File.ReadAllBytes(meta);
        File.WriteAllBytes(meta, bytes[..^5]);
        Assert.Equal(new SpoolPosition(200, 3), SpoolMetaFile.Read(meta)!.Position);
    }
}
