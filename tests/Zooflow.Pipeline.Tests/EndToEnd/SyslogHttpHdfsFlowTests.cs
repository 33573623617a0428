using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;
using Zooflow.TestKit;

namespace Zooflow.Pipeline.Tests.EndToEnd;

/// <summary>
/// Issue 8 flows through a real <c>zooflow agent</c> process: util-linux <c>logger</c> → syslogtcp → file_roll with bad
/// input on another connection, and curl/HttpClient → http → hdfs sink with a SIGKILL and a restart that closes the
/// leftover in-use file.
/// </summary>
public sealed class SyslogHttpHdfsFlowTests
{
    private const string MemoryChannel = """
        a1.channels.c1.type = memory
        a1.channels.c1.capacity = 100000
        a1.channels.c1.transactionCapacity = 1000
        """;

    [Fact]
    public async Task SyslogTcp_LoggerFileOfLinesPlusGarbageConnection_EveryMessageInFileRoll()
    {
        var dir = E2E.TempDir();
        var port = E2E.FreeTcpPort();
        var output = Path.Combine(dir, "out");
        await using var agent = AgentProcess.Start(dir, $"""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = syslogtcp
            a1.sources.r1.host = 127.0.0.1
            a1.sources.r1.port = {port}
            a1.sources.r1.channels = c1
            {MemoryChannel}
            a1.sinks.k1.type = file_roll
            a1.sinks.k1.channel = c1
            a1.sinks.k1.sink.directory = {output}
            a1.sinks.k1.sink.rollInterval = 0
            a1.sinks.k1.sink.serializer = header_and_text
            """);
        await agent.WaitForTcpAsync(port);
        var messages = E2E.Lines("syslog", 500);
        var input = Path.Combine(dir, "messages.txt");
        await File.WriteAllLinesAsync(input, messages, TestContext.Current.CancellationToken);

        using (var garbage = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await garbage.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TestContext.Current.CancellationToken);
            await garbage.SendAsync("\u0001\u0002 not syslog at all\n<77777>x\n"u8.ToArray(), SocketFlags.None, TestContext.Current.CancellationToken);
            var result = await ProcessRunner.RunAsync("logger", ["--tcp", "-n", "127.0.0.1", "-P", port.ToString(), "--rfc3164", "-t", "e2e", "-f", input],
                TimeSpan.FromSeconds(30), cancellationToken: TestContext.Current.CancellationToken);
            Assert.True(result.ExitCode == 0 && result.StandardError.Length == 0, result.ToString());
        }
        await E2E.WaitForCountAsync(() => E2E.ReadLines(output).Count, messages.Length + 2, agent, "syslog lines in file_roll output");

        var lines = E2E.ReadLines(output);
        Assert.Equal(messages.Select(m => "e2e: " + m), lines.Where(l => l.Contains("e2e: ")).Select(l => l[l.IndexOf("} ", StringComparison.Ordinal)..][2..]));
        Assert.All(lines.Where(l => l.Contains("e2e: ")), l => Assert.Contains($"host={Environment.MachineName}", l));
        Assert.Equal(2, lines.Count(l => l.Contains("flume.syslog.status=Invalid")));
    }

    [Fact]
    public async Task Http_ToHdfsSink_KillMinus9ThenRestart_LeftoverInUseFileClosedWithEveryEvent()
    {
        var dir = E2E.TempDir();
        var port = E2E.FreeTcpPort();
        var output = Path.Combine(dir, "hdfs");
        var config = $$"""
            a1.sources = r1
            a1.channels = c1
            a1.sinks = k1
            a1.sources.r1.type = http
            a1.sources.r1.bind = 127.0.0.1
            a1.sources.r1.port = {{port}}
            a1.sources.r1.channels = c1
            {{MemoryChannel}}
            a1.sinks.k1.type = hdfs
            a1.sinks.k1.channel = c1
            a1.sinks.k1.hdfs.path = file://{{output}}/%{app}/%Y-%m-%d
            a1.sinks.k1.hdfs.fileType = DataStream
            a1.sinks.k1.hdfs.useLocalTimeStamp = true
            a1.sinks.k1.hdfs.rollInterval = 0
            a1.sinks.k1.hdfs.rollSize = 0
            a1.sinks.k1.hdfs.rollCount = 0
            a1.sinks.k1.hdfs.batchSize = 100
            """;
        var first = AgentProcess.Start(dir, config);
        List<string> sent = [];
        try
        {
            await first.WaitForTcpAsync(port);
            using var client = new HttpClient();
            for (var batch = 0; batch < 20; batch++)
            {
                var bodies = Enumerable.Range(0, 25).Select(i => $"http-{batch:D2}-{i:D2}").ToArray();
                var json = "[" + string.Join(",", bodies.Select(b => $$"""{"headers":{"app":"web"},"body":"{{b}}"}""")) + "]";
                using var response = await client.PostAsync($"http://127.0.0.1:{port}/", new StringContent(json, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                sent.AddRange(bodies);
            }
            using var bad = await client.PostAsync($"http://127.0.0.1:{port}/", new StringContent("[{\"body\":", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            await E2E.WaitForCountAsync(() => HdfsLines(output).Count, sent.Count, first, "events flushed to the in-use file");

            await first.KillAsync();
        }
        finally
        {
            await first.DisposeAsync();
        }
        var leftovers = Directory.GetFiles(output, "*.tmp", SearchOption.AllDirectories);
        Assert.Single(leftovers);

        await using var second = AgentProcess.Start(dir, config);
        await second.WaitForOutputAsync("closed leftover in-use file");

        Assert.Empty(Directory.GetFiles(output, "*.tmp", SearchOption.AllDirectories));
        var closed = Assert.Single(Directory.GetFiles(output, "*", SearchOption.AllDirectories));
        Assert.Matches(@"/web/\d{4}-\d{2}-\d{2}/FlumeData\.\d+$", closed);
        Assert.Equal(sent, HdfsLines(output));
        Assert.Equal(0, await second.StopAsync());
    }

    private static List<string> HdfsLines(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }
        var lines = new List<string>();
        foreach (var file in Directory.GetFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var text = reader.ReadToEnd();
            var end = text.LastIndexOf('\n');
            if (end >= 0)
            {
                lines.AddRange(text[..end].Split('\n'));
            }
        }
        return lines;
    }
}
