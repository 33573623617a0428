using System.Diagnostics;
using System.Net;
using Xunit;
using Zooflow.Client;
using Zooflow.Server.Configuration;
using Zooflow.Server.Persistence;
using Zooflow.TestKit;

namespace Zooflow.Integration.Tests;

/// <summary>The log's filesystem fills up: writes fail with an error (no hang), reads go on, writes resume once space returns.</summary>
public sealed class DiskFullTests
{
    private static async Task<bool> RunAsync(string file, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        await p.WaitForExitAsync();
        return p.ExitCode == 0;
    }

    [Fact]
    public async Task Log_DiskFull_WritesFailReadsWorkWritesResume()
    {
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDir("zooflow-diskfull");
        var mount = dir.Combine("fs");
        Directory.CreateDirectory(mount);
        if (!OperatingSystem.IsLinux() || !await RunAsync("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mount))
        {
            Assert.Skip("cannot mount a tmpfs here (needs root): the disk-full test needs a small filesystem of its own");
        }

        try
        {
            var data = Path.Combine(mount, "data");
            var options = new ServerOptions { ClientPort = 0, ClientPortAddress = IPAddress.Loopback, DataDir = data, TickTimeMs = 200 };
            var persistence = new PersistenceOptions { DataDir = data, SnapCount = 1_000_000, PreallocateBytes = 64 * 1024 };
            await using var durable = await DurableServer.StartAsync(options, persistence, cancellationToken: ct);
            await using var client = await Harness.ConnectAsync(durable.Server.EndPoint.Port, ct);
            await client.CreateAsync("/before", "ok"u8.ToArray(), cancellationToken: ct);

            // Fill the filesystem.
            var filler = Path.Combine(mount, "filler");
            await using (var fs = new FileStream(filler, FileMode.Create))
            {
                var block = new byte[64 * 1024];
                try
                {
                    while (true)
                    {
                        await fs.WriteAsync(block, ct);
                        await fs.FlushAsync(ct);
                    }
                }
                catch (IOException)
                {
                }
            }

            // Writes larger than the preallocated space must fail with an error, promptly.
            var big = new byte[200 * 1024];
            KeeperException? failure = null;
            for (var i = 0; i < 5 && failure is null; i++)
            {
                try
                {
                    await client.CreateAsync($"/big{i}", big, cancellationToken: ct).WaitAsync(TimeSpan.FromSeconds(10), ct);
                }
                catch (KeeperException ex)
                {
                    failure = ex;
                }
            }

            Assert.NotNull(failure);
            TestContext.Current.TestOutputHelper?.WriteLine($"write on a full disk failed with: {failure!.Message}");

            // Reads keep working.
            var (before, _) = await client.GetDataAsync("/before", cancellationToken: ct).WaitAsync(TimeSpan.FromSeconds(10), ct);
            Assert.Equal("ok"u8.ToArray(), before);

            // Space returns: writes resume.
            File.Delete(filler);
            var resumed = false;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!resumed && DateTime.UtcNow < deadline)
            {
                try
                {
                    await client.CreateAsync("/after", "resumed"u8.ToArray(), cancellationToken: ct).WaitAsync(TimeSpan.FromSeconds(10), ct);
                    resumed = true;
                }
                catch (KeeperException ex) when (ex.Code != Zooflow.Jute.ErrorCode.NodeExists)
                {
                    await Task.Delay(100, ct);
                }
            }

            Assert.True(resumed, "writes did not resume after space was freed");
            var (after, _) = await client.GetDataAsync("/after", cancellationToken: ct);
            Assert.Equal("resumed"u8.ToArray(), after);
        }
        finally
        {
            await RunAsync("umount", "-l", mount);
        }
    }
}
