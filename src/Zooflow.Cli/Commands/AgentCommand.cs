using System.CommandLine;
using System.Collections;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Zooflow.Agent;
using Zooflow.Pipeline;
using Zooflow.Pipeline.Components;
using Zooflow.Pipeline.Configuration;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.Pipeline.Runtime;

namespace Zooflow.Cli.Commands;

/// <summary>
/// <c>zooflow agent -n NAME (-f FILE | -z HOSTS [-p BASEPATH]) [-c DIR] [-Dkey=value ...] [--lenient] [--no-reload-conf]</c>:
/// runs a Flume-compatible pipeline agent, configured from a file or, as Flume's ZooKeeper configuration provider, from
/// the znode <c>BASEPATH/NAME</c> (<see cref="RunFromServiceAsync"/>). Exit codes: 0 after a normal stop, 2 when the
/// configuration has errors (all are printed), 1 when the file or znode cannot be read or the monitoring port cannot be
/// bound.
/// </summary>
internal static partial class AgentCommand
{
    /// <summary>Exit code for a configuration with errors.</summary>
    public const int ConfigErrorExitCode = 2;

    public static Command Create()
    {
        var name = new Option<string>("--name", "-n") { Description = "The agent name: the prefix of the keys to run (e.g. a1).", Required = true };
        var confFile = new Option<FileInfo?>("--conf-file", "-f") { Description = "Flume properties file (or take the configuration from the service with -z)." };
        var confDir = new Option<DirectoryInfo?>("--conf", "-c") { Description = "Flume's configuration directory (accepted for compatibility; a relative --conf-file is also looked up there)." };
        var define = new Option<string[]>("--define") { Description = "key=value, Flume's -Dkey=value (e.g. -Dflume.monitoring.type=http -Dflume.monitoring.port=41414).", Arity = ArgumentArity.ZeroOrMore };
        var lenient = new Option<bool>("--lenient") { Description = "Flume's drop-and-warn: start without the invalid components (every error is still printed)." };
        var noReload = new Option<bool>("--no-reload-conf") { Description = "Do not poll the configuration file for changes." };
        var reloadInterval = new Option<double>("--reload-interval", "--poll-interval", "-i") { Description = "Seconds between checks of the configuration file (Flume: 30).", DefaultValueFactory = _ => 30 };
        var drainTimeout = new Option<double>("--drain-timeout") { Description = "Seconds a stop lets sinks drain the channels after the sources stopped.", DefaultValueFactory = _ => 10 };
        var backoffIncrement = new Option<int>("--backoff-increment-ms") { Description = "Runner backoff step (Flume's backoffSleepIncrement).", DefaultValueFactory = _ => 1000 };
        var maxBackoff = new Option<int>("--max-backoff-ms") { Description = "Runner backoff cap (Flume's maxBackoffSleep).", DefaultValueFactory = _ => 5000 };
        var check = new Option<bool>("--check") { Description = "Validate the configuration, print the result and exit (0 valid, 2 errors)." };

        var service = ServiceCliOptions.Create();

        var command = new Command("agent", "Run a pipeline agent from an Apache Flume properties configuration: a file (-f), or the znode <zkBasePath>/<name> of a ZooKeeper-protocol service (-z), Flume's ZooKeeper provider.");
        foreach (var option in new Option[] { name, confFile, confDir, define, lenient, noReload, reloadInterval, drainTimeout, backoffIncrement, maxBackoff, check })
        {
            command.Options.Add(option);
        }
        service.AddTo(command);
        AddServiceOptions(command);
        command.SetAction(async (parse, cancellation) =>
        {
            var file = parse.GetValue(confFile);
            var zk = parse.GetValue(service.ConnectString);
            if (file is null == zk is null)
            {
                await Console.Error.WriteLineAsync(file is null
                    ? "zooflow agent: give the configuration with -f FILE or take it from the service with -z host:port[,host:port...] (Flume's --zkConnString)"
                    : "zooflow agent: -f and -z were both given; Flume would silently use -z: pass one of them");
                return 1;
            }
            var runner = new RunnerOptions(TimeSpan.FromMilliseconds(Math.Max(1, parse.GetValue(backoffIncrement))), TimeSpan.FromMilliseconds(Math.Max(1, parse.GetValue(maxBackoff))),
                RunnerOptions.Default.RestartBackoffInitial, RunnerOptions.Default.RestartBackoffMax);
            if (zk is not null)
            {
                return await RunFromServiceAsync(parse, service, parse.GetValue(name)!, FlumeArgs.ParseDefines(parse.GetValue(define) ?? []), parse.GetValue(lenient),
                    !parse.GetValue(noReload), new AgentHostOptions(runner, TimeSpan.FromSeconds(Math.Max(0, parse.GetValue(drainTimeout)))), parse.GetValue(check), cancellation);
            }
            var options = new AgentCliOptions(
                parse.GetValue(name)!,
                ResolveFile(file!, parse.GetValue(confDir)),
                FlumeArgs.ParseDefines(parse.GetValue(define) ?? []),
                parse.GetValue(lenient),
                !parse.GetValue(noReload),
                TimeSpan.FromSeconds(Math.Max(0.05, parse.GetValue(reloadInterval))),
                TimeSpan.FromSeconds(Math.Max(0, parse.GetValue(drainTimeout))),
                runner,
                parse.GetValue(check));
            return await RunAsync(options, cancellation);
        });
        return command;
    }

