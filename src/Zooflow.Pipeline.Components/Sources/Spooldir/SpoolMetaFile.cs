using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Zooflow.Pipeline.Components.Sources.Spooldir;

/// <summary>
/// Flume's spooling-directory progress file <c>&lt;trackerDir&gt;/.flumespool-main.meta</c> (its
/// <c>DurablePositionTracker</c>): an Avro object container whose metadata names the file being read and whose records are
/// the committed positions, one block per commit; the last record wins.
/// </summary>
/// <remarks>
/// <para>Format (Avro object container, codec <c>null</c>):</para>
/// <code>
/// header   = "Obj" 0x01  map{ "avro.schema": schema, "avro.codec": "null", "file": target path,
///                             ["zooflow.inode": decimal inode] }  sync[16]
/// block    = long(1) long(size) record sync[16]                       ; written and flushed once per commit
/// record   = long(offset) [long(recordsIntoBlock)]                     ; zig-zag varints, fields in schema order
/// schema   = record org.apache.flume.serialization.TransferStateFileMeta { long offset; long recordsIntoBlock = 0 }
/// </code>
/// <para>Flume's schema has <c>offset</c> only; ours adds <c>recordsIntoBlock</c> with a default, so Flume reads our file
/// (its reader schema skips the extra field) and we read Flume's (the field is absent: 0). The <c>zooflow.inode</c>
/// metadata entry lets a resume check that the path still names the same file; Flume ignores it. A block torn by a crash
/// at the end is ignored: the previous record is the position.</para>
/// </remarks>
internal sealed class SpoolMetaFile : IDisposable
{
    /// <summary>Flume's file name, inside the tracker directory.</summary>
    public const string FileName = ".flumespool-main.meta";

    private const string Schema =
        "{\"type\":\"record\",\"name\":\"TransferStateFileMeta\",\"namespace\":\"org.apache.flume.serialization\"," +
        "\"fields\":[{\"name\":\"offset\",\"type\":\"long\"},{\"name\":\"recordsIntoBlock\",\"type\":\"long\",\"default\":0}]}";

    private readonly FileStream _stream;
    private readonly byte[] _sync;
    private readonly byte[] _block = new byte[64];

    private SpoolMetaFile(FileStream stream, byte[] sync)
    {
        _stream = stream;
        _sync = sync;
    }

    /// <summary>
    /// Reads the meta file at <paramref name="path"/>: the target and its last position, or null when there is no file,
    /// it is empty, or it has no record yet. A malformed file throws <see cref="AvroFormatException"/>.
    /// </summary>
    public static SpoolProgress? Read(string path)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        if (data.Length == 0)
        {
            return null;
        }
        if (!AvroBinary.TryReadHeader(data, path, out var metadata, out var sync, out var position))
        {
            return null; // torn while being created
        }
        if (!metadata.TryGetValue("file", out var target))
        {
            throw new AvroFormatException(path, 0, "no \"file\" entry in the header (not a spool directory meta file)");
        }
        if (metadata.TryGetValue("avro.codec", out var codec) && codec.Length > 0 && !codec.AsSpan().SequenceEqual("null"u8))
        {
            throw new AvroFormatException(path, 0, $"codec '{Encoding.UTF8.GetString(codec)}' (expected null)");
        }
        var fields = RecordFields(metadata.TryGetValue("avro.schema", out var schema) ? schema : [], path);
        var offsetIndex = fields.IndexOf("offset");
        var recordsIndex = fields.IndexOf("recordsIntoBlock");
        if (offsetIndex < 0)
        {
            throw new AvroFormatException(path, 0, "the schema has no \"offset\" field");
        }
        SpoolPosition? last = null;
        while (position < data.Length)
        {
            var blockStart = position;
            if (!AvroBinary.TryReadLong(data, ref position, out var count) || !AvroBinary.TryReadLong(data, ref position, out var size)
                || size < 0 || data.Length - position < size + AvroBinary.SyncBytes)
            {
                break; // torn last block
            }
            var record = position;
            var end = position + (int)size;
            if (!data.AsSpan(end, AvroBinary.SyncBytes).SequenceEqual(sync))
            {
                throw new AvroFormatException(path, end, "sync marker does not match the header's");
            }
            for (long i = 0; i < count; i++)
            {
                long offset = 0, recordsIntoBlock = 0;
                for (var f = 0; f < fields.Count; f++)
                {
                    if (!AvroBinary.TryReadLong(data.AsSpan(0, end), ref record, out var value))
                    {
                        throw new AvroFormatException(path, blockStart, "record shorter than its block");
                    }
                    if (f == offsetIndex)
                    {
                        offset = value;
                    }
                    else if (f == recordsIndex)
                    {
                        recordsIntoBlock = value;
                    }
                }
                last = new SpoolPosition(offset, recordsIntoBlock);
            }
            position = end + AvroBinary.SyncBytes;
        }
        ulong? inode = metadata.TryGetValue("zooflow.inode", out var inodeText)
            && ulong.TryParse(Encoding.UTF8.GetString(inodeText), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
        return new SpoolProgress(Encoding.UTF8.GetString(target), last ?? SpoolPosition.Start, inode);
    }

