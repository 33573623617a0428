using System.Globalization;
using System.Net;

namespace Zooflow.Server.Configuration;

/// <summary>
/// Collects the ensemble keys of a zoo.cfg (<c>server.N</c>, initLimit, syncLimit, peerType, standaloneEnabled,
/// quorumListenOnAllIPs) while <see cref="ZooCfgParser"/> reads the file, then validates them together with the
/// <c>myid</c> file, reporting every problem (STYLE.md 13). ZooKeeper's rules (<c>QuorumPeerConfig</c>): a single voting
/// server with <c>standaloneEnabled=true</c> (the default) runs standalone; otherwise the server is a member of the
/// ensemble named by <c>dataDir/myid</c>.
/// </summary>
internal sealed class QuorumConfigBuilder(string fileName)
{
    /// <summary>Largest id: the session ids a server creates carry its id in their top byte (ZooKeeper's rule, 1..255).</summary>
    public const long MaxServerId = 255;

    private const string ServerSyntax = "expected host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]";

    private readonly Dictionary<long, (QuorumServer Server, string Location)> _servers = [];

    public int InitLimit { get; set; } = QuorumOptions.DefaultInitLimit;

    public int SyncLimit { get; set; } = QuorumOptions.DefaultSyncLimit;

    public bool StandaloneEnabled { get; set; } = true;

    public bool ListenOnAllIPs { get; set; }

    /// <summary>peerType's value and where it was set.</summary>
    public (string Value, string Location)? PeerType { get; set; }

    public bool HasServers => _servers.Count > 0;

