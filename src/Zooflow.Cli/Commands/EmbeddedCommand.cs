using System.CommandLine;

namespace Zooflow.Cli.Commands;

/// <summary>
/// <c>zooflow embedded</c>: the README's run command. Runs the embedded default server (127.0.0.1:2181, data under
/// <c>./data</c>) and, beside it in the same process, an agent named <c>demo</c> whose sample flow is a netcat source
/// on 127.0.0.1:44444 → memory channel → file_roll sink into <c>./data/agent-out</c>, with Flume's HTTP metrics on
/// 127.0.0.1:41414. Both stop on SIGINT/SIGTERM; the exit code is the first non-zero of the two.
/// </summary>
internal static class EmbeddedCommand
{
    /// <summary>The sample flow, in Flume's properties format, exactly as a user would write it.</summary>
    internal const string SampleFlow = """
        # Written by `zooflow embedded`: a netcat source feeding a file_roll sink through a memory channel.
        demo.sources = r1
        demo.channels = c1
        demo.sinks = k1

        demo.sources.r1.type = netcat
        demo.sources.r1.bind = 127.0.0.1
        demo.sources.r1.port = 44444
        demo.sources.r1.channels = c1
        demo.sources.r1.interceptors = ts
        demo.sources.r1.interceptors.ts.type = timestamp

        demo.channels.c1.type = memory
        demo.channels.c1.capacity = 10000
        demo.channels.c1.transactionCapacity = 1000

        demo.sinks.k1.type = file_roll
        demo.sinks.k1.channel = c1
        demo.sinks.k1.sink.directory = data/agent-out
        demo.sinks.k1.sink.rollInterval = 0
        """;

    public static Command Create()
    {
        var command = new Command("embedded", "Run the embedded default: a standalone server on 127.0.0.1:2181 (data under ./data) and a sample agent (netcat on 127.0.0.1:44444 → ./data/agent-out, metrics on :41414).");
        command.SetAction(async (parse, cancellation) =>
        {
            Directory.CreateDirectory("data/agent-out");
            var flowFile = Path.Combine("data", "embedded-flume.conf");
            if (!File.Exists(flowFile))
            {
                await File.WriteAllTextAsync(flowFile, SampleFlow + "\n", cancellation);
            }
            await Console.Out.WriteLineAsync($"zooflow embedded: agent 'demo' runs {Path.GetFullPath(flowFile)} (edit it: changes are picked up within 30 s)");

            // When either half ends (a signal, or a failure such as a port in use), the other is stopped too.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            var server = Program.BuildRoot().Parse(["server"]).InvokeAsync(cancellationToken: stop.Token);
            var agent = Program.BuildRoot().Parse(FlumeArgs.Normalize(
                ["agent", "-n", "demo", "-f", flowFile, "-Dflume.monitoring.type=http", "-Dflume.monitoring.port=41414", "-Dflume.monitoring.bind=127.0.0.1"]))
                .InvokeAsync(cancellationToken: stop.Token);
            await Task.WhenAny(server, agent);
            await stop.CancelAsync();
            var codes = await Task.WhenAll(server, agent);
            return codes.FirstOrDefault(code => code != 0);
        });
        return command;
    }
}
