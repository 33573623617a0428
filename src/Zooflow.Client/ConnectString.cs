using System.Globalization;

namespace Zooflow.Client;

/// <summary>
/// A parsed ZooKeeper connect string: <c>host:port[,host:port...][/chroot]</c>. A host without a port gets 2181; the
/// chroot (if any) applies to every path the client sends and is stripped from every path it receives.
/// </summary>
/// <param name="Hosts">The servers, in the order written.</param>
/// <param name="Chroot">The chroot path without trailing slash, or null for none.</param>
public sealed record ConnectString(IReadOnlyList<(string Host, int Port)> Hosts, string? Chroot)
{
    /// <summary>ZooKeeper's default client port.</summary>
    public const int DefaultPort = 2181;

    /// <summary>Parses <paramref name="connectString"/>.</summary>
    /// <exception cref="ArgumentException">No host, a bad port or a malformed chroot.</exception>
    public static ConnectString Parse(string connectString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectString);
        string? chroot = null;
        var hostPart = connectString;
        var slash = connectString.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            hostPart = connectString[..slash];
            chroot = connectString[slash..];
            if (chroot.Length == 1)
            {
                chroot = null;
            }
            else
            {
                if (chroot.EndsWith('/') || chroot.Contains("//", StringComparison.Ordinal))
                {
                    throw new ArgumentException($"invalid chroot '{chroot}' in connect string '{connectString}'", nameof(connectString));
                }
            }
        }

        var hosts = new List<(string, int)>();
        foreach (var raw in hostPart.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = raw.LastIndexOf(':');
            if (colon < 0 || (raw.StartsWith('[') && !raw[colon..].Contains(']', StringComparison.Ordinal) && raw.EndsWith(']')))
            {
                hosts.Add((raw.Trim('[', ']'), DefaultPort));
                continue;
            }

            var host = raw[..colon].Trim('[', ']');
            if (!int.TryParse(raw[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                throw new ArgumentException($"invalid port in '{raw}' of connect string '{connectString}'", nameof(connectString));
            }

            hosts.Add((host, port));
        }

        if (hosts.Count == 0)
        {
            throw new ArgumentException($"no host in connect string '{connectString}'", nameof(connectString));
        }

        return new ConnectString(hosts, chroot);
    }

    /// <summary>Prepends the chroot to a client path.</summary>
    public string ToServerPath(string clientPath)
    {
        if (Chroot is null)
        {
            return clientPath;
        }

        return clientPath == "/" ? Chroot : Chroot + clientPath;
    }

    /// <summary>Strips the chroot from a server path (paths outside the chroot are returned unchanged).</summary>
    public string ToClientPath(string serverPath)
    {
        if (Chroot is null || !serverPath.StartsWith(Chroot, StringComparison.Ordinal))
        {
            return serverPath;
        }

        if (serverPath.Length == Chroot.Length)
        {
            return "/";
        }

        return serverPath[Chroot.Length] == '/' ? serverPath[Chroot.Length..] : serverPath;
    }
}
