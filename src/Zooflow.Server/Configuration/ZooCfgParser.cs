using System.Globalization;
using System.Net;
using Zooflow.Server.Admin;

namespace Zooflow.Server.Configuration;

/// <summary>A zoo.cfg problem that stops start-up: the key, where it is, the bad value and what is allowed.</summary>
public sealed record ConfigError(string Key, string Location, string Value, string Allowed)
{
    /// <inheritdoc />
    public override string ToString() => $"{Location}: {Key}={Value} is invalid: {Allowed}";
}

/// <summary>A zoo.cfg remark that does not stop start-up (unknown key, ensemble keys, settings not used yet).</summary>
public sealed record ConfigWarning(string Key, string Location, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Location}: {Key}: {Message}";
}

/// <summary>The outcome of parsing a zoo.cfg: options when there were no errors, plus every error and warning.</summary>
public sealed record ZooCfgResult(ServerOptions? Options, IReadOnlyList<ConfigError> Errors, IReadOnlyList<ConfigWarning> Warnings)
{
    /// <summary>True when the options are usable.</summary>
    public bool Ok => Options is not null && Errors.Count == 0;
}

/// <summary>
/// Parses ZooKeeper's <c>zoo.cfg</c>: Java-properties-like lines <c>key=value</c> (or <c>key:value</c>, or
/// <c>key value</c>), <c>#</c> / <c>!</c> comments, surrounding blanks trimmed. Validates everything in one pass and
/// collects all errors (STYLE.md 13).
/// </summary>
public static class ZooCfgParser
{
    // Keys ZooKeeper knows that Zooflow accepts without using them yet; no warning, they are legitimate in a zoo.cfg.
    private static readonly HashSet<string> IgnoredKeys = new(StringComparer.Ordinal)
    {
        "preAllocSize", "globalOutstandingLimit", "clientPortListenBacklog", "syncEnabled",
        "admin.enableServer", "admin.serverPort", "admin.serverAddress", "admin.commandURL", "admin.idleTimeout",
        "metricsProvider.className", "metricsProvider.httpPort", "metricsProvider.httpHost",
        "metricsProvider.exportJvmInfo", "readonlymode.enabled", "localSessionsEnabled", "localSessionsUpgradingEnabled",
        "connectToLearnerMasterLimit", "maxCnxns", "autopurge.snapRetainCount", "autopurge.purgeInterval", "snapCount",
        "secureClientPort", "secureClientPortAddress", "serverCnxnFactory", "sessionRequireClientSASLAuth",
        "skipACL", "digest.enabled", "snapshot.trust.empty", "txnLogSizeLimitInKb", "znode.container.maxPerMinute",
    };

