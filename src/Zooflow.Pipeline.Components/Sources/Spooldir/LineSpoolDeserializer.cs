using System.Text;
using System.Text.Unicode;
using Microsoft.Win32.SafeHandles;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.Sources.Spooldir;

/// <summary>A spooled file cannot be read as configured (undecodable bytes, corrupt container, I/O error); the file is
/// set aside. The message names the file and the byte offset.</summary>
public sealed class SpoolFileException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>Turns a spooled file into events, remembering the position after the last event returned.</summary>
internal interface ISpoolDeserializer
{
    /// <summary>The position after the last event returned (what to save once those events are committed).</summary>
    SpoolPosition Position { get; }

    /// <summary>Moves to <paramref name="position"/> (a position this deserializer, or Flume, reported for the file).</summary>
    void Seek(SpoolPosition position);

    /// <summary>Adds up to <paramref name="max"/> events; returns how many (0 at the end of the file). Throws
    /// <see cref="SpoolFileException"/> when the file cannot be read.</summary>
    int ReadEvents(List<Event> events, int max);
}

/// <summary>
/// Flume's <c>LINE</c> deserializer: one event per line of text decoded with <c>inputCharset</c> and re-encoded with
/// <c>deserializer.outputCharset</c>; the line terminator is <c>\n</c> only (a <c>\r</c> before it stays in the body,
/// as in Flume). A line longer than <c>deserializer.maxLineLength</c> characters (UTF-16 code units, as Java counts) is
/// cut into events of that many characters; the rest of the line continues as the next event, as in Flume. The last line
/// needs no terminator.
/// </summary>
/// <remarks>
/// <para>Differences from Flume: a line of exactly maxLineLength characters gives one event (Flume adds an empty event
/// for its newline), and a surrogate pair is never cut in two.</para>
/// <para>Positions are byte offsets, exact at every event (inside a long line too), so a resume repeats nothing. Valid
/// UTF-8 to UTF-8 lines are passed through as bytes without decoding.</para>
/// </remarks>
internal sealed class LineSpoolDeserializer : ISpoolDeserializer
{
    private readonly SafeFileHandle _handle;
    private readonly string _path;
    private readonly JavaCharset _input;
    private readonly JavaCharset _output;
    private readonly int _maxLineLength;
    private readonly int _bomLength;
    private readonly Decoder _decoder;
    private readonly char[] _chars;
    private readonly bool _passThrough;
    private byte[] _buffer;
    private long _bufferStart;
    private int _valid;
    private bool _eof;
    private long _position;
    private long _eventEnd;
    private SpoolFileException? _pendingError;

    public LineSpoolDeserializer(SafeFileHandle handle, string path, JavaCharset input, JavaCharset output, int maxLineLength)
    {
        _handle = handle;
        _path = path;
        _maxLineLength = maxLineLength;
        Span<byte> start = stackalloc byte[4];
        var read = RandomAccess.Read(handle, start, 0);
        _input = input.ForFile(start[..read], out _bomLength);
        _output = output;
        _decoder = _input.Encoding.GetDecoder();
        _chars = new char[Math.Max(2, maxLineLength)];
        _passThrough = _input.IsUtf8 && output.IsUtf8;
        // A full buffer always holds a whole chunk of maxLineLength characters plus a newline.
        _buffer = new byte[Math.Max(64 * 1024, (int)Math.Min(int.MaxValue / 2, (long)maxLineLength * _input.Encoding.GetMaxByteCount(1) + 8))];
        _position = _bomLength;
        _eventEnd = _bomLength;
        _bufferStart = _bomLength;
    }

    /// <inheritdoc />
    public SpoolPosition Position => new(_eventEnd, 0);

    /// <inheritdoc />
    public void Seek(SpoolPosition position)
    {
        _position = Math.Max(position.Offset, _bomLength);
        _eventEnd = _position;
        _bufferStart = _position;
        _valid = 0;
        _eof = false;
    }

    /// <inheritdoc />
    public int ReadEvents(List<Event> events, int max)
    {
        if (_pendingError is { } error)
        {
            throw error;
        }
        var count = 0;
        try
        {
            while (count < max && ReadEvent() is { } body)
            {
                events.Add(new Event(body));
                _eventEnd = _position;
                count++;
            }
        }
        catch (SpoolFileException ex) when (count > 0)
        {
            // Deliver the lines before the bad one first; the error comes with the next call.
            _pendingError = ex;
        }
        return count;
    }

