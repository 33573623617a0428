using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Channels;

/// <summary>Chooses the channels an event goes to (Flume's <c>ChannelSelector</c>). Required channels must accept the
/// event (a failure propagates to the source); failures on optional channels are only logged.</summary>
/// <remarks>Thread-safe: called concurrently by a source's threads.</remarks>
public interface IChannelSelector
{
    /// <summary>The channels that must accept <paramref name="event"/>.</summary>
    IReadOnlyList<IChannel> GetRequiredChannels(Event @event);

    /// <summary>The channels that may accept <paramref name="event"/>.</summary>
    IReadOnlyList<IChannel> GetOptionalChannels(Event @event);
}

/// <summary>A source's <c>selector.*</c> settings, validated, independent of channel instances.</summary>
/// <param name="Type"><c>replicating</c> (default), <c>multiplexing</c> or <c>load_balancing</c>.</param>
/// <param name="Channels">The source's channels in listed order.</param>
/// <param name="Optional">replicating: <c>selector.optional</c>.</param>
/// <param name="Header">multiplexing: <c>selector.header</c> (default <c>flume.selector.header</c>).</param>
/// <param name="Mapping">multiplexing: <c>selector.mapping.&lt;value&gt;</c>.</param>
/// <param name="OptionalMapping">multiplexing: <c>selector.optional.&lt;value&gt;</c>.</param>
/// <param name="Default">multiplexing: <c>selector.default</c>.</param>
/// <param name="Policy">load_balancing: <c>selector.policy</c> <c>round_robin</c> (default) or <c>random</c>.</param>
public sealed record SelectorSettings(
    string Type,
    IReadOnlyList<string> Channels,
    IReadOnlyList<string> Optional,
    string Header,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Mapping,
    IReadOnlyDictionary<string, IReadOnlyList<string>> OptionalMapping,
    IReadOnlyList<string> Default,
    string Policy)
{
    /// <summary>Selector types with their Java class names.</summary>
    public static readonly IReadOnlyDictionary<string, string> Types = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["replicating"] = "replicating",
        ["org.apache.flume.channel.ReplicatingChannelSelector"] = "replicating",
        ["multiplexing"] = "multiplexing",
        ["org.apache.flume.channel.MultiplexingChannelSelector"] = "multiplexing",
        ["load_balancing"] = "load_balancing",
        ["org.apache.flume.channel.LoadBalancingChannelSelector"] = "load_balancing",
    };

    /// <summary>Reads <c>selector.*</c> from a source context; <paramref name="channels"/> are the source's channels.
    /// Every channel named by the selector must be one of them.</summary>
    public static SelectorSettings FromContext(ComponentContext source, IReadOnlyList<string> channels)
    {
        var typeName = source.GetString("selector.type", "replicating")!;
        if (!Types.TryGetValue(typeName, out var type))
        {
            source.AddError("selector.type", $"'{typeName}' is not a channel selector type (allowed: replicating, multiplexing, load_balancing)");
            type = "replicating";
        }
        IReadOnlyList<string> Names(string key)
        {
            var list = Split(source.GetString(key) ?? "");
            foreach (var name in list)
            {
                if (!channels.Contains(name))
                {
                    source.AddError(key, $"names channel '{name}', which is not one of this source's channels (allowed: {string.Join(", ", channels)})");
                }
            }
            return list;
        }
        var mapping = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var optionalMapping = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        IReadOnlyList<string> optional = [];
        IReadOnlyList<string> defaults = [];
        var policy = "round_robin";
        switch (type)
        {
            case "replicating":
                optional = Names("selector.optional");
                break;
            case "multiplexing":
                foreach (var key in source.SubProperties("selector.mapping.").Keys)
                {
                    mapping[key] = Names("selector.mapping." + key);
                }
                foreach (var key in source.SubProperties("selector.optional.").Keys)
                {
                    optionalMapping[key] = Names("selector.optional." + key);
                }
                defaults = Names("selector.default");
                break;
            default:
                policy = source.GetChoice("selector.policy", "round_robin", "round_robin", "random");
                break;
        }
        return new SelectorSettings(type, channels, optional, source.GetString("selector.header", "flume.selector.header")!, mapping, optionalMapping, defaults, policy);
    }

    /// <summary>Builds the selector over the given channel instances (names not present are skipped: lenient mode).</summary>
    public IChannelSelector Create(IReadOnlyDictionary<string, IChannel> instances)
    {
        IReadOnlyList<IChannel> Resolve(IEnumerable<string> names) =>
            names.Where(instances.ContainsKey).Select(n => instances[n]).Distinct().ToArray();
        var all = Resolve(Channels);
        switch (Type)
        {
            case "multiplexing":
                return new MultiplexingChannelSelector(
                    Header,
                    Mapping.ToDictionary(p => p.Key, p => Resolve(p.Value), StringComparer.Ordinal),
                    OptionalMapping.ToDictionary(p => p.Key, p => Resolve(p.Value), StringComparer.Ordinal),
                    Resolve(Default));
            case "load_balancing":
                return new LoadBalancingChannelSelector(all, Policy == "random");
            default:
                var optional = Resolve(Optional);
                return new ReplicatingChannelSelector(all.Where(c => !optional.Contains(c)).ToArray(), optional);
        }
    }

    internal static IReadOnlyList<string> Split(string list) => list.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Flume's replicating selector: every event to every channel; <c>selector.optional</c> ones are optional.</summary>
