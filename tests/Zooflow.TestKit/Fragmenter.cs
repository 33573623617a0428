using System.Buffers;

namespace Zooflow.TestKit;

/// <summary>
/// Builds multi-segment <see cref="ReadOnlySequence{T}"/>s from a byte array so that decoders can be tested on every way a
/// network read could split their input (STYLE.md convention 4: whole, split at every offset, one byte per segment).
/// </summary>
public static class Fragmenter
{
    /// <summary>The bytes as a single-segment sequence.</summary>
    public static ReadOnlySequence<byte> Whole(byte[] bytes) => new(bytes);

    /// <summary>The bytes as two segments split at <paramref name="offset"/> (0 and Length give an empty first/last segment).</summary>
    public static ReadOnlySequence<byte> SplitAt(byte[] bytes, int offset) => Split(bytes, offset);

    /// <summary>The bytes as segments split at each of the ascending <paramref name="offsets"/>; empty segments are kept,
    /// since real pipes can produce them too.</summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, params int[] offsets)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var previous = 0;
        Segment? first = null;
        Segment? last = null;
        foreach (var offset in offsets.Append(bytes.Length))
        {
            if (offset < previous || offset > bytes.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(offsets), offset, $"offsets must ascend within 0..{bytes.Length}");
            }

            // Copy each piece into its own array so a decoder that reads across a boundary cannot get lucky.
            var piece = bytes.AsSpan(previous, offset - previous).ToArray();
            last = last is null ? first = new Segment(piece, 0) : last.Append(piece);
            previous = offset;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    /// <summary>The bytes with one byte per segment.</summary>
    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var offsets = new int[bytes.Length - 1];
        for (var i = 0; i < offsets.Length; i++)
        {
            offsets[i] = i + 1;
        }

        return Split(bytes, offsets);
    }

    /// <summary>Every shape: whole, split at each offset 0..Length, one byte per segment; with a label for test output.</summary>
    public static IEnumerable<(string Shape, ReadOnlySequence<byte> Sequence)> AllShapes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        yield return ("whole", Whole(bytes));
        for (var offset = 0; offset <= bytes.Length; offset++)
        {
            yield return ($"split at {offset}", SplitAt(bytes, offset));
        }

        yield return ("one byte per segment", OneBytePerSegment(bytes));
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
