using System.CommandLine;
using System.Text;
using Zooflow.Jute;
using Zooflow.Storage;

namespace Zooflow.Cli.Commands;

/// <summary>
/// <c>zooflow log dump &lt;file&gt;</c>: prints every transaction of a Zooflow log segment (or of every segment of a
/// directory) in a readable form, one line per transaction, like ZooKeeper's <c>TxnLogToolkit</c> / <c>LogFormatter</c>.
/// A damaged record ends the dump with a line saying where and why; the exit code is then 1.
/// </summary>
internal static class LogDumpCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "a log segment (log.<zxid>) or a directory of them" };
        var dump = new Command("dump", "Print the transactions of a Zooflow transaction log segment.") { file };
        dump.SetAction(parse => Run(parse.GetValue(file)!));
        return new Command("log", "Transaction log tools.") { dump };
    }

    private static int Run(string path)
    {
        var files = Directory.Exists(path) ? TxnLog.ListSegmentFiles(path).Select(s => s.Path).ToList() : [path];
        if (files.Count == 0 || (files.Count == 1 && !File.Exists(files[0])))
        {
            Console.Error.WriteLine($"zooflow log dump: {path}: no such log file");
            return 2;
        }

        var exit = 0;
        foreach (var f in files)
        {
            Console.WriteLine($"ZooFlow transaction log segment {f}");
            long count = 0;
            try
            {
                foreach (var record in TxnLog.ReadFile(f))
                {
                    Console.WriteLine(Format(record.Zxid, record.Payload));
                    count++;
                }
            }
            catch (StorageException ex)
            {
                Console.WriteLine($"CORRUPT at offset {ex.Offset}: {ex.Message}");
                exit = 1;
            }

            Console.WriteLine($"EOF reached after {count} txns.");
        }

        return exit;
    }

    internal static string Format(long zxid, ReadOnlyMemory<byte> payload)
    {
        try
        {
            var entry = TxnCodec.Deserialize(payload, int.MaxValue);
            var h = entry.Header;
            var time = DateTimeOffset.FromUnixTimeMilliseconds(h.Time).ToString("yyyy-MM-dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture);
            return $"{time} session 0x{h.ClientId:x} cxid 0x{h.Cxid:x} zxid 0x{h.Zxid:x} {h.Type} {Describe(entry.Txn)}";
        }
        catch (Exception ex) when (ex is ProtocolException or ArgumentException or InvalidOperationException)
        {
            return $"zxid 0x{zxid:x} undecodable ({payload.Length} bytes): {ex.Message}";
        }
    }

    /// <summary>A record's fields, byte arrays as text when printable (ZooKeeper's formatter does the same) or hex.</summary>
    internal static string Describe(object? txn)
    {
        if (txn is null)
        {
            return string.Empty;
        }

        var sb = new StringBuilder();
        sb.Append(txn.GetType().Name).Append(" { ");
        var first = true;
        foreach (var p in txn.GetType().GetProperties())
        {
            if (p.GetIndexParameters().Length > 0 || p.Name == "EqualityContract")
            {
                continue;
            }

            if (!first)
            {
                sb.Append(", ");
            }

            first = false;
            sb.Append(p.Name).Append(" = ");
            var value = p.GetValue(txn);
            switch (value)
            {
                case byte[] bytes:
                    sb.Append(Bytes(bytes));
                    break;
                case System.Collections.IEnumerable list and not string:
                    sb.Append('[');
                    var i = 0;
                    foreach (var item in list)
                    {
                        sb.Append(i++ == 0 ? string.Empty : ", ").Append(item is null || item.GetType().IsPrimitive || item is string || item is Acl ? item : Describe(item));
                    }

                    sb.Append(']');
                    break;
                default:
                    sb.Append(value);
                    break;
            }
        }

        return sb.Append(" }").ToString();
    }

    internal static string Bytes(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            return "\"\"";
        }

        var printable = bytes.All(b => b >= 0x20 && b < 0x7f);
        if (printable)
        {
            return "\"" + Encoding.ASCII.GetString(bytes, 0, Math.Min(bytes.Length, 256)) + (bytes.Length > 256 ? "...\"" : "\"");
        }

        return "0x" + Convert.ToHexStringLower(bytes.AsSpan(0, Math.Min(bytes.Length, 128))) + (bytes.Length > 128 ? "..." : string.Empty) + $" ({bytes.Length} bytes)";
    }
}