    private static FileInfo ResolveFile(FileInfo file, DirectoryInfo? confDir)
    {
        if (!file.Exists && confDir is not null && !Path.IsPathRooted(file.ToString()))
        {
            var inDir = new FileInfo(Path.Combine(confDir.FullName, file.ToString()));
            if (inDir.Exists)
            {
                return inDir;
            }
        }
        return file;
    }

    private sealed record AgentCliOptions(string Name, FileInfo File, IReadOnlyDictionary<string, string> Defines, bool Lenient, bool Reload,
        TimeSpan ReloadInterval, TimeSpan DrainTimeout, RunnerOptions Runner, bool CheckOnly);

    private static async Task<int> RunAsync(AgentCliOptions options, CancellationToken invocationCancellation)
    {
        using var loggerFactory = LoggerFactory.Create(builder => builder
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff "; })
            .SetMinimumLevel(LogLevelFrom(options.Defines)));
        var logger = loggerFactory.CreateLogger("Zooflow.Agent");
        var environment = ReadEnvironment();

        if (!options.File.Exists)
        {
            await Console.Error.WriteLineAsync($"zooflow agent: configuration file {options.File} does not exist");
            return 1;
        }
        var counters = new CounterRegistry();
        var registry = ComponentRegistry.CreateDefault(BuiltInComponents.All().Concat(ComponentCatalog.Extra()).Concat(AgentComponents.All(null)));
        var settings = new BuildSettings(options.Lenient, options.File.Name, loggerFactory, counters, TimeProvider.System);
        var lastWrite = options.File.LastWriteTimeUtc;
        var text = await File.ReadAllTextAsync(options.File.FullName, invocationCancellation);
        var result = AgentLoader.Load(new ConfigSource(text, options.File.Name, environment, options.Defines), options.Name, registry, settings);

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
            await Console.Error.WriteLineAsync(options.Lenient
                ? $"zooflow agent: {result.Errors.Count} configuration error(s); --lenient: starting without the invalid components"
                : $"zooflow agent: {result.Errors.Count} configuration error(s) in {options.File}; not starting (use --lenient for Flume's drop-and-warn)");
            if (!options.Lenient || options.CheckOnly)
            {
                return ConfigErrorExitCode;
            }
        }
        var plan = result.Plan;
        if (options.CheckOnly)
        {
            await Console.Out.WriteLineAsync($"{options.File}: agent '{options.Name}' is valid: {plan.Sources.Count} sources, {plan.Channels.Count} channels, {plan.Sinks.Count} sinks, {plan.SinkGroups.Count} sink groups");
            return 0;
        }
        if (plan.Channels.Count == 0 && plan.Sources.Count == 0 && plan.Sinks.Count == 0)
        {
            logger.LogWarning(new EventId(2801, "EmptyAgent"), "Agent {Agent} has nothing to run; it keeps polling {File} for a valid configuration", options.Name, options.File);
        }

