using Microsoft.Extensions.Logging;
using Zooflow.Agent.Service;
using Zooflow.Client;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Components.AvroRpc;
using Zooflow.Pipeline.Components.Sources;
using Zooflow.Pipeline.Components.Sources.Http;
using Zooflow.Pipeline.Components.Sources.Syslog;
using Zooflow.Pipeline.Configuration;
using Zooflow.Recipes;

namespace Zooflow.Agent.Discovery;

/// <summary>What a source registers: <c>&lt;source&gt;.register = &lt;service&gt;</c> and the optional overrides.</summary>
/// <param name="Service">The service name.</param>
/// <param name="Address"><c>register.address</c>, else the source's <c>bind</c> unless it is a wildcard, else this
/// host's name.</param>
/// <param name="Port"><c>register.port</c> (e.g. behind NAT), else the port the source listens on.</param>
public sealed record Registration(string Service, string Address, int? Port)
{
    /// <summary>The source keys this feature reads.</summary>
    public const string ServiceKey = "register";

    /// <summary>The source types whose listening endpoint can be registered.</summary>
    public const string SupportedTypes = "avro, netcat, syslogtcp, http";

    /// <summary>The port <paramref name="source"/> listens on (0 before start), or null for a type that does not listen.</summary>
    public static int? ListeningPort(ISource source) => source switch
    {
        AvroSource avro => avro.BoundPort,
        HttpSource http => http.BoundPort,
        NetcatSource netcat => netcat.BoundPort,
        SyslogTcpSource syslog => syslog.BoundPort,
        _ => null,
    };

    /// <summary>Reads the keys of <paramref name="section"/>; every problem goes to <paramref name="errors"/>.</summary>
    public static Registration? Read(ComponentSection section, string hostName, List<ConfigError> errors)
    {
        if (!section.Properties.TryGetValue(ServiceKey, out var service))
        {
            return null;
        }
        if (ZnodeLayout.ValidateName(service.Value) is { } problem)
        {
            errors.Add(new ConfigError(section.Prefix + ServiceKey, service.Location, $"{problem} (allowed: a service name, e.g. collectors)"));
        }
        var address = section.Properties.TryGetValue(ServiceKey + ".address", out var a) ? a.Value.Trim() : null;
        if (address is { Length: 0 })
        {
            errors.Add(new ConfigError(section.Prefix + ServiceKey + ".address", a.Location, "is empty (allowed: a host name or IP address the sinks can reach)"));
        }
        if (address is null or { Length: 0 })
        {
            var bind = section.Properties.TryGetValue("bind", out var b) ? b.Value.Trim() : "";
            address = bind is "" or "0.0.0.0" or "::" or "[::]" or "*" ? hostName : bind;
        }
        int? port = null;
        if (section.Properties.TryGetValue(ServiceKey + ".port", out var p))
        {
            if (int.TryParse(p.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var parsed) && parsed is > 0 and <= 65535)
            {
                port = parsed;
            }
            else
            {
                errors.Add(new ConfigError(section.Prefix + ServiceKey + ".port", p.Location, $"'{p.Value}' is not a port (allowed: 1..65535)"));
            }
        }
        return new Registration(service.Value, address, port);
    }
}

/// <summary>What a registered source needs from its agent.</summary>
/// <param name="Session">The agent's service session.</param>
/// <param name="Group">The agent's group.</param>
/// <param name="AgentId">The agent's registry id.</param>
/// <param name="LoggerFactory">Loggers.</param>
public sealed record RegistrationContext(ServiceSession Session, string Group, string AgentId, ILoggerFactory LoggerFactory);