    /// <summary>Parses one <c>server.N</c> line.</summary>
    public void AddServer(string key, string value, string location, List<ConfigError> errors)
    {
        void Error(string allowed) => errors.Add(new ConfigError(key, location, value, allowed));

        var idText = key["server.".Length..];
        if (!long.TryParse(idText, NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id < 1 || id > MaxServerId)
        {
            Error($"the N of server.N must be a server id from 1 to {MaxServerId} (it is the top byte of the session ids the server creates)");
            return;
        }

        if (_servers.TryGetValue(id, out var earlier))
        {
            Error($"server.{id} is already defined at {earlier.Location}; each member is listed once");
            return;
        }

        var semicolon = value.IndexOf(';', StringComparison.Ordinal);
        var addressPart = semicolon < 0 ? value : value[..semicolon];
        var clientPart = semicolon < 0 ? null : value[(semicolon + 1)..].Trim();
        if (!TrySplitHost(addressPart.Trim(), out var host, out var rest) || rest.Length is < 2 or > 3)
        {
            Error(ServerSyntax);
            return;
        }

        if (!TryPort(rest[0], out var quorumPort) || !TryPort(rest[1], out var electionPort))
        {
            Error(ServerSyntax + "; ports are 1 to 65535");
            return;
        }

        var isObserver = false;
        if (rest.Length == 3)
        {
            switch (rest[2])
            {
                case "participant":
                    break;
                case "observer":
                    isObserver = true;
                    break;
                default:
                    Error($"unknown server type '{rest[2]}': expected participant or observer");
                    return;
            }
        }

        string? clientHost = null;
        int? clientPort = null;
        if (clientPart is not null)
        {
            if (clientPart.Length == 0)
            {
                Error(ServerSyntax + "; nothing follows ';'");
                return;
            }

            string portText;
            if (TrySplitHost(clientPart, out var h, out var parts) && parts.Length == 1)
            {
                clientHost = h;
                portText = parts[0];
            }
            else
            {
                portText = clientPart;
            }

            if (!TryPort(portText, out var port))
            {
                Error(ServerSyntax + "; the client port is 1 to 65535");
                return;
            }

            clientPort = port;
        }

        if (quorumPort == electionPort)
        {
            Error($"the quorum port and the election port must differ (both are {quorumPort})");
            return;
        }

        _servers.Add(id, (new QuorumServer(id, host, quorumPort, electionPort, isObserver, clientHost, clientPort), location));
    }

    /// <summary>Validates the ensemble settings and returns the options with <see cref="ServerOptions.Quorum"/> set (or the
    /// standalone client port taken from a single server line).</summary>
    public ServerOptions Apply(ServerOptions options, string? dataDir, bool clientPortSet, Func<string, string?> readFile,
        List<ConfigError> errors, List<ConfigWarning> warnings)
    {
        var servers = _servers.Values.Select(v => v.Server).OrderBy(s => s.Id).ToList();
        var voters = servers.Count(s => !s.IsObserver);
        if (voters == 0)
        {
            errors.Add(new ConfigError("server.N", fileName, "(only observers)", "at least one server.N must be a participant (voting member)"));
            return options;
        }

        CheckDuplicateEndpoints(errors);
        if (voters == 1 && StandaloneEnabled)
        {
            // QuorumPeerConfig.isDistributed: one voter and standaloneEnabled=true run standalone.
            var only = servers.First(s => !s.IsObserver);
            warnings.Add(new ConfigWarning($"server.{only.Id}", _servers[only.Id].Location,
                "the only voting member and standaloneEnabled=true: running standalone, as ZooKeeper does"));
            return WithClientEndpoint(options, only, clientPortSet, errors);
        }

        if (dataDir is null)
        {
            return options; // reported as missing dataDir already
        }

        var myIdPath = Path.Combine(dataDir, "myid");
        var myIdText = readFile(myIdPath);
        if (myIdText is null)
        {
            errors.Add(new ConfigError("myid", myIdPath, "(missing)",
                $"file is missing: an ensemble member needs dataDir/myid holding its own id, one of {string.Join(", ", servers.Select(s => s.Id))}"));
            return options;
        }

        var trimmed = myIdText.Trim();
        if (!long.TryParse(trimmed, NumberStyles.None, CultureInfo.InvariantCulture, out var myId))
        {
            errors.Add(new ConfigError("myid", myIdPath, Printable(trimmed), "expected this server's id as a decimal number, and nothing else"));
            return options;
        }

        var self = servers.FirstOrDefault(s => s.Id == myId);
        if (self is null)
        {
            errors.Add(new ConfigError("myid", myIdPath, trimmed,
                $"server {myId} is not in the ensemble: no server.{myId} line in {fileName} (members: {string.Join(", ", servers.Select(s => s.Id))})"));
            return options;
        }

        if (options.ExtendedTypesEnabled && myId == MaxServerId)
        {
            errors.Add(new ConfigError("myid", myIdPath, trimmed,
                "with extendedTypesEnabled=true the id must be 1 to 254 (TTL nodes use the session-id byte 0xff)"));
        }

        if (PeerType is { } peerType && (peerType.Value == "observer") != self.IsObserver)
        {
            // QuorumPeerConfig: the server list decides; ZooKeeper warns the same way.
            warnings.Add(new ConfigWarning("peerType", peerType.Location,
                $"peerType={peerType.Value} but server.{myId} says {(self.IsObserver ? "observer" : "participant")}; the server.{myId} line decides"));
        }

        options = WithClientEndpoint(options, self, clientPortSet, errors);
        return options with
        {
            ServerId = myId,
            Quorum = new QuorumOptions
            {
                Servers = servers,
                MyId = myId,
                InitLimit = InitLimit,
                SyncLimit = SyncLimit,
                QuorumListenOnAllIPs = ListenOnAllIPs,
            },
        };
    }

    private ServerOptions WithClientEndpoint(ServerOptions options, QuorumServer self, bool clientPortSet, List<ConfigError> errors)
    {
        var location = _servers[self.Id].Location;
        if (self.ClientPort is { } port)
        {
            if (clientPortSet && options.ClientPort != port)
            {
                errors.Add(new ConfigError("clientPort", fileName, options.ClientPort.ToString(CultureInfo.InvariantCulture),
                    $"conflicts with the client port {port} of server.{self.Id} at {location}; give it once, or the same in both"));
            }

            options = options with { ClientPort = port };
        }
        else if (!clientPortSet)
        {
            errors.Add(new ConfigError("clientPort", fileName, "(missing)",
                $"set clientPort=..., or give the client port after ';' in server.{self.Id} ({location})"));
        }

        if (self.ClientHost is { } host)
        {
            if (host == "localhost")
            {
                options = options with { ClientPortAddress = IPAddress.Loopback };
            }
            else if (IPAddress.TryParse(host, out var address))
            {
                options = options with { ClientPortAddress = address };
            }
            else
            {
                errors.Add(new ConfigError($"server.{self.Id}", location, host, "the client address after ';' must be an IPv4 or IPv6 address (or localhost)"));
            }
        }

        return options;
    }

    private void CheckDuplicateEndpoints(List<ConfigError> errors)
    {
        var seen = new Dictionary<(string Host, int Port), string>();
        foreach (var (server, location) in _servers.Values.OrderBy(v => v.Server.Id))
        {
            Check(server.Host, server.QuorumPort, $"server.{server.Id} quorum port", location);
            Check(server.Host, server.ElectionPort, $"server.{server.Id} election port", location);
            if (server.ClientPort is { } clientPort)
            {
                Check(server.ClientHost ?? "0.0.0.0", clientPort, $"server.{server.Id} client port", location);
            }
        }

        void Check(string host, int port, string what, string location)
        {
            var endpoint = (Normalize(host), port);
            if (seen.TryGetValue(endpoint, out var other))
            {
                errors.Add(new ConfigError(what.Split(' ')[0], location, $"{host}:{port}",
                    $"{what} {host}:{port} is already used by the {other}; every member needs its own ports"));
            }
            else
            {
                seen[endpoint] = what;
            }
        }
    }

    private static string Normalize(string host) => host switch
    {
        "localhost" or "::1" => "127.0.0.1",
        _ => host.ToLowerInvariant(),
    };

    /// <summary>Splits <c>host:a:b...</c> or <c>[v6]:a:b...</c> into the host and the fields after it.</summary>
    private static bool TrySplitHost(string text, out string host, out string[] rest)
    {
        host = string.Empty;
        rest = [];
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 2 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                return false;
            }

            host = text[1..close];
            rest = text[(close + 2)..].Split(':');
        }
        else
        {
            var parts = text.Split(':');
            if (parts.Length < 2)
            {
                return false;
            }

            host = parts[0];
            rest = parts[1..];
        }

        for (var i = 0; i < rest.Length; i++)
        {
            rest[i] = rest[i].Trim();
        }

        host = host.Trim();
        return host.Length > 0;
    }

    private static bool TryPort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 1 and <= 65535;

    private static string Printable(string text) => text.Length > 40 ? text[..40] + "..." : text.ReplaceLineEndings(" ");
}