    /// <summary>Creates a new meta file for <paramref name="target"/> (replacing any), with no record yet, and opens it for
    /// <see cref="Append"/>.</summary>
    public static SpoolMetaFile Create(string path, string target, ulong inode)
    {
        var sync = new byte[AvroBinary.SyncBytes];
        RandomNumberGenerator.Fill(sync);
        var temporary = path + ".tmp";
        using (var header = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            header.Write(AvroBinary.Magic);
            AvroBinary.WriteLong(header, 4);
            WriteEntry(header, "avro.schema", Schema);
            WriteEntry(header, "avro.codec", "null");
            WriteEntry(header, "file", target);
            WriteEntry(header, "zooflow.inode", inode.ToString(CultureInfo.InvariantCulture));
            AvroBinary.WriteLong(header, 0);
            header.Write(sync);
        }
        File.Move(temporary, path, overwrite: true);
        var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
        return new SpoolMetaFile(stream, sync);
    }

    /// <summary>Appends <paramref name="position"/> as one block with one write (into the page cache: survives a crash of
    /// the process; not fsynced).</summary>
    public void Append(SpoolPosition position)
    {
        Span<byte> record = stackalloc byte[20];
        var recordLength = AvroBinary.WriteLong(record, position.Offset);
        recordLength += AvroBinary.WriteLong(record[recordLength..], position.RecordsIntoBlock);
        var at = AvroBinary.WriteLong(_block, 1);
        at += AvroBinary.WriteLong(_block.AsSpan(at), recordLength);
        record[..recordLength].CopyTo(_block.AsSpan(at));
        at += recordLength;
        _sync.CopyTo(_block.AsSpan(at));
        at += AvroBinary.SyncBytes;
        _stream.Write(_block, 0, at);
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    private static void WriteEntry(Stream stream, string key, string value)
    {
        AvroBinary.WriteBytes(stream, Encoding.UTF8.GetBytes(key));
        AvroBinary.WriteBytes(stream, Encoding.UTF8.GetBytes(value));
    }

    /// <summary>The field names of the record schema; every field must be a long (or int), as in Flume's and ours.</summary>
    private static List<string> RecordFields(byte[] schema, string path)
    {
        try
        {
            using var document = JsonDocument.Parse(schema);
            var fields = new List<string>();
            foreach (var field in document.RootElement.GetProperty("fields").EnumerateArray())
            {
                var type = field.GetProperty("type");
                if (type.ValueKind != JsonValueKind.String || type.GetString() is not ("long" or "int"))
                {
                    throw new AvroFormatException(path, 0, $"unsupported field type {type} in the meta schema");
                }
                fields.Add(field.GetProperty("name").GetString() ?? "");
            }
            return fields;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new AvroFormatException(path, 0, "the header's avro.schema is not a record schema: " + ex.Message);
        }
    }
}
