using System.Buffers.Binary;
using System.CommandLine;
using System.Globalization;
using Zooflow.DataTree;
using Zooflow.Jute;
using Zooflow.Server.Persistence;
using Zooflow.Storage;

namespace Zooflow.Cli.Commands;

/// <summary>
/// <c>zooflow import-zookeeper &lt;zookeeper dataDir&gt; &lt;zooflow dataDir&gt;</c>: reads Apache ZooKeeper 3.x snapshot and
/// transaction log files (<c>version-2/</c>), replays the logs after the newest readable snapshot and writes a Zooflow data
/// directory holding one snapshot of the identical tree: data, ACLs, Stat fields, sequential counters (parent cversion),
/// sessions with their timeouts and the ephemerals of sessions still alive. See <see cref="ZooKeeperFiles"/> for the formats.
/// </summary>
internal static class ImportZookeeperCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("zookeeper-dataDir") { Description = "ZooKeeper dataDir (the one holding version-2/), or version-2 itself" };
        var target = new Argument<string>("zooflow-dataDir") { Description = "Zooflow dataDir to create (must hold no snapshot or log yet)" };
        var logDir = new Option<string?>("--zookeeper-dataLogDir") { Description = "ZooKeeper dataLogDir when separate from dataDir" };
        var command = new Command("import-zookeeper", "Convert an Apache ZooKeeper 3.x data directory (snapshots + transaction logs) into a Zooflow data directory.")
        {
            source, target, logDir,
        };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(source)!, parse.GetValue(logDir), parse.GetValue(target)!, ct));
        return command;
    }

    private static void WriteTree(Stream stream, ZnodeTree tree)
    {
        using var buffered = new BufferedStream(stream, 1 << 16);
        TreeSnapshot.Write(buffered, tree);
        buffered.Flush();
    }

    private static async Task<int> RunAsync(string source, string? sourceLogs, string target, CancellationToken cancellationToken)
    {
        var snapDir = ZooKeeperFiles.VersionDir(source);
        var logDir = sourceLogs is null ? snapDir : ZooKeeperFiles.VersionDir(sourceLogs);
        if (!Directory.Exists(snapDir))
        {
            await Console.Error.WriteLineAsync($"zooflow import-zookeeper: {source}: no version-2 directory");
            return 2;
        }

        Directory.CreateDirectory(target);
        if (Directory.EnumerateFiles(target, "snapshot.*").Any() || Directory.EnumerateFiles(target, "log.*").Any())
        {
            await Console.Error.WriteLineAsync($"zooflow import-zookeeper: {target} already holds Zooflow snapshots or logs; import into an empty directory");
            return 2;
        }

        try
        {
            var result = ZooKeeperFiles.Load(snapDir, logDir, Console.Out);
            using var dataLock = DataDirectoryLock.Acquire(target);
            var store = new SnapshotStore(target);
            var tree = result.Tree;
            var info = await store.WriteAsync(tree.LastProcessedZxid, (stream, ct) =>
            {
                WriteTree(stream, tree);
                return ValueTask.CompletedTask;
            }, cancellationToken);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"imported {tree.NodeCount} znodes, {tree.Sessions.Count} sessions, {tree.EphemeralCount} ephemerals; last zxid 0x{tree.LastProcessedZxid:x} " +
                $"(snapshot 0x{result.SnapshotZxid:x} + {result.Replayed} txns from {result.LogFiles} log file(s)) → {info.Path}"));
            return 0;
        }
        catch (InvalidDataException ex)
        {
            await Console.Error.WriteLineAsync($"zooflow import-zookeeper: {ex.Message}");
            return 1;
        }
    }
}

