using Xunit;

namespace Zooflow.Storage.Tests;

/// <summary>A fresh directory per test, removed afterwards.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "zooflow-storage-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort (a tmpfs test may still have it mounted if unmount failed).
        }
    }
}

internal static class Support
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Deterministic payload per zxid, identical to the driver's, so content is checked and not only presence.</summary>
    public static byte[] PayloadFor(long zxid)
    {
        var payload = new byte[20 + (int)(zxid % 200)];
        for (var i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)(zxid * 31 + i);
        }

        return payload;
    }

    public static TxnLogOptions Options(string directory, long segmentBytes = TxnLogOptions.DefaultPreallocateBytes, long preallocateBytes = 64 * 1024) =>
        new() { Directory = directory, SegmentBytesMax = segmentBytes, PreallocateBytes = preallocateBytes };

    public static async Task AppendRangeAsync(TxnLog log, long first, long last)
    {
        for (var zxid = first; zxid <= last; zxid++)
        {
            await log.AppendAsync(zxid, PayloadFor(zxid), Ct);
        }
    }

    /// <summary>Asserts that the log holds exactly zxids <paramref name="first"/>..<paramref name="last"/> with their payloads.</summary>
    public static void AssertHolds(TxnLog log, long first, long last)
    {
        var expected = first;
        foreach (var record in log.ReadFrom(first))
        {
            Assert.Equal(expected, record.Zxid);
            Assert.Equal(PayloadFor(expected), record.Payload.ToArray());
            expected++;
        }

        Assert.Equal(last + 1, expected);
        Assert.Equal(last, log.LastZxid);
    }

    public static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, System.IO.Path.Combine(to, System.IO.Path.GetFileName(file)));
        }
    }
}
