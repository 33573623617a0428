using System.IO.Compression;
using System.Text;
using Avro;
using Microsoft.Win32.SafeHandles;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Components.Sources.Spooldir;

/// <summary>Which schema header Flume's Avro deserializer puts on each event (<c>deserializer.schemaType</c>).</summary>
public enum AvroSchemaType
{
    /// <summary><c>flume.avro.schema.hash</c>: the schema's CRC-64-AVRO parsing fingerprint, 16 hex digits.</summary>
    Hash,
    /// <summary><c>flume.avro.schema.literal</c>: the schema's JSON.</summary>
    Literal,
}

/// <summary>
/// Flume's <c>AVRO</c> deserializer: reads an Avro object container file and delivers each record as an event whose body
/// is the record's binary encoding (the bytes as they are in the file, which is what Flume's re-encoding produces for
/// canonically encoded data) with a schema header.
/// </summary>
/// <remarks>
/// <para>Codecs <c>null</c> and <c>deflate</c> are read; others (snappy, bzip2, xz, zstandard) make the file be set aside
/// with a clear error. The literal header is the schema text of the file's header (for files written by Java's Avro this
/// is exactly Flume's <c>Schema.toString()</c>).</para>
/// <para>Positions: the offset of the sync marker before the current block (what Flume stores, so Flume's meta files and
/// ours point at the same block) plus the records of that block already delivered, so a resume repeats nothing (Flume
/// repeats the block's records).</para>
/// </remarks>
internal sealed class AvroSpoolDeserializer : ISpoolDeserializer
{
    private const int MaxBlockBytes = 256 * 1024 * 1024;
    private const int MaxHeaderBytes = 16 * 1024 * 1024;
    private const string HashHeader = "flume.avro.schema.hash";
    private const string LiteralHeader = "flume.avro.schema.literal";

    private readonly SafeFileHandle _handle;
    private readonly string _path;
    private readonly long _fileLength;
    private readonly byte[] _sync;
    private readonly int _headerLength;
    private readonly Schema _schema;
    private readonly bool _deflate;
    private readonly IReadOnlyDictionary<string, string> _headers;
    private byte[] _block = [];
    private int _blockLength;
    private int _blockAt;
    private long _blockRecords;
    private long _blockRecordsRead;
    private long _blockStart;
    private long _nextBlockStart;
    private SpoolFileException? _pendingError;

    public AvroSpoolDeserializer(SafeFileHandle handle, string path, AvroSchemaType schemaType)
    {
        _handle = handle;
        _path = path;
        _fileLength = RandomAccess.GetLength(handle);
        var header = new byte[(int)Math.Min(Math.Max(_fileLength, 4), 64 * 1024)];
        while (true)
        {
            var read = ReadFully(0, header);
            if (AvroBinary.TryReadHeader(header.AsSpan(0, read), path, out var metadata, out var sync, out var headerLength))
            {
                _sync = sync;
                _headerLength = headerLength;
                var schemaJson = metadata.TryGetValue("avro.schema", out var schemaBytes) ? Encoding.UTF8.GetString(schemaBytes)
                    : throw new SpoolFileException($"{path}: the Avro header has no avro.schema");
                try
                {
                    _schema = Schema.Parse(schemaJson);
                }
                catch (AvroException ex)
                {
                    throw new SpoolFileException($"{path}: the Avro schema in the header is invalid: {ex.Message}", ex);
                }
                var codec = metadata.TryGetValue("avro.codec", out var codecBytes) ? Encoding.UTF8.GetString(codecBytes) : "null";
                _deflate = codec switch
                {
                    "null" or "" => false,
                    "deflate" => true,
                    _ => throw new SpoolFileException($"{path}: Avro codec '{codec}' is not supported (supported: null, deflate)"),
                };
                _headers = schemaType == AvroSchemaType.Hash
                    ? new Dictionary<string, string>(1, StringComparer.Ordinal) { [HashHeader] = Convert.ToHexStringLower(SchemaNormalization.ParsingFingerprint("CRC-64-AVRO", _schema)) }
                    : new Dictionary<string, string>(1, StringComparer.Ordinal) { [LiteralHeader] = schemaJson };
                break;
            }
            if (read < header.Length || header.Length >= MaxHeaderBytes)
            {
                throw new SpoolFileException($"{path}: the Avro header is incomplete or larger than {MaxHeaderBytes} bytes ({_fileLength} bytes in the file)");
            }
            header = new byte[Math.Min(header.Length * 2, MaxHeaderBytes)];
        }
        _blockStart = _headerLength;
        _nextBlockStart = _headerLength;
    }

