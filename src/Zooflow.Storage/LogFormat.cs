using System.Buffers.Binary;
using Zooflow.Common;

namespace Zooflow.Storage;

/// <summary>Constants and encoders of the transaction log segment format (grammar in <see cref="TxnLog"/>'s remarks).</summary>
internal static class LogFormat
{
    /// <summary>"ZFLG" read as a big-endian int32, like ZooKeeper's "ZKLG".</summary>
    public const uint Magic = 0x5A464C47;

    /// <summary>The only version written and read.</summary>
    public const int Version = 1;

    public const int FileHeaderBytes = 16;
    public const int RecordHeaderBytes = 16;

    /// <summary>
    /// Hard limit of one record's payload in the format, independent of the configured
    /// <see cref="TxnLogOptions.RecordBytesMax"/>, so that lowering the setting never makes old records look corrupt,
    /// while a garbled length field is still recognised before any allocation.
    /// </summary>
    public const int RecordBytesLimit = 256 * 1024 * 1024;

    public const string FilePrefix = "log.";

    public static string FileName(long startZxid) => FilePrefix + Zxid.ToHex(startZxid);

    public static void WriteFileHeader(Span<byte> destination, long databaseId)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, Magic);
        BinaryPrimitives.WriteInt32BigEndian(destination[4..], Version);
        BinaryPrimitives.WriteInt64BigEndian(destination[8..], databaseId);
    }

    /// <summary>Appends one record (checksum, length, zxid, payload) to <paramref name="writer"/>.</summary>
    public static void WriteRecord(PooledBufferWriter writer, long zxid, ReadOnlySpan<byte> payload)
    {
        var span = writer.GetSpan(RecordHeaderBytes + payload.Length);
        BinaryPrimitives.WriteInt32BigEndian(span[4..], payload.Length);
        BinaryPrimitives.WriteInt64BigEndian(span[8..], zxid);
        payload.CopyTo(span[RecordHeaderBytes..]);
        var crc = Crc32C.Compute(span[4..(RecordHeaderBytes + payload.Length)]);
        BinaryPrimitives.WriteUInt32BigEndian(span, crc);
        writer.Advance(RecordHeaderBytes + payload.Length);
    }

    /// <summary>The checksum a record header (16 bytes) plus payload should carry.</summary>
    public static uint ComputeChecksum(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload) =>
        Crc32C.Finish(Crc32C.Update(Crc32C.Update(Crc32C.Initial, header[4..RecordHeaderBytes]), payload));
}

/// <summary>What <see cref="SegmentCursor.Next"/> found.</summary>
internal enum CursorStatus
{
    /// <summary>A valid record; see <see cref="SegmentCursor.Zxid"/> and <see cref="SegmentCursor.Payload"/>.</summary>
    Record,

    /// <summary>The end of the records: the read limit, or an all-zero header (end marker / preallocation padding).</summary>
    End,

    /// <summary>A torn or corrupt record at <see cref="SegmentCursor.RecordOffset"/>; see <see cref="SegmentCursor.Problem"/>.</summary>
    Bad,
}

/// <summary>Sequential, verifying reader of one segment file. Not thread-safe.</summary>
internal sealed class SegmentCursor : IDisposable
{
    private const int ReadBufferBytes = 64 * 1024;

    private readonly FileStream _stream;
    private readonly byte[] _header = new byte[LogFormat.RecordHeaderBytes];
    private byte[] _payload = new byte[256];
    private int _payloadLength;

