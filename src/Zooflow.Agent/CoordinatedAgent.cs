using System.Reflection;
using Microsoft.Extensions.Logging;
using Zooflow.Agent.Configuration;
using Zooflow.Agent.Discovery;
using Zooflow.Agent.Election;
using Zooflow.Agent.Limits;
using Zooflow.Agent.Registry;
using Zooflow.Agent.Service;
using Zooflow.Pipeline;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components;
using Zooflow.Pipeline.Configuration;
using Zooflow.Pipeline.Instrumentation;
using Zooflow.Pipeline.Runtime;

namespace Zooflow.Agent;

/// <summary>Settings of an agent that takes its configuration from the service; validated in one pass by
/// <see cref="Validate"/>. Only the CLI reads files and environment variables; they arrive here as values.</summary>
public sealed record CoordinatedAgentOptions
{
    /// <summary>The configuration name (<c>-n</c>): the key prefix to run and the znode under the base path.</summary>
    public required string AgentName { get; init; }

    /// <summary>The registry id (<c>--id</c>); default the agent name. Several processes may run one configuration
    /// under different ids.</summary>
    public string? Id { get; init; }

    /// <summary>The group (<c>--group</c>): registry, group limits and singleton elections are per group.</summary>
    public string Group { get; init; } = ZnodeLayout.DefaultGroup;

    /// <summary>How to reach the service.</summary>
    public required ServiceOptions Service { get; init; }

    /// <summary>Flume's <c>-p/--zkBasePath</c> (default <c>/flume</c>).</summary>
    public string BasePath { get; init; } = ZnodeLayout.DefaultBasePath;

    /// <summary>Follow the znode and apply changes live (Flume's polling provider); false reads it once (static provider,
    /// <c>--no-reload-conf</c>).</summary>
    public bool Follow { get; init; } = true;

    /// <summary>Flume's drop-and-warn.</summary>
    public bool Lenient { get; init; }

    /// <summary>How often the registry status is rewritten.</summary>
    public TimeSpan StatusInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Runner backoff and drain timeout.</summary>
    public AgentHostOptions Host { get; init; } = AgentHostOptions.Default;

    /// <summary>Environment variables for <c>${NAME}</c> substitution.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The <c>-D</c> definitions for <c>${sys:NAME}</c>.</summary>
    public IReadOnlyDictionary<string, string> SystemProperties { get; init; } = new Dictionary<string, string>();

    /// <summary>This host's name, for the registry.</summary>
    public string HostName { get; init; } = System.Environment.MachineName;

    /// <summary>This process id, for the registry.</summary>
    public int ProcessId { get; init; } = System.Environment.ProcessId;

    /// <summary>The registry id in use.</summary>
    public string EffectiveId => Id ?? AgentName;

    /// <summary>The configuration znode.</summary>
    public string ConfigPath => ZnodeLayout.Config(BasePath, AgentName);

    /// <summary>Every problem, each naming the option (empty when valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (ZnodeLayout.ValidateName(AgentName) is { } agent)
        {
            errors.Add($"--name: {agent}");
        }
        if (Id is not null && ZnodeLayout.ValidateName(Id) is { } id)
        {
            errors.Add($"--id: {id}");
        }
        if (ZnodeLayout.ValidateName(Group) is { } group)
        {
            errors.Add($"--group: {group}");
        }
        if (!BasePath.StartsWith('/') || BasePath.Contains("//", StringComparison.Ordinal))
        {
            errors.Add($"--zkBasePath: '{BasePath}' is not an absolute znode path (e.g. /flume)");
        }
        errors.AddRange(Service.Validate().Select(e => "--zkConnString: " + e));
        if (StatusInterval < TimeSpan.FromMilliseconds(200) || StatusInterval > TimeSpan.FromMinutes(10))
        {
            errors.Add($"--status-interval: {StatusInterval.TotalSeconds:0.###} s is out of range (allowed: 0.2 .. 600)");
        }
        return errors;
    }
}

