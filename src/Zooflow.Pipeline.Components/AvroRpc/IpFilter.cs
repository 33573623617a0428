using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Zooflow.Pipeline.Components.AvroRpc;

/// <summary>
/// The avro source's <c>ipFilterRules</c> (Flume's <c>PatternRule</c> under Netty's <c>RuleBasedIpFilter</c>): a
/// comma-separated list of <c>allow|deny : ip|name : pattern</c>; the first rule that matches a connecting peer decides,
/// and a peer no rule matches is accepted (Netty's behaviour).
/// </summary>
/// <remarks>
/// <code>
/// rules   := rule { "," rule }
/// rule    := ("allow" | "deny") ":" ("ip" | "name") ":" pattern
/// pattern := glob over the dotted address (ip) or the reverse-resolved host name (name); "*" any run, "?" one char
/// </code>
/// <c>name:localhost</c> is special, as in Flume: it matches the loopback addresses and this host's own address without
/// a reverse lookup. Other <c>name</c> rules reverse-resolve the peer (a DNS lookup per connection, as in Flume).
/// </remarks>
public sealed class IpFilter
{
    private readonly List<Rule> _rules;

    private IpFilter(List<Rule> rules)
    {
        _rules = rules;
    }

    /// <summary>The rules in order.</summary>
    public int Count => _rules.Count;

    /// <summary>Parses <paramref name="text"/>; returns null and the problems when a rule is malformed.</summary>
    public static IpFilter? Parse(string text, out List<string> problems)
    {
        problems = [];
        var rules = new List<Rule>();
        foreach (var raw in text.Split(','))
        {
            var definition = raw.Trim();
            var parts = definition.Split(':', 3);
            if (parts.Length != 3 || (parts[0] != "allow" && parts[0] != "deny") || (parts[1] != "ip" && parts[1] != "name"))
            {
                problems.Add($"rule '{definition}' should look like <allow|deny>:<ip|name>:<pattern>");
                continue;
            }
            var isName = parts[1] == "name";
            rules.Add(new Rule(parts[0] == "allow", isName, isName && parts[2] == "localhost", Glob(parts[2]), definition));
        }
        return problems.Count == 0 ? new IpFilter(rules) : null;
    }

    /// <summary>Whether <paramref name="peer"/> may connect, and the rule that decided (null when none matched).</summary>
    public async ValueTask<(bool Allowed, string? Rule)> CheckAsync(IPAddress peer, CancellationToken cancellationToken)
    {
        if (peer.IsIPv4MappedToIPv6)
        {
            peer = peer.MapToIPv4();
        }
        string? hostName = null;
        foreach (var rule in _rules)
        {
            bool matches;
            if (rule.IsLocalhost)
            {
                matches = IPAddress.IsLoopback(peer) || await IsOwnAddressAsync(peer, cancellationToken).ConfigureAwait(false);
            }
            else if (rule.IsName)
            {
                hostName ??= await ReverseLookupAsync(peer, cancellationToken).ConfigureAwait(false);
                matches = rule.Pattern.IsMatch(hostName);
            }
            else
            {
                matches = rule.Pattern.IsMatch(peer.ToString());
            }
            if (matches)
            {
                return (rule.Allow, rule.Definition);
            }
        }
        return (true, null);
    }

    private static Regex Glob(string pattern)
    {
        var regex = new StringBuilder("^(?:");
        foreach (var c in pattern)
        {
            regex.Append(c switch
            {
                '*' => ".*",
                '?' => ".",
                _ => Regex.Escape(c.ToString()),
            });
        }
        return new Regex(regex.Append(")$").ToString(), RegexOptions.CultureInvariant);
    }

    private static async ValueTask<bool> IsOwnAddressAsync(IPAddress peer, CancellationToken cancellationToken)
    {
        try
        {
            var own = await Dns.GetHostAddressesAsync(Dns.GetHostName(), cancellationToken).ConfigureAwait(false);
            return Array.Exists(own, a => a.Equals(peer));
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async ValueTask<string> ReverseLookupAsync(IPAddress peer, CancellationToken cancellationToken)
    {
        try
        {
            var entry = await Dns.GetHostEntryAsync(peer.ToString(), cancellationToken).ConfigureAwait(false);
            return entry.HostName;
        }
        catch (SocketException)
        {
            // Java's getHostName falls back to the literal address.
            return peer.ToString();
        }
    }

    private sealed record Rule(bool Allow, bool IsName, bool IsLocalhost, Regex Pattern, string Definition);
}