    /// <summary>Reads and parses a zoo.cfg file (and, for an ensemble member, the <c>myid</c> file in its dataDir).</summary>
    public static ZooCfgResult ParseFile(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Reads a file for the parser: its text, or null when it does not exist.</summary>
    public static string? ReadFileIfExists(string path) => File.Exists(path) ? File.ReadAllText(path) : null;

    /// <summary>Parses zoo.cfg text; <paramref name="fileName"/> names the source in every message.</summary>
    /// <param name="text">The file's text.</param>
    /// <param name="fileName">Names the source in every message.</param>
    /// <param name="readFile">Reads <c>dataDir/myid</c> for an ensemble member (text, or null when missing); null reads
    /// the real file system.</param>
    public static ZooCfgResult Parse(string text, string fileName, Func<string, string?>? readFile = null)
    {
        var errors = new List<ConfigError>();
        var warnings = new List<ConfigWarning>();
        var options = new ServerOptions { Source = fileName, ClientPortAddress = IPAddress.Any };
        var quorum = new QuorumConfigBuilder(fileName);
        string? dataDir = null;
        var clientPortSet = false;
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#' || line[0] == '!')
            {
                continue;
            }

            var location = $"{fileName}:{i + 1}";
            var separator = line.IndexOfAny(['=', ':', ' ', '\t']);
            string key, value;
            if (separator < 0)
            {
                key = line;
                value = string.Empty;
            }
            else
            {
                key = line[..separator].Trim();
                value = line[(separator + 1)..].Trim();
                if (line[separator] is ' ' or '\t' && value.Length > 0 && value[0] is '=' or ':')
                {
                    value = value[1..].Trim();
                }
            }

            void Error(string allowed) => errors.Add(new ConfigError(key, location, value, allowed));

            int? Int(int min, int max, string allowed)
            {
                if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min && n <= max)
                {
                    return n;
                }

                Error(allowed);
                return null;
            }

            bool? Bool()
            {
                if (bool.TryParse(value, out var b))
                {
                    return b;
                }

                Error("expected true or false");
                return null;
            }

            switch (key)
            {
                case "tickTime":
                    if (Int(1, int.MaxValue, "expected a positive integer number of milliseconds") is { } tick)
                    {
                        options = options with { TickTimeMs = tick };
                    }

                    break;
                case "dataDir":
                    if (value.Length == 0)
                    {
                        Error("expected a directory path");
                    }
                    else
                    {
                        dataDir = value;
                        options = options with { DataDir = value };
                    }

                    break;
                case "dataLogDir":
                    if (value.Length == 0)
                    {
                        Error("expected a directory path");
                    }
                    else
                    {
                        options = options with { DataLogDir = value };
                    }

                    break;
                case "clientPort":
                    if (Int(0, 65535, "expected a TCP port number from 0 to 65535") is { } port)
                    {
                        options = options with { ClientPort = port };
                        clientPortSet = true;
                    }

                    break;
                case "clientPortAddress":
                    if (value == "localhost")
                    {
                        options = options with { ClientPortAddress = IPAddress.Loopback };
                    }
                    else if (IPAddress.TryParse(value, out var address))
                    {
                        options = options with { ClientPortAddress = address };
                    }
                    else
                    {
                        Error("expected an IPv4 or IPv6 address (or localhost)");
                    }

                    break;
                case "maxClientCnxns":
                    if (Int(0, int.MaxValue, "expected 0 (unlimited) or a positive integer") is { } cnxns)
                    {
                        options = options with { MaxClientCnxns = cnxns };
                    }

                    break;
                case "minSessionTimeout":
                    // ZooKeeper treats -1 as "use the default".
                    if (Int(-1, int.MaxValue, "expected a positive number of milliseconds, or -1 for 2 x tickTime") is { } min)
                    {
                        options = options with { MinSessionTimeoutMs = min <= 0 ? null : min };
                    }

                    break;
                case "maxSessionTimeout":
                    if (Int(-1, int.MaxValue, "expected a positive number of milliseconds, or -1 for 20 x tickTime") is { } max)
                    {
                        options = options with { MaxSessionTimeoutMs = max <= 0 ? null : max };
                    }

                    break;
                case "4lw.commands.whitelist":
                    var whitelist = new HashSet<string>(StringComparer.Ordinal) { "srvr" };
                    foreach (var raw in value.Split(','))
                    {
                        var command = raw.Trim();
                        if (command.Length == 0)
                        {
                            continue;
                        }

                        if (command == "*")
                        {
                            whitelist.UnionWith(FourLetterWords.All);
                        }
                        else if (FourLetterWords.All.Contains(command))
                        {
                            whitelist.Add(command);
                        }
                        else
                        {
                            errors.Add(new ConfigError(key, location, value,
                                $"'{command}' is not a four-letter word; allowed: * or a comma-separated list of {string.Join(", ", FourLetterWords.All.Order(StringComparer.Ordinal))}"));
                        }
                    }

                    options = options with { FourLetterWordWhitelist = whitelist };
                    break;
                case "extendedTypesEnabled" or "zookeeper.extendedTypesEnabled":
                    if (Bool() is { } extended)
                    {
                        options = options with { ExtendedTypesEnabled = extended };
                    }

                    break;
                case "jute.maxbuffer":
                    if (Int(1, int.MaxValue, "expected a positive number of bytes (ZooKeeper's default is 1048575)") is { } maxBuffer)
                    {
                        options = options with { JuteMaxBufferBytes = maxBuffer };
                    }

                    break;
                case "DigestAuthenticationProvider.superDigest" or "zookeeper.DigestAuthenticationProvider.superDigest" or "superDigest":
                    var colon = value.IndexOf(':', StringComparison.Ordinal);
                    if (colon <= 0 || colon == value.Length - 1 || !IsBase64(value[(colon + 1)..]))
                    {
                        Error("expected user:base64(sha1(user:password)), e.g. super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
                    }
                    else
                    {
                        options = options with { SuperDigest = value };
                    }

                    break;
                case "snapCount":
                    if (Int(2, int.MaxValue, "expected an integer of at least 2") is { } snapCount)
                    {
                        options = options with { SnapCount = snapCount };
                    }

                    break;
                case "autopurge.snapRetainCount":
                    if (Int(3, int.MaxValue, "expected an integer of at least 3 (ZooKeeper's minimum)") is { } retain)
                    {
                        options = options with { AutopurgeSnapRetainCount = retain };
                    }

                    break;
                case "autopurge.purgeInterval":
                    if (Int(0, int.MaxValue, "expected 0 (off) or a positive number of hours") is { } purge)
                    {
                        options = options with { AutopurgePurgeIntervalHours = purge };
                    }

                    break;
                case "forceSync" or "zookeeper.forceSync":
                    // ZooKeeper compares with "no"; accept yes/no and true/false.
                    if (value is "yes" or "true")
                    {
                        options = options with { ForceSync = true };
                    }
                    else if (value is "no" or "false")
                    {
                        options = options with { ForceSync = false };
                    }
                    else
                    {
                        Error("expected yes or no (no is unsafe: acknowledged writes may be lost on power failure)");
                    }

                    break;
                case "znode.container.checkIntervalMs":
                    if (Int(1, int.MaxValue, "expected a positive number of milliseconds") is { } check)
                    {
                        options = options with { ContainerCheckIntervalMs = check };
                    }

                    break;
                case "znode.container.maxNeverUsedIntervalMs":
                    if (Int(0, int.MaxValue, "expected 0 (keep never-used containers) or a positive number of milliseconds") is { } neverUsed)
                    {
                        options = options with { ContainerMaxNeverUsedIntervalMs = neverUsed };
                    }

                    break;
                case "initLimit":
                    quorum.InitLimit = Int(1, int.MaxValue, "expected a positive number of ticks (the sample zoo.cfg uses 10)") ?? quorum.InitLimit;
                    break;
                case "syncLimit":
                    quorum.SyncLimit = Int(1, int.MaxValue, "expected a positive number of ticks (the sample zoo.cfg uses 5)") ?? quorum.SyncLimit;
                    break;
                case "standaloneEnabled":
                    quorum.StandaloneEnabled = Bool() ?? quorum.StandaloneEnabled;
                    break;
                case "quorumListenOnAllIPs":
                    quorum.ListenOnAllIPs = Bool() ?? quorum.ListenOnAllIPs;
                    break;
                case "peerType":
                    if (value is "observer" or "participant")
                    {
                        quorum.PeerType = (value, location);
                    }
                    else
                    {
                        Error("expected observer or participant");
                    }

                    break;
                case "electionAlg":
                    // ZooKeeper 3.8 removed every algorithm but 3 (fast leader election over TCP).
                    Int(3, 3, "only 3 (fast leader election) exists since ZooKeeper 3.6");
                    break;
                case "reconfigEnabled":
                    if (Bool() == true)
                    {
                        warnings.Add(new ConfigWarning(key, location, "dynamic reconfiguration is not supported; reconfig requests are refused (ReconfigDisabled)"));
                    }

                    break;
                case "zooflow.learnerSyncDiffMax":
                    if (Int(1, int.MaxValue, "expected a positive number of records (default 100000)") is { } diffMax)
                    {
                        options = options with { LearnerSyncDiffMax = diffMax };
                    }

                    break;
                case "dynamicConfigFile":
                    Error("dynamic reconfiguration is not supported: list the members as server.N lines in this file");
                    break;
                default:
                    if (key.StartsWith("server.", StringComparison.Ordinal))
                    {
                        quorum.AddServer(key, value, location, errors);
                    }
                    else if (key.StartsWith("group.", StringComparison.Ordinal) || key.StartsWith("weight.", StringComparison.Ordinal))
                    {
                        Error("hierarchical (group/weight) quorums are not supported: every voting member has one vote (majority quorums)");
                    }
                    else if (!IgnoredKeys.Contains(key))
                    {
                        warnings.Add(new ConfigWarning(key, location, "unknown key, ignored"));
                    }

                    break;
            }
        }

        if (dataDir is null)
        {
            errors.Add(new ConfigError("dataDir", fileName, "(missing)", "dataDir is required in a zoo.cfg"));
        }

        if (quorum.HasServers)
        {
            options = quorum.Apply(options, dataDir, clientPortSet, readFile ?? ReadFileIfExists, errors, warnings);
        }

        if (options.EffectiveMinSessionTimeoutMs > options.EffectiveMaxSessionTimeoutMs)
        {
            errors.Add(new ConfigError("minSessionTimeout", fileName, options.EffectiveMinSessionTimeoutMs.ToString(CultureInfo.InvariantCulture),
                $"must not be larger than maxSessionTimeout ({options.EffectiveMaxSessionTimeoutMs})"));
        }

        return errors.Count == 0
            ? new ZooCfgResult(options, errors, warnings)
            : new ZooCfgResult(null, errors, warnings);
    }

    private static bool IsBase64(string s)
    {
        Span<byte> buffer = stackalloc byte[64];
        return s.Length <= 88 && Convert.TryFromBase64String(s, buffer, out var written) && written > 0;
    }
}