    /// <inheritdoc />
    public SpoolPosition Position => _blockRecordsRead < _blockRecords
        ? new SpoolPosition(_blockStart - AvroBinary.SyncBytes, _blockRecordsRead)
        : new SpoolPosition(_nextBlockStart - AvroBinary.SyncBytes, 0);

    /// <inheritdoc />
    public void Seek(SpoolPosition position)
    {
        _blockRecords = 0;
        _blockRecordsRead = 0;
        if (position.Offset <= 0 && position.RecordsIntoBlock == 0)
        {
            _nextBlockStart = _headerLength;
            return;
        }
        // As Avro's DataFileReader.sync: the first sync marker at or after the offset; the block after it.
        _nextBlockStart = FindSync(Math.Max(position.Offset, _headerLength - AvroBinary.SyncBytes));
        if (position.RecordsIntoBlock > 0 && LoadBlock())
        {
            for (long i = 0; i < position.RecordsIntoBlock && _blockRecordsRead < _blockRecords; i++)
            {
                SkipDatum();
            }
        }
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
            while (count < max)
            {
                if (_blockRecordsRead >= _blockRecords && !LoadBlock())
                {
                    break;
                }
                var start = _blockAt;
                SkipDatum();
                events.Add(new Event(_block.AsSpan(start, _blockAt - start).ToArray(), _headers));
                count++;
            }
        }
        catch (SpoolFileException ex) when (count > 0)
        {
            // Deliver the records before the bad one first; the error comes with the next call.
            _pendingError = ex;
        }
        return count;
    }

    /// <summary>Loads the block at <see cref="_nextBlockStart"/>; false at the end of the file.</summary>
    private bool LoadBlock()
    {
        if (_nextBlockStart >= _fileLength)
        {
            return false;
        }
        Span<byte> prefix = stackalloc byte[20];
        var read = ReadFully(_nextBlockStart, prefix);
        var at = 0;
        long count, size;
        try
        {
            if (!AvroBinary.TryReadLong(prefix[..read], ref at, out count) || !AvroBinary.TryReadLong(prefix[..read], ref at, out size))
            {
                throw new SpoolFileException($"{_path}: truncated Avro block header at byte {_nextBlockStart}");
            }
        }
        catch (FormatException ex)
        {
            throw new SpoolFileException($"{_path}: malformed Avro block header at byte {_nextBlockStart}: {ex.Message}", ex);
        }
        if (count < 0 || size < 0 || size > MaxBlockBytes)
        {
            throw new SpoolFileException($"{_path}: Avro block at byte {_nextBlockStart} has {count} records in {size} bytes (at most {MaxBlockBytes} bytes allowed)");
        }
        var dataStart = _nextBlockStart + at;
        if (dataStart + size + AvroBinary.SyncBytes > _fileLength)
        {
            throw new SpoolFileException($"{_path}: Avro block at byte {_nextBlockStart} ends after the end of the file ({_fileLength} bytes)");
        }
        var raw = new byte[size + AvroBinary.SyncBytes];
        ReadFully(dataStart, raw);
        if (!raw.AsSpan((int)size).SequenceEqual(_sync))
        {
            throw new SpoolFileException($"{_path}: the sync marker after the Avro block at byte {_nextBlockStart} does not match the header's");
        }
        if (_deflate)
        {
            using var compressed = new MemoryStream(raw, 0, (int)size);
            using var inflate = new DeflateStream(compressed, CompressionMode.Decompress);
            using var plain = new MemoryStream();
            try
            {
                inflate.CopyTo(plain);
            }
            catch (InvalidDataException ex)
            {
                throw new SpoolFileException($"{_path}: the deflate data of the Avro block at byte {_nextBlockStart} is corrupt: {ex.Message}", ex);
            }
            _block = plain.ToArray();
            _blockLength = _block.Length;
        }
        else
        {
            _block = raw;
            _blockLength = (int)size;
        }
        _blockAt = 0;
        _blockRecords = count;
        _blockRecordsRead = 0;
        _blockStart = _nextBlockStart;
        _nextBlockStart = dataStart + size + AvroBinary.SyncBytes;
        return count > 0 || LoadBlock();
    }

    private void SkipDatum()
    {
        try
        {
            AvroDatumSkipper.Skip(_schema, _block.AsSpan(0, _blockLength), ref _blockAt);
        }
        catch (FormatException ex)
        {
            throw new SpoolFileException($"{_path}: record {_blockRecordsRead} of the Avro block at byte {_blockStart} does not match the schema: {ex.Message}", ex);
        }
        _blockRecordsRead++;
    }

    private long FindSync(long from)
    {
        var window = new byte[64 * 1024 + AvroBinary.SyncBytes];
        for (var offset = from; offset < _fileLength; offset += window.Length - AvroBinary.SyncBytes)
        {
            var read = ReadFully(offset, window);
            var found = window.AsSpan(0, read).IndexOf(_sync);
            if (found >= 0)
            {
                return offset + found + AvroBinary.SyncBytes;
            }
            if (read < window.Length)
            {
                break;
            }
        }
        return _fileLength;
    }

    private int ReadFully(long offset, Span<byte> into)
    {
        var total = 0;
        try
        {
            while (total < into.Length)
            {
                var read = RandomAccess.Read(_handle, into[total..], offset + total);
                if (read == 0)
                {
                    break;
                }
                total += read;
            }
        }
        catch (IOException ex)
        {
            throw new SpoolFileException($"{_path}: read failed at offset {offset + total}: {ex.Message}", ex);
        }
        return total;
    }
}

