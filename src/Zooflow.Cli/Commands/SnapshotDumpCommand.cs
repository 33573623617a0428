using System.CommandLine;
using Zooflow.DataTree;
using Zooflow.Server.Persistence;
using Zooflow.Storage;

namespace Zooflow.Cli.Commands;

/// <summary>
/// <c>zooflow snapshot dump &lt;file&gt;</c>: verifies a Zooflow snapshot file and prints its sessions and every node
/// (path, Stat, ACL, data), like ZooKeeper's <c>SnapshotFormatter</c>. Exit 1 when the file is invalid.
/// </summary>
internal static class SnapshotDumpCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "a snapshot file (snapshot.<zxid>)" };
        var dump = new Command("dump", "Print the sessions and znodes of a Zooflow snapshot file.") { file };
        dump.SetAction((parse, ct) => RunAsync(parse.GetValue(file)!, ct));
        return new Command("snapshot", "Snapshot tools.") { dump };
    }

    private static async Task<int> RunAsync(string path, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            await Console.Error.WriteLineAsync($"zooflow snapshot dump: {path}: no such file");
            return 2;
        }

        try
        {
            var output = Console.Out;
            await SnapshotStore.ReadFileAsync(path, (body, info, ct) =>
            {
                Dump(body, info, output);
                return ValueTask.CompletedTask;
            }, cancellationToken);
            return 0;
        }
        catch (Exception ex) when (ex is StorageException or InvalidDataException)
        {
            await Console.Error.WriteLineAsync($"zooflow snapshot dump: {path}: invalid snapshot: {ex.Message}");
            return 1;
        }
    }

    private static void Dump(Stream body, SnapshotFileInfo info, TextWriter output)
    {
                output.WriteLine($"ZooFlow snapshot {info.Path}, zxid 0x{info.Zxid:x}, {info.Length} bytes");
                var sessions = 0;
                var nodes = TreeSnapshot.Read(body, (id, timeout) =>
                {
                    if (sessions++ == 0)
                    {
                        output.WriteLine("Sessions:");
                    }

                    output.WriteLine($"  0x{id:x}: timeout {timeout} ms");
                }, node =>
                {
                    var s = node.Stat;
                    var (kind, owner, ttl) = EphemeralOwner.Decode(node.RawEphemeralOwner, extendedTypesEnabled: true);
                    output.WriteLine(node.Path);
                    output.WriteLine($"  cZxid = 0x{s.Czxid:x}");
                    output.WriteLine($"  ctime = {Time(s.Ctime)}");
                    output.WriteLine($"  mZxid = 0x{s.Mzxid:x}");
                    output.WriteLine($"  mtime = {Time(s.Mtime)}");
                    output.WriteLine($"  pZxid = 0x{s.Pzxid:x}");
                    output.WriteLine($"  cversion = {s.Cversion}");
                    output.WriteLine($"  dataVersion = {s.Version}");
                    output.WriteLine($"  aclVersion = {s.Aversion}");
                    output.WriteLine($"  ephemeralOwner = 0x{node.RawEphemeralOwner:x} ({kind}{(kind == ZnodeKind.Ephemeral ? $" of 0x{owner:x}" : kind == ZnodeKind.Ttl ? $" ttl {ttl} ms" : string.Empty)})");
                    output.WriteLine($"  dataLength = {node.Data.Length}");
                    output.WriteLine($"  acl = [{string.Join(", ", node.Acl.Select(a => $"{a.Id.Scheme}:{a.Id.Ident}:{(int)a.Perms}"))}]");
                    output.WriteLine($"  data = {LogDumpCommand.Bytes(node.Data)}");
                });
                output.WriteLine($"Sessions: {sessions}, nodes: {nodes}");
    }

    private static string Time(long ms) =>
        DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("ddd MMM dd HH:mm:ss 'UTC' yyyy", System.Globalization.CultureInfo.InvariantCulture);
}
