using System.Buffers;

namespace Zooflow.Pipeline.Components.Sources.Syslog;

/// <summary>
/// Cuts a syslog TCP byte stream into messages (one instance per connection; not thread-safe).
/// </summary>
/// <remarks>
/// <code>
/// stream  := *( *LF frame )
/// frame   := counted | line
/// counted := NONZERO-DIGIT *8DIGIT SP &lt;MSG-LEN bytes starting with "&lt;"&gt;     (RFC 6587 octet counting, e.g. logger --octet-count)
/// line    := *(any byte but LF) LF                                          (RFC 6587 non-transparent framing, Flume's only framing)
/// </code>
/// <para>As in Flume, empty lines are skipped and a line of <c>maxFrameBytes</c> or more bytes is cut after
/// <c>maxFrameBytes</c> bytes and reported incomplete; the rest of it is framed as the next message (which usually parses
/// as Invalid). Octet counting is a Zooflow addition (Flume would turn such a stream into Invalid lines): a counted frame
/// longer than <c>maxFrameBytes</c> is cut the same way. At the end of the stream an unterminated last line is returned
/// as incomplete instead of being discarded as Flume does.</para>
/// </remarks>
internal sealed class SyslogFramer(int maxFrameBytes)
{
    /// <summary>The longest digit run before SP that is taken as an octet count (MSG-LEN up to 999,999,999).</summary>
    private const int MaxCountDigits = 9;

    private long _countedRemaining;

    /// <summary>The longest frame; longer input is cut and reported incomplete.</summary>
    public int MaxFrameBytes { get; } = maxFrameBytes;

    /// <summary>
    /// Takes the next frame from the front of <paramref name="buffer"/> (moving it past the frame). Returns false when more
    /// bytes are needed; with <paramref name="endOfStream"/> whatever is left becomes a last, incomplete frame.
    /// </summary>
    public bool TryRead(ref ReadOnlySequence<byte> buffer, bool endOfStream, out byte[] frame, out bool incomplete)
    {
        frame = [];
        incomplete = false;
        if (_countedRemaining > 0)
        {
            var wanted = Math.Min(_countedRemaining, MaxFrameBytes);
            if (buffer.Length < wanted && (!endOfStream || buffer.IsEmpty))
            {
                return false;
            }
            var part = Math.Min(wanted, buffer.Length);
            frame = buffer.Slice(0, part).ToArray();
            buffer = buffer.Slice(part);
            _countedRemaining -= part;
            incomplete = _countedRemaining > 0;
            if (endOfStream && buffer.IsEmpty)
            {
                _countedRemaining = 0;
            }
            return true;
        }

        var reader = new SequenceReader<byte>(buffer);
        reader.AdvancePast((byte)'\n');
        buffer = buffer.Slice(reader.Position);
        if (buffer.IsEmpty)
        {
            return false;
        }

        switch (TryCountPrefix(buffer, endOfStream, out var count, out var prefixLength))
        {
            case CountPrefix.NeedMore:
                return false;
            case CountPrefix.Counted:
                var available = buffer.Length - prefixLength;
                var take = Math.Min(count, MaxFrameBytes);
                if (available < take)
                {
                    if (!endOfStream)
                    {
                        return false;
                    }
                    take = available;
                    incomplete = true;
                }
                frame = buffer.Slice(prefixLength, take).ToArray();
                buffer = buffer.Slice(prefixLength + take);
                if (count > take && !incomplete)
                {
                    incomplete = true;
                    _countedRemaining = endOfStream && buffer.IsEmpty ? 0 : count - take;
                }
                return true;
        }

        var limit = buffer.Slice(0, Math.Min(buffer.Length, MaxFrameBytes));
        var newline = limit.PositionOf((byte)'\n');
        if (newline is { } position)
        {
            frame = buffer.Slice(0, position).ToArray();
            buffer = buffer.Slice(buffer.GetPosition(1, position));
            return true;
        }
        if (buffer.Length >= MaxFrameBytes)
        {
            frame = buffer.Slice(0, MaxFrameBytes).ToArray();
            buffer = buffer.Slice(MaxFrameBytes);
            incomplete = true;
            return true;
        }
        if (endOfStream)
        {
            frame = buffer.ToArray();
            buffer = buffer.Slice(buffer.End);
            incomplete = true;
            return true;
        }
        return false;
    }

    private enum CountPrefix
    {
        None,
        NeedMore,
        Counted,
    }

    private static CountPrefix TryCountPrefix(ReadOnlySequence<byte> buffer, bool endOfStream, out long count, out int prefixLength)
    {
        count = 0;
        prefixLength = 0;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryRead(out var first) || first is < (byte)'1' or > (byte)'9')
        {
            return CountPrefix.None;
        }
        count = first - '0';
        var digits = 1;
        while (true)
        {
            if (!reader.TryRead(out var next))
            {
                return endOfStream ? CountPrefix.None : CountPrefix.NeedMore;
            }
            if (next == (byte)' ')
            {
                break;
            }
            if (!SyslogLineParser.IsDigit(next) || ++digits > MaxCountDigits)
            {
                return CountPrefix.None;
            }
            count = count * 10 + (next - '0');
        }
        if (!reader.TryPeek(out var lessThan))
        {
            return endOfStream ? CountPrefix.None : CountPrefix.NeedMore;
        }
        if (lessThan != (byte)'<')
        {
            return CountPrefix.None;
        }
        prefixLength = digits + 1;
        return CountPrefix.Counted;
    }
}