/// <summary>
/// Readers for Apache ZooKeeper 3.x on-disk files (big-endian jute, <c>BinaryOutputArchive</c>).
/// <code>
/// snapshot.&lt;zxid&gt; := FileHeader{magic "ZKSN", version 2, dbid:long}
///                     sessionCount:int (id:long timeout:int)*
///                     aclCacheSize:int (ref:long aclCount:int ACL*)*           (ReferenceCountedACLCache)
///                     (path:ustring DataNode{data:buffer aclRef:long StatPersisted})* "/":ustring   (root path is "")
///                     adler32:long "/":ustring [digest]
/// StatPersisted    := czxid mzxid ctime mtime:long version cversion aversion:int ephemeralOwner pzxid:long
/// log.&lt;zxid&gt;      := FileHeader{magic "ZKLG", version 2, dbid} (adler32:long length:int TxnHeader+record[+digest] 'B')*
///                     then zero padding (a zero length or zero checksum ends the log)
/// </code>
/// ACL reference -1 is OPEN_ACL_UNSAFE.
/// </summary>
internal static class ZooKeeperFiles
{
    public const int SnapMagic = 0x5A4B534E; // "ZKSN"
    public const int LogMagic = 0x5A4B4C47;  // "ZKLG"

    public sealed record LoadResult(ZnodeTree Tree, long SnapshotZxid, long Replayed, int LogFiles);

