using System.Globalization;

namespace Zooflow.Agent;

/// <summary>
/// Where coordinated agents keep their state in the service. Every path is relative to the connect string's chroot.
/// </summary>
/// <remarks>
/// <code>
/// &lt;basePath&gt;/&lt;agent&gt;                   persistent   the agent's whole Flume properties text, UTF-8 (Flume's
///                                                     ZooKeeper configuration provider layout; basePath default /flume)
/// &lt;basePath&gt;/&lt;agent&gt;/v&lt;10 digits&gt;      persistent   history: the text pushed as data version N of the config
///                                                     znode (written in one multi with the config; at most --keep kept)
/// /zooflow/agents/&lt;group&gt;/&lt;id&gt;          ephemeral    live status JSON of one agent process (AgentStatus)
/// /zooflow/known/&lt;group&gt;/&lt;id&gt;           persistent   last registration (host, pid, start time), so fleet can
///                                                     show an agent whose ephemeral is gone as "gone"
/// /zooflow/limits/agents/&lt;id&gt;             persistent   flow limits JSON for one agent (FlowLimits)
/// /zooflow/limits/groups/&lt;group&gt;          persistent   flow limits JSON shared by the live agents of a group
/// /zooflow/election/&lt;group&gt;/&lt;name&gt;/latch-&lt;seq&gt;  ephemeral sequential   candidates of singleton &lt;name&gt;
/// /zooflow/progress/&lt;group&gt;/&lt;name&gt;       persistent   progress bytes of singleton source &lt;name&gt;
/// /zooflow/services/&lt;service&gt;/&lt;group&gt;:&lt;id&gt;:&lt;source&gt;   ephemeral   one registered endpoint of &lt;service&gt;
///                                                     (Curator service-discovery JSON: name, id, address, port, payload)
/// /zooflow/spool/&lt;group&gt;/&lt;name&gt;/members/member-&lt;seq&gt;   ephemeral sequential   one per agent session sharing
///                                                     spooling directory &lt;name&gt; (the fence of its progress writes)
/// /zooflow/spool/&lt;group&gt;/&lt;name&gt;/claims/&lt;file&gt;     ephemeral    the agent reading &lt;file&gt; (its member node)
/// /zooflow/spool/&lt;group&gt;/&lt;name&gt;/progress/&lt;file&gt;   persistent   committed position in &lt;file&gt; while it is read
/// </code>
/// <c>&lt;file&gt;</c> is the file's path relative to the spooling directory with <c>%</c> and <c>/</c> written as
/// <c>%25</c> and <c>%2F</c> (<see cref="EncodeFileName"/>).
/// Flume reads only the data of <c>&lt;basePath&gt;/&lt;agent&gt;</c>, never its children, so the history children do not
/// disturb a Flume agent sharing the path. Deleting a configuration with history needs <c>deleteall</c>.
/// </remarks>
public static class ZnodeLayout
{
    /// <summary>Flume's default base path for configurations (<c>AbstractZooKeeperConfigurationProvider.DEFAULT_ZK_BASE_PATH</c>).</summary>
    public const string DefaultBasePath = "/flume";

    /// <summary>The root of everything else Zooflow agents keep.</summary>
    public const string Root = "/zooflow";

    /// <summary>The group an agent joins when none is given.</summary>
    public const string DefaultGroup = "default";

    /// <summary>Prefix of history entries under a configuration znode.</summary>
    public const string HistoryPrefix = "v";

    /// <summary>Parent of the live agents of every group.</summary>
    public const string AgentsRoot = Root + "/agents";

    /// <summary>Parent of the last registrations of every group.</summary>
    public const string KnownRoot = Root + "/known";

    /// <summary>The configuration znode of <paramref name="agent"/> under <paramref name="basePath"/>.</summary>
    public static string Config(string basePath, string agent) => Join(NormalizeBasePath(basePath), agent);

