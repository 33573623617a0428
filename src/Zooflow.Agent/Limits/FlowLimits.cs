using System.Globalization;
using System.Text.Json;

namespace Zooflow.Agent.Limits;

/// <summary>A rate: events per second and/or bytes (of event bodies) per second; null means unlimited.</summary>
public sealed record RateLimit(double? EventsPerSecond, double? BytesPerSecond)
{
    /// <summary>No limit.</summary>
    public static RateLimit Unlimited { get; } = new(null, null);

    /// <summary>True when neither rate is set.</summary>
    public bool IsUnlimited => EventsPerSecond is null && BytesPerSecond is null;

    /// <summary>The stricter of two limits, rate by rate.</summary>
    public RateLimit Min(RateLimit other) => new(MinOf(EventsPerSecond, other.EventsPerSecond), MinOf(BytesPerSecond, other.BytesPerSecond));

    /// <summary>This limit divided among <paramref name="members"/> agents.</summary>
    public RateLimit DividedBy(int members) =>
        members <= 1 ? this : new RateLimit(EventsPerSecond / members, BytesPerSecond / members);

    private static double? MinOf(double? a, double? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    /// <inheritdoc />
    public override string ToString() => IsUnlimited ? "unlimited" : string.Join(", ",
        new[] { EventsPerSecond is { } e ? e.ToString("0.###", CultureInfo.InvariantCulture) + " events/s" : null,
                BytesPerSecond is { } b ? b.ToString("0.###", CultureInfo.InvariantCulture) + " bytes/s" : null }.Where(s => s is not null));
}

/// <summary>
/// The flow limits stored in one limits znode (<c>/zooflow/limits/agents/&lt;id&gt;</c> or
/// <c>/zooflow/limits/groups/&lt;group&gt;</c>): a limit for all sources together and optional limits per source name.
/// </summary>
/// <remarks>
/// Grammar (UTF-8 JSON; every field optional; rates are positive numbers; unknown fields are errors):
/// <code>
/// limits  = { ["eventsPerSecond": number,] ["bytesPerSecond": number,] ["sources": { name: rate, ... }] }
/// rate    = { ["eventsPerSecond": number,] ["bytesPerSecond": number] }
/// </code>
/// Example: <c>{"eventsPerSecond": 5000, "sources": {"r1": {"bytesPerSecond": 1048576}}}</c>. An empty znode or <c>{}</c>
/// means no limit. Bytes count event bodies.
/// </remarks>
public sealed record FlowLimits(RateLimit Total, IReadOnlyDictionary<string, RateLimit> Sources)
{
    /// <summary>No limits.</summary>
    public static FlowLimits None { get; } = new(RateLimit.Unlimited, new Dictionary<string, RateLimit>(StringComparer.Ordinal));

    /// <summary>The limit of <paramref name="source"/> (unlimited when none is set).</summary>
    public RateLimit ForSource(string source) => Sources.TryGetValue(source, out var limit) ? limit : RateLimit.Unlimited;

    /// <summary>Combines the agent's own limits with its share of the group's: the stricter of each rate.</summary>
    public static FlowLimits Effective(FlowLimits agent, FlowLimits group, int liveMembers)
    {
        var sources = new Dictionary<string, RateLimit>(StringComparer.Ordinal);
        foreach (var name in agent.Sources.Keys.Concat(group.Sources.Keys).Distinct(StringComparer.Ordinal))
        {
            sources[name] = agent.ForSource(name).Min(group.ForSource(name).DividedBy(liveMembers));
        }
        return new FlowLimits(agent.Total.Min(group.Total.DividedBy(liveMembers)), sources);
    }

    /// <summary>Parses the JSON of a limits znode; every problem is added to <paramref name="errors"/> (with the znode
    /// path and the field), and null is returned when there was any.</summary>
    public static FlowLimits? Parse(ReadOnlySpan<byte> json, string where, List<string> errors)
    {
        if (json.Trim((byte)' ').IsEmpty)
        {
            return None;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException ex)
        {
            errors.Add($"{where}: not valid JSON ({ex.Message}); expected e.g. {{\"eventsPerSecond\": 1000, \"bytesPerSecond\": 1048576}}");
            return null;
        }
        using (document)
        {
            var before = errors.Count;
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                errors.Add($"{where}: expected a JSON object, found {document.RootElement.ValueKind}");
                return null;
            }
            RateLimit total = RateLimit.Unlimited;
            var sources = new Dictionary<string, RateLimit>(StringComparer.Ordinal);
            total = ReadRate(document.RootElement, where, errors, allowSources: true);
            if (document.RootElement.TryGetProperty("sources", out var sourcesElement))
            {
                if (sourcesElement.ValueKind != JsonValueKind.Object)
                {
                    errors.Add($"{where}: sources: expected an object of source name → rate, found {sourcesElement.ValueKind}");
                }
                else
                {
                    foreach (var property in sourcesElement.EnumerateObject())
                    {
                        if (property.Value.ValueKind != JsonValueKind.Object)
                        {
                            errors.Add($"{where}: sources.{property.Name}: expected an object like {{\"eventsPerSecond\": 100}}, found {property.Value.ValueKind}");
                            continue;
                        }
                        sources[property.Name] = ReadRate(property.Value, $"{where}: sources.{property.Name}", errors, allowSources: false);
                    }
                }
            }
            return errors.Count == before ? new FlowLimits(total, sources) : null;
        }
    }

    /// <summary>The JSON form (the grammar above).</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false }))
        {
            writer.WriteStartObject();
            WriteRate(writer, Total);
            if (Sources.Count > 0)
            {
                writer.WriteStartObject("sources");
                foreach (var (name, rate) in Sources.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    writer.WriteStartObject(name);
                    WriteRate(writer, rate);
                    writer.WriteEndObject();
                }
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteRate(Utf8JsonWriter writer, RateLimit rate)
    {
        if (rate.EventsPerSecond is { } e)
        {
            writer.WriteNumber("eventsPerSecond", e);
        }
        if (rate.BytesPerSecond is { } b)
        {
            writer.WriteNumber("bytesPerSecond", b);
        }
    }

    private static RateLimit ReadRate(JsonElement element, string where, List<string> errors, bool allowSources)
    {
        double? events = null, bytes = null;
        foreach (var property in element.EnumerateObject())
        {
            switch (property.Name)
            {
                case "eventsPerSecond":
                    events = ReadPositive(property, where, errors);
                    break;
                case "bytesPerSecond":
                    bytes = ReadPositive(property, where, errors);
                    break;
                case "sources" when allowSources:
                    break;
                default:
                    errors.Add($"{where}: unknown field '{property.Name}' (allowed: eventsPerSecond, bytesPerSecond{(allowSources ? ", sources" : "")})");
                    break;
            }
        }
        return new RateLimit(events, bytes);
    }

    private static double? ReadPositive(JsonProperty property, string where, List<string> errors)
    {
        if (property.Value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetDouble(out var value) || !double.IsFinite(value) || value <= 0)
        {
            errors.Add($"{where}: {property.Name}: '{property.Value.GetRawText()}' is not a positive number (allowed: > 0, or null for no limit)");
            return null;
        }
        return value;
    }
}
