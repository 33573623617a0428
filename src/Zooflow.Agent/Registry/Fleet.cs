using System.Globalization;
using System.Text;
using System.Text.Json;
using Zooflow.Client;
using Zooflow.Jute;

namespace Zooflow.Agent.Registry;

/// <summary>One agent as the fleet view shows it.</summary>
/// <param name="Group">Its group.</param>
/// <param name="Id">Its registry id.</param>
/// <param name="Health"><c>ok</c>, <c>degraded</c>, <c>failing</c>, <c>stopped</c> (stopped cleanly) or <c>gone</c>
/// (its session ended without a clean stop: crash, kill, partition, expiry).</param>
/// <param name="Reasons">Why it is not ok, one short line each.</param>
/// <param name="Status">Its live status (null when gone or stopped).</param>
/// <param name="Known">Its last registration record, when there is one.</param>
public sealed record FleetEntry(string Group, string Id, string Health, IReadOnlyList<string> Reasons, AgentStatus? Status, KnownAgent? Known);

/// <summary>
/// Reads the fleet: the live registry znodes and the known records of <see cref="ZnodeLayout"/>, and classifies each
/// agent's health.
/// </summary>
public static class Fleet
{
    /// <summary>A channel this full (percent) makes the agent degraded.</summary>
    public const double ChannelFillDegradedPercent = 90;

    /// <summary>A status older than this many status intervals is stale (degraded: the agent may be hung).</summary>
    public const int StaleIntervals = 3;

    /// <summary>Reads every agent (or those of <paramref name="group"/>), sorted by group and id. With a
    /// <paramref name="watcher"/>, every list and status read leaves a watch (for <c>fleet --watch</c>).</summary>
    public static async Task<IReadOnlyList<FleetEntry>> ReadAsync(ZooKeeperClient client, string? group, DateTimeOffset now, CancellationToken cancellationToken,
        Action<WatchedEvent>? watcher = null)
    {
        var groups = group is not null ? [group] : (await ChildrenAsync(client, ZnodeLayout.AgentsRoot, watcher, cancellationToken).ConfigureAwait(false))
            .Union(await ChildrenAsync(client, ZnodeLayout.KnownRoot, null, cancellationToken).ConfigureAwait(false)).Order(StringComparer.Ordinal).ToList();
        var entries = new List<FleetEntry>();
        foreach (var g in groups)
        {
            var live = await ChildrenAsync(client, ZnodeLayout.Group(g), watcher, cancellationToken).ConfigureAwait(false);
            var known = await ChildrenAsync(client, ZnodeLayout.KnownRoot + "/" + g, null, cancellationToken).ConfigureAwait(false);
            foreach (var id in live.Union(known).Order(StringComparer.Ordinal))
            {
                var status = live.Contains(id) ? await ReadStatusAsync(client, ZnodeLayout.AgentStatus(g, id), watcher, cancellationToken).ConfigureAwait(false) : null;
                var knownRecord = await ReadKnownAsync(client, ZnodeLayout.Known(g, id), cancellationToken).ConfigureAwait(false);
                entries.Add(Classify(g, id, status, knownRecord, now));
            }
        }
        return entries;
    }

    /// <summary>The health of one agent from its status (null: no live znode).</summary>
    public static FleetEntry Classify(string group, string id, (AgentStatus? Status, string? Error)? live, KnownAgent? known, DateTimeOffset now)
    {
        if (live is null)
        {
            return known is { StopTime: > 0 }
                ? new FleetEntry(group, id, "stopped", [$"stopped cleanly {Ago(now, known.StopTime)}"], null, known)
                : new FleetEntry(group, id, "gone", [known is null ? "no live registration" : $"session ended without a clean stop (started {Ago(now, known.StartTime)})"], null, known);
        }
        if (live.Value.Status is not { } status)
        {
            return new FleetEntry(group, id, "degraded", [live.Value.Error ?? "unreadable status"], null, known);
        }
        var failing = new List<string>();
        var degraded = new List<string>();
        if (status.State == "no-config")
        {
            failing.Add(status.Config.State switch
            {
                "missing" => $"no configuration: {status.Config.Path} does not exist",
                "unreadable" => status.Config.Problem ?? $"cannot read {status.Config.Path}",
                _ => "no valid configuration running",
            });
        }
        if (status.ConfigError is { } configError)
        {
            degraded.Add($"config v{configError.Version} refused ({configError.Errors.Count} error{(configError.Errors.Count == 1 ? "" : "s")}): {configError.Errors.FirstOrDefault()}");
        }
        if (status.Config.State == "unreadable" && status.State != "no-config")
        {
            degraded.Add(status.Config.Problem ?? "configuration unreadable");
        }
        var active = status.Components.Where(c => c.Kind is "source" or "sink" && c.State != "standby").ToList();
        var failingComponents = active.Where(c => c.State == "failing").ToList();
        if (active.Count > 0 && failingComponents.Count == active.Count)
        {
            failing.Add("every source and sink is failing: " + string.Join("; ", failingComponents.Select(Describe)));
        }
        else
        {
            degraded.AddRange(failingComponents.Select(Describe));
        }
        degraded.AddRange(status.Components.Where(c => c.State == "blocked").Select(Describe));
        degraded.AddRange(status.Channels.Where(c => c.FillPercent >= ChannelFillDegradedPercent)
            .Select(c => $"channel {c.Name} {c.FillPercent:0.#}% full"));
        if (status.Limits.Error is { } limitsError)
        {
            degraded.Add(limitsError);
        }
        var age = now.ToUnixTimeMilliseconds() - status.UpdateTime;
        if (status.StatusIntervalMs > 0 && age > (long)StaleIntervals * status.StatusIntervalMs)
        {
            degraded.Add($"status not refreshed for {age / 1000.0:0.#} s");
        }
        if (status.State == "stopping")
        {
            degraded.Add("stopping");
        }
        var health = failing.Count > 0 ? "failing" : degraded.Count > 0 ? "degraded" : "ok";
        return new FleetEntry(group, id, health, [.. failing, .. degraded], status, known);
    }

