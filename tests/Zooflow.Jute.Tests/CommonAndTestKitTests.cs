using System.Buffers;
using Xunit;
using Zooflow.Common;
using Zooflow.TestKit;

namespace Zooflow.Jute.Tests;

/// <summary>Tests of the small Common and TestKit primitives the codec relies on.</summary>
public sealed class CommonAndTestKitTests
{
    [Fact]
    public void PooledBufferWriter_GrowsPastInitialCapacity_KeepsWrittenBytes()
    {
        using var writer = new PooledBufferWriter(initialCapacity: 1);
        var expected = Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray();

        foreach (var chunk in expected.Chunk(333))
        {
            writer.Write<byte>(chunk);
        }

        Assert.Equal(expected.Length, writer.WrittenCount);
        Assert.Equal(expected, writer.ToArray());
    }

    [Fact]
    public void PooledBufferWriter_ClearAndDispose_EmptyAndReusable()
    {
        var writer = new PooledBufferWriter();
        writer.Write<byte>([1, 2, 3]);

        writer.Clear();
        Assert.Equal(0, writer.WrittenCount);
        writer.Write<byte>([4]);
        Assert.Equal([4], writer.ToArray());

        writer.Dispose();
        Assert.Equal(0, writer.WrittenCount);
        writer.Write<byte>([5, 6]);
        Assert.Equal([5, 6], writer.ToArray());
        writer.Dispose();
    }

    [Fact]
    public void PooledBufferWriter_BeyondMaxCapacity_Throws()
    {
        using var writer = new PooledBufferWriter(initialCapacity: 4, maxCapacity: 16);
        writer.Write<byte>(new byte[16]);

        var e = Assert.Throws<InvalidOperationException>(() => writer.GetSpan(1));

        Assert.Contains("maximum capacity of 16", e.Message);
    }

    [Fact]
    public void PooledBufferWriter_AdvanceBeyondSpan_Throws()
    {
        using var writer = new PooledBufferWriter(initialCapacity: 8);
        var length = writer.GetSpan(8).Length;

        Assert.Throws<ArgumentOutOfRangeException>(() => writer.Advance(length + 1));
    }

    [Fact]
    public void Fragmenter_OneBytePerSegment_HasOneSegmentPerByte()
    {
        var bytes = new byte[] { 1, 2, 3, 4, 5 };

        var sequence = Fragmenter.OneBytePerSegment(bytes);

        var segments = 0;
        foreach (var segment in sequence)
        {
            Assert.Equal(1, segment.Length);
            segments++;
        }

        Assert.Equal(5, segments);
        Assert.Equal(bytes, sequence.ToArray());
    }

    [Fact]
    public void Fragmenter_AllShapes_CoverWholeEverySplitAndOneByte()
    {
        var bytes = new byte[] { 9, 8, 7 };

        var shapes = Fragmenter.AllShapes(bytes).ToList();

        Assert.Equal(1 + (bytes.Length + 1) + 1, shapes.Count);
        Assert.All(shapes, s => Assert.Equal(bytes, s.Sequence.ToArray()));
        Assert.False(shapes[0].Sequence.IsSingleSegment && shapes[^1].Sequence.IsSingleSegment);
    }
}
