using System.Text;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.TestKit;

namespace Zooflow.Pipeline.FileChannel.Tests;

/// <summary>Channels on a test's own directories, and put/take helpers that commit or roll back explicitly.</summary>
internal static class Support
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static FileChannelOptions Options(TempDir dir, long capacity = 100_000, int transactionCapacity = 1000) => new()
    {
        CheckpointDir = dir.Combine("checkpoint"),
        DataDirs = [dir.Combine("data")],
        Capacity = capacity,
        TransactionCapacity = transactionCapacity,
        CheckpointInterval = TimeSpan.FromHours(1),
        MinimumRequiredSpace = FileChannelOptions.MinimumRequiredSpaceFloor,
        KeepAlive = TimeSpan.Zero,
    };

    public static async Task<FileChannel> OpenAsync(FileChannelOptions options, ListLogger? logger = null, string name = "c1")
    {
        var channel = new FileChannel(name, options, logger: logger);
        await channel.StartAsync(Ct);
        return channel;
    }

    /// <summary>An event whose body names it (and whose length varies), with a header on every third.</summary>
    public static Event Numbered(int i)
    {
        var body = Encoding.UTF8.GetBytes($"event-{i:D7}-" + new string((char)('a' + i % 26), i % 50));
        return i % 3 == 0 ? new Event(body, new Dictionary<string, string> { ["n"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture), ["k"] = "v" }) : new Event(body);
    }

    public static string Text(Event e) => Encoding.UTF8.GetString(e.Body.Span);

    public static async Task PutAsync(IChannel channel, IEnumerable<Event> events)
    {
        await using var tx = channel.BeginTransaction();
        foreach (var e in events)
        {
            tx.Put(e);
        }
        await tx.CommitAsync(Ct);
    }

    public static Task PutRangeAsync(IChannel channel, int first, int count) => PutAsync(channel, Enumerable.Range(first, count).Select(Numbered));

    /// <summary>Takes up to <paramref name="max"/> events in one transaction and commits.</summary>
    public static async Task<List<Event>> TakeAsync(IChannel channel, int max)
    {
        var taken = new List<Event>();
        await using var tx = channel.BeginTransaction();
        while (taken.Count < max && tx.Take() is { } e)
        {
            taken.Add(e);
        }
        await tx.CommitAsync(Ct);
        return taken;
    }

    /// <summary>Takes everything (in transactions of <paramref name="batchSize"/>) and returns the bodies as text.</summary>
    public static async Task<List<string>> DrainAsync(IChannel channel, int batchSize = 1000)
    {
        var all = new List<string>();
        while (true)
        {
            var batch = await TakeAsync(channel, batchSize);
            if (batch.Count == 0)
            {
                return all;
            }
            all.AddRange(batch.Select(Text));
        }
    }

    public static List<string> Texts(int first, int count) => [.. Enumerable.Range(first, count).Select(i => Text(Numbered(i)))];

    /// <summary>The <c>log.&lt;hex&gt;</c> data files of a directory, oldest first.</summary>
    public static string[] DataFiles(string directory) => Numbered(directory, "log.");

    /// <summary>The <c>checkpoint.&lt;hex&gt;</c> files of a directory, oldest first.</summary>
    public static string[] CheckpointFiles(string directory) => Numbered(directory, "checkpoint.");

    private static string[] Numbered(string directory, string prefix) =>
        [.. Directory.GetFiles(directory, prefix + "*")
            .Where(f => Zooflow.Storage.Zxid.TryParseFileName(Path.GetFileName(f), prefix, out _))
            .OrderBy(f => { Zooflow.Storage.Zxid.TryParseFileName(Path.GetFileName(f), prefix, out var n); return n; })];
}