    private byte[]? ReadEvent()
    {
        _decoder.Reset();
        var chars = 0;
        var limit = Math.Min(_chars.Length, _maxLineLength == 1 ? 2 : _maxLineLength);
        while (true)
        {
            if (_position - _bufferStart >= _valid && !_eof)
            {
                Refill();
            }
            var at = (int)(_position - _bufferStart);
            var available = _buffer.AsSpan(at, _valid - at);
            if (available.IsEmpty && _eof)
            {
                return chars > 0 ? _output.GetBytes(_chars.AsSpan(0, chars)) : null;
            }
            var newline = FindNewline(available, _position);
            var segment = newline >= 0 ? available[..newline] : available;
            if (chars == 0 && _passThrough && newline >= 0 && newline <= _maxLineLength && Utf8.IsValid(segment))
            {
                _position += newline + 1;
                return segment.ToArray();
            }
            var last = newline >= 0 || _eof;
            int used, produced;
            try
            {
                _decoder.Convert(segment, _chars.AsSpan(chars, limit - chars), last, out used, out produced, out _);
            }
            catch (DecoderFallbackException ex)
            {
                throw new SpoolFileException($"{_path}: bytes at offset {_position + Math.Max(0, ex.Index)} are not valid {_input.Name} " +
                    $"({Convert.ToHexString(ex.BytesUnknown ?? [])}); decodeErrorPolicy is FAIL", ex);
            }
            catch (ArgumentException) when (chars > 0)
            {
                // The next character (a surrogate pair) does not fit in the rest of this chunk.
                return _output.GetBytes(_chars.AsSpan(0, chars));
            }
            chars += produced;
            _position += used;
            if (used < segment.Length)
            {
                return _output.GetBytes(_chars.AsSpan(0, chars)); // chunk full in the middle of a line
            }
            if (newline >= 0)
            {
                _position += _input.Newline.Length;
                return _output.GetBytes(_chars.AsSpan(0, chars));
            }
            if (chars == limit)
            {
                // Full exactly where the buffered bytes end: a newline right after it belongs to this chunk (Flume would
                // deliver it as an extra empty event).
                if (!_eof)
                {
                    Refill();
                }
                var rest = _buffer.AsSpan((int)(_position - _bufferStart), _valid - (int)(_position - _bufferStart));
                if (FindNewline(rest, _position) == 0)
                {
                    _position += _input.Newline.Length;
                }
                return _output.GetBytes(_chars.AsSpan(0, chars));
            }
            if (_eof)
            {
                return chars > 0 ? _output.GetBytes(_chars.AsSpan(0, chars)) : null;
            }
            Refill();
        }
    }

    /// <summary>The index in <paramref name="span"/> (starting at file offset <paramref name="offset"/>) of the first
    /// newline on a code-unit boundary, or -1.</summary>
    private int FindNewline(ReadOnlySpan<byte> span, long offset)
    {
        var newline = _input.Newline;
        if (newline.Length == 1)
        {
            return span.IndexOf(newline[0]);
        }
        var from = 0;
        while (true)
        {
            var found = span[from..].IndexOf(newline);
            if (found < 0)
            {
                return -1;
            }
            var index = from + found;
            if ((offset + index - _bomLength) % newline.Length == 0)
            {
                return index;
            }
            from = index + 1;
        }
    }

    /// <summary>Moves the unread bytes to the front of the buffer and reads more after them.</summary>
    private void Refill()
    {
        var at = (int)(_position - _bufferStart);
        var unread = Math.Max(0, _valid - at);
        if (unread > 0 && at > 0)
        {
            Buffer.BlockCopy(_buffer, at, _buffer, 0, unread);
        }
        _bufferStart = _position;
        _valid = unread;
        try
        {
            while (_valid < _buffer.Length)
            {
                var read = RandomAccess.Read(_handle, _buffer.AsSpan(_valid), _bufferStart + _valid);
                if (read == 0)
                {
                    _eof = true;
                    return;
                }
                _valid += read;
            }
        }
        catch (IOException ex)
        {
            throw new SpoolFileException($"{_path}: read failed at offset {_bufferStart + _valid}: {ex.Message}", ex);
        }
    }
}
