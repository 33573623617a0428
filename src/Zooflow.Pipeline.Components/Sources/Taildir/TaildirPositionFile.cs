using System.Text;
using System.Text.Json;

namespace Zooflow.Pipeline.Components.Sources.Taildir;

/// <summary>One entry of a taildir position file: the inode of a tailed file, the byte offset up to which its lines
/// were committed to the channels, and the path it had when the entry was written.</summary>
/// <param name="Inode">The file's inode (Java's <c>unix:ino</c>).</param>
/// <param name="Position">Bytes of the file whose lines were committed; reading resumes here.</param>
/// <param name="Path">The file's absolute path when written (informational: files are matched by inode).</param>
public readonly record struct TaildirPosition(long Inode, long Position, string Path);

/// <summary>What was read just before a saved position: the first bytes of the file and the bytes before the position.
/// Kept next to the position file so that a restart can tell whether the file still holds what was read (not truncated,
/// not replaced by a new file that reuses the inode) and find a copytruncate copy made while the agent was stopped.</summary>
/// <param name="Inode">The file's inode.</param>
/// <param name="Position">The position the fingerprint belongs to (it is used only if the position file agrees).</param>
/// <param name="Head">The file's first bytes (up to 64).</param>
/// <param name="Guard">The bytes just before <paramref name="Position"/> (up to 64).</param>
public sealed record TaildirFingerprint(long Inode, long Position, byte[] Head, byte[] Guard);