/// <summary>Finds where one Avro datum ends by walking its schema over the binary encoding (no objects are built).</summary>
internal static class AvroDatumSkipper
{
    /// <summary>Advances <paramref name="position"/> past one datum of <paramref name="schema"/>; throws
    /// <see cref="FormatException"/> when the bytes end early or do not fit the schema.</summary>
    public static void Skip(Schema schema, ReadOnlySpan<byte> data, ref int position)
    {
        switch (schema.Tag)
        {
            case Schema.Type.Null:
                return;
            case Schema.Type.Boolean:
                Advance(data, ref position, 1);
                return;
            case Schema.Type.Int:
            case Schema.Type.Long:
            case Schema.Type.Enumeration:
                ReadLong(data, ref position);
                return;
            case Schema.Type.Float:
                Advance(data, ref position, 4);
                return;
            case Schema.Type.Double:
                Advance(data, ref position, 8);
                return;
            case Schema.Type.Bytes:
            case Schema.Type.String:
                Advance(data, ref position, ReadLong(data, ref position));
                return;
            case Schema.Type.Fixed:
                Advance(data, ref position, ((FixedSchema)schema).Size);
                return;
            case Schema.Type.Record:
            case Schema.Type.Error:
                foreach (var field in ((RecordSchema)schema).Fields)
                {
                    Skip(field.Schema, data, ref position);
                }
                return;
            case Schema.Type.Array:
                SkipBlocks(data, ref position, ((ArraySchema)schema).ItemSchema, mapKeys: false);
                return;
            case Schema.Type.Map:
                SkipBlocks(data, ref position, ((MapSchema)schema).ValueSchema, mapKeys: true);
                return;
            case Schema.Type.Union:
                var union = (UnionSchema)schema;
                var branch = ReadLong(data, ref position);
                if (branch < 0 || branch >= union.Count)
                {
                    throw new FormatException($"union branch {branch} out of range (the union has {union.Count})");
                }
                Skip(union[(int)branch], data, ref position);
                return;
            case Schema.Type.Logical:
                Skip(((LogicalSchema)schema).BaseSchema, data, ref position);
                return;
            default:
                throw new FormatException($"schema type {schema.Tag} is not supported");
        }
    }

    private static void SkipBlocks(ReadOnlySpan<byte> data, ref int position, Schema item, bool mapKeys)
    {
        while (true)
        {
            var count = ReadLong(data, ref position);
            if (count == 0)
            {
                return;
            }
            if (count < 0)
            {
                // A negative count is followed by the block's size in bytes.
                Advance(data, ref position, ReadLong(data, ref position));
                continue;
            }
            for (long i = 0; i < count; i++)
            {
                if (mapKeys)
                {
                    Advance(data, ref position, ReadLong(data, ref position));
                }
                Skip(item, data, ref position);
            }
        }
    }

    private static long ReadLong(ReadOnlySpan<byte> data, ref int position)
    {
        if (!AvroBinary.TryReadLong(data, ref position, out var value))
        {
            throw new FormatException($"the data ends inside a number at byte {position} of the block");
        }
        return value;
    }

    private static void Advance(ReadOnlySpan<byte> data, ref int position, long bytes)
    {
        if (bytes < 0 || bytes > data.Length - position)
        {
            throw new FormatException($"{bytes} bytes needed at byte {position} of the block, {data.Length - position} left");
        }
        position += (int)bytes;
    }
}
