using Zooflow.Pipeline.Abstractions;

namespace Zooflow.Pipeline.Configuration;

/// <summary>The kinds of component section under an agent: <c>sources</c>, <c>channels</c>, <c>sinks</c>, <c>sinkgroups</c>.</summary>
public enum SectionKind
{
    /// <summary><c>&lt;agent&gt;.sources</c></summary>
    Sources,
    /// <summary><c>&lt;agent&gt;.channels</c></summary>
    Channels,
    /// <summary><c>&lt;agent&gt;.sinks</c></summary>
    Sinks,
    /// <summary><c>&lt;agent&gt;.sinkgroups</c></summary>
    SinkGroups,
}

/// <summary>The properties of one component, keyed without its prefix.</summary>
/// <param name="Name">The component name (e.g. <c>r1</c>).</param>
/// <param name="Prefix">The full key prefix with trailing dot (e.g. <c>a1.sources.r1.</c>).</param>
/// <param name="Properties">Keys relative to the prefix.</param>
public sealed record ComponentSection(string Name, string Prefix, IReadOnlyDictionary<string, ConfigValue> Properties)
{
    /// <summary>Where the component is first written (its first key's location).</summary>
    public string Location => Properties.Count == 0 ? Prefix.TrimEnd('.') : Properties.Values.First().Location;

    /// <summary>True when both sections hold the same keys and values (locations ignored): the reload diff.</summary>
    public bool SameSettings(ComponentSection other)
    {
        if (Properties.Count != other.Properties.Count)
        {
            return false;
        }
        foreach (var (key, value) in Properties)
        {
            if (!other.Properties.TryGetValue(key, out var o) || o.Value != value.Value)
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>Everything written under one agent name.</summary>
/// <param name="Name">The agent name (text before the first dot).</param>
/// <param name="Lists">The component lists (<c>a1.sources = r1 r2</c>) present.</param>
/// <param name="Sections">Component properties by section and name, in order of appearance.</param>
/// <param name="InvalidKeys">Keys under the agent that fit no known form.</param>
public sealed record AgentConfiguration(
    string Name,
    IReadOnlyDictionary<SectionKind, ConfigValue> Lists,
    IReadOnlyDictionary<SectionKind, IReadOnlyDictionary<string, ComponentSection>> Sections,
    IReadOnlyList<KeyValuePair<string, ConfigValue>> InvalidKeys)
{
    /// <summary>The names listed for <paramref name="kind"/> (split on whitespace), empty when there is no list.</summary>
    public IReadOnlyList<string> Listed(SectionKind kind) =>
        Lists.TryGetValue(kind, out var list) ? list.Value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Distinct().ToArray() : [];

    /// <summary>The configured components of <paramref name="kind"/>.</summary>
    public IReadOnlyDictionary<string, ComponentSection> Configured(SectionKind kind) =>
        Sections.TryGetValue(kind, out var map) ? map : new Dictionary<string, ComponentSection>();

    /// <summary>Key segment of a section (<c>sources</c> …).</summary>
    public static string Segment(SectionKind kind) => kind switch
    {
        SectionKind.Sources => "sources",
        SectionKind.Channels => "channels",
        SectionKind.Sinks => "sinks",
        _ => "sinkgroups",
    };
}

/// <summary>
/// A Flume properties file split by agent (Flume's <c>FlumeConfiguration</c>): the text before the first dot names the
/// agent; the rest is a component list or <c>&lt;section&gt;.&lt;name&gt;.&lt;key&gt;</c>.
/// </summary>
/// <param name="Agents">Agents by name in order of appearance.</param>
/// <param name="Errors">Keys that name no agent (no dot).</param>
public sealed record FlumeConfiguration(IReadOnlyDictionary<string, AgentConfiguration> Agents, IReadOnlyList<ConfigError> Errors)
{
    /// <summary>Groups <paramref name="properties"/> by agent.</summary>
    public static FlumeConfiguration Parse(IReadOnlyDictionary<string, ConfigValue> properties)
    {
        var errors = new List<ConfigError>();
        var builders = new Dictionary<string, Builder>(StringComparer.Ordinal);
        foreach (var (key, value) in properties)
        {
            var dot = key.IndexOf('.', StringComparison.Ordinal);
            if (dot <= 0)
            {
                errors.Add(new ConfigError(key, value.Location, "names no agent (allowed: <agent>.sources|channels|sinks|sinkgroups..., e.g. a1.sources = r1)"));
                continue;
            }
            var agent = key[..dot];
            if (!builders.TryGetValue(agent, out var b))
            {
                builders[agent] = b = new Builder(agent);
            }
            b.Add(key, key[(dot + 1)..], value);
        }
        return new FlumeConfiguration(builders.ToDictionary(p => p.Key, p => p.Value.Build(), StringComparer.Ordinal), errors);
    }

    private sealed class Builder(string name)
    {
        private readonly Dictionary<SectionKind, ConfigValue> _lists = [];
        private readonly Dictionary<SectionKind, Dictionary<string, Dictionary<string, ConfigValue>>> _sections = [];
        private readonly List<KeyValuePair<string, ConfigValue>> _invalid = [];

        public void Add(string fullKey, string rest, ConfigValue value)
        {
            var dot = rest.IndexOf('.', StringComparison.Ordinal);
            var head = dot < 0 ? rest : rest[..dot];
            SectionKind? kind = head switch
            {
                "sources" => SectionKind.Sources,
                "channels" => SectionKind.Channels,
                "sinks" => SectionKind.Sinks,
                "sinkgroups" => SectionKind.SinkGroups,
                _ => null,
            };
            if (kind is null)
            {
                _invalid.Add(new(fullKey, value));
                return;
            }
            if (dot < 0)
            {
                _lists[kind.Value] = value;
                return;
            }
            var tail = rest[(dot + 1)..];
            var dot2 = tail.IndexOf('.', StringComparison.Ordinal);
            if (dot2 <= 0 || dot2 == tail.Length - 1)
            {
                _invalid.Add(new(fullKey, value));
                return;
            }
            var component = tail[..dot2];
            if (!_sections.TryGetValue(kind.Value, out var map))
            {
                _sections[kind.Value] = map = new Dictionary<string, Dictionary<string, ConfigValue>>(StringComparer.Ordinal);
            }
            if (!map.TryGetValue(component, out var props))
            {
                map[component] = props = new Dictionary<string, ConfigValue>(StringComparer.Ordinal);
            }
            props[tail[(dot2 + 1)..]] = value;
        }

        public AgentConfiguration Build() => new(
            name,
            _lists,
            _sections.ToDictionary(
                p => p.Key,
                p => (IReadOnlyDictionary<string, ComponentSection>)p.Value.ToDictionary(
                    c => c.Key,
                    c => new ComponentSection(c.Key, $"{name}.{AgentConfiguration.Segment(p.Key)}.{c.Key}.", c.Value),
                    StringComparer.Ordinal)),
            _invalid);
    }
}