    /// <param name="path">The segment file.</param>
    /// <param name="limit">Read no further than this offset; negative for the whole file.</param>
    public SegmentCursor(string path, long limit = -1)
    {
        Path = path;
        _stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = ReadBufferBytes,
            Options = FileOptions.SequentialScan,
        });
        FileLength = _stream.Length;
        Limit = limit < 0 ? FileLength : Math.Min(limit, FileLength);
    }

    public string Path { get; }

    public long FileLength { get; }

    public long Limit { get; }

    /// <summary>The offset just after the last record returned (where the next record starts).</summary>
    public long Position { get; private set; }

    /// <summary>Offset of the record last examined by <see cref="Next"/>.</summary>
    public long RecordOffset { get; private set; }

    /// <summary>Zxid of the last record returned, or the zxid claimed by a bad record's header (0 if unreadable).</summary>
    public long Zxid { get; private set; }

    public ReadOnlySpan<byte> Payload => _payload.AsSpan(0, _payloadLength);

    public string Problem { get; private set; } = string.Empty;

    public long DatabaseId { get; private set; }

    /// <summary>Reads and checks the file header. Returns null when valid, else the reason.</summary>
    public string? ReadFileHeader()
    {
        Span<byte> header = stackalloc byte[LogFormat.FileHeaderBytes];
        if (FileLength < LogFormat.FileHeaderBytes)
        {
            return $"file is {FileLength} bytes, shorter than the {LogFormat.FileHeaderBytes}-byte header";
        }

        _stream.Position = 0;
        _stream.ReadExactly(header);
        var magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (magic != LogFormat.Magic)
        {
            return $"bad magic 0x{magic:x8} (expected 0x{LogFormat.Magic:x8} \"ZFLG\")";
        }

        var version = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (version != LogFormat.Version)
        {
            return $"unsupported format version {version} (this build reads version {LogFormat.Version})";
        }

        DatabaseId = BinaryPrimitives.ReadInt64BigEndian(header[8..]);
        Position = LogFormat.FileHeaderBytes;
        return null;
    }

    /// <summary>Reads the next record, requiring its zxid to be greater than <paramref name="previousZxid"/>.</summary>
    public CursorStatus Next(long previousZxid)
    {
        RecordOffset = Position;
        Zxid = 0;
        _payloadLength = 0;
        var remaining = Limit - Position;
        if (remaining == 0)
        {
            return CursorStatus.End;
        }

        if (remaining < LogFormat.RecordHeaderBytes)
        {
            _stream.ReadExactly(_header.AsSpan(0, (int)remaining));
            if (!_header.AsSpan(0, (int)remaining).ContainsAnyExcept((byte)0))
            {
                return CursorStatus.End;
            }

            return Bad($"incomplete record header: {remaining} of {LogFormat.RecordHeaderBytes} bytes (torn write)");
        }

        _stream.ReadExactly(_header);
        if (!_header.AsSpan().ContainsAnyExcept((byte)0))
        {
            // Valid records have zxid > 0, so an all-zero header can only be the end marker / preallocated padding.
            return CursorStatus.End;
        }

        var storedCrc = BinaryPrimitives.ReadUInt32BigEndian(_header);
        var length = BinaryPrimitives.ReadInt32BigEndian(_header.AsSpan(4));
        var zxid = BinaryPrimitives.ReadInt64BigEndian(_header.AsSpan(8));
        Zxid = zxid;
        if (length < 0 || length > LogFormat.RecordBytesLimit)
        {
            return Bad($"record length {length} outside 0..{LogFormat.RecordBytesLimit}");
        }

        if (length > remaining - LogFormat.RecordHeaderBytes)
        {
            return Bad($"record needs {LogFormat.RecordHeaderBytes + (long)length} bytes but only {remaining} remain (torn write)");
        }

        if (_payload.Length < length)
        {
            _payload = new byte[Math.Max(length, _payload.Length * 2)];
        }

        _stream.ReadExactly(_payload.AsSpan(0, length));
        _payloadLength = length;
        var computed = LogFormat.ComputeChecksum(_header, Payload);
        if (computed != storedCrc)
        {
            return Bad($"checksum mismatch: stored 0x{storedCrc:x8}, computed 0x{computed:x8}");
        }

        if (zxid <= previousZxid)
        {
            return Bad($"zxid {Storage.Zxid.Format(zxid)} does not follow the previous zxid {Storage.Zxid.Format(previousZxid)}");
        }

        Position = RecordOffset + LogFormat.RecordHeaderBytes + length;
        return CursorStatus.Record;
    }

    /// <summary>Offset just past the last non-zero byte at or after <paramref name="offset"/>, or -1 if all are zero.</summary>
    public long FindEndOfNonZero(long offset)
    {
        var buffer = new byte[ReadBufferBytes];
        _stream.Position = offset;
        long end = -1;
        var position = offset;
        int read;
        while ((read = _stream.Read(buffer)) > 0)
        {
            var last = buffer.AsSpan(0, read).LastIndexOfAnyExcept((byte)0);
            if (last >= 0)
            {
                end = position + last + 1;
            }

            position += read;
        }

        return end;
    }

    public void Dispose() => _stream.Dispose();

    private CursorStatus Bad(string problem)
    {
        Problem = problem;
        _stream.Position = RecordOffset;
        return CursorStatus.Bad;
    }
}
