using Microsoft.Extensions.Logging;
using Zooflow.Agent.Limits;
using Zooflow.Agent.Service;
using Zooflow.Client;
using Zooflow.Pipeline.Abstractions;
using Zooflow.Pipeline.Runtime;
using Zooflow.Recipes;

namespace Zooflow.Agent.Election;

/// <summary>Where a singleton source stands on this agent.</summary>
public enum SingletonState
{
    /// <summary>Another agent of the group holds leadership (or the election is being joined).</summary>
    Standby,
    /// <summary>This agent is leader and the source runs.</summary>
    Running,
    /// <summary>This agent was leader but the source failed to start; leadership was given up for others to try.</summary>
    Failing,
    /// <summary>Stopped with the agent or by a reload.</summary>
    Stopped,
}

/// <summary>What a singleton source needs from its agent.</summary>
/// <param name="Session">The agent's service session.</param>
/// <param name="Group">The agent's group: the election is among the agents of this group.</param>
/// <param name="AgentId">The agent's registry id, stored as its election node's data.</param>
/// <param name="Limiter">The agent's flow limits, applied to the inner source's output.</param>
/// <param name="Runner">Backoff of the runner that polls a pollable inner source.</param>
/// <param name="Clock">The clock.</param>
/// <param name="LoggerFactory">Loggers.</param>
public sealed record SingletonContext(ServiceSession Session, string Group, string AgentId, FlowLimiter Limiter, RunnerOptions Runner,
    TimeProvider Clock, ILoggerFactory LoggerFactory);

/// <summary>
/// <c>&lt;source&gt;.singleton = &lt;name&gt;</c>: runs a source on exactly one agent of the group at a time. The wrapper itself
/// is an event-driven source that the agent host starts like any other; it joins the election
/// <c>/zooflow/election/&lt;group&gt;/&lt;name&gt;</c> (a leader latch) and runs a fresh instance of the real source only while
/// it holds leadership. A resumable source (<see cref="IResumableSource"/>) gets a fenced progress store
/// (<c>/zooflow/progress/&lt;group&gt;/&lt;name&gt;</c>), so a successor resumes where the last leader's committed batches
/// ended.
/// </summary>
/// <remarks>
/// <para><b>When the source stops.</b> At once when leadership is lost, when the connection to the service is lost
/// (leadership cannot be confirmed: Curator's SUSPENDED), and when the session expires. After a reconnect with the session
/// intact, leadership is re-checked and a new instance starts if it is still held.</para>
/// <para><b>What is guaranteed.</b> Another agent becomes leader only after this agent's election node is deleted, i.e.
/// after its session expired on the server, which happens a full session timeout after the server last heard from it; this
/// agent's client declares the connection lost after two thirds of that timeout without a reply and stops the source then.
/// So two agents run the source at the same time only if this process is paused (GC, SIGSTOP, overloaded) for longer
/// than a third of the session timeout at the wrong moment; even then progress is fenced (the deposed leader's saves fail),
/// and the overlap is bounded by the batch the old instance had in flight.</para>
/// </remarks>
public sealed class SingletonSource : IEventDrivenSource
{
    private readonly string _singleton;
    private readonly Func<ISource> _factory;
    private readonly SingletonContext _context;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private IEventSink? _output;
    private Task _loop = Task.CompletedTask;
    private volatile SingletonState _state = SingletonState.Standby;
    private long _terms;

