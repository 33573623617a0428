using System.Text;
using Avro;
using Avro.Generic;
using Avro.IO;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Kafka.Tests;

/// <summary>
/// The AvroFlumeEvent datum of useFlumeEventFormat / parseAsFlumeEvent (flume.md §5: "a bare binary AvroFlumeEvent
/// datum, no container, no framing") must be byte-compatible with Flume's so mixed fleets share topics. Golden bytes
/// were written by Java Avro 1.8.2 (Golden/Golden.java); Apache.Avro (C#) is the independent reader/writer for the
/// property tests.
/// </summary>
public sealed class AvroFlumeEventCodecTests
{
    private static readonly RecordSchema Schema = (RecordSchema)Avro.Schema.Parse(
        """{"type":"record","name":"AvroFlumeEvent","namespace":"org.apache.flume.source.avro","fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}""");

    public static TheoryData<string, string[], string, string> Golden() => new()
    {
        { "empty", [], "", "0000" },
        { "body-only", [], "hello", "000a68656c6c6f" },
        { "one-header", ["key", "k1"], "payload", "02066b6579046b31000e7061796c6f6164" },
        { "unicode-binary", ["host", "\u00fcn\u00ef"], "\0\u0001\u0002\u00ff", "0208686f73740ac3bc6ec3af0008000102ff" },
        // Java's HashMap iterated topic, key, timestamp; the same insertion order gives the same bytes.
        { "three-headers", ["topic", "t1", "key", "abc", "timestamp", "1700000000000"], "body three",
            "060a746f706963047431066b6579066162631274696d657374616d701a313730303030303030303030300014626f6479207468726565" },
    };

    [Theory]
    [MemberData(nameof(Golden))]
    public void Encode_FlumeGoldenEvents_ProducesJavaAvroBytes(string name, string[] headers, string body, string hex)
    {
        var @event = MakeEvent(headers, body);

        var bytes = AvroFlumeEventCodec.Encode(@event);

        Assert.True(Convert.ToHexStringLower(bytes) == hex, $"{name}: {Convert.ToHexStringLower(bytes)} != {hex}");
    }

    [Theory]
    [MemberData(nameof(Golden))]
    public void Decode_JavaAvroBytes_GivesTheEvent(string name, string[] headers, string body, string hex)
    {
        var decoded = AvroFlumeEventCodec.Decode(Convert.FromHexString(hex));

        var expected = MakeEvent(headers, body);
        Assert.Equal(expected.Body.ToArray(), decoded.Body.ToArray());
        Assert.Equal(expected.Headers.OrderBy(h => h.Key), decoded.Headers.OrderBy(h => h.Key));
        Assert.NotNull(name);
    }

    [Fact]
    public void Decode_BodyOf200Bytes_ReadsTwoByteLength()
    {
        // Java: 00 (no headers) 90 03 (zig-zag 200) then the bytes 0..199.
        var hex = "009003" + Convert.ToHexStringLower(Enumerable.Range(0, 200).Select(i => (byte)i).ToArray());

        var decoded = AvroFlumeEventCodec.Decode(Convert.FromHexString(hex));

        Assert.Equal(Enumerable.Range(0, 200).Select(i => (byte)i).ToArray(), decoded.Body.ToArray());
    }

