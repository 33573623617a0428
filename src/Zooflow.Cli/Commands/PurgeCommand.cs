using System.CommandLine;
using Zooflow.Storage;

namespace Zooflow.Cli.Commands;

/// <summary>
/// <c>zooflow purge &lt;dataDir&gt; [&lt;dataLogDir&gt;] -n &lt;count&gt;</c>: ZooKeeper's <c>PurgeTxnLog</c>. Keeps the newest
/// <c>count</c> (at least 3) snapshots and the log segments needed to replay from the oldest of them; deletes the rest.
/// Refuses to run while a server holds the data directory.
/// </summary>
internal static class PurgeCommand
{
    public static Command Create()
    {
        var dataDir = new Argument<string>("dataDir") { Description = "directory of the snapshots" };
        var dataLogDir = new Argument<string?>("dataLogDir") { Arity = ArgumentArity.ZeroOrOne, Description = "directory of the transaction log (default: dataDir)" };
        var count = new Option<int>("-n", "--count") { Description = "snapshots to keep (at least 3)", DefaultValueFactory = _ => 3 };
        var command = new Command("purge", "Delete old snapshots and transaction log segments, keeping the newest N snapshots (N >= 3).") { dataDir, dataLogDir, count };
        command.SetAction(parse => Run(parse.GetValue(dataDir)!, parse.GetValue(dataLogDir), parse.GetValue(count)));
        return command;
    }

    private static int Run(string dataDir, string? dataLogDir, int count)
    {
        if (count < SnapshotStore.MinRetainCount)
        {
            Console.Error.WriteLine($"zooflow purge: -n must be at least {SnapshotStore.MinRetainCount} (got {count})");
            return 2;
        }

        if (!Directory.Exists(dataDir) || (dataLogDir is not null && !Directory.Exists(dataLogDir)))
        {
            Console.Error.WriteLine($"zooflow purge: {(Directory.Exists(dataDir) ? dataLogDir : dataDir)}: no such directory");
            return 2;
        }

        var logDir = dataLogDir ?? dataDir;
        try
        {
            using var dataLock = DataDirectoryLock.Acquire(dataDir);
            using var logLock = Path.GetFullPath(logDir).TrimEnd('/') != Path.GetFullPath(dataDir).TrimEnd('/') ? DataDirectoryLock.Acquire(logDir) : null;
            var snapshots = new SnapshotStore(dataDir);
            using var log = TxnLog.Open(new TxnLogOptions { Directory = logDir, PreallocateBytes = 0 });
            var result = StorageRetention.Purge(snapshots, log, count);
            foreach (var f in result.DeletedSnapshots.Concat(result.DeletedLogSegments))
            {
                Console.WriteLine("deleted " + f);
            }

            Console.WriteLine($"kept the newest {count} snapshots (oldest kept zxid {(result.OldestKeptZxid is { } z ? Zxid.Format(z) : "none")}); " +
                $"deleted {result.DeletedSnapshots.Count} snapshot(s) and {result.DeletedLogSegments.Count} log segment(s)");
            return 0;
        }
        catch (DataDirectoryLockedException ex)
        {
            Console.Error.WriteLine($"zooflow purge: {ex.Message} (stop the server or let its autopurge do it)");
            return 1;
        }
    }
}