/// <summary>Reads and writes Flume's taildir position file, so that a position file written by Flume keeps working and
/// Flume can read ours.</summary>
/// <remarks>
/// <para>Format (Flume's <c>TaildirSource.toPosInfoJson</c>: Gson of a list of maps):</para>
/// <code>
/// file  = ws "[" ws [ entry *( ws "," ws entry ) ] ws "]" ws     ; ws after the array: Zooflow pads in-place rewrites
/// entry = "{" member *( "," member ) "}"                        ; members in any order, each required once:
///         "inode": integer  "pos": integer  "file": string       ; unknown members are skipped
/// </code>
/// <para>Example: <c>[{"inode":2496272,"pos":12,"file":"/var/log/app.log"}]</c>. An empty file (what Flume writes when it
/// tails nothing) reads as no entries. Written members are always in Flume's order: inode, pos, file.</para>
/// </remarks>
public static class TaildirPositionFile
{
    /// <summary>Parses <paramref name="json"/>; a malformed file throws <see cref="FormatException"/> naming
    /// <paramref name="pathForErrors"/>, the byte offset and what was expected.</summary>
    public static IReadOnlyList<TaildirPosition> Parse(ReadOnlySpan<byte> json, string pathForErrors)
    {
        var entries = new List<TaildirPosition>();
        if (json.Trim(" \t\r\n"u8).IsEmpty)
        {
            return entries;
        }
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        try
        {
            Expect(ref reader, JsonTokenType.StartArray, "'[' (the position file is a JSON array)", pathForErrors);
            while (true)
            {
                Read(ref reader, pathForErrors);
                if (reader.TokenType == JsonTokenType.EndArray)
                {
                    break;
                }
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    throw Malformed(pathForErrors, reader.TokenStartIndex, $"expected '{{' starting an entry, found {reader.TokenType}");
                }
                var entryStart = reader.TokenStartIndex;
                long? inode = null, pos = null;
                string? file = null;
                while (true)
                {
                    Read(ref reader, pathForErrors);
                    if (reader.TokenType == JsonTokenType.EndObject)
                    {
                        break;
                    }
                    var name = reader.GetString();
                    Read(ref reader, pathForErrors);
                    switch (name)
                    {
                        case "inode":
                            inode = ReadInteger(ref reader, "inode", pathForErrors);
                            break;
                        case "pos":
                            pos = ReadInteger(ref reader, "pos", pathForErrors);
                            break;
                        case "file":
                            if (reader.TokenType != JsonTokenType.String)
                            {
                                throw Malformed(pathForErrors, reader.TokenStartIndex, $"\"file\" must be a string, found {reader.TokenType}");
                            }
                            file = reader.GetString();
                            break;
                        default:
                            reader.Skip();
                            break;
                    }
                }
                if (inode is null || pos is null || file is null)
                {
                    throw Malformed(pathForErrors, entryStart, $"entry is missing a value (inode: {inode?.ToString() ?? "missing"}, pos: {pos?.ToString() ?? "missing"}, file: {file ?? "missing"})");
                }
                if (pos < 0)
                {
                    throw Malformed(pathForErrors, entryStart, $"\"pos\" is negative ({pos})");
                }
                entries.Add(new TaildirPosition(inode.Value, pos.Value, file));
            }
            // Anything after the array other than whitespace is an error.
            if (reader.Read())
            {
                throw Malformed(pathForErrors, reader.TokenStartIndex, $"unexpected {reader.TokenType} after the closing ']'");
            }
        }
        catch (JsonException ex)
        {
            throw Malformed(pathForErrors, reader.BytesConsumed, ex.Message);
        }
        return entries;
    }

    /// <summary>Writes <paramref name="entries"/> in Flume's form (UTF-8, no whitespace).</summary>
    public static byte[] Serialize(IEnumerable<TaildirPosition> entries) => WriteArray(entries, static (writer, entry) =>
    {
        writer.WriteNumber("inode"u8, entry.Inode);
        writer.WriteNumber("pos"u8, entry.Position);
        writer.WriteString("file"u8, entry.Path);
    });

    /// <summary>Parses the fingerprint side file <c>&lt;positionFile&gt;.fingerprints</c>:
    /// <c>[{"inode":n,"pos":n,"head":"base64","guard":"base64","check":n}, ...]</c>, where check is a 32-bit FNV-1a of the
    /// other four; an entry whose check fails (torn by a kill in the middle of a rewrite) is left out. Throws
    /// <see cref="FormatException"/> for a file that is not such an array.</summary>
    public static IReadOnlyList<TaildirFingerprint> ParseFingerprints(ReadOnlySpan<byte> json, string pathForErrors)
    {
        var result = new List<TaildirFingerprint>();
        if (json.Trim(" \t\r\n"u8).IsEmpty)
        {
            return result;
        }
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            foreach (var entry in document.RootElement.EnumerateArray())
            {
                var print = new TaildirFingerprint(entry.GetProperty("inode").GetInt64(), entry.GetProperty("pos").GetInt64(),
                    entry.GetProperty("head").GetBytesFromBase64(), entry.GetProperty("guard").GetBytesFromBase64());
                if (entry.TryGetProperty("check", out var check) && check.TryGetUInt32(out var value) && value == Check(print))
                {
                    result.Add(print);
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new FormatException($"taildir fingerprint file {pathForErrors} is malformed: {ex.Message}", ex);
        }
        return result;
    }

    /// <summary>Writes the fingerprint side file.</summary>
    public static byte[] SerializeFingerprints(IEnumerable<TaildirFingerprint> entries) => WriteArray(entries, static (writer, entry) =>
    {
        writer.WriteNumber("inode"u8, entry.Inode);
        writer.WriteNumber("pos"u8, entry.Position);
        writer.WriteBase64String("head"u8, entry.Head);
        writer.WriteBase64String("guard"u8, entry.Guard);
        writer.WriteNumber("check"u8, Check(entry));
    });

    /// <summary>FNV-1a (32 bit) over inode, position, head and guard.</summary>
    private static uint Check(TaildirFingerprint print)
    {
        var hash = 2166136261u;
        Span<byte> numbers = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(numbers, print.Inode);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(numbers[8..], print.Position);
        foreach (var part in new[] { numbers.ToArray(), print.Head, [(byte)print.Head.Length], print.Guard })
        {
            foreach (var b in part)
            {
                hash = (hash ^ b) * 16777619u;
            }
        }
        return hash;
    }

    private static byte[] WriteArray<T>(IEnumerable<T> entries, Action<Utf8JsonWriter, T> writeMembers)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var entry in entries)
            {
                writer.WriteStartObject();
                writeMembers(writer, entry);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        return buffer.ToArray();
    }

    private static long ReadInteger(ref Utf8JsonReader reader, string member, string path)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value))
        {
            throw Malformed(path, reader.TokenStartIndex, $"\"{member}\" must be a whole number, found {Describe(ref reader)}");
        }
        return value;
    }

    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number or JsonTokenType.String => $"{reader.TokenType} {Encoding.UTF8.GetString(reader.ValueSpan)}",
        _ => reader.TokenType.ToString(),
    };

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType expected, string what, string path)
    {
        Read(ref reader, path);
        if (reader.TokenType != expected)
        {
            throw Malformed(path, reader.TokenStartIndex, $"expected {what}, found {reader.TokenType}");
        }
    }

    private static void Read(ref Utf8JsonReader reader, string path)
    {
        if (!reader.Read())
        {
            throw Malformed(path, reader.BytesConsumed, "unexpected end of file (the JSON array is not closed)");
        }
    }

    private static FormatException Malformed(string path, long offset, string message) =>
        new($"taildir position file {path} is malformed at byte {offset}: {message}");
}