    [Fact]
    public void Encode_AnyEvent_ApacheAvroReadsTheSameEvent()
    {
        Prop.ForAll(Events(), @event =>
        {
            var bytes = AvroFlumeEventCodec.Encode(@event);
            var reader = new GenericDatumReader<GenericRecord>(Schema, Schema);
            var record = reader.Read(null!, new BinaryDecoder(new MemoryStream(bytes)));
            var headers = ((IDictionary<string, object>)record["headers"]).ToDictionary(p => p.Key, p => (string)p.Value);
            return ((byte[])record["body"]).SequenceEqual(@event.Body.ToArray())
                && headers.Count == @event.Headers.Count
                && @event.Headers.All(h => headers.TryGetValue(h.Key, out var v) && v == h.Value);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Decode_ApacheAvroBytesOfAnyEvent_GivesTheEvent()
    {
        Prop.ForAll(Events(), @event =>
        {
            var record = new GenericRecord(Schema);
            record.Add("headers", @event.Headers.ToDictionary(h => h.Key, h => (object)h.Value));
            record.Add("body", @event.Body.ToArray());
            var stream = new MemoryStream();
            new GenericDatumWriter<GenericRecord>(Schema).Write(record, new BinaryEncoder(stream));
            var decoded = AvroFlumeEventCodec.Decode(stream.ToArray());
            return decoded.Body.ToArray().SequenceEqual(@event.Body.ToArray())
                && decoded.Headers.Count == @event.Headers.Count
                && @event.Headers.All(h => decoded.Headers.TryGetValue(h.Key, out var v) && v == h.Value);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Decode_MapInTwoBlocksWithNegativeCount_ReadsEveryEntry()
    {
        // Avro lets a writer split a map into blocks and give a negative count followed by the block's byte size.
        var bytes = Convert.FromHexString("01" + "08" + "02" + "61" + "02" + "62" + "02" + "02" + "63" + "02" + "64" + "00" + "02" + "7a");

        var decoded = AvroFlumeEventCodec.Decode(bytes);

        Assert.Equal("b", decoded.Headers["a"]);
        Assert.Equal("d", decoded.Headers["c"]);
        Assert.Equal("z", Encoding.UTF8.GetString(decoded.Body.Span));
    }

    [Fact]
    public void Decode_EveryTruncation_ThrowsFormatExceptionNamingTheField()
    {
        var bytes = AvroFlumeEventCodec.Encode(MakeEvent(["topic", "t1", "key", "abc"], "some body"));
        for (var length = 0; length < bytes.Length; length++)
        {
            var ex = Assert.Throws<FormatException>(() => AvroFlumeEventCodec.Decode(bytes.AsSpan(0, length)));
            Assert.Contains("not an AvroFlumeEvent datum", ex.Message);
            Assert.Contains(" at byte ", ex.Message);
        }
    }

    [Theory]
    [InlineData("00feffffff0f", "body length")]          // a body of 2 GiB in a 6-byte message
    [InlineData("fe0f", "headers block count")]          // 1000 entries in no bytes
    [InlineData("020a6b", "header key length")]           // a 5-byte key with 1 byte left
    [InlineData("000a68656c6c6f00", "end of datum")]      // a trailing byte
    [InlineData("ffffffffffffffffffff01", "headers block count")] // an 11-byte varint
    public void Decode_HostileLengths_ThrowsWithoutAllocating(string hex, string field)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();

        var ex = Assert.Throws<FormatException>(() => AvroFlumeEventCodec.Decode(Convert.FromHexString(hex)));

        Assert.Contains(field, ex.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024, "the decoder allocated for a length the message cannot hold");
    }

    [Fact]
    public void Decode_InvalidUtf8InHeader_ThrowsNamingIt()
    {
        var ex = Assert.Throws<FormatException>(() => AvroFlumeEventCodec.Decode(Convert.FromHexString("0202ff020061000000")));

        Assert.Contains("header key", ex.Message);
        Assert.Contains("UTF-8", ex.Message);
    }

    private static Event MakeEvent(string[] headers, string body)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < headers.Length; i += 2)
        {
            map[headers[i]] = headers[i + 1];
        }
        return new Event(body.Select(c => (byte)c).ToArray(), map);
    }

    private static Arbitrary<Event> Events() =>
        (from headers in Gen.ListOf(Gen.Zip(ArbMap.Default.GeneratorFor<NonNull<string>>(), ArbMap.Default.GeneratorFor<NonNull<string>>()))
         from body in ArbMap.Default.GeneratorFor<byte[]>()
         select new Event(body ?? [], headers
             .Where(h => IsValidUtf16(h.Item1.Get) && IsValidUtf16(h.Item2.Get))
             .GroupBy(h => h.Item1.Get).ToDictionary(g => g.Key, g => g.First().Item2.Get, StringComparer.Ordinal)))
        .ToArbitrary();

    private static bool IsValidUtf16(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsSurrogate(s[i]))
            {
                return false;
            }
        }
        return true;
    }
}