/// <summary>The agent could not start: the reason names the znode and what to do.</summary>
public sealed class AgentStartException(string message, int exitCode) : Exception(message)
{
    /// <summary>1 for a service or access problem, 2 for an invalid configuration (as a file-configured agent).</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>
/// A pipeline agent coordinated through the service: it takes its configuration from
/// <c>&lt;basePath&gt;/&lt;agent&gt;</c> and applies each new version live through <see cref="AgentHost.ApplyAsync"/> (kept
/// channels keep their events); refuses an invalid version (every error logged and reported in the registry) and keeps
/// the last good one; registers itself with its status; follows its flow limits; runs <c>singleton</c> sources only while
/// it leads their election. Connection loss is ridden out; after a session expiry everything that lived in the session
/// (registration, elections, watches) is set up again in a new one.
/// </summary>
/// <remarks>Logs with event ids 4500–4519.</remarks>
public sealed class CoordinatedAgent : IAsyncDisposable
{
    private readonly CoordinatedAgentOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly ServiceSession _session;
    private readonly DiscoveryHub _discovery;
    private readonly AgentServices _services;
    private readonly CounterRegistry _counters;
    private readonly ComponentRegistry _registry;
    private readonly AgentHost _host;
    private readonly FlowLimiter _limiter;
    private readonly LimitsFollower _limits;
    private readonly AgentRegistration _registration;
    private readonly StatusSampler _sampler;
    private readonly SemaphoreSlim _applyGate = new(1, 1);
    private readonly long _startTime;
    private readonly TaskCompletionSource _firstObservation = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile ConfigStatus _config;
    private volatile ConfigErrorStatus? _configError;
    private volatile AgentPlan? _plan;
    private volatile string _state = "no-config";
    private bool _started;

    /// <summary>Creates the agent (nothing runs until <see cref="RunAsync"/>). <paramref name="extraTypes"/> adds component
    /// types to the built-in ones and the service-backed ones of <see cref="AgentComponents"/>.</summary>
    public CoordinatedAgent(CoordinatedAgentOptions options, ILoggerFactory loggerFactory, TimeProvider? clock = null, IEnumerable<ComponentType>? extraTypes = null)
    {
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Zooflow.Agent");
        _clock = clock ?? TimeProvider.System;
        _session = new ServiceSession(options.Service, loggerFactory.CreateLogger("Zooflow.Agent.Service"));
        _counters = new CounterRegistry();
        _discovery = new DiscoveryHub(_session, loggerFactory);
        _services = new AgentServices(_session, options.Group, options.EffectiveId, _discovery, () => new Random());
        _registry = ComponentRegistry.CreateDefault(AgentComponents.Catalog(BuiltInComponents.All().Concat(extraTypes ?? []), _services, agentUsesService: true));
        _host = new AgentHost(options.Host, _counters, loggerFactory, _clock);
        _limiter = new FlowLimiter(_clock);
        _limits = new LimitsFollower(_session, options.Group, options.EffectiveId, _limiter, loggerFactory.CreateLogger("Zooflow.Agent.Limits"));
        _sampler = new StatusSampler(_host, _counters, _limiter, _clock);
        _registration = new AgentRegistration(_session, options.Group, options.EffectiveId, Snapshot, options.StatusInterval,
            loggerFactory.CreateLogger("Zooflow.Agent.Registry"), _clock);
        _startTime = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        _config = new ConfigStatus { Path = options.ConfigPath };
    }

    /// <summary>The agent's Flume counters (for the metrics server).</summary>
    public CounterRegistry Counters => _counters;

    /// <summary>The pipeline host.</summary>
    public AgentHost Host => _host;

    /// <summary>The service session.</summary>
    public ServiceSession Session => _session;

