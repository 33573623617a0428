using System.Text.Json;
using System.Text.Json.Serialization;

namespace Zooflow.Agent.Registry;

/// <summary>
/// The status an agent keeps in its ephemeral registry znode <c>/zooflow/agents/&lt;group&gt;/&lt;id&gt;</c>, refreshed every
/// status interval. UTF-8 JSON, camelCase field names (<see cref="Json"/>); readers must ignore fields they do not know.
/// </summary>
/// <remarks>
/// <code>
/// {"agent":"a1","id":"a1","group":"default","host":"web-3","pid":4711,"version":"1.0.0",
///  "startTime":1733550000000,"updateTime":1733550005000,"statusIntervalMs":5000,"state":"running",
///  "config":{"path":"/flume/a1","state":"applied","version":3,"mzxid":4294967301,"appliedTime":1733550001000},
///  "configError":null | {"version":4,"mzxid":...,"time":...,"errors":["a1.conf:3: a1.sources.r1.type: ..."]},
///  "components":[{"kind":"source","name":"r1","state":"running","detail":null}, ...],
///  "channels":[{"name":"c1","size":12,"capacity":10000,"fillPercent":0.12,"putAttempts":..,"putSuccesses":..,"putFailures":..}],
///  "metrics":{"eventsIn":1234,"eventsOut":1220,"eventsInPerSecond":99.5,"eventsOutPerSecond":98.7},
///  "limits":{"effective":"{...FlowLimits JSON...}","liveMembers":2,"error":null},
///  "singletons":[{"name":"ticker","source":"r1","state":"running"}]}
/// </code>
/// Component states: <c>running</c>; <c>standby</c> (a singleton another agent runs); <c>blocked</c> (back-pressure: its
/// channel refused puts, or the flow limit held it, during the last interval); <c>failing</c> (failed to start and is
/// being restarted, or every write failed during the last interval); <c>stopped</c>.
/// Agent states: <c>running</c>; <c>no-config</c> (no valid configuration yet); <c>stopping</c>.
/// </remarks>
public sealed record AgentStatus
{
    /// <summary>The serializer settings of the status JSON.</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        WriteIndented = false,
    };

    /// <summary>The configuration name (<c>-n</c>).</summary>
    public string Agent { get; init; } = "";
    /// <summary>The registry id (<c>--id</c>, default the agent name).</summary>
    public string Id { get; init; } = "";
    /// <summary>The group.</summary>
    public string Group { get; init; } = "";
    /// <summary>Host name.</summary>
    public string Host { get; init; } = "";
    /// <summary>Process id.</summary>
    public int Pid { get; init; }
    /// <summary>Zooflow version.</summary>
    public string Version { get; init; } = "";
    /// <summary>Process start (ms since the Unix epoch).</summary>
    public long StartTime { get; init; }
    /// <summary>When this status was written (ms since the Unix epoch).</summary>
    public long UpdateTime { get; init; }
    /// <summary>How often the status is refreshed; a reader calls it stale after three intervals.</summary>
    public int StatusIntervalMs { get; init; }
    /// <summary><c>running</c>, <c>no-config</c> or <c>stopping</c>.</summary>
    public string State { get; init; } = "running";
    /// <summary>The configuration running now.</summary>
    public ConfigStatus Config { get; init; } = new();
    /// <summary>The last configuration refused (null when the newest one was applied).</summary>
    public ConfigErrorStatus? ConfigError { get; init; }
    /// <summary>Every source, channel and sink.</summary>
    public IReadOnlyList<ComponentStatus> Components { get; init; } = [];
    /// <summary>Channel fill and puts (back-pressure shows here).</summary>
    public IReadOnlyList<ChannelStatus> Channels { get; init; } = [];
    /// <summary>Throughput.</summary>
    public MetricsStatus Metrics { get; init; } = new();
    /// <summary>Flow limits in force.</summary>
    public LimitsStatus Limits { get; init; } = new();
    /// <summary>Singleton sources and where this agent stands.</summary>
    public IReadOnlyList<SingletonStatus> Singletons { get; init; } = [];

    /// <summary>Serializes to the znode's bytes.</summary>
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>Parses a znode's bytes; null with <paramref name="error"/> set when they are not a status.</summary>
    public static AgentStatus? TryParse(byte[] data, out string? error)
    {
        try
        {
            error = null;
            return JsonSerializer.Deserialize<AgentStatus>(data, Json);
        }
        catch (JsonException ex)
        {
            error = "not an agent status: " + ex.Message;
            return null;
        }
    }
}

