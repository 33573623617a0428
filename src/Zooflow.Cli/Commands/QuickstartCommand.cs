using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Zooflow.Agent;
using Zooflow.Agent.Configuration;
using Zooflow.Agent.Limits;
using Zooflow.Agent.Registry;
using Zooflow.Client;
using Zooflow.Recipes;

namespace Zooflow.Cli.Commands;

/// <summary>
/// <c>zooflow quickstart</c>: the README's run command. Starts the embedded server (127.0.0.1:2181 unless
/// <c>--port</c>), pushes a sample configuration to <c>/flume/quickstart</c>, sets a flow limit, starts two agents as child
/// processes (<c>qs-1</c>, <c>qs-2</c>, group <c>quickstart</c>) that take their configuration from the service, and shows
/// the fleet whenever it changes. SIGINT/SIGTERM stops the agents (SIGTERM, by PID, with their drain), then the server.
/// </summary>
internal static class QuickstartCommand
{
    private const int SigTerm = 15;
    private const string AgentName = "quickstart";
    private const string Group = "quickstart";

    /// <summary>The sample flow: the same text for every agent of the group; each agent's own values come from its
    /// environment (<c>${QS_PORT}</c>, <c>${QS_OUT}</c>), as Flume substitutes them.</summary>
    internal const string SampleFlow = """
        # Pushed by `zooflow quickstart` to /flume/quickstart; every agent of group "quickstart" runs it.
        quickstart.sources = ticks lines
        quickstart.channels = mem
        quickstart.sinks = out

        # A counter that runs on exactly one agent of the group at a time; when that agent dies another takes over
        # and continues from the progress kept in the service.
        quickstart.sources.ticks.type = seq
        quickstart.sources.ticks.batchSize = 5
        quickstart.sources.ticks.singleton = quickstart-ticks
        quickstart.sources.ticks.channels = mem

        # Each agent listens on its own port (QS_PORT differs per agent): echo hello | nc -q1 127.0.0.1 44444
        quickstart.sources.lines.type = netcat
        quickstart.sources.lines.bind = 127.0.0.1
        quickstart.sources.lines.port = ${QS_PORT}
        quickstart.sources.lines.channels = mem

        quickstart.channels.mem.type = memory
        quickstart.channels.mem.capacity = 10000
        quickstart.channels.mem.transactionCapacity = 100

        quickstart.sinks.out.type = file_roll
        quickstart.sinks.out.channel = mem
        quickstart.sinks.out.sink.directory = ${QS_OUT}
        quickstart.sinks.out.sink.rollInterval = 0
        """;

