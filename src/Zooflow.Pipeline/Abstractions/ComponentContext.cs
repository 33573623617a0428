using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Zooflow.Pipeline.Abstractions;

/// <summary>One configuration error: the full key, where it was written, and what is wrong / allowed.</summary>
/// <param name="Key">The full property key, e.g. <c>a1.channels.c1.capacity</c>.</param>
/// <param name="Location">Where the key was written, e.g. <c>flume.conf:12</c>, or the component when no line applies.</param>
/// <param name="Message">What is wrong, including the bad value and what is allowed.</param>
public sealed record ConfigError(string Key, string Location, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Location}: {Key}: {Message}";
}

/// <summary>A property value with the place it came from.</summary>
public readonly record struct ConfigValue(string Value, string Location);

/// <summary>
/// The properties of one component (Flume's <c>Context</c>) with typed getters. Getters never throw for bad input:
/// they record a <see cref="ConfigError"/> naming the key, its location, the bad value and what is allowed, and
/// return the default, so that validation collects every error in one pass.
/// </summary>
public sealed class ComponentContext
{
    private readonly IReadOnlyDictionary<string, ConfigValue> _properties;
    private readonly List<ConfigError> _errors;

    /// <summary>Creates a context for the component <paramref name="prefix"/> (e.g. <c>a1.sinks.k1.</c>).</summary>
    public ComponentContext(string prefix, IReadOnlyDictionary<string, ConfigValue> properties, List<ConfigError> errors, ILoggerFactory loggerFactory)
    {
        Prefix = prefix;
        _properties = properties;
        _errors = errors;
        LoggerFactory = loggerFactory;
    }

    /// <summary>The full key prefix of this component including the trailing dot, e.g. <c>a1.sinks.k1.</c>.</summary>
    public string Prefix { get; }

    /// <summary>The component's properties, keyed without the prefix (e.g. <c>capacity</c>).</summary>
    public IReadOnlyDictionary<string, ConfigValue> Properties => _properties;

    /// <summary>Logger factory for the component.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The agent's counters: a component takes its own with <c>Counters.Source(name)</c>,
    /// <c>Counters.Channel(name)</c> or <c>Counters.Sink(name)</c> and increments it (served at <c>/metrics</c>).
    /// The runtime sets StartTime/StopTime. A standalone context gets a private registry.</summary>
    public Zooflow.Pipeline.Instrumentation.CounterRegistry Counters { get; init; } = new();

    /// <summary>Where the component was written (e.g. <c>flume.conf:7</c>), used for errors about keys that are absent.</summary>
    public string? DefaultLocation { get; init; }

    /// <summary>The clock components use for timestamps and timeouts (tests inject a fake one).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>The errors recorded so far (shared with the whole configuration pass).</summary>
    public IReadOnlyList<ConfigError> Errors => _errors;

    /// <summary>Where <see cref="AddWarning"/> records (the builder's warning list); null discards warnings, as for
    /// the contexts of restarted instances whose warnings were already reported.</summary>
    public List<ConfigError>? Warnings { get; init; }

    /// <summary>Records a warning for <paramref name="key"/> (relative to the prefix): a setting that is accepted but
    /// ignored, deprecated or translated, which does not stop the agent.</summary>
    public void AddWarning(string key, string message)
    {
        var location = _properties.TryGetValue(key, out var value) ? value.Location : DefaultLocation ?? Prefix.TrimEnd('.');
        Warnings?.Add(new ConfigError(Prefix + key, location, message));
    }

    /// <summary>Records an error for <paramref name="key"/> (relative to the prefix).</summary>
    public void AddError(string key, string message)
    {
        var location = _properties.TryGetValue(key, out var value) ? value.Location : DefaultLocation ?? Prefix.TrimEnd('.');
        _errors.Add(new ConfigError(Prefix + key, location, message));
    }

    /// <summary>All properties whose key starts with <paramref name="subPrefix"/>, with that prefix removed
    /// (e.g. <c>kafka.producer.</c> → <c>acks</c>).</summary>
    public IReadOnlyDictionary<string, ConfigValue> SubProperties(string subPrefix)
    {
        var result = new Dictionary<string, ConfigValue>(StringComparer.Ordinal);
        foreach (var (key, value) in _properties)
        {
            if (key.StartsWith(subPrefix, StringComparison.Ordinal) && key.Length > subPrefix.Length)
            {
                result[key[subPrefix.Length..]] = value;
            }
        }
        return result;
    }

    /// <summary>The raw string, or <paramref name="defaultValue"/> when absent.</summary>
    public string? GetString(string key, string? defaultValue = null) =>
        _properties.TryGetValue(key, out var value) ? value.Value : defaultValue;

    /// <summary>A required string: records "is required" when absent.</summary>
    public string GetRequiredString(string key)
    {
        if (_properties.TryGetValue(key, out var value))
        {
            return value.Value;
        }
        AddError(key, "is required but not set");
        return "";
    }

    /// <summary>A 64-bit integer within [min, max].</summary>
    public long GetLong(string key, long defaultValue, long min = long.MinValue, long max = long.MaxValue)
    {
        if (!_properties.TryGetValue(key, out var value))
        {
            return defaultValue;
        }
        if (!long.TryParse(value.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed))
        {
            AddError(key, $"'{value.Value}' is not a whole number (allowed: {DescribeRange(min, max)})");
            return defaultValue;
        }
        if (parsed < min || parsed > max)
        {
            AddError(key, $"{parsed} is out of range (allowed: {DescribeRange(min, max)})");
            return defaultValue;
        }
        return parsed;
    }

    /// <summary>A 32-bit integer within [min, max].</summary>
    public int GetInt(string key, int defaultValue, int min = int.MinValue, int max = int.MaxValue) =>
        (int)GetLong(key, defaultValue, min, max);

    /// <summary>A boolean (<c>true</c>/<c>false</c>, case-insensitive, as Java's Boolean.parseBoolean but strict).</summary>
    public bool GetBool(string key, bool defaultValue)
    {
        if (!_properties.TryGetValue(key, out var value))
        {
            return defaultValue;
        }
        if (bool.TryParse(value.Value, out var parsed))
        {
            return parsed;
        }
        AddError(key, $"'{value.Value}' is not a boolean (allowed: true, false)");
        return defaultValue;
    }

    /// <summary>One of <paramref name="allowed"/> (case-insensitive); returns the allowed spelling.</summary>
    public string GetChoice(string key, string defaultValue, params string[] allowed)
    {
        if (!_properties.TryGetValue(key, out var value))
        {
            return defaultValue;
        }
        foreach (var choice in allowed)
        {
            if (string.Equals(choice, value.Value, StringComparison.OrdinalIgnoreCase))
            {
                return choice;
            }
        }
        AddError(key, $"'{value.Value}' is not allowed (allowed: {string.Join(", ", allowed)})");
        return defaultValue;
    }

    private static string DescribeRange(long min, long max) => (min, max) switch
    {
        (long.MinValue, long.MaxValue) => "any whole number",
        (_, long.MaxValue) => $">= {min}",
        (long.MinValue, _) => $"<= {max}",
        _ => $"{min}..{max}",
    };
}