/// <summary>
/// <c>&lt;source&gt;.register = &lt;service&gt;</c>: while the source runs, its listening endpoint is a live instance of the
/// service — an ephemeral <c>/zooflow/services/&lt;service&gt;/&lt;group&gt;:&lt;id&gt;:&lt;source&gt;</c> in Curator's
/// service-discovery JSON, written in every session of the agent — so discovery sinks
/// (<c>&lt;sink&gt;.discovery</c>) send to it. Registered only after the source started listening, removed before it stops
/// (senders move away first), and gone with the session when the agent dies.
/// </summary>
/// <remarks>The wrapper is event-driven; lifecycle and output go through to <see cref="Inner"/>.</remarks>
public sealed class RegisteredSource : IEventDrivenSource
{
    private readonly ISource _listening;
    private readonly Registration _registration;
    private readonly RegistrationContext _context;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private volatile bool _registered;

    /// <summary>Wraps <paramref name="inner"/> (what the host runs, e.g. the flow-limited wrapper) of the real source
    /// <paramref name="listening"/> (whose port is registered).</summary>
    public RegisteredSource(ISource inner, ISource listening, Registration registration, RegistrationContext context)
    {
        Inner = inner;
        _listening = listening;
        _registration = registration;
        _context = context;
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Agent.Discovery");
    }

    /// <summary>The wrapped source.</summary>
    public ISource Inner { get; }

    /// <inheritdoc />
    public string Name => Inner.Name;

    /// <summary>The service registered with.</summary>
    public string Service => _registration.Service;

    /// <summary>The instance id: <c>&lt;group&gt;:&lt;agent id&gt;:&lt;source&gt;</c>.</summary>
    public string InstanceId => $"{_context.Group}:{_context.AgentId}:{Name}";

    /// <summary>True while the instance znode exists in the current session (as far as this agent knows).</summary>
    public bool Registered => _registered;

    /// <inheritdoc />
    public IEventSink Output { set => Inner.Output = value; }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await Inner.StartAsync(cancellationToken).ConfigureAwait(false);
        _loop = Task.Run(() => SessionLoops.RunPerSessionAsync(_context.Session, $"registration of source {Name} in service '{Service}'",
            RegisterInSessionAsync, _logger, _stop.Token));
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await Inner.StopAsync(cancellationToken).ConfigureAwait(false);
            _stop.Dispose();
        }
    }

    private ServiceInstance Instance()
    {
        var port = _registration.Port ?? Registration.ListeningPort(_listening) ?? 0;
        return new ServiceInstance(Service, InstanceId, _registration.Address, port, new Dictionary<string, string>
        {
            ["agent"] = _context.AgentId,
            ["group"] = _context.Group,
            ["source"] = Name,
        });
    }

    private async Task RegisterInSessionAsync(SessionLease lease, CancellationToken cancellationToken)
    {
        await lease.WaitConnectedAsync(cancellationToken).ConfigureAwait(false);
        var discovery = new ServiceDiscovery(lease.Client, ZnodeLayout.ServicesRoot);
        var instance = Instance();
        if (instance.Port is not > 0)
        {
            throw new InvalidOperationException($"source {Name} has no listening port to register");
        }
        // Replaces a registration left by this agent's previous process (killed, its session not yet expired): senders
        // stop trying the dead endpoint at once.
        await discovery.RegisterAsync(instance, cancellationToken).ConfigureAwait(false);
        _registered = true;
        _logger.LogInformation(new EventId(4310, "SourceRegistered"), "Source {Source} registered in service {Service} as {Id} at {Address}:{Port} (session {Session})",
            Name, Service, instance.Id, instance.Address, instance.Port, lease.SessionIdText);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested && !lease.Ended.IsCancellationRequested)
        {
            // Stopping: unregister before the source stops, so that senders move to other instances first.
            _registered = false;
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await discovery.UnregisterAsync(instance, timeout.Token).ConfigureAwait(false);
                _logger.LogInformation(new EventId(4311, "SourceUnregistered"), "Source {Source} left service {Service}", Name, Service);
            }
            catch (Exception ex) when (ex is KeeperException or OperationCanceledException)
            {
                _logger.LogWarning(new EventId(4312, "UnregisterFailed"), "Source {Source}: could not leave service {Service} ({Reason}); its registration goes with the session",
                    Name, Service, ex.Message);
            }
        }
        finally
        {
            _registered = false;
        }
    }
}
