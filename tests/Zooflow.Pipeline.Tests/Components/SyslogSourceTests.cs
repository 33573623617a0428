using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.Sources.Syslog;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.TestKit;
using static Zooflow.Pipeline.Tests.Components.ComponentTestKit;

namespace Zooflow.Pipeline.Tests.Components;

/// <summary>
/// The syslog sources on real loopback sockets, fed by util-linux <c>logger</c> (the real peer) and by raw sockets for
/// malformed input (flume.md §1.1: syslogtcp, syslogudp, multiport_syslogtcp).
/// </summary>
public sealed class SyslogSourceTests
{
    private static readonly TimeSpan LoggerTimeout = TimeSpan.FromSeconds(20);

    private static ComponentContext SourceContext(CounterRegistry? counters, params (string Key, string Value)[] properties) =>
        Context("a1.sources.r1.", properties.Select(p => KeyValuePair.Create(p.Key, p.Value)), counters: counters);

    private static async Task LoggerAsync(params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync("logger", arguments, LoggerTimeout, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(result.ExitCode == 0 && result.StandardError.Length == 0, $"logger failed: {result}");
    }

    private static async Task<Socket> ConnectAsync(int port)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TestContext.Current.CancellationToken);
        return client;
    }

    [Fact]
    public async Task SyslogTcp_LoggerRfc5424AndRfc3164_FlumeHeaders()
    {
        await using var source = new SyslogTcpSource("r1", SourceContext(null, ("host", "127.0.0.1"), ("port", "0"), ("clientIPHeader", "clientIp")));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);
        var port = source.BoundPort.ToString();
        var before = DateTimeOffset.UtcNow.AddSeconds(-2).ToUnixTimeMilliseconds();

        await LoggerAsync("--tcp", "-n", "127.0.0.1", "-P", port, "--rfc5424", "-p", "local3.err", "-t", "app5424", "hello five four two four");
        await LoggerAsync("--tcp", "-n", "127.0.0.1", "-P", port, "--rfc3164", "-p", "mail.info", "-t", "app3164", "hello three one six four");
        await WaitUntilAsync(() => output.Events.Count == 2, "two syslog events");

        var after = DateTimeOffset.UtcNow.AddSeconds(2).ToUnixTimeMilliseconds();
        // Each logger call is its own connection, and connections are read concurrently,
        // so the two events may arrive in either order.
        var events = output.Events.OrderBy(e => Text(e).StartsWith("app3164", StringComparison.Ordinal)).ToArray();
        Assert.Equal(("19", "3", "1"), (events[0].Headers["Facility"], events[0].Headers["Severity"], events[0].Headers["version"]));
        Assert.StartsWith("app5424 ", Text(events[0]));
        Assert.EndsWith("] hello five four two four", Text(events[0]));
        Assert.Equal(("2", "6"), (events[1].Headers["Facility"], events[1].Headers["Severity"]));
        Assert.Equal("app3164: hello three one six four", Text(events[1]));
        foreach (var e in events)
        {
            Assert.InRange(long.Parse(e.Headers["timestamp"]), before, after);
            Assert.Equal(Environment.MachineName, e.Headers["host"]);
            Assert.Equal("127.0.0.1", e.Headers["clientIp"]);
            Assert.False(e.Headers.ContainsKey("flume.syslog.status"));
        }
    }

    [Fact]
    public async Task SyslogTcp_LoggerOctetCounting_EachFrameOneEvent()
    {
        await using var source = new SyslogTcpSource("r1", SourceContext(null, ("host", "127.0.0.1"), ("port", "0")));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);

        await LoggerAsync("--tcp", "--octet-count", "-n", "127.0.0.1", "-P", source.BoundPort.ToString(), "--rfc5424",
            "--msgid", "ID47", "--sd-id", "zoo@32473", "--sd-param", "a=\"b\"", "-t", "app", "counted message");
        await WaitUntilAsync(() => output.Events.Count == 1, "the counted frame");

        var e = output.Events.Single();
        Assert.Equal(Environment.MachineName, e.Headers["host"]);
        Assert.StartsWith("app - ID47 ", Text(e));
        Assert.EndsWith("[zoo@32473 a=\"b\"] counted message", Text(e));
    }

    [Fact]
    public async Task SyslogTcp_MalformedAndOversizedLines_FlaggedWhileOtherConnectionKeepsFlowing()
    {
        var counters = new CounterRegistry();
        await using var source = new SyslogTcpSource("r1", SourceContext(counters, ("host", "127.0.0.1"), ("port", "0"), ("eventSize", "40")));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);
        using var bad = await ConnectAsync(source.BoundPort);
        using var good = await ConnectAsync(source.BoundPort);

        var goodLines = Enumerable.Range(0, 200).Select(i => $"<13>Feb  5 17:32:18 host good-{i:D3}").ToArray();
        var sendGood = Task.Run(async () =>
        {
            foreach (var chunk in goodLines.Chunk(20))
            {
                await good.SendAsync(Encoding.ASCII.GetBytes(string.Concat(chunk.Select(l => l + "\n"))), SocketFlags.None, TestContext.Current.CancellationToken);
            }
        }, TestContext.Current.CancellationToken);
        await bad.SendAsync(Encoding.ASCII.GetBytes(
            "garbage without priority\n<999999>x\n<13>Feb  5 17:32:18 host " + new string('y', 60) + "\n"), SocketFlags.None, TestContext.Current.CancellationToken);
        await sendGood;
        await WaitUntilAsync(() => output.Events.Count(e => Text(e).StartsWith("good-")) == 200, "every good line");
        await WaitUntilAsync(() => output.Events.Count == 200 + 5, "the flagged events");

        Assert.Equal(goodLines.Select(l => l[(l.LastIndexOf(' ') + 1)..]), output.Events.Select(Text).Where(t => t.StartsWith("good-")));
        var flagged = output.Events.Where(e => e.Headers.ContainsKey("flume.syslog.status")).ToArray();
        // eventSize 40: the 85-byte line gives its first 40 bytes (Incomplete, still parsed), then 40 and 5 bytes of
        // continuation that have no PRI (Invalid), exactly as Flume's SyslogUtils.
        Assert.Equal(["Invalid", "Invalid", "Incomplete", "Invalid", "Invalid"], flagged.Select(e => e.Headers["flume.syslog.status"]));
        Assert.Equal("garbage without priority", Text(flagged[0]));
        Assert.Equal("<999999>x", Text(flagged[1]));
        Assert.Equal(("host", new string('y', 15)), (flagged[2].Headers["host"], Text(flagged[2])));
        Assert.Equal(new string('y', 40), Text(flagged[3]));
        Assert.Equal(new string('y', 5), Text(flagged[4]));
        Assert.Equal(5, counters.Source("r1").EventReadFail);
    }

    [Fact]
    public async Task SyslogUdp_LoggerDatagrams_ParsedWithClientHeaders()
    {
        await using var source = new SyslogUdpSource("r1", SourceContext(null, ("host", "127.0.0.1"), ("port", "0"),
            ("clientIPHeader", "ip"), ("clientHostnameHeader", "sender"), ("keepFields", "hostname")));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);

        for (var i = 0; i < 3; i++)
        {
            await LoggerAsync("--udp", "-n", "127.0.0.1", "-P", source.BoundPort.ToString(), "--rfc3164", "-t", "udpapp", $"datagram {i}");
        }
        await WaitUntilAsync(() => output.Events.Count == 3, "three datagrams");

        Assert.Equal(new[] { 0, 1, 2 }.Select(i => $"{Environment.MachineName} udpapp: datagram {i}"), output.Events.Select(Text));
        Assert.All(output.Events, e => Assert.Equal("127.0.0.1", e.Headers["ip"]));
        Assert.All(output.Events, e => Assert.False(string.IsNullOrEmpty(e.Headers["sender"])));
    }

    [Fact]
    public async Task SyslogUdp_BadAndMultiLineDatagrams_NothingDropped()
    {
        await using var source = new SyslogUdpSource("r1", SourceContext(null, ("host", "127.0.0.1"), ("port", "0")));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var target = new IPEndPoint(IPAddress.Loopback, source.BoundPort);

        await client.SendToAsync("not syslog"u8.ToArray(), SocketFlags.None, target, TestContext.Current.CancellationToken);
        await client.SendToAsync("<13>Feb  5 17:32:18 h one\n<14>Feb  5 17:32:18 h two\n"u8.ToArray(), SocketFlags.None, target, TestContext.Current.CancellationToken);
        await WaitUntilAsync(() => output.Events.Count == 3, "three events");

        Assert.Equal(["not syslog", "one", "two"], output.Events.Select(Text));
        Assert.Equal("Invalid", output.Events.First().Headers["flume.syslog.status"]);
    }

    [Fact]
    public async Task Multiport_TwoPortsWithPortHeaderAndCharsetPerPort_LoggerAndLatin1()
    {
        var firstPort = E2EPorts.FreeTcp();
        var secondPort = E2EPorts.FreeTcp();
        await using var source = new MultiportSyslogTcpSource("r1", SourceContext(null, ("host", "127.0.0.1"),
            ("ports", $"{firstPort} {secondPort}"), ("portHeader", "port"), ($"charset.port.{secondPort}", "ISO-8859-1")));
        var output = new RecordingOutput();
        source.Output = output;
        await source.StartAsync(TestContext.Current.CancellationToken);

        await LoggerAsync("--tcp", "-n", "127.0.0.1", "-P", firstPort.ToString(), "--rfc5424", "-t", "app", "on the first port");
        using (var latin = await ConnectAsync(secondPort))
        {
            await latin.SendAsync(Encoding.Latin1.GetBytes("<13>1 - host caf\u00e9 on the second port\n"), SocketFlags.None, TestContext.Current.CancellationToken);
            await WaitUntilAsync(() => output.Events.Count == 2, "one event per port");
        }

        var byPort = output.Events.ToDictionary(e => e.Headers["port"]);
        Assert.Equal("1", byPort[firstPort.ToString()].Headers["Version"]);
        Assert.EndsWith("on the first port", Text(byPort[firstPort.ToString()]));
        Assert.Equal(Encoding.Latin1.GetBytes("caf\u00e9 on the second port"), byPort[secondPort.ToString()].Body.ToArray());
    }

    [Fact]
    public void Configuration_MissingPortAndUnsupportedKeys_EveryErrorWithKey()
    {
        var errors = new List<ConfigError>();
        _ = new SyslogTcpSource("r1", Context("a1.sources.r1.", [KeyValuePair.Create("format.regex", ".*"), KeyValuePair.Create("ssl", "true")], errors));
        _ = new MultiportSyslogTcpSource("r2", Context("a1.sources.r2.", [KeyValuePair.Create("ports", "514 x"), KeyValuePair.Create("charset.default", "klingon")], errors));

        Assert.Equal(
            ["a1.sources.r1.format.regex", "a1.sources.r1.ssl", "a1.sources.r1.port", "a1.sources.r2.ports", "a1.sources.r2.charset.default"],
            errors.Select(e => e.Key));
    }
}

/// <summary>Free loopback ports for component tests.</summary>
internal static class E2EPorts
{
    public static int FreeTcp()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}
