using System.Globalization;
using System.Text;
using Xunit;
using Zooflow.Pipeline.Components.Sources.Files;
using Zooflow.Pipeline.Components.Sources.Taildir;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;
using static Zooflow.Pipeline.Tests.Components.FileSourceTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>The inode identity the file sources rely on (statx), checked against coreutils' <c>stat</c>, and Flume's
/// taildir position file format (flume.md §1.1: <c>[{"inode":..,"pos":..,"file":".."}]</c>).</summary>
public sealed class FileStatusTests : IDisposable
{
    private readonly string _dir = TempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task TryGet_InodeSizeLinks_MatchCoreutilsStat()
    {
        var path = Path.Combine(_dir, "a.log");
        await File.WriteAllTextAsync(path, "hello\n", TestContext.Current.CancellationToken);

        var status = FileStatus.TryGet(path)!.Value;
        var fields = (await RunAsync("stat", "-c", "%i %s %h %Y", path)).Trim().Split(' ');

        Assert.Equal(ulong.Parse(fields[0], CultureInfo.InvariantCulture), status.Key.Inode);
        Assert.Equal(6, status.Size);
        Assert.Equal(1u, status.Links);
        Assert.Equal(long.Parse(fields[3], CultureInfo.InvariantCulture), status.ModifiedNs / 1_000_000_000);
        Assert.True(status.IsRegularFile);
        Assert.True(FileStatus.TryGet(_dir)!.Value.IsDirectory);
        Assert.Null(FileStatus.TryGet(Path.Combine(_dir, "missing")));
        Assert.Null(FileStatus.TryGet(Path.Combine(path, "under-a-file")));
    }

    [Fact]
    public void Get_OpenHandle_KeepsIdentityAcrossRenameAndDelete()
    {
        var path = Path.Combine(_dir, "a.log");
        File.WriteAllText(path, "x\n");
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var before = FileStatus.Get(handle, path);

        File.Move(path, path + ".1");
        File.WriteAllText(path, "new file in its place\n");
        var renamed = FileStatus.Get(handle, path);
        var replacement = FileStatus.TryGet(path)!.Value;
        File.Delete(path + ".1");
        var deleted = FileStatus.Get(handle, path);

        Assert.Equal(before.Key, renamed.Key);
        Assert.Equal(before.Key, deleted.Key);
        Assert.NotEqual(before.Key, replacement.Key);
        Assert.Equal(0u, deleted.Links);
        Assert.Equal(2, deleted.Size);
    }

    [Fact]
    public void PositionFile_RoundTrip_FlumesShapeAndOrder()
    {
        var entries = new[] { new TaildirPosition(2496272, 12, "/var/log/a.log"), new TaildirPosition(7, 0, "/var/log/quote\"d.log") };

        var json = TaildirPositionFile.Serialize(entries);

        Assert.Equal("[{\"inode\":2496272,\"pos\":12,\"file\":\"/var/log/a.log\"},{\"inode\":7,\"pos\":0,\"file\":\"/var/log/quote\\u0022d.log\"}]", Encoding.UTF8.GetString(json));
        Assert.Equal(entries, TaildirPositionFile.Parse(json, "p.json"));
    }

    [Fact]
    public void Fingerprints_RoundTrip_AndAnEntryWithAWrongCheckIsLeftOut()
    {
        var prints = new[] { new TaildirFingerprint(5, 100, [1, 2, 3], [4, 5]), new TaildirFingerprint(6, 0, [], []) };

        var json = Encoding.UTF8.GetString(TaildirPositionFile.SerializeFingerprints(prints));
        var parsed = TaildirPositionFile.ParseFingerprints(Encoding.UTF8.GetBytes(json), "f");
        var torn = TaildirPositionFile.ParseFingerprints(Encoding.UTF8.GetBytes(json.Replace("\"pos\":100", "\"pos\":109", StringComparison.Ordinal)), "f");

        Assert.Equal(2, parsed.Count);
        Assert.Equal(prints[0].Guard, parsed[0].Guard);
        Assert.Equal(6, Assert.Single(torn).Inode);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("  \n", 0)]
    [InlineData("[]", 0)]
    [InlineData("[{\"file\":\"/a\",\"pos\":3,\"inode\":9,\"extra\":{\"x\":[1]}}]   \n", 1)]
    [InlineData("[{\"inode\":1,\"pos\":2,\"file\":\"/a\\u003d.log\"},{\"inode\":2,\"pos\":0,\"file\":\"/b\"}]", 2)]
    public void PositionFile_Parse_AcceptsWhatFlumeAndZooflowWrite(string json, int expected)
    {
        Assert.Equal(expected, TaildirPositionFile.Parse(Encoding.UTF8.GetBytes(json), "p.json").Count);
    }

    [Theory]
    [InlineData("[{\"inode\":1,\"pos\":2}]", "missing a value")]
    [InlineData("[{\"inode\":\"x\",\"pos\":2,\"file\":\"/a\"}]", "\"inode\" must be a whole number")]
    [InlineData("[{\"inode\":1,\"pos\":-2,\"file\":\"/a\"}]", "negative")]
    [InlineData("{\"inode\":1}", "expected '['")]
    [InlineData("[{\"inode\":1,\"pos\":2,\"file\":\"/a\"}", "malformed at byte")]
    [InlineData("[] x", "at byte")]
    public void PositionFile_Parse_Malformed_NamesFileAndOffset(string json, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => TaildirPositionFile.Parse(Encoding.UTF8.GetBytes(json), "/state/p.json"));

        Assert.Contains("/state/p.json", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
