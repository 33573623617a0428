using System.Text;
using Xunit;
using Zooflow.Compat.Tests.Infrastructure;

namespace Zooflow.Compat.Tests;

/// <summary>
/// The differential test: CompatClient's seeded generator (java/CompatClient.java, class Diff) runs several hundred
/// operations over three sessions (creates of every mode with assorted ACLs, deletes and sets with right and wrong
/// versions, reads with watches, getChildren2, ACL reads and writes, multi with checks, multiRead, getAllChildrenNumber,
/// getEphemerals, persistent watches, removeWatches, sync, session close and reopen) and prints a normalized transcript:
/// error codes, data, Stat fields except times (zxids by order of first appearance, ephemeral owners by session name),
/// per-operation multi results, and after every operation the watch events each session received, in order.
/// The transcript from Zooflow must equal Apache ZooKeeper's line for line.
/// </summary>
public sealed class DifferentialTests(ServerPool pool)
{
    private const int Operations = 600;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private async Task<List<string>> TranscriptAsync(ServerKind kind, long seed)
    {
        var server = await pool.GetAsync(kind);
        var result = await JavaClient.RunRawAsync(server, "diff", ServerPool.UniqueRoot("diff"), Timeout,
            TestContext.Current.CancellationToken, seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Operations.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (result.ExitCode != 0 || lines.Count == 0 || lines[^1] != "done=true")
        {
            // Keep what ran: the comparison below still points at the first divergence, and the error is appended.
            lines.Add($"<client failed: exit {result.ExitCode}> {FirstLines(result.StandardError, 8)}");
        }

        return lines;
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(42L)]
    public async Task SeededSequence_SeveralHundredOperations_ZooflowTranscriptEqualsZooKeeper(long seed)
    {
        var reference = await TranscriptAsync(ServerKind.ZooKeeper, seed);
        Assert.Equal("done=true", reference[^1]);
        var actual = await TranscriptAsync(ServerKind.Zooflow, seed);
        AssertSameTranscript(reference, actual);
    }

    [Fact]
    public async Task SeededSequence_TwiceOnZooKeeper_IsDeterministicAndCoversTheErrorCodes()
    {
        var first = await TranscriptAsync(ServerKind.ZooKeeper, 1);
        var second = await TranscriptAsync(ServerKind.ZooKeeper, 1);
        AssertSameTranscript(first, second);

        var text = string.Join('\n', first);
        foreach (var needle in new[]
        {
            "-> NONODE", "-> NODEEXISTS", "-> BADVERSION", "-> NOTEMPTY", "-> NOAUTH", "-> INVALIDACL",
            "-> NOCHILDRENFOREPHEMERALS", "RUNTIMEINCONSISTENCY", "-> OK [", " ev ", "NodeDeleted", "NodeDataChanged",
            "NodeChildrenChanged", "NodeCreated", "closeSession", "eo=s", "n-0000000001", "createContainer", "createTTL",
        })
        {
            Assert.Contains(needle, text, StringComparison.Ordinal);
        }

        Assert.True(first.Count(l => l.StartsWith('#')) >= Operations, "transcript shorter than the sequence");
    }

    private static void AssertSameTranscript(List<string> expected, List<string> actual)
    {
        for (var i = 0; i < Math.Max(expected.Count, actual.Count); i++)
        {
            var e = i < expected.Count ? expected[i] : "<end of transcript>";
            var a = i < actual.Count ? actual[i] : "<end of transcript>";
            if (e == a)
            {
                continue;
            }

            var message = new StringBuilder();
            message.Append("transcripts differ at line ").Append(i + 1).Append('\n');
            message.Append("--- context (both) ---\n");
            for (var j = Math.Max(0, i - 12); j < i; j++)
            {
                message.Append("  ").Append(expected[j]).Append('\n');
            }

            message.Append("--- Apache ZooKeeper ---\n");
            for (var j = i; j < Math.Min(expected.Count, i + 6); j++)
            {
                message.Append("  ").Append(expected[j]).Append('\n');
            }

            message.Append("--- Zooflow ---\n");
            for (var j = i; j < Math.Min(actual.Count, i + 6); j++)
            {
                message.Append("  ").Append(actual[j]).Append('\n');
            }

            Assert.Fail(message.ToString());
        }
    }

    private static string FirstLines(string text, int count) =>
        string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Take(count));
}
