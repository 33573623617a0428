using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Zooflow.Agent;
using Zooflow.Agent.Configuration;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.Pipeline.Runtime;

namespace Zooflow.Cli.Commands;

/// <summary><c>zooflow agent -z ...</c>: the agent takes its configuration from the service (issue 10).</summary>
internal static partial class AgentCommand
{
    private static readonly Option<string?> GroupOption = new("--group", "-g") { Description = $"The agent's group: registry, group limits and singleton elections are per group (default {ZnodeLayout.DefaultGroup})." };
    private static readonly Option<string?> IdOption = new("--id") { Description = "Registry id of this process (default: the agent name); run one configuration in several processes with different ids." };
    private static readonly Option<double> StatusIntervalOption = new("--status-interval") { Description = "Seconds between registry status updates.", DefaultValueFactory = _ => 5 };

    /// <summary>Adds the options only the service mode uses.</summary>
    private static void AddServiceOptions(Command command)
    {
        command.Options.Add(GroupOption);
        command.Options.Add(IdOption);
        command.Options.Add(StatusIntervalOption);
    }

    private static async Task<int> RunFromServiceAsync(ParseResult parse, ServiceCliOptions service, string name, IReadOnlyDictionary<string, string> defines,
        bool lenient, bool follow, AgentHostOptions hostOptions, bool checkOnly, CancellationToken invocationCancellation)
    {
        var errors = new List<string>();
        var serviceOptions = service.Build(parse, errors);
        var options = new CoordinatedAgentOptions
        {
            AgentName = name,
            Id = parse.GetValue(IdOption),
            Group = parse.GetValue(GroupOption) ?? ZnodeLayout.DefaultGroup,
            Service = serviceOptions,
            BasePath = service.BasePathOf(parse),
            Follow = follow,
            Lenient = lenient,
            StatusInterval = TimeSpan.FromSeconds(parse.GetValue(StatusIntervalOption)),
            Host = hostOptions,
            Environment = ReadEnvironment(),
            SystemProperties = defines,
        };
        errors.AddRange(options.Validate());
        if (errors.Count > 0)
        {
            return await ServiceCliOptions.ReportAsync("agent", errors);
        }
        using var loggerFactory = LoggerFactory.Create(builder => builder
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff "; })
            .SetMinimumLevel(LogLevelFrom(defines)));
        var logger = loggerFactory.CreateLogger("Zooflow.Agent");

        if (checkOnly)
        {
            return await CheckZnodeAsync(options, loggerFactory, invocationCancellation);
        }

        using var shutdown = CancellationTokenSource.CreateLinkedTokenSource(invocationCancellation);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; shutdown.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; shutdown.Cancel(); });
        using var stopped = new ManualResetEventSlim();
        void WaitForStop(object? sender, EventArgs e) => stopped.Wait(hostOptions.DrainTimeout + TimeSpan.FromSeconds(30));
        AppDomain.CurrentDomain.ProcessExit += WaitForStop;

        await using var agent = new CoordinatedAgent(options, loggerFactory, extraTypes: ComponentCatalog.Extra());
        MetricsServer? metrics = null;
        try
        {
            metrics = StartMonitoring(defines, agent.Counters, loggerFactory);
            logger.LogInformation(new EventId(2810, "AgentFromService"), "Agent {Agent} (id {Id}, group {Group}) takes its configuration from {Path} on {Service}{Mode}",
                options.AgentName, options.EffectiveId, options.Group, options.ConfigPath, serviceOptions.ConnectString, follow ? "" : " (read once: --no-reload-conf)");
            var undelivered = await agent.RunAsync(shutdown.Token);
            logger.LogInformation(new EventId(2804, "AgentStopped"), "Agent {Agent} stopped; {Undelivered} events left undelivered", options.EffectiveId, undelivered);
            return 0;
        }
        catch (AgentStartException ex)
        {
            logger.LogError(new EventId(2811, "AgentNotStarted"), "Agent {Agent} not started: {Reason}", options.EffectiveId, ex.Message);
            await Console.Error.WriteLineAsync($"zooflow agent: {ex.Message}");
            return ex.ExitCode;
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            logger.LogError(new EventId(2805, "MonitoringFailed"), ex, "Could not start monitoring");
            return 1;
        }
        finally
        {
            if (metrics is not null)
            {
                await metrics.DisposeAsync();
            }
            stopped.Set();
            AppDomain.CurrentDomain.ProcessExit -= WaitForStop;
        }
    }

    /// <summary><c>--check</c> with <c>-z</c>: validates the configuration in the znode and exits 0 (valid) or 2.</summary>
    private static async Task<int> CheckZnodeAsync(CoordinatedAgentOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken)
    {
        await using var client = await ServiceCliOptions.ConnectAsync(options.Service, cancellationToken);
        var observation = await ConfigFollower.ReadOnceAsync(client, options.ConfigPath, cancellationToken);
        switch (observation)
        {
            case ConfigObservation.Missing:
                await Console.Error.WriteLineAsync($"zooflow agent: configuration znode {options.ConfigPath} does not exist");
                return 1;
            case ConfigObservation.Unreadable unreadable:
                await Console.Error.WriteLineAsync($"zooflow agent: {unreadable.Message}");
                return 1;
        }
        var config = ((ConfigObservation.Present)observation).Config;
        var result = ConfigCommand.Validate(config.Text, $"{config.Path}@v{config.Version}", options.AgentName, options.Environment, options.SystemProperties, loggerFactory);
        foreach (var warning in result.Warnings)
        {
            await Console.Error.WriteLineAsync($"warning: {warning}");
        }
        foreach (var error in result.Errors)
        {
            await Console.Error.WriteLineAsync($"error: {error}");
        }
        if (result.HasErrors)
        {
            return ConfigErrorExitCode;
        }
        await Console.Out.WriteLineAsync($"{config.Path} (version {config.Version}): agent '{options.AgentName}' is valid: {result.Plan.Sources.Count} sources, {result.Plan.Channels.Count} channels, {result.Plan.Sinks.Count} sinks");
        return 0;
    }
}
