using System.Text.Json;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Tests.Components;
using Zooflow.TestKit;
using static Zooflow.Pipeline.Tests.Components.AvroTestKit;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Interop;

/// <summary>
/// Interoperability with a real, independent Avro RPC implementation: avsc (npm), whose stateful client and server
/// speak Avro's Netty framing "to ease communication with Java servers". Apache Flume itself cannot be installed here;
/// avsc is the one real Netty-framed Avro RPC peer available (scripts in Interop/avsc, installed by
/// scripts/install-test-deps.sh). Its protocol JSON differs from Java's, so these runs also exercise the handshake's
/// NONE → protocol text → CLIENT path in both directions.
/// </summary>
public sealed class AvscInteropTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AvscClient_ToAvroSource_EveryBatchOk_EventsWithHeadersInChannel()
    {
        var scripts = RequireAvsc();
        var channel = Channel(capacity: 100_000, transactionCapacity: 1000);
        await using var source = Source(new ChannelOutput(channel));
        await source.StartAsync(Ct);

        var result = await ProcessRunner.RunAsync("node", [Path.Combine(scripts, "client.js"), source.BoundPort.ToString(), "1050"], WaitLimit, cancellationToken: Ct);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("DONE 12", result.StandardOutput, StringComparison.Ordinal);
        // avsc's hash is not Flume's: NONE, then its protocol text is accepted and it learns ours.
        Assert.Contains("HANDSHAKE NONE\nHANDSHAKE BOTH", result.StandardOutput, StringComparison.Ordinal);
        var events = await DrainAsync(channel);
        Assert.Equal(Enumerable.Range(0, 1050).Select(i => $"avsc-{i}").Append("avsc-single"), events.Select(Text));
        Assert.Equal("js-ü", events[7].Headers["lang"]);
        Assert.Equal("7", events[7].Headers["seq"]);
        Assert.Empty(events[^1].Headers);
    }

    [Fact]
    public async Task AvroSink_ToAvscServer_EveryEventOnce_FailedReplyRolledBackAndResent()
    {
        var scripts = RequireAvsc();
        await using var server = ProcessRunner.Start("node", [Path.Combine(scripts, "server.js"), "1"]);
        var port = await ListeningPortAsync(server);
        var upstream = Channel();
        var sent = Events("to-avsc", 250);
        await PutAsync(upstream, sent);
        await using var sink = Sink(port, upstream, ("batch-size", "100"));
        await sink.StartAsync(Ct);

        var failures = 0;
        var deadline = DateTime.UtcNow + WaitLimit;
        while (upstream.Size > 0 && DateTime.UtcNow < deadline)
        {
            try
            {
                await sink.ProcessAsync(Ct);
            }
            catch (EventDeliveryException)
            {
                failures++;
            }
        }
        await WaitUntilAsync(() => server.StandardOutput.Split('\n').Count(l => l.StartsWith("EVENT ", StringComparison.Ordinal)) >= 250, "the avsc server to print every event");

        var received = server.StandardOutput.Split('\n').Where(l => l.StartsWith("EVENT ", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l["EVENT ".Length..]).RootElement).ToList();
        Assert.Equal(1, failures);
        Assert.Contains("REFUSED 100", server.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("HANDSHAKE NONE\nHANDSHAKE CLIENT", server.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(sent.Select(Text), received.Select(e => e.GetProperty("body").GetString()));
        Assert.Equal("12", received[12].GetProperty("headers").GetProperty("seq").GetString());
        Assert.Equal(0, upstream.Size);
    }

    /// <summary>The avsc scripts directory, or skips when node or the avsc package is missing.</summary>
    private static string RequireAvsc()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Zooflow.slnx")))
        {
            dir = dir.Parent;
        }
        var scripts = Path.Combine(dir?.FullName ?? "", "tests", "Zooflow.Pipeline.Tests", "Interop", "avsc");
        if (!Directory.Exists(Path.Combine(scripts, "node_modules", "avsc")))
        {
            Assert.Skip($"avsc is not installed in {scripts} (run scripts/install-test-deps.sh)");
        }
        if (!(Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(p => File.Exists(Path.Combine(p, "node"))))
        {
            Assert.Skip("node is not on PATH (run scripts/install-test-deps.sh)");
        }
        return scripts;
    }

    private static async Task<int> ListeningPortAsync(ProcessRunner server)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (true)
        {
            var line = server.StandardOutput.Split('\n').FirstOrDefault(l => l.StartsWith("LISTENING ", StringComparison.Ordinal));
            if (line is not null)
            {
                return int.Parse(line["LISTENING ".Length..].Trim());
            }
            Assert.False(server.HasExited, $"the avsc server exited: {server.StandardError}");
            Assert.True(DateTime.UtcNow < deadline, "the avsc server did not start listening");
            await Task.Delay(20, Ct);
        }
    }

    private static string Text(Event e) => System.Text.Encoding.UTF8.GetString(e.Body.Span);
}
