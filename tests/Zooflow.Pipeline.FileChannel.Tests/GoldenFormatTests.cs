using System.Text;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.TestKit;
using static Zooflow.Pipeline.FileChannel.Tests.Support;

namespace Zooflow.Pipeline.FileChannel.Tests;

/// <summary>
/// Golden files pin version 1 of the file channel's data file and checkpoint formats (STYLE.md convention 12; Flume's
/// TestFileChannelFormatRegression): this build must read them, and must write byte-identical files from the same
/// operations. Set ZOOFLOW_REWRITE_GOLDEN=1 to regenerate them when a format change is intended, and review the diff.
/// </summary>
public sealed class GoldenFormatTests
{
    private static readonly Event[] Events =
    [
        new(Encoding.UTF8.GetBytes("alpha"), new Dictionary<string, string> { ["host"] = "h1", ["timestamp"] = "1700000000000" }),
        new(Array.Empty<byte>()),
        new(Encoding.UTF8.GetBytes("gamma \u00fc\u20ac"), new Dictionary<string, string> { ["k\u00e9y"] = "" }),
        new(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray()),
        new(Encoding.UTF8.GetBytes("epsilon")),
    ];

    /// <summary>Put e0..e2, put e3..e4, take e0 and e1 (committed), take e2 (rolled back), close.</summary>
    private static async Task WriteAsync(FileChannelOptions options)
    {
        await using var channel = await OpenAsync(options);
        await PutAsync(channel, Events[..3]);
        await PutAsync(channel, Events[3..]);
        Assert.Equal(2, (await TakeAsync(channel, 2)).Count);
        await using var rolledBack = channel.BeginTransaction();
        Assert.NotNull(rolledBack.Take());
        await rolledBack.RollbackAsync(Ct);
    }

    [Fact]
    public async Task DataFileAndCheckpointV1_GoldenFiles_ReproducedByteForByte()
    {
        using var dir = new TempDir();
        await WriteAsync(Options(dir));

        var log = await File.ReadAllBytesAsync(dir.Combine("data", "log.1"), Ct);
        var goldenLog = await GoldenAsync("log.1", log);
        Assert.Equal(Convert.FromHexString("5A464C47" + "00000001" + "5A46464300000001"), goldenLog[..16]);
        Assert.Equal(goldenLog, log);

        var checkpoint = await File.ReadAllBytesAsync(dir.Combine("checkpoint", "checkpoint.3"), Ct);
        var goldenCheckpoint = await GoldenAsync("checkpoint.3", checkpoint);
        Assert.Equal(Convert.FromHexString("5A46534E" + "00000001" + "0000000000000003" + "5A46434B" + "00000001" + "0000000000000003" + "0000000000000003"), goldenCheckpoint[..40]);
        Assert.Equal(goldenCheckpoint, checkpoint);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task GoldenFiles_Open_RestoreTheQueue(bool withCheckpoint)
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.Combine("data"));
        Directory.CreateDirectory(dir.Combine("checkpoint"));
        File.Copy(Golden("log.1"), dir.Combine("data", "log.1"));
        if (withCheckpoint)
        {
            File.Copy(Golden("checkpoint.3"), dir.Combine("checkpoint", "checkpoint.3"));
        }

        await using var channel = await OpenAsync(Options(dir));
        Assert.Equal(!withCheckpoint, channel.Recovery!.FullReplay);
        Assert.Equal(withCheckpoint ? 0 : 3, channel.Recovery.ReplayedRecords);
        Assert.Empty(channel.Recovery.Dropped);
        Assert.Empty(channel.Recovery.Truncations);
        var left = await TakeAsync(channel, 10);
        Assert.Equal(Events[2..].Select(e => e.Body.ToArray()), left.Select(e => e.Body.ToArray()));
        Assert.Equal(Events[2..].Select(e => e.Headers.ToArray()), left.Select(e => e.Headers.ToArray()));
    }

    private static string Golden(string name) => Path.Combine(AppContext.BaseDirectory, "testdata", name);

    private static async Task<byte[]> GoldenAsync(string name, byte[] current)
    {
        if (Environment.GetEnvironmentVariable("ZOOFLOW_REWRITE_GOLDEN") == "1")
        {
            // bin/<configuration>/<tfm>/ → the project's testdata folder.
            var source = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "testdata", name));
            await File.WriteAllBytesAsync(source, current, Ct);
            return current;
        }
        return await File.ReadAllBytesAsync(Golden(name), Ct);
    }
}