/// <summary>The running configuration.</summary>
public sealed record ConfigStatus
{
    /// <summary>Where it came from (the znode path, or the file).</summary>
    public string Path { get; init; } = "";
    /// <summary><c>applied</c>, <c>missing</c> (znode absent), <c>unreadable</c> (e.g. NoAuth) or <c>none</c> (nothing valid yet).</summary>
    public string State { get; init; } = "none";
    /// <summary>The znode's data version of the running configuration (-1 when none).</summary>
    public int Version { get; init; } = -1;
    /// <summary>Its mzxid (0 when none).</summary>
    public long Mzxid { get; init; }
    /// <summary>When it was applied.</summary>
    public long AppliedTime { get; init; }
    /// <summary>Why the znode could not be read, when it could not.</summary>
    public string? Problem { get; init; }
}

/// <summary>A configuration that was refused; the previous one keeps running.</summary>
public sealed record ConfigErrorStatus
{
    /// <summary>The refused znode version.</summary>
    public int Version { get; init; }
    /// <summary>Its mzxid.</summary>
    public long Mzxid { get; init; }
    /// <summary>When it was refused.</summary>
    public long Time { get; init; }
    /// <summary>Every error, each naming key, location and what is allowed.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];
}

/// <summary>One component.</summary>
public sealed record ComponentStatus
{
    /// <summary><c>source</c>, <c>channel</c> or <c>sink</c>.</summary>
    public string Kind { get; init; } = "";
    /// <summary>Its name.</summary>
    public string Name { get; init; } = "";
    /// <summary><c>running</c>, <c>standby</c>, <c>blocked</c>, <c>failing</c> or <c>stopped</c>.</summary>
    public string State { get; init; } = "";
    /// <summary>Why it is not simply running.</summary>
    public string? Detail { get; init; }
}

/// <summary>One channel.</summary>
public sealed record ChannelStatus
{
    /// <summary>Its name.</summary>
    public string Name { get; init; } = "";
    /// <summary>Events in it.</summary>
    public long Size { get; init; }
    /// <summary>Its capacity.</summary>
    public long Capacity { get; init; }
    /// <summary>size × 100 / capacity.</summary>
    public double FillPercent { get; init; }
    /// <summary>Events offered (Flume's EventPutAttemptCount).</summary>
    public long PutAttempts { get; init; }
    /// <summary>Events committed (EventPutSuccessCount).</summary>
    public long PutSuccesses { get; init; }
    /// <summary>Batches the sources could not put (their ChannelWriteFail): back-pressure from a full channel.</summary>
    public long PutFailures { get; init; }
}

/// <summary>Throughput of the agent.</summary>
public sealed record MetricsStatus
{
    /// <summary>Events its sources committed since start.</summary>
    public long EventsIn { get; init; }
    /// <summary>Events its sinks delivered since start.</summary>
    public long EventsOut { get; init; }
    /// <summary>Over the last interval.</summary>
    public double EventsInPerSecond { get; init; }
    /// <summary>Over the last interval.</summary>
    public double EventsOutPerSecond { get; init; }
}

/// <summary>Flow limits of the agent.</summary>
public sealed record LimitsStatus
{
    /// <summary>The effective limits (FlowLimits JSON), <c>{}</c> when none.</summary>
    public string Effective { get; init; } = "{}";
    /// <summary>Live agents the group's limits were divided among.</summary>
    public int LiveMembers { get; init; } = 1;
    /// <summary>The problem with a limits znode, if any (the previous limits stay).</summary>
    public string? Error { get; init; }
}

/// <summary>A singleton source.</summary>
public sealed record SingletonStatus
{
    /// <summary>The singleton name.</summary>
    public string Name { get; init; } = "";
    /// <summary>The source it runs.</summary>
    public string Source { get; init; } = "";
    /// <summary><c>running</c> (this agent leads), <c>standby</c>, <c>failing</c> or <c>stopped</c>.</summary>
    public string State { get; init; } = "";
}

/// <summary>The persistent record of an agent's last registration, kept so that an agent that vanished shows as gone.</summary>
public sealed record KnownAgent
{
    /// <summary>Configuration name.</summary>
    public string Agent { get; init; } = "";
    /// <summary>Host name.</summary>
    public string Host { get; init; } = "";
    /// <summary>Process id.</summary>
    public int Pid { get; init; }
    /// <summary>Process start.</summary>
    public long StartTime { get; init; }
    /// <summary>When the agent stopped cleanly (0 while it runs or after a crash).</summary>
    public long StopTime { get; init; }
}