        // Own signal handling so that a stop can drain for longer than System.CommandLine's termination timeout.
        using var shutdown = CancellationTokenSource.CreateLinkedTokenSource(invocationCancellation);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; shutdown.Cancel(); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; shutdown.Cancel(); });
        // If System.CommandLine's termination timeout ends the invocation first, process exit waits for the drain.
        using var stopped = new ManualResetEventSlim();
        void WaitForStop(object? sender, EventArgs e) => stopped.Wait(options.DrainTimeout + TimeSpan.FromSeconds(30));
        AppDomain.CurrentDomain.ProcessExit += WaitForStop;

        MetricsServer? metrics = null;
        var host = new AgentHost(new AgentHostOptions(options.Runner, options.DrainTimeout), counters, loggerFactory);
        try
        {
            metrics = StartMonitoring(options.Defines, counters, loggerFactory);
            await host.StartAsync(plan, shutdown.Token);
            logger.LogInformation(new EventId(2802, "AgentStarted"), "Agent {Agent} started from {File}", options.Name, options.File.FullName);

            Task reload = Task.CompletedTask;
            if (options.Reload)
            {
                var reloader = new ConfigReloader(host,
                    async ct =>
                    {
                        options.File.Refresh();
                        if (!options.File.Exists || options.File.LastWriteTimeUtc == lastWrite)
                        {
                            return null;
                        }
                        lastWrite = options.File.LastWriteTimeUtc;
                        var changed = await File.ReadAllTextAsync(options.File.FullName, ct);
                        return new ConfigSource(changed, options.File.Name, environment, options.Defines);
                    },
                    source => AgentLoader.Load(source, options.Name, registry, settings),
                    options.Lenient, options.ReloadInterval, logger);
                reload = reloader.RunAsync(shutdown.Token);
            }
            try
            {
                await Task.Delay(Timeout.Infinite, shutdown.Token);
            }
            catch (OperationCanceledException)
            {
                logger.LogInformation(new EventId(2803, "Stopping"), "Stopping agent {Agent}: sources first, then draining for up to {Timeout}", options.Name, options.DrainTimeout);
            }
            await reload;
            var undelivered = await host.StopAsync(options.DrainTimeout, CancellationToken.None);
            logger.LogInformation(new EventId(2804, "AgentStopped"), "Agent {Agent} stopped; {Undelivered} events left undelivered", options.Name, undelivered);
            return 0;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException)
        {
            logger.LogError(new EventId(2805, "MonitoringFailed"), ex, "Could not start monitoring");
            return 1;
        }
        finally
        {
            await host.DisposeAsync();
            if (metrics is not null)
            {
                await metrics.DisposeAsync();
            }
            stopped.Set();
            AppDomain.CurrentDomain.ProcessExit -= WaitForStop;
        }
    }

    /// <summary>Flume's <c>-Dflume.monitoring.type=http -Dflume.monitoring.port=N</c> (default 41414);
    /// <c>flume.monitoring.bind</c> (our addition) chooses the address, default all interfaces as Flume's Jetty.</summary>
    internal static MetricsServer? StartMonitoring(IReadOnlyDictionary<string, string> defines, CounterRegistry counters, ILoggerFactory loggerFactory)
    {
        if (!defines.TryGetValue("flume.monitoring.type", out var type))
        {
            return null;
        }
        var logger = loggerFactory.CreateLogger("Zooflow.Agent.Monitoring");
        if (!string.Equals(type, "http", StringComparison.OrdinalIgnoreCase))
        {
            logger.LogWarning(new EventId(2806, "MonitoringType"), "flume.monitoring.type={Type} is not supported (allowed: http); monitoring is off", type);
            return null;
        }
        var port = defines.TryGetValue("flume.monitoring.port", out var p) && int.TryParse(p, out var parsed) ? parsed : 41414;
        var address = defines.TryGetValue("flume.monitoring.bind", out var b) && IPAddress.TryParse(b, out var ip) ? ip : IPAddress.Any;
        var server = new MetricsServer(new IPEndPoint(address, port), counters, logger);
        server.Start();
        return server;
    }

    internal static LogLevel LogLevelFrom(IReadOnlyDictionary<string, string> defines)
    {
        // Flume: -Dflume.root.logger=DEBUG,console
        if (defines.TryGetValue("flume.root.logger", out var value))
        {
            var level = value.Split(',')[0].Trim().ToUpperInvariant();
            return level switch
            {
                "TRACE" => LogLevel.Trace,
                "DEBUG" => LogLevel.Debug,
                "WARN" => LogLevel.Warning,
                "ERROR" => LogLevel.Error,
                "FATAL" => LogLevel.Critical,
                _ => LogLevel.Information,
            };
        }
        return LogLevel.Information;
    }

    internal static Dictionary<string, string> ReadEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key && entry.Value is string value)
            {
                result[key] = value;
            }
        }
        return result;
    }
}

/// <summary>Rewrites Flume's command-line habits into a form the parser accepts.</summary>
internal static class FlumeArgs
{
    /// <summary>
    /// <c>-Dkey=value</c> becomes <c>--define key=value</c> (System.CommandLine would read <c>-D</c> as an unknown
    /// bundle of short options). A bare <c>-D key=value</c> is also accepted. Everything else is passed unchanged.
    /// </summary>
    public static string[] Normalize(string[] args)
    {
        var result = new List<string>(args.Length + 4);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg.StartsWith("-D", StringComparison.Ordinal) && arg.Length > 2 && arg[2] != '-')
            {
                result.Add("--define");
                result.Add(arg[2..]);
            }
            else if (arg == "-D" && i + 1 < args.Length)
            {
                result.Add("--define");
                result.Add(args[++i]);
            }
            else
            {
                result.Add(arg);
            }
        }
        return [.. result];
    }

    /// <summary>Parses <c>key=value</c> definitions (a key without <c>=</c> gets an empty value, as Java's -Dkey).</summary>
    public static IReadOnlyDictionary<string, string> ParseDefines(IEnumerable<string> defines)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var define in defines)
        {
            var eq = define.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                result[define] = "";
            }
            else
            {
                result[define[..eq]] = define[(eq + 1)..];
            }
        }
        return result;
    }
}
