using Microsoft.Extensions.Logging;
using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Channels;

/// <summary>
/// Flume's <c>ChannelProcessor</c>: runs the interceptor chain, asks the selector for each event's channels, and
/// puts each channel's share of the batch in one transaction. Required channels are written first; a failure there
/// rolls that channel back and throws <see cref="ChannelException"/> (channels already committed keep their events,
/// as in Flume — the source retries the batch, so duplicates are possible, loss is not). Optional channel failures are
/// logged and ignored.
/// </summary>
/// <remarks>Thread-safe if the interceptors and selector are; holds no per-call state.</remarks>
public sealed class ChannelProcessor(IReadOnlyList<IInterceptor> interceptors, IChannelSelector selector, ILogger? logger = null) : IEventSink
{
    private readonly ILogger _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>The selector in use.</summary>
    public IChannelSelector Selector => selector;

    /// <inheritdoc />
    public async ValueTask ProcessBatchAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken)
    {
        var required = new Dictionary<IChannel, List<Event>>(ReferenceEqualityComparer.Instance);
        var optional = new Dictionary<IChannel, List<Event>>(ReferenceEqualityComparer.Instance);
        foreach (var original in events)
        {
            var e = Intercept(original);
            if (e is null)
            {
                continue;
            }
            foreach (var channel in selector.GetRequiredChannels(e))
            {
                Add(required, channel, e);
            }
            foreach (var channel in selector.GetOptionalChannels(e))
            {
                Add(optional, channel, e);
            }
        }
        foreach (var (channel, list) in required)
        {
            try
            {
                await PutAsync(channel, list, cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelException)
            {
                throw;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new ChannelException($"Unable to put batch on required channel: {channel.Name}", ex);
            }
        }
        foreach (var (channel, list) in optional)
        {
            try
            {
                await PutAsync(channel, list, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _logger.LogWarning(new EventId(2201, "OptionalChannelFailed"), ex, "Unable to put batch on optional channel {Channel}", channel.Name);
            }
        }
    }

    private Event? Intercept(Event e)
    {
        foreach (var interceptor in interceptors)
        {
            var next = interceptor.Intercept(e);
            if (next is null)
            {
                return null;
            }
            e = next;
        }
        return e;
    }

    private static void Add(Dictionary<IChannel, List<Event>> map, IChannel channel, Event e)
    {
        if (!map.TryGetValue(channel, out var list))
        {
            map[channel] = list = [];
        }
        list.Add(e);
    }

    private static async ValueTask PutAsync(IChannel channel, List<Event> events, CancellationToken cancellationToken)
    {
        await using var tx = channel.BeginTransaction();
        try
        {
            foreach (var e in events)
            {
                tx.Put(e);
            }
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await tx.RollbackAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }
}
