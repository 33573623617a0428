using System.Threading.Channels;
using Xunit;

namespace Zooflow.Client.Tests.Infrastructure;

/// <summary>Collects watch events from a watcher callback; <see cref="NextAsync"/> awaits the next one with a bound.</summary>
public sealed class EventSink
{
    public static readonly TimeSpan DefaultWait = TimeSpan.FromSeconds(20);
    private readonly Channel<WatchedEvent> _events = Channel.CreateUnbounded<WatchedEvent>();

    public EventSink()
    {
        Watcher = e => _events.Writer.TryWrite(e);
    }

    public Action<WatchedEvent> Watcher { get; }

    public async Task<WatchedEvent> NextAsync(TimeSpan? wait = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(wait ?? DefaultWait);
        try
        {
            return await _events.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no watch event within {(wait ?? DefaultWait).TotalSeconds} s");
        }
    }

    /// <summary>The next event that is not a connection-state change.</summary>
    public async Task<WatchedEvent> NextNodeEventAsync(TimeSpan? wait = null)
    {
        while (true)
        {
            var e = await NextAsync(wait);
            if (e.Type != Zooflow.Jute.EventType.None)
            {
                return e;
            }
        }
    }

    public bool TryRead(out WatchedEvent? e)
    {
        var ok = _events.Reader.TryRead(out var value);
        e = value;
        return ok;
    }
}

/// <summary>Small helpers shared by the tests.</summary>
public static class TestWait
{
    /// <summary>Polls <paramref name="condition"/> until it holds (bounded); for states that no event announces.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds} s");
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    public static Task<T> WithinAsync<T>(this Task<T> task, TimeSpan? timeout = null) =>
        task.WaitAsync(timeout ?? TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

    public static Task WithinAsync(this Task task, TimeSpan? timeout = null) =>
        task.WaitAsync(timeout ?? TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
}