    /// <summary>The sample limit: the ticks source of the group together at most 10 events/s.</summary>
    internal static readonly FlowLimits SampleLimits = new(RateLimit.Unlimited,
        new Dictionary<string, RateLimit>(StringComparer.Ordinal) { ["ticks"] = new RateLimit(10, null) });

    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "Client port of the embedded server.", DefaultValueFactory = _ => 2181 };
        var firstAgentPort = new Option<int>("--agent-port") { Description = "netcat port of the first agent (the second uses the next one).", DefaultValueFactory = _ => 44444 };
        var dir = new Option<DirectoryInfo>("--dir") { Description = "Where the server's data, the agents' logs and their output go.", DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("data", "quickstart")) };
        var once = new Option<bool>("--exit-when-ready") { Description = "Stop everything as soon as both agents are ok (a smoke test)." };
        var command = new Command("quickstart", "Start a server, push a sample configuration, start two agents that take it from the service, and show the fleet (Ctrl-C stops all).")
        {
            port, firstAgentPort, dir, once,
        };
        command.SetAction((parse, cancellation) => RunAsync(parse.GetValue(port), parse.GetValue(firstAgentPort), parse.GetValue(dir)!, parse.GetValue(once), cancellation));
        return command;
    }

    private static async Task<int> RunAsync(int port, int agentPort, DirectoryInfo dir, bool exitWhenReady, CancellationToken invocationCancellation)
    {
        dir.Create();
        var serverDir = Path.Combine(dir.FullName, "server");
        Directory.CreateDirectory(serverDir);
        var cfg = Path.Combine(dir.FullName, "zoo.cfg");
        await File.WriteAllTextAsync(cfg, string.Create(CultureInfo.InvariantCulture,
            $"# Written by zooflow quickstart\ntickTime=1000\ndataDir={serverDir}\nclientPort={port}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=srvr,ruok,mntr\n"),
            invocationCancellation);
        var connect = "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(invocationCancellation);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.Cancel(); });
        using var serverStop = new CancellationTokenSource();
        var server = Program.BuildRoot().Parse(["server", cfg]).InvokeAsync(cancellationToken: serverStop.Token);
        var agents = new List<(string Id, Process Process, string Log)>();
        try
        {
            await using var client = await ConnectWhenUpAsync(connect, server, stop.Token);
            if (client is null)
            {
                await Console.Error.WriteLineAsync($"zooflow quickstart: the embedded server did not start on {connect} (is the port in use? try --port)");
                return 1;
            }
            await PushSampleAsync(client, stop.Token);
            var limitsPath = ZnodeLayout.GroupLimits(Group);
            await client.EnsurePathAsync(limitsPath[..limitsPath.LastIndexOf('/')], stop.Token);
            var limits = Encoding.UTF8.GetBytes(SampleLimits.ToJson());
            if (await client.ExistsAsync(limitsPath, cancellationToken: stop.Token) is null)
            {
                await client.CreateAsync(limitsPath, limits, cancellationToken: stop.Token);
            }

            for (var i = 1; i <= 2; i++)
            {
                var id = "qs-" + i.ToString(CultureInfo.InvariantCulture);
                var log = Path.Combine(dir.FullName, id + ".log");
                var process = StartAgent(id, connect, agentPort + i - 1, Path.Combine(dir.FullName, id, "out"), log);
                agents.Add((id, process, log));
            }
            await Console.Out.WriteLineAsync($"""
                zooflow quickstart: server on {connect} (data {serverDir})
                  configuration  /flume/{AgentName}  (zooflow config pull -n {AgentName}; edit; zooflow config push -n {AgentName} FILE)
                  flow limit     {limitsPath} = {SampleLimits.ToJson()}
                  agents         {string.Join(", ", agents.Select(a => $"{a.Id} pid {a.Process.Id} (netcat 127.0.0.1:{agentPort + agents.IndexOf(a)}, log {a.Log})"))}
                  Ctrl-C stops the agents, then the server. The fleet follows whenever it changes:
                """);
            await ShowFleetAsync(client, agents, exitWhenReady, stop.Token);
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return 0;
        }
        finally
        {
            foreach (var (id, process, _) in agents)
            {
                if (!process.HasExited)
                {
                    _ = kill(process.Id, SigTerm);
                }
            }
            foreach (var (id, process, log) in agents)
            {
                try
                {
                    await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
                }
                catch (TimeoutException)
                {
                    await Console.Error.WriteLineAsync($"zooflow quickstart: agent {id} did not stop within 20 s; killing it");
                    process.Kill(entireProcessTree: true);
                }
                await Console.Out.WriteLineAsync($"zooflow quickstart: agent {id} stopped (exit code {process.ExitCode}; log {log})");
                process.Dispose();
            }
            await serverStop.CancelAsync();
            await server;
        }
    }

    /// <summary>Connects once the in-process server answers; null when the server task ended (e.g. the port is in use).</summary>
    private static async Task<ZooKeeperClient?> ConnectWhenUpAsync(string connect, Task<int> server, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (server.IsCompleted)
            {
                return null;
            }
            try
            {
                return await ZooKeeperClient.ConnectAsync(connect, new ZooKeeperClientOptions { ConnectTimeout = TimeSpan.FromSeconds(2) }, cancellationToken);
            }
            catch (TimeoutException)
            {
            }
        }
        return null;
    }

    /// <summary>Pushes the sample (validated as the agents will build it) unless the same text is already current.</summary>
    private static async Task PushSampleAsync(ZooKeeperClient client, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal) { ["QS_PORT"] = "44444", ["QS_OUT"] = "out" };
        var result = ConfigCommand.Validate(SampleFlow, "quickstart sample", AgentName, environment, new Dictionary<string, string>(), NullLoggerFactory.Instance);
        if (result.HasErrors)
        {
            throw new InvalidOperationException("the quickstart sample does not validate: " + string.Join("; ", result.Errors));
        }
        var store = new ConfigStore(client);
        var path = ZnodeLayout.Config(ZnodeLayout.DefaultBasePath, AgentName);
        var current = await store.GetAsync(path, cancellationToken);
        if (current?.Text != SampleFlow + "\n")
        {
            var written = await store.PushAsync(path, SampleFlow + "\n", current?.Version ?? -1, null, ConfigStore.DefaultHistoryKeep, cancellationToken);
            await Console.Out.WriteLineAsync($"zooflow quickstart: pushed the sample configuration to {path} (version {written.Version})");
        }
    }

    private static Process StartAgent(string id, string connect, int netcatPort, string output, string log)
    {
        var self = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(self) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(typeof(Program).Assembly.Location);
        }
        foreach (var arg in new[] { "agent", "-n", AgentName, "--id", id, "--group", Group, "-z", connect, "--session-timeout", "4", "--status-interval", "2" })
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["QS_PORT"] = netcatPort.ToString(CultureInfo.InvariantCulture);
        info.Environment["QS_OUT"] = output;
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start agent " + id);
        var writer = new StreamWriter(log, append: true) { AutoFlush = true };
        var gate = new Lock();
        void Append(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (gate)
            {
                writer.WriteLine(line);
            }
        }
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Exited += (_, _) => { lock (gate) { writer.Flush(); } };
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();
        return process;
    }

    /// <summary>Prints the fleet when membership or health changes (checked every second), until cancelled.</summary>
    private static async Task ShowFleetAsync(ZooKeeperClient client, List<(string Id, Process Process, string Log)> agents, bool exitWhenReady, CancellationToken cancellationToken)
    {
        var last = "";
        var reported = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var entries = await Fleet.ReadAsync(client, Group, DateTimeOffset.UtcNow, cancellationToken);
            var key = string.Join(";", entries.Select(e => $"{e.Id}={e.Health}:{e.Status?.Config.Version}:{string.Join(",", e.Status?.Singletons.Select(s => s.State) ?? [])}"));
            if (key != last)
            {
                last = key;
                await Console.Out.WriteAsync($"--- {DateTimeOffset.UtcNow:HH:mm:ss} UTC\n" + Fleet.FormatTable(entries, DateTimeOffset.UtcNow));
            }
            foreach (var (id, process, log) in agents)
            {
                if (process.HasExited && reported.Add(id))
                {
                    await Console.Out.WriteLineAsync($"zooflow quickstart: agent {id} exited (code {process.ExitCode}); see {log}");
                }
            }
            if (exitWhenReady && entries.Count(e => e.Health == "ok") == agents.Count)
            {
                return;
            }
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