    /// <summary>The status as the registry shows it now.</summary>
    public AgentStatus Snapshot()
    {
        var sample = _sampler.Take(_plan);
        return new AgentStatus
        {
            Agent = _options.AgentName,
            Id = _options.EffectiveId,
            Group = _options.Group,
            Host = _options.HostName,
            Pid = _options.ProcessId,
            Version = typeof(CoordinatedAgent).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0",
            StartTime = _startTime,
            UpdateTime = _clock.GetUtcNow().ToUnixTimeMilliseconds(),
            StatusIntervalMs = (int)_options.StatusInterval.TotalMilliseconds,
            State = _state,
            Config = _config,
            ConfigError = _configError,
            Components = sample.Components,
            Channels = sample.Channels,
            Metrics = sample.Metrics,
            Limits = new LimitsStatus { Effective = _limiter.Current.ToJson(), LiveMembers = _limits.LiveMembers, Error = _limits.LastError },
            Singletons = sample.Singletons,
        };
    }

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled, then stops: sources first, the sinks drain the channels
    /// (up to the drain timeout), the registry znode goes with the session. Returns the events left undelivered.
    /// Throws <see cref="AgentStartException"/> when it cannot start (the configuration znode is unreadable; with
    /// <see cref="CoordinatedAgentOptions.Follow"/> off, also when it is missing or invalid).
    /// </summary>
    public async Task<long> RunAsync(CancellationToken cancellationToken)
    {
        var path = _options.ConfigPath;
        _session.Start();
        using var background = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = new List<Task>();
        try
        {
            // Limits first, so that no source starts unlimited: wait for their first read (bounded: an unreachable or
            // slow service must not hold the pipeline back for long).
            tasks.Add(_limits.RunAsync(background.Token));
            try
            {
                await _limits.FirstRefresh.WaitAsync(_options.Service.SessionTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _logger.LogWarning(new EventId(4511, "LimitsLate"), "Flow limits not read within {Timeout}; starting without them until they are", _options.Service.SessionTimeout);
            }
            if (_options.Follow)
            {
                var follower = new ConfigFollower(_session, path, OnConfigAsync, _loggerFactory.CreateLogger("Zooflow.Agent.Config"));
                tasks.Add(follower.RunAsync(background.Token));
                await _firstObservation.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var lease = await _session.WaitForSessionAsync(null, cancellationToken).ConfigureAwait(false);
                var observation = await ConfigFollower.ReadOnceAsync(lease.Client, path, cancellationToken).ConfigureAwait(false);
                if (observation is ConfigObservation.Missing)
                {
                    throw new AgentStartException($"configuration znode {path} does not exist (push one with: zooflow config push -z {_options.Service.ConnectString} -n {_options.AgentName} FILE)", 1);
                }
                await OnConfigAsync(observation, cancellationToken).ConfigureAwait(false);
                if (_plan is null)
                {
                    throw new AgentStartException($"the configuration in {path} has errors; not starting (every error is logged above)", 2);
                }
            }
            tasks.Add(_registration.RunAsync(background.Token));
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            _state = "stopping";
            _logger.LogInformation(new EventId(4510, "Stopping"), "Stopping agent {Agent}: sources first, then draining for up to {Timeout}",
                _options.EffectiveId, _options.Host.DrainTimeout);
            await _registration.MarkStoppedAsync(CancellationToken.None).ConfigureAwait(false);
            await _applyGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            var undelivered = await _host.StopAsync(_options.Host.DrainTimeout, CancellationToken.None).ConfigureAwait(false);
            return undelivered;
        }
        finally
        {
            await background.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(tasks).ConfigureAwait(false);
            await _discovery.DisposeAsync().ConfigureAwait(false);
            await _session.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task OnConfigAsync(ConfigObservation observation, CancellationToken cancellationToken)
    {
        await _applyGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ApplyAsync(observation, cancellationToken).ConfigureAwait(false);
        }
        catch (AgentStartException ex)
        {
            _firstObservation.TrySetException(ex);
        }
        finally
        {
            _started = true;
            _applyGate.Release();
            _firstObservation.TrySetResult();
            _registration.RequestUpdate();
        }
    }

    private async Task ApplyAsync(ConfigObservation observation, CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        switch (observation)
        {
            case ConfigObservation.Missing missing:
                if (_plan is null)
                {
                    _logger.LogWarning(new EventId(4500, "ConfigMissing"),
                        "No configuration found for this agent: znode {Path} does not exist; waiting for it (zooflow config push -n {Agent} FILE)", missing.ZnodePath, _options.AgentName);
                    _config = new ConfigStatus { Path = missing.ZnodePath, State = "missing" };
                }
                else
                {
                    // Flume would stop everything (an absent znode is an empty configuration); a deleted znode is far more
                    // often a mistake than a wish to drop the flow, so the running configuration is kept and reported.
                    _logger.LogWarning(new EventId(4501, "ConfigDeleted"),
                        "Configuration znode {Path} was deleted; the running configuration (version {Version}) is kept", missing.ZnodePath, _config.Version);
                    _config = _config with { Problem = $"{missing.ZnodePath} was deleted; running the last configuration (v{_config.Version})" };
                }
                return;
            case ConfigObservation.Unreadable unreadable:
                _logger.LogError(new EventId(4502, "ConfigUnreadable"), "{Problem}", unreadable.Message);
                if (!_started)
                {
                    throw new AgentStartException(unreadable.Message, 1);
                }
                _config = _config with { State = _plan is null ? "unreadable" : _config.State, Problem = unreadable.Message };
                return;
            case ConfigObservation.Present present:
                await ApplyPresentAsync(present.Config, now, cancellationToken).ConfigureAwait(false);
                return;
        }
    }

    private async Task ApplyPresentAsync(ConfigVersion config, long now, CancellationToken cancellationToken)
    {
        var name = $"{config.Path}@v{config.Version}";
        var settings = new BuildSettings(_options.Lenient, name, _loggerFactory, _counters, _clock);
        var result = AgentLoader.Load(new ConfigSource(config.Text, name, _options.Environment, _options.SystemProperties), _options.AgentName, _registry, settings);
        var errors = result.Errors.Concat(CoordinationRules.Check(result.Plan, _options.Group, _options.HostName)).ToList();
        foreach (var warning in result.Warnings)
        {
            _logger.LogWarning(new EventId(4503, "ConfigWarning"), "{Warning}", warning.ToString());
        }
        foreach (var error in errors)
        {
            _logger.LogError(new EventId(4504, "ConfigError"), "{Error}", error.ToString());
        }
        if (errors.Count > 0 && !_options.Lenient)
        {
            _configError = new ConfigErrorStatus { Version = config.Version, Mzxid = config.Mzxid, Time = now, Errors = errors.Select(e => e.ToString()).ToList() };
            _logger.LogError(new EventId(4505, "ConfigRefused"), "Configuration {Path} version {Version} has {Count} error(s); {Outcome}",
                config.Path, config.Version, errors.Count, _plan is null ? "nothing runs until a valid version is pushed" : $"version {_config.Version} keeps running");
            return;
        }
        var plan = Coordinate(result.Plan);
        if (_plan is null)
        {
            await _host.StartAsync(plan, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await _host.ApplyAsync(plan, cancellationToken).ConfigureAwait(false);
        }
        _plan = plan;
        _state = "running";
        _config = new ConfigStatus { Path = config.Path, State = "applied", Version = config.Version, Mzxid = config.Mzxid, AppliedTime = now };
        _configError = null;
        _logger.LogInformation(new EventId(4506, "ConfigApplied"), "Configuration {Path} version {Version} applied: {Sources} sources, {Channels} channels, {Sinks} sinks",
            config.Path, config.Version, plan.Sources.Count, plan.Channels.Count, plan.Sinks.Count);
    }

    /// <summary>Puts every source behind the flow limiter, singleton sources behind their election, and registered
    /// sources behind their service registration.</summary>
    private AgentPlan Coordinate(AgentPlan plan)
    {
        var context = new SingletonContext(_session, _options.Group, _options.EffectiveId, _limiter, _options.Host.Runner, _clock, _loggerFactory);
        var registrations = new RegistrationContext(_session, _options.Group, _options.EffectiveId, _loggerFactory);
        var sources = plan.Sources.Select(source =>
        {
            if (source.Section.Properties.TryGetValue(CoordinationRules.SingletonKey, out var singleton))
            {
                var name = singleton.Value;
                var factory = source.Factory;
                return source with
                {
                    Instance = new SingletonSource(source.Name, name, factory, context),
                    Factory = () => new SingletonSource(source.Name, name, factory, context),
                };
            }
            var inner = source.Factory;
            if (Registration.Read(source.Section, _options.HostName, []) is { } registration)
            {
                ISource Registered(ISource real) => new RegisteredSource(LimitedSource.Wrap(real, _limiter), real, registration, registrations);
                return source with { Instance = Registered(source.Instance), Factory = () => Registered(inner()) };
            }
            return source with
            {
                Instance = LimitedSource.Wrap(source.Instance, _limiter),
                Factory = () => LimitedSource.Wrap(inner(), _limiter),
            };
        }).ToList();
        return plan with { Sources = sources };
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync().ConfigureAwait(false);
        await _discovery.DisposeAsync().ConfigureAwait(false);
        _applyGate.Dispose();
    }
}
