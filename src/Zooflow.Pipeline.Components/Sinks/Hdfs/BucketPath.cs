using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Zooflow.Pipeline.Components.Sources.Syslog;

namespace Zooflow.Pipeline.Components.Sinks.Hdfs;

/// <summary>hdfs.roundUnit: the calendar field the timestamp is rounded down on.</summary>
public enum RoundUnit
{
    /// <summary>Seconds within the minute.</summary>
    Second,
    /// <summary>Minutes within the hour.</summary>
    Minute,
    /// <summary>Hours within the day.</summary>
    Hour,
}

/// <summary>How a <see cref="BucketPath"/> turns time escapes into text (the sink's hdfs.* settings).</summary>
/// <param name="TimeZone">hdfs.timeZone, or the agent's local zone.</param>
/// <param name="Round">hdfs.round.</param>
/// <param name="RoundValue">hdfs.roundValue: round down to a multiple of this many units.</param>
/// <param name="Unit">hdfs.roundUnit.</param>
/// <param name="UseLocalTimeStamp">hdfs.useLocalTimeStamp: the agent's clock instead of the <c>timestamp</c> header.</param>
public sealed record EscapeSettings(TimeZoneInfo TimeZone, bool Round, int RoundValue, RoundUnit Unit, bool UseLocalTimeStamp);

/// <summary>An event could not be placed in a bucket (Flume throws the same way and the batch rolls back).</summary>
public sealed class BucketPathException(string message) : Exception(message);

/// <summary>
/// Flume's <c>BucketPath</c>: a path or file-name template with escape sequences, compiled once and resolved per event.
/// </summary>
/// <remarks>
/// <code>
/// template := *( literal | "%{" 1*( \w | "." | "-" ) "}" | "%[" ("localhost" | "IP" | "FQDN") "]" | "%" ( \w | "%" ) )
/// </code>
/// <para><c>%{name}</c> is the header's value (empty when absent). <c>%[localhost]</c>, <c>%[IP]</c>, <c>%[FQDN]</c> are
/// the agent's host name, address and canonical name. Time escapes use Java's SimpleDateFormat patterns in hdfs.timeZone:
/// <c>%a</c> EEE, <c>%A</c> EEEE, <c>%b</c> MMM, <c>%B</c> MMMM, <c>%c</c> "EEE MMM d HH:mm:ss yyyy", <c>%d</c> dd,
/// <c>%e</c> d, <c>%D</c> MM/dd/yy, <c>%H</c> HH, <c>%I</c> hh, <c>%j</c> DDD, <c>%k</c> H, <c>%l</c> h, <c>%m</c> MM,
/// <c>%M</c> mm, <c>%n</c> M, <c>%p</c> a, <c>%s</c> epoch seconds, <c>%S</c> ss, <c>%y</c> yy, <c>%Y</c> yyyy,
/// <c>%z</c> ZZZ (+hhmm), and <c>%t</c> the timestamp header as written (never rounded). Any other <c>%x</c> becomes
/// empty text, <c>%%</c> a percent sign. With hdfs.round the timestamp is first rounded down on the roundUnit field to a
/// multiple of roundValue (Flume's TimestampRoundDownUtil). Time escapes need a numeric <c>timestamp</c> header unless
/// hdfs.useLocalTimeStamp; a missing one throws <see cref="BucketPathException"/> naming the fix, as in Flume (Flume also
/// demands the header for <c>%%</c> and unknown escapes; Zooflow does not).</para>
/// </remarks>
public sealed class BucketPath
{
    private static readonly Regex Tag = new(@"%(\w|%)|%\{([\w\.-]+)\}|%\[(\w+)\]", RegexOptions.CultureInvariant);

    private readonly Part[] _parts;

    private BucketPath(string template, Part[] parts)
    {
        Template = template;
        _parts = parts;
        HasTimeEscape = parts.Any(p => p.Kind == PartKind.Time);
    }

    /// <summary>The template text.</summary>
    public string Template { get; }

    /// <summary>True when resolving needs a timestamp.</summary>
    public bool HasTimeEscape { get; }

    /// <summary>True when the template has no escape at all.</summary>
    public bool IsLiteral => _parts.All(p => p.Kind == PartKind.Literal);

