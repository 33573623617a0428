using System.Text;
using Xunit;
using static Zooflow.Storage.Tests.Support;

namespace Zooflow.Storage.Tests;

/// <summary>
/// Golden files pin format version 1 of log segments and snapshots (STYLE.md convention 12; Flume's
/// TestFileChannelFormatRegression): today's code must read them, and must write byte-identical files from the same input.
/// Set ZOOFLOW_REWRITE_GOLDEN=1 to regenerate them (and review the binary diff like code) when a format change is intended.
/// </summary>
public sealed class GoldenFormatTests
{
    private static readonly (long Zxid, byte[] Payload)[] Records =
    [
        (Zxid.Make(1, 1), Encoding.ASCII.GetBytes("a")),
        (Zxid.Make(1, 2), []),
        (Zxid.Make(1, 3), Encoding.ASCII.GetBytes("hello world")),
    ];

    private static readonly byte[] SnapshotBody = Encoding.ASCII.GetBytes("snapshot body v1");

    [Fact]
    public async Task LogSegmentV1_GoldenFile_ReadsAndIsReproducedByteForByte()
    {
        using var dir = new TempDirectory();
        await using (var log = TxnLog.Open(Options(dir.Path)))
        {
            foreach (var (zxid, payload) in Records)
            {
                await log.AppendAsync(zxid, payload, Ct);
            }
        }

        var written = await File.ReadAllBytesAsync(Path.Combine(dir.Path, "log.100000001"), Ct);
        var golden = await GoldenAsync("log.100000001", written);

        Assert.Equal(Convert.FromHexString("5A464C47" + "00000001" + "0000000000000000"), golden[..16]);
        Assert.Equal(golden, written);

        var copy = dir.Sub("golden");
        Directory.CreateDirectory(copy);
        await File.WriteAllBytesAsync(Path.Combine(copy, "log.100000001"), golden, Ct);
        await using var reader = TxnLog.Open(Options(copy));
        Assert.True(reader.Recovery.IsClean);
        Assert.Equal(Records.Select(r => r.Zxid), reader.ReadFrom(0).Select(r => r.Zxid));
        Assert.Equal(Records.Select(r => r.Payload), reader.ReadFrom(0).Select(r => r.Payload.ToArray()));
    }

    [Fact]
    public async Task SnapshotV1_GoldenFile_LoadsAndIsReproducedByteForByte()
    {
        using var dir = new TempDirectory();
        var store = new SnapshotStore(dir.Path);
        var info = await store.WriteAsync(Zxid.Make(1, 3), async (s, ct) => await s.WriteAsync(SnapshotBody, ct), Ct);
        var written = await File.ReadAllBytesAsync(info.Path, Ct);
        var golden = await GoldenAsync("snapshot.100000003", written);

        Assert.Equal(Convert.FromHexString("5A46534E" + "00000001" + "0000000100000003"), golden[..16]);
        Assert.Equal(Convert.FromHexString("5A465345"), golden[^4..]);
        Assert.Equal(golden, written);

        var copy = dir.Sub("golden");
        Directory.CreateDirectory(copy);
        await File.WriteAllBytesAsync(Path.Combine(copy, "snapshot.100000003"), golden, Ct);
        byte[]? body = null;
        var result = await new SnapshotStore(copy).LoadNewestAsync(async (stream, _, ct) =>
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, ct);
            body = buffer.ToArray();
        }, Ct);
        Assert.Equal(Zxid.Make(1, 3), result.Loaded?.Zxid);
        Assert.Equal(SnapshotBody, body);
    }

    private static async Task<byte[]> GoldenAsync(string name, byte[] current)
    {
        if (Environment.GetEnvironmentVariable("ZOOFLOW_REWRITE_GOLDEN") == "1")
        {
            // bin/<configuration>/<tfm>/ → the project's testdata folder.
            var source = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "testdata", name));
            await File.WriteAllBytesAsync(source, current, Ct);
            return current;
        }

        return await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "testdata", name), Ct);
    }
}