public sealed class ReplicatingChannelSelector(IReadOnlyList<IChannel> required, IReadOnlyList<IChannel> optional) : IChannelSelector
{
    /// <inheritdoc />
    public IReadOnlyList<IChannel> GetRequiredChannels(Event @event) => required;

    /// <inheritdoc />
    public IReadOnlyList<IChannel> GetOptionalChannels(Event @event) => optional;
}

/// <summary>Flume's multiplexing selector: the value of <c>header</c> picks the mapped (required) and optional
/// channels; no mapping → the default channels; a channel both required and optional is required.</summary>
public sealed class MultiplexingChannelSelector(
    string header,
    IReadOnlyDictionary<string, IReadOnlyList<IChannel>> mapping,
    IReadOnlyDictionary<string, IReadOnlyList<IChannel>> optionalMapping,
    IReadOnlyList<IChannel> defaults) : IChannelSelector
{
    /// <inheritdoc />
    public IReadOnlyList<IChannel> GetRequiredChannels(Event @event)
    {
        if (@event.Headers.TryGetValue(header, out var value) && mapping.TryGetValue(value, out var channels))
        {
            return channels;
        }
        return defaults;
    }

    /// <inheritdoc />
    public IReadOnlyList<IChannel> GetOptionalChannels(Event @event)
    {
        if (!@event.Headers.TryGetValue(header, out var value) || !optionalMapping.TryGetValue(value, out var channels))
        {
            return [];
        }
        var required = GetRequiredChannels(@event);
        return required.Count == 0 ? channels : channels.Where(c => !required.Contains(c)).ToArray();
    }
}

/// <summary>Flume 1.10's load_balancing selector: each event goes to one channel, chosen round robin or at random.</summary>
public sealed class LoadBalancingChannelSelector(IReadOnlyList<IChannel> channels, bool random) : IChannelSelector
{
    private readonly IReadOnlyList<IChannel>[] _single = channels.Select(c => (IReadOnlyList<IChannel>)[c]).ToArray();
    private int _next = -1;

    /// <inheritdoc />
    public IReadOnlyList<IChannel> GetRequiredChannels(Event @event)
    {
        if (_single.Length == 0)
        {
            return [];
        }
        var index = random ? Random.Shared.Next(_single.Length) : (int)((uint)Interlocked.Increment(ref _next) % (uint)_single.Length);
        return _single[index];
    }

    /// <inheritdoc />
    public IReadOnlyList<IChannel> GetOptionalChannels(Event @event) => [];
}