    private enum PartKind
    {
        Literal,
        Header,
        Time,
    }

    private readonly record struct Part(PartKind Kind, string Text, char Escape);

    /// <summary>Compiles <paramref name="template"/>; an unknown <c>%[...]</c> name is returned as an error message.</summary>
    public static BucketPath Parse(string template, AgentHost host, out string? error)
    {
        error = null;
        var parts = new List<Part>();
        var position = 0;
        foreach (Match match in Tag.Matches(template))
        {
            if (match.Index > position)
            {
                parts.Add(new Part(PartKind.Literal, template[position..match.Index], '\0'));
            }
            position = match.Index + match.Length;
            if (match.Groups[2].Success)
            {
                parts.Add(new Part(PartKind.Header, match.Groups[2].Value, '\0'));
            }
            else if (match.Groups[3].Success)
            {
                var value = match.Groups[3].Value.ToLowerInvariant() switch
                {
                    "localhost" => host.HostName,
                    "ip" => host.Address,
                    "fqdn" => host.CanonicalName,
                    _ => null,
                };
                if (value is null)
                {
                    error = $"'{template}': %[{match.Groups[3].Value}] is not a static escape (allowed: %[localhost], %[IP], %[FQDN])";
                    value = "";
                }
                parts.Add(new Part(PartKind.Literal, value, '\0'));
            }
            else
            {
                var c = match.Groups[1].Value[0];
                parts.Add(c switch
                {
                    '%' => new Part(PartKind.Literal, "%", '\0'),
                    'a' or 'A' or 'b' or 'B' or 'c' or 'd' or 'e' or 'D' or 'H' or 'I' or 'j' or 'k' or 'l' or 'm' or 'M' or 'n'
                        or 'p' or 's' or 'S' or 't' or 'y' or 'Y' or 'z' => new Part(PartKind.Time, "", c),
                    _ => new Part(PartKind.Literal, "", '\0'),
                });
            }
        }
        if (position < template.Length)
        {
            parts.Add(new Part(PartKind.Literal, template[position..], '\0'));
        }
        return new BucketPath(template, [.. parts]);
    }