    /// <summary>Creates the wrapper of source <paramref name="name"/>; <paramref name="factory"/> builds a new instance of
    /// the real source for each term of leadership (a component is started at most once).</summary>
    public SingletonSource(string name, string singleton, Func<ISource> factory, SingletonContext context)
    {
        Name = name;
        _singleton = singleton;
        _factory = factory;
        _context = context;
        _logger = context.LoggerFactory.CreateLogger("Zooflow.Agent.Singleton");
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The singleton name (the election and progress node name).</summary>
    public string Singleton => _singleton;

    /// <summary>Where this agent stands.</summary>
    public SingletonState State => _state;

    /// <summary>How many terms of leadership this wrapper ran (for tests and logs).</summary>
    public long Terms => Interlocked.Read(ref _terms);

    /// <inheritdoc />
    public IEventSink Output { set => _output = value; }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_output is null)
        {
            throw new InvalidOperationException($"Source {Name}: Output must be set before start");
        }
        _loop = Task.Run(() => SessionLoops.RunPerSessionAsync(_context.Session, $"singleton {_singleton} (source {Name})", RunInSessionAsync, _logger, _stop.Token));
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        _state = SingletonState.Stopped;
        _stop.Dispose();
    }

    private async Task RunInSessionAsync(SessionLease lease, CancellationToken cancellationToken)
    {
        var electionPath = ZnodeLayout.Election(_context.Group, _singleton);
        while (!cancellationToken.IsCancellationRequested)
        {
            var latch = new LeaderLatch(lease.Client, electionPath, _context.AgentId);
            var gaveUp = false;
            try
            {
                await latch.StartAsync(cancellationToken).ConfigureAwait(false);
                while (!cancellationToken.IsCancellationRequested)
                {
                    _state = SingletonState.Standby;
                    await latch.AwaitLeadershipAsync(cancellationToken).ConfigureAwait(false);
                    if (!await RunTermAsync(lease, latch, cancellationToken).ConfigureAwait(false))
                    {
                        gaveUp = true;
                        break;
                    }
                }
            }
            finally
            {
                await latch.DisposeAsync().ConfigureAwait(false);
            }
            if (gaveUp)
            {
                // Let another agent try; join again at the end of the queue after a pause.
                await Task.Delay(_context.Runner.RestartDelay(3), _context.Clock, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>One term of leadership: a fresh instance runs until leadership, the connection or the session is lost.
    /// Returns false when the instance failed to start (leadership is then given up).</summary>
    private async Task<bool> RunTermAsync(SessionLease lease, LeaderLatch latch, CancellationToken cancellationToken)
    {
        using var term = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void OnLeadership(bool leader)
        {
            if (!leader)
            {
                term.Cancel();
            }
        }
        latch.LeadershipChanged += OnLeadership;
        try
        {
            if (!latch.HasLeadership)
            {
                return true;
            }
            var number = Interlocked.Increment(ref _terms);
            var instance = _factory();
            instance.Output = _context.Limiter.Wrap(_output!, Name);
            var progressPath = ZnodeLayout.Progress(_context.Group, _singleton);
            if (instance is IResumableSource resumable)
            {
                resumable.Progress = new ZnodeProgressStore(lease.Client, progressPath, latch.ParticipantPath!);
            }
            _logger.LogInformation(new EventId(4100, "Leader"), "Singleton {Singleton}: this agent ({Agent}) is leader; starting source {Source} (term {Term}{Resumable})",
                _singleton, _context.AgentId, Name, number, instance is IResumableSource ? ", resuming from " + progressPath : "");
            try
            {
                await instance.StartAsync(term.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (!term.IsCancellationRequested)
            {
                _state = SingletonState.Failing;
                _logger.LogError(new EventId(4101, "SingletonStartFailed"), ex, "Singleton {Singleton}: source {Source} failed to start; giving up leadership so another agent can try",
                    _singleton, Name);
                await StopQuietlyAsync(instance).ConfigureAwait(false);
                return false;
            }
            catch (OperationCanceledException)
            {
                await StopQuietlyAsync(instance).ConfigureAwait(false);
                return true;
            }
            _state = SingletonState.Running;
            try
            {
                if (instance is IPollableSource pollable)
                {
                    var runner = new PollableSourceRunner(pollable, _context.Runner, _context.Clock, _context.LoggerFactory.CreateLogger("Zooflow.Pipeline.SourceRunner"));
                    await runner.RunAsync(term.Token).ConfigureAwait(false);
                }
                else
                {
                    await Task.Delay(Timeout.Infinite, term.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
            }
            _state = SingletonState.Standby;
            _logger.LogWarning(new EventId(4102, "LeadershipLost"), "Singleton {Singleton}: {Reason}; source {Source} stopped",
                _singleton, cancellationToken.IsCancellationRequested ? "stopping" : lease.Client.State == ConnectionState.Connected ? "leadership lost" : "connection to the service lost", Name);
            await StopQuietlyAsync(instance).ConfigureAwait(false);
            return true;
        }
        finally
        {
            latch.LeadershipChanged -= OnLeadership;
        }
    }

    private async Task StopQuietlyAsync(ISource instance)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await instance.StopAsync(timeout.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a failed stop is logged; the next term starts a new instance
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _logger.LogWarning(new EventId(4103, "SingletonStopFailed"), ex, "Singleton {Singleton}: source {Source} failed to stop cleanly", _singleton, Name);
        }
    }
}
