using System.Diagnostics;
using Xunit;
using static Zooflow.Storage.Tests.Support;

namespace Zooflow.Storage.Tests;

/// <summary>
/// Disk full on a real 2 MiB tmpfs made for the test (issue 3: "writes fail with a clear error, reads keep working,
/// nothing on disk is corrupted, and writes resume once space returns"). Needs root to mount; skipped otherwise.
/// </summary>
public sealed class DiskFullTests
{
    [Fact]
    public async Task AppendAsync_DiskFull_FailsClearlyKeepsReadsAndResumesWhenSpaceReturns()
    {
        using var dir = new TempDirectory();
        var mountPoint = dir.Sub("tmpfs");
        Directory.CreateDirectory(mountPoint);
        var (mounted, why) = await RunAsync("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint);
        if (!mounted)
        {
            Assert.Skip($"cannot mount a 2 MiB tmpfs for the disk-full test (needs root / CAP_SYS_ADMIN): {why}");
        }

        try
        {
            var options = Options(mountPoint, segmentBytes: 128 * 1024, preallocateBytes: 128 * 1024);
            TxnLogWriteException? failure = null;
            long failedZxid;
            var filler = Path.Combine(mountPoint, "filler");
            await using (var log = TxnLog.Open(options))
            {
                await AppendRangeAsync(log, 1, 10);
                FillDisk(filler);

                // The active segment's preallocated space still takes records; the next segment cannot be created.
                var zxid = 11L;
                for (; zxid < 20_000 && failure is null; zxid++)
                {
                    try
                    {
                        await log.AppendAsync(zxid, PayloadFor(zxid), Ct);
                    }
                    catch (TxnLogWriteException e)
                    {
                        failure = e;
                    }
                }

                failedZxid = zxid - 1;
                Assert.NotNull(failure);
                Assert.Contains(mountPoint, failure.Message, StringComparison.Ordinal);
                Assert.Contains("not durable", failure.Message, StringComparison.Ordinal);
                Assert.Equal(failedZxid, failure.FirstZxid);
                Assert.NotNull(failure.InnerException);
                TestContext.Current.TestOutputHelper?.WriteLine(failure.Message);

                // Reads keep working and see exactly the acknowledged records.
                AssertHolds(log, 1, failedZxid - 1);

                // Still full: the same zxid fails again, cleanly.
                await Assert.ThrowsAsync<TxnLogWriteException>(async () => await log.AppendAsync(failedZxid, PayloadFor(failedZxid), Ct));
                AssertHolds(log, 1, failedZxid - 1);

                // Space returns: appends resume at the failed zxid.
                File.Delete(filler);
                await AppendRangeAsync(log, failedZxid, failedZxid + 20);
                AssertHolds(log, 1, failedZxid + 20);
                Assert.True(log.Statistics.FailedAppends >= 2);
            }

            await using var reopened = TxnLog.Open(options);
            Assert.True(reopened.Recovery.IsClean, string.Join("; ", reopened.Recovery.Truncations));
            AssertHolds(reopened, 1, failedZxid + 20);
        }
        finally
        {
            var (unmounted, error) = await RunAsync("umount", mountPoint);
            if (!unmounted)
            {
                await RunAsync("umount", "-l", mountPoint);
                TestContext.Current.TestOutputHelper?.WriteLine($"umount failed ({error}); lazily unmounted");
            }
        }
    }

    private static void FillDisk(string path)
    {
        var chunk = new byte[16 * 1024];
        Array.Fill(chunk, (byte)1);
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        try
        {
            while (true)
            {
                stream.Write(chunk);
            }
        }
        catch (IOException)
        {
            // Full.
        }
    }

    private static async Task<(bool Ok, string Error)> RunAsync(string program, params string[] args)
    {
        if (!OperatingSystem.IsLinux())
        {
            return (false, "not Linux");
        }

        var info = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(info)!;
            var error = await process.StandardError.ReadToEndAsync(Ct);
            await process.WaitForExitAsync(Ct);
            return (process.ExitCode == 0, error.Trim());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (false, e.Message);
        }
    }
}