    /// <summary>The history entry for data version <paramref name="version"/> of a configuration znode.</summary>
    public static string History(string configPath, int version) =>
        configPath + "/" + HistoryPrefix + version.ToString("D10", CultureInfo.InvariantCulture);

    /// <summary>The data version a history entry name stands for, or -1 when the name is not a history entry.</summary>
    public static int HistoryVersion(string childName) =>
        childName.Length == HistoryPrefix.Length + 10 && childName.StartsWith(HistoryPrefix, StringComparison.Ordinal)
        && int.TryParse(childName.AsSpan(HistoryPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : -1;

    /// <summary>The live agents of <paramref name="group"/>.</summary>
    public static string Group(string group) => Join(AgentsRoot, group);

    /// <summary>The ephemeral status node of agent <paramref name="id"/> in <paramref name="group"/>.</summary>
    public static string AgentStatus(string group, string id) => Join(Group(group), id);

    /// <summary>The last registration of agent <paramref name="id"/> in <paramref name="group"/>.</summary>
    public static string Known(string group, string id) => Join(Join(KnownRoot, group), id);

    /// <summary>The flow limits of agent <paramref name="id"/>.</summary>
    public static string AgentLimits(string id) => Join(Root + "/limits/agents", id);

    /// <summary>The flow limits shared by the agents of <paramref name="group"/>.</summary>
    public static string GroupLimits(string group) => Join(Root + "/limits/groups", group);

    /// <summary>The election of singleton <paramref name="name"/> in <paramref name="group"/>.</summary>
    public static string Election(string group, string name) => Join(Join(Root + "/election", group), name);

    /// <summary>The progress of singleton source <paramref name="name"/> in <paramref name="group"/>.</summary>
    public static string Progress(string group, string name) => Join(Join(Root + "/progress", group), name);

    /// <summary>Parent of the registered instances of every service (Curator's service-discovery base path).</summary>
    public const string ServicesRoot = Root + "/services";

    /// <summary>The instances of <paramref name="service"/>.</summary>
    public static string Service(string service) => Join(ServicesRoot, service);

    /// <summary>The coordination of spooling directory <paramref name="name"/> shared by the agents of
    /// <paramref name="group"/> (<c>&lt;source&gt;.partition = &lt;name&gt;</c>).</summary>
    public static string Spool(string group, string name) => Join(Join(Root + "/spool", group), name);

    /// <summary>One znode name for a spooled file's relative path: <c>%</c> → <c>%25</c>, <c>/</c> → <c>%2F</c>
    /// (reversible, and never <c>.</c> or <c>..</c> since spooled names never start with a dot).</summary>
    public static string EncodeFileName(string relativePath) =>
        relativePath.Replace("%", "%25", StringComparison.Ordinal).Replace("/", "%2F", StringComparison.Ordinal);

    /// <summary>The relative path an <see cref="EncodeFileName"/> name stands for.</summary>
    public static string DecodeFileName(string name) =>
        name.Replace("%2F", "/", StringComparison.Ordinal).Replace("%25", "%", StringComparison.Ordinal);

    /// <summary>Flume's rule: an empty base path means the default; we also drop a trailing slash.</summary>
    public static string NormalizeBasePath(string? basePath)
    {
        if (string.IsNullOrEmpty(basePath))
        {
            return DefaultBasePath;
        }
        var trimmed = basePath.Length > 1 ? basePath.TrimEnd('/') : basePath;
        return trimmed.Length == 0 ? "/" : trimmed;
    }

    /// <summary>Checks that <paramref name="name"/> can be one znode name (agent, group, singleton names); null when it
    /// can, else what is wrong.</summary>
    public static string? ValidateName(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "is empty";
        }
        if (name is "." or ".." || name.Contains('/', StringComparison.Ordinal))
        {
            return $"'{name}' is not a valid znode name (no '/', not '.' or '..')";
        }
        foreach (var c in name)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c))
            {
                return $"'{name}' contains a space or control character";
            }
        }
        return null;
    }

    private static string Join(string parent, string child) => parent == "/" ? "/" + child : parent + "/" + child;
}
