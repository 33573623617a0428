using Xunit;
using Zooflow.TestKit;
using static Zooflow.Storage.Tests.Support;

namespace Zooflow.Storage.Tests;

/// <summary>
/// Disk full on a real 2 MiB tmpfs made for the test (<see cref="Tmpfs"/>; issue 3: "writes fail with a clear error, reads keep working,
/// nothing on disk is corrupted, and writes resume once space returns"). Needs root to mount; skipped otherwise.
/// </summary>
public sealed class DiskFullTests
{
    [Fact]
    public async Task AppendAsync_DiskFull_FailsClearlyKeepsReadsAndResumesWhenSpaceReturns()
    {
        using var dir = new TempDirectory();
        var mountPoint = dir.Sub("tmpfs");
        await using (await Tmpfs.MountAsync(mountPoint, "2m"))
        {
            var options = Options(mountPoint, segmentBytes: 128 * 1024, preallocateBytes: 128 * 1024);
            TxnLogWriteException? failure = null;
            long failedZxid;
            var filler = Path.Combine(mountPoint, "filler");
            await using (var log = TxnLog.Open(options))
            {
                await AppendRangeAsync(log, 1, 10);
                Tmpfs.Fill(filler, leaveFreeBytes: 0);

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
    }
}