    /// <summary>Resolves the template for an event with <paramref name="headers"/>; <paramref name="nowMs"/> is the
    /// agent's clock, used with hdfs.useLocalTimeStamp.</summary>
    public string Resolve(IReadOnlyDictionary<string, string> headers, EscapeSettings settings, long nowMs)
    {
        if (IsLiteral)
        {
            return _parts.Length == 0 ? "" : string.Concat(_parts.Select(p => p.Text));
        }
        var text = new StringBuilder(Template.Length + 16);
        string? timestampText = null;
        long rounded = 0;
        DateTimeOffset local = default;
        foreach (var part in _parts)
        {
            switch (part.Kind)
            {
                case PartKind.Literal:
                    text.Append(part.Text);
                    break;
                case PartKind.Header:
                    text.Append(headers.GetValueOrDefault(part.Text, ""));
                    break;
                case PartKind.Time:
                    if (timestampText is null)
                    {
                        long timestamp;
                        (timestampText, timestamp) = Timestamp(headers, settings, nowMs);
                        rounded = settings.Round ? RoundDown(timestamp, settings) : timestamp;
                        local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(rounded), settings.TimeZone);
                    }
                    text.Append(part.Escape switch
                    {
                        't' => timestampText,
                        's' => (rounded / 1000).ToString(CultureInfo.InvariantCulture),
                        _ => Format(part.Escape, local),
                    });
                    break;
            }
        }
        return text.ToString();
    }

    private static (string Text, long Value) Timestamp(IReadOnlyDictionary<string, string> headers, EscapeSettings settings, long nowMs)
    {
        if (settings.UseLocalTimeStamp)
        {
            return (nowMs.ToString(CultureInfo.InvariantCulture), nowMs);
        }
        if (!headers.TryGetValue("timestamp", out var header))
        {
            throw new BucketPathException("Expected timestamp in the Flume event headers, but it was null (set hdfs.useLocalTimeStamp = true or add a timestamp interceptor to the source)");
        }
        if (!long.TryParse(header, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new BucketPathException($"Flume wasn't able to parse timestamp header '{header}' in the event to resolve time based bucketing (expected epoch milliseconds, e.g. from the timestamp interceptor)");
        }
        return (header, value);
    }

    /// <summary>Flume's TimestampRoundDownUtil: the roundUnit field, in hdfs.timeZone, down to a multiple of roundValue;
    /// smaller fields zeroed.</summary>
    public static long RoundDown(long timestampMs, EscapeSettings settings)
    {
        if (timestampMs <= 0)
        {
            throw new BucketPathException($"timestamp {timestampMs} cannot be rounded (Flume: Timestamp must be positive)");
        }
        var local = TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds(timestampMs), settings.TimeZone).DateTime;
        var value = Math.Max(1, settings.RoundValue);
        var roundedLocal = settings.Unit switch
        {
            RoundUnit.Second => new DateTime(local.Year, local.Month, local.Day, local.Hour, local.Minute, local.Second - local.Second % value),
            RoundUnit.Minute => new DateTime(local.Year, local.Month, local.Day, local.Hour, local.Minute - local.Minute % value, 0),
            _ => new DateTime(local.Year, local.Month, local.Day, local.Hour - local.Hour % value, 0, 0),
        };
        return SyslogTime.ToEpochMs(roundedLocal, settings.TimeZone);
    }

    private static string Format(char escape, DateTimeOffset t)
    {
        var c = CultureInfo.InvariantCulture;
        return escape switch
        {
            'a' => t.ToString("ddd", c),
            'A' => t.ToString("dddd", c),
            'b' => t.ToString("MMM", c),
            'B' => t.ToString("MMMM", c),
            'c' => t.ToString("ddd MMM d HH:mm:ss yyyy", c),
            'd' => t.ToString("dd", c),
            'e' => t.Day.ToString(c),
            'D' => t.ToString("MM/dd/yy", c),
            'H' => t.ToString("HH", c),
            'I' => t.ToString("hh", c),
            'j' => t.DayOfYear.ToString("D3", c),
            'k' => t.Hour.ToString(c),
            'l' => (t.Hour % 12 == 0 ? 12 : t.Hour % 12).ToString(c),
            'm' => t.ToString("MM", c),
            'M' => t.ToString("mm", c),
            'n' => t.Month.ToString(c),
            'p' => t.Hour < 12 ? "AM" : "PM",
            'S' => t.ToString("ss", c),
            'y' => t.ToString("yy", c),
            'Y' => t.Year.ToString("D4", c),
            'z' => (t.Offset < TimeSpan.Zero ? "-" : "+") + t.Offset.Duration().ToString("hhmm", c),
            _ => "",
        };
    }

    /// <summary>
    /// A regular expression matching every path this template can resolve to: literals as themselves, every escape as
    /// any text (used to find this sink's leftover in-use files).
    /// </summary>
    internal string ToPattern()
    {
        var pattern = new StringBuilder();
        foreach (var part in _parts)
        {
            pattern.Append(part.Kind == PartKind.Literal ? Regex.Escape(part.Text) : ".*?");
        }
        return pattern.ToString();
    }

    /// <summary>The literal text before the first escape.</summary>
    internal string LiteralPrefix()
    {
        var prefix = new StringBuilder();
        foreach (var part in _parts)
        {
            if (part.Kind != PartKind.Literal)
            {
                break;
            }
            prefix.Append(part.Text);
        }
        return prefix.ToString();
    }
}

/// <summary>The agent host's names for <c>%[localhost]</c>, <c>%[IP]</c> and <c>%[FQDN]</c> (Java's InetAddress.getLocalHost()).</summary>
public sealed record AgentHost(string HostName, string Address, string CanonicalName)
{
    /// <summary>Looks the names up once.</summary>
    public static AgentHost Lookup()
    {
        var name = System.Net.Dns.GetHostName();
        try
        {
            var entry = System.Net.Dns.GetHostEntry(name);
            var address = entry.AddressList.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? entry.AddressList.FirstOrDefault();
            return new AgentHost(name, address?.ToString() ?? "127.0.0.1", string.IsNullOrEmpty(entry.HostName) ? name : entry.HostName);
        }
        catch (System.Net.Sockets.SocketException)
        {
            return new AgentHost(name, "127.0.0.1", name);
        }
    }
}