    public static string VersionDir(string dir) =>
        Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)) == "version-2" ? dir : Path.Combine(dir, "version-2");

    private static long ZxidOf(string file) =>
        long.TryParse(Path.GetFileName(file).AsSpan(file.Contains("snapshot.", StringComparison.Ordinal) ? Path.GetFileName(file).IndexOf('.') + 1 : 4),
            NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var z) ? z : -1;

    public static LoadResult Load(string snapDir, string logDir, TextWriter report)
    {
        var snapshots = Directory.EnumerateFiles(snapDir, "snapshot.*").Where(f => ZxidOf(f) >= 0).OrderByDescending(ZxidOf).ToList();
        ZnodeTree? tree = null;
        long snapZxid = 0;
        foreach (var snap in snapshots)
        {
            try
            {
                tree = ReadSnapshot(snap);
                snapZxid = ZxidOf(snap);
                report.WriteLine($"loaded ZooKeeper snapshot {snap} ({tree.NodeCount} znodes, {tree.Sessions.Count} sessions)");
                break;
            }
            catch (InvalidDataException ex)
            {
                report.WriteLine($"skipped ZooKeeper snapshot {snap}: {ex.Message}");
            }
        }

        if (tree is null)
        {
            if (snapshots.Count > 0)
            {
                throw new InvalidDataException($"no readable snapshot in {snapDir}");
            }

            tree = new ZnodeTree();
        }

        // Log files are named by their first zxid; the one holding snapZxid+1 may start before it.
        var logs = Directory.EnumerateFiles(logDir, "log.*").Where(f => ZxidOf(f) >= 0).OrderBy(ZxidOf).ToList();
        var startIndex = Math.Max(0, logs.FindLastIndex(f => ZxidOf(f) <= snapZxid + 1));
        long replayed = 0;
        var used = 0;
        var last = snapZxid;
        for (var i = startIndex; i < logs.Count; i++)
        {
            used++;
            foreach (var (entry, problem) in ReadLog(logs[i]))
            {
                if (problem is not null)
                {
                    report.WriteLine($"log {logs[i]}: {problem}; later records of this file ignored");
                    break;
                }

                var h = entry!.Header;
                if (h.Zxid <= last)
                {
                    continue;
                }

                tree.Apply(h, entry.Txn);
                last = h.Zxid;
                replayed++;
            }
        }

        if (tree.LastProcessedZxid < last)
        {
            tree.SetLastProcessedZxid(last);
        }

        return new LoadResult(tree, snapZxid, replayed, used);
    }

    public static ZnodeTree ReadSnapshot(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var reader = new JuteReader(bytes, int.MaxValue);
        try
        {
            if (reader.ReadInt("magic") != SnapMagic)
            {
                throw new InvalidDataException($"{path}: not a ZooKeeper snapshot (bad magic)");
            }

            reader.ReadInt("version");
            reader.ReadLong("dbid");
            var tree = new ZnodeTree();
            var sessions = reader.ReadInt("count");
            for (var i = 0; i < sessions; i++)
            {
                var id = reader.ReadLong("id");
                tree.LoadSession(id, reader.ReadInt("timeout"));
            }

            var acls = new Dictionary<long, IReadOnlyList<Acl>> { [-1] = Acl.OpenAclUnsafe };
            var mapSize = reader.ReadInt("map");
            for (var i = 0; i < mapSize; i++)
            {
                var key = reader.ReadLong("long");
                var count = reader.ReadInt("acls");
                var list = new Acl[Math.Max(0, count)];
                for (var j = 0; j < list.Length; j++)
                {
                    list[j] = reader.ReadAcl("acl");
                }

                acls[key] = list;
            }

            while (true)
            {
                var nodePath = reader.ReadString("path");
                if (nodePath == "/")
                {
                    break;
                }

                var data = reader.ReadNullableBuffer("data") ?? [];
                var aclRef = reader.ReadLong("acl");
                var czxid = reader.ReadLong("czxid");
                var mzxid = reader.ReadLong("mzxid");
                var ctime = reader.ReadLong("ctime");
                var mtime = reader.ReadLong("mtime");
                var version = reader.ReadInt("version");
                var cversion = reader.ReadInt("cversion");
                var aversion = reader.ReadInt("aversion");
                var owner = reader.ReadLong("ephemeralOwner");
                var pzxid = reader.ReadLong("pzxid");
                if (!acls.TryGetValue(aclRef, out var acl))
                {
                    throw new InvalidDataException($"{path}: node '{nodePath}' refers to ACL {aclRef}, which the ACL cache does not hold");
                }

                var stat = new Stat(czxid, mzxid, ctime, mtime, version, cversion, aversion, owner, data.Length, 0, pzxid);
                var (kind, session, ttl) = EphemeralOwner.Decode(owner, extendedTypesEnabled: true);
                tree.LoadNode(nodePath.Length == 0 ? "/" : nodePath, data, acl, stat, kind, session, ttl);
            }

            var checksum = reader.ReadLong("val");
            var expected = Adler32(bytes.AsSpan(0, (int)(reader.Consumed - 8)));
            if ((ulong)checksum != expected)
            {
                throw new InvalidDataException($"{path}: checksum mismatch (file says {checksum:x}, computed {expected:x}); incomplete or damaged");
            }

            if (reader.ReadString("path") != "/")
            {
                throw new InvalidDataException($"{path}: missing end marker");
            }

            tree.SetLastProcessedZxid(ZxidOf(path));
            return tree;
        }
        catch (Exception ex) when (ex is ProtocolException or InvalidOperationException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: {ex.Message}", ex);
        }
    }

    public static IEnumerable<(TxnEntry? Entry, string? Problem)> ReadLog(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(bytes) != LogMagic)
        {
            yield return (null, "not a ZooKeeper transaction log (bad magic)");
            yield break;
        }

        var offset = 16;
        while (offset + 12 <= bytes.Length)
        {
            var crc = BinaryPrimitives.ReadInt64BigEndian(bytes.AsSpan(offset));
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(offset + 8));
            if (length == 0 && crc == 0)
            {
                yield break; // preallocated padding: end of the log
            }

            if (length < 0 || offset + 12 + length + 1 > bytes.Length)
            {
                yield return (null, $"torn record at offset {offset} (length {length})");
                yield break;
            }

            var body = bytes.AsSpan(offset + 12, length);
            if ((ulong)crc != Adler32(body))
            {
                yield return (null, $"checksum mismatch at offset {offset}");
                yield break;
            }

            if (bytes[offset + 12 + length] != (byte)'B')
            {
                yield return (null, $"missing end-of-record marker at offset {offset}");
                yield break;
            }

            TxnEntry entry;
            string? problem = null;
            try
            {
                entry = TxnCodec.Deserialize(bytes.AsMemory(offset + 12, length), int.MaxValue);
            }
            catch (Exception ex) when (ex is ProtocolException or ArgumentException or InvalidOperationException)
            {
                entry = null!;
                problem = $"undecodable transaction at offset {offset}: {ex.Message}";
            }

            yield return (problem is null ? entry : null, problem);
            if (problem is not null)
            {
                yield break;
            }

            offset += 12 + length + 1;
        }
    }

    public static ulong Adler32(ReadOnlySpan<byte> data)
    {
        const uint Mod = 65521;
        uint a = 1, b = 0;
        while (data.Length > 0)
        {
            var n = Math.Min(data.Length, 5552);
            foreach (var x in data[..n])
            {
                a += x;
                b += a;
            }

            a %= Mod;
            b %= Mod;
            data = data[n..];
        }

        return (b << 16) | a;
    }
}