    /// <summary>The fleet as a table (one line per agent, the first reason beside it).</summary>
    public static string FormatTable(IReadOnlyList<FleetEntry> entries, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "GROUP", "ID", "HEALTH", "CONFIG", "IN/s", "OUT/s", "FILL%", "HOST", "PID", "UP", "NOTE" } };
        foreach (var e in entries)
        {
            var s = e.Status;
            rows.Add(
            [
                e.Group, e.Id, e.Health,
                s is null ? "-" : s.Config.Version >= 0 ? "v" + s.Config.Version.ToString(CultureInfo.InvariantCulture) : s.Config.State,
                s is null ? "-" : s.Metrics.EventsInPerSecond.ToString("0.#", CultureInfo.InvariantCulture),
                s is null ? "-" : s.Metrics.EventsOutPerSecond.ToString("0.#", CultureInfo.InvariantCulture),
                s is null || s.Channels.Count == 0 ? "-" : s.Channels.Max(c => c.FillPercent).ToString("0.#", CultureInfo.InvariantCulture),
                s?.Host ?? e.Known?.Host ?? "-",
                (s?.Pid ?? e.Known?.Pid)?.ToString(CultureInfo.InvariantCulture) ?? "-",
                s is null ? "-" : Duration(now.ToUnixTimeMilliseconds() - s.StartTime),
                e.Reasons.FirstOrDefault() ?? string.Join(", ", s?.Singletons.Where(x => x.State == "running").Select(x => $"runs singleton {x.Name} ({x.Source})") ?? []),
            ]);
        }
        var widths = new int[rows[0].Length];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length - 1; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }
        var text = new StringBuilder();
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                text.Append(i == row.Length - 1 ? row[i] : row[i].PadRight(widths[i] + 2));
            }
            text.Append('\n');
        }
        if (entries.Count == 0)
        {
            text.Append("(no agents registered under ").Append(ZnodeLayout.AgentsRoot).Append(")\n");
        }
        return text.ToString();
    }

    /// <summary>The fleet as JSON: an array of {group, id, health, reasons, status, known}.</summary>
    public static string FormatJson(IReadOnlyList<FleetEntry> entries) => JsonSerializer.Serialize(entries, AgentStatus.Json);

    private static string Describe(ComponentStatus c) => $"{c.Kind} {c.Name} {c.State}{(c.Detail is null ? "" : ": " + c.Detail)}";

    private static string Ago(DateTimeOffset now, long timeMs) => Duration(now.ToUnixTimeMilliseconds() - timeMs) + " ago";

    private static string Duration(long ms)
    {
        var t = TimeSpan.FromMilliseconds(Math.Max(0, ms));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:00}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:00}s" : $"{t.Seconds}s";
    }

    private static async Task<IReadOnlyList<string>> ChildrenAsync(ZooKeeperClient client, string path, Action<WatchedEvent>? watcher, CancellationToken cancellationToken)
    {
        try
        {
            return watcher is null
                ? await client.GetChildrenAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false)
                : await client.GetChildrenAsync(path, watcher, cancellationToken).ConfigureAwait(false);
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
            if (watcher is not null)
            {
                await client.ExistsAsync(path, watcher, cancellationToken).ConfigureAwait(false);
            }
            return [];
        }
    }

    private static async Task<(AgentStatus?, string?)?> ReadStatusAsync(ZooKeeperClient client, string path, Action<WatchedEvent>? watcher, CancellationToken cancellationToken)
    {
        try
        {
            var (data, _) = watcher is null
                ? await client.GetDataAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false)
                : await client.GetDataAsync(path, watcher, cancellationToken).ConfigureAwait(false);
            var status = AgentStatus.TryParse(data, out var error);
            return (status, error);
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
            return null;
        }
    }

    private static async Task<KnownAgent?> ReadKnownAsync(ZooKeeperClient client, string path, CancellationToken cancellationToken)
    {
        try
        {
            var (data, _) = await client.GetDataAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
            return JsonSerializer.Deserialize<KnownAgent>(data, AgentStatus.Json);
        }
        catch (Exception ex) when (ex is KeeperException { Code: ErrorCode.NoNode } or JsonException)
        {
            return null;
        }
    }
}
